"""Which strategy can meet `require-https` on which cloud, and what it needs from the input.

The one table the decision engine (decide/rules.py), the check of an LLM's answer
(decide/validate.py), admission (policy/admission.py) and rendering (render/dispatch.py)
all read, so that no strategy is chosen that its renderer would then refuse:

- aws: vm (ALB on 443) and kubernetes (NLB TLS on 443) with an ACM certificate from
  `input.policy.https` (domain or certificateArn); serverless: a Lambda Function URL
  (HTTPS only).
- gcp: vm (HTTPS proxy) with a Google-managed certificate for
  <deployment>.<tenant>.<domain>: `input.policy.https.domain`; kubernetes never (the
  public Service is a layer-4 passthrough load balancer); serverless: Cloud Run's
  `*.run.app` URL (HTTPS).
- azure: vm never (the load balancer is layer 4); kubernetes never (the public Service
  is a rule on the cluster's layer-4 load balancer); serverless: Container Apps ingress
  (HTTPS, HTTP redirected).

"never" is a fact of what is composed, not of the cloud: a GKE Ingress with a
Google-managed certificate, an Application Gateway or an AKS ingress controller with a
Key Vault certificate would terminate TLS; none is composed (the GKE ManagedCertificate
kind is not among the schemas this product validates against, ../shared/crds).

Serverless needs no certificate of the platform's, so it never needs `input.policy.https`.
"""

from __future__ import annotations

from function.model import Strategy

REQUIRE_HTTPS = "require-https"

# Pinned "not possible" verdicts quote this text (examples/): keep it as it is.
AZURE_VM_NO_HTTPS = (
    "require-https: an Azure load balancer terminates no TLS (an Application Gateway would; "
    "not composed)"
)
GKE_NO_HTTPS = (
    "require-https: GKE's public Service is a layer-4 passthrough network load balancer "
    "that terminates no TLS (a GKE Ingress with a Google-managed certificate would; not "
    "composed)"
)
AKS_NO_HTTPS = (
    "require-https: AKS's public Service is a rule on the cluster's layer-4 Azure load "
    "balancer, which terminates no TLS (an ingress controller with a Key Vault certificate "
    "would; not composed)"
)
_NEVER: dict[tuple[str, Strategy], str] = {
    ("azure", Strategy.VM): AZURE_VM_NO_HTTPS,
    ("gcp", Strategy.KUBERNETES): GKE_NO_HTTPS,
    ("azure", Strategy.KUBERNETES): AKS_NO_HTTPS,
}
# What each cloud offers instead, for the render-time refusal.
_INSTEAD = {
    "gcp": "use the vm strategy (an HTTPS load balancer with a Google-managed certificate) "
    "or serverless (Cloud Run serves HTTPS only)",
    "azure": "use the serverless strategy (Container Apps ingress serves HTTPS with a "
    "managed certificate and redirects HTTP)",
}
# The field a strategy's certificate comes from, per cloud (None: no certificate composed).
CERTIFICATE_FIELD: dict[tuple[str, Strategy], str] = {
    ("aws", Strategy.VM): "input.policy.https",
    ("aws", Strategy.KUBERNETES): "input.policy.https",
    ("gcp", Strategy.VM): "input.policy.https.domain",
}


def never_meets(cloud: str, strategy: Strategy) -> str | None:
    """Why `strategy` on `cloud` can never serve only HTTPS as composed, or None."""
    return _NEVER.get((cloud, strategy))


def needs_certificate(cloud: str, strategy: Strategy) -> bool:
    """Whether require-https composes (or names) a certificate of the platform's here."""
    return (cloud, strategy) in CERTIFICATE_FIELD


def certificate_missing(
    cloud: str, strategy: Strategy, domain: str | None, certificate_arn: str | None
) -> str | None:
    """Why the certificate `strategy` needs on `cloud` cannot be had from the input
    (`input.policy.https.domain` / `.certificateArn`), or None when it can or none is
    needed. The reason names the field, as a "not possible" verdict does."""
    if not needs_certificate(cloud, strategy):
        return None
    if cloud == "aws":
        if domain or certificate_arn:
            return None
        return (
            "require-https: the load balancer's ACM certificate needs "
            "input.policy.https.domain (per-deployment certificates) or "
            "input.policy.https.certificateArn in the function input"
        )
    if domain:
        return None
    return (
        "require-https: the Google-managed certificate is for "
        "<deployment>.<tenant>.<domain>, which needs input.policy.https.domain in the "
        "function input"
    )


def https_problem(
    cloud: str,
    strategy: Strategy,
    policies: list[str],
    domain: str | None,
    certificate_arn: str | None,
) -> str | None:
    """Why `strategy` on `cloud` cannot meet the deployment's `require-https` (a policy in
    `policies`), or None: never as composed, or no certificate in the input."""
    if REQUIRE_HTTPS not in policies:
        return None
    return never_meets(cloud, strategy) or certificate_missing(
        cloud, strategy, domain, certificate_arn
    )


def render_refusal(cloud: str, strategy: Strategy) -> str | None:
    """The render-time refusal of a pin (or an explicit strategy) that can never meet
    require-https, naming spec.policies; None when the strategy can."""
    why = never_meets(cloud, strategy)
    if why is None:
        return None
    reason = why.removeprefix(f"{REQUIRE_HTTPS}: ")
    return (
        f"invalid spec.policies: {REQUIRE_HTTPS} cannot be met by the {strategy.value} "
        f"strategy on {cloud}: {reason}; {_INSTEAD[cloud]}. Nothing composed is changed or "
        "deleted meanwhile"
    )
