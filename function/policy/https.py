"""Which strategy can meet `require-https` on which cloud, and what it needs from the input.

The one table the decision engine (decide/rules.py), the check of an LLM's answer
(decide/validate.py), admission (policy/admission.py) and rendering (render/dispatch.py)
all read, so that no strategy is chosen that its renderer would then refuse:

- aws: vm (ALB on 443) and kubernetes (NLB TLS on 443) with an ACM certificate from
  `input.policy.https` (domain or certificateArn); serverless: a Lambda Function URL
  (HTTPS only).
- gcp: vm (HTTPS proxy) and kubernetes (a GKE Ingress: the global external Application
  Load Balancer GKE's Ingress controller makes, on a static address, with no plain-HTTP
  endpoint; render/gcp/kubernetes.py) with a Google-managed certificate for
  <deployment>.<tenant>.<domain>: `input.policy.https.domain`; serverless: Cloud Run's
  `*.run.app` URL (HTTPS).
- azure: vm (an Application Gateway on 443, HTTP redirected, render/azure/gateway.py)
  with the platform's Key Vault certificate: `input.policy.https.keyVaultCertificate`;
  kubernetes (AKS) through the cluster's application routing add-on (a managed NGINX
  ingress controller, HTTP redirected, render/azure/approuting.py) serving the same Key
  Vault certificate for <deployment>.<tenant>.<domain>: `keyVaultCertificate` and
  `input.policy.https.domain` (NGINX serves an Ingress's certificate only for the hosts it
  names; the catch-all server presents its own self-signed one); serverless: Container
  Apps ingress (HTTPS, HTTP redirected).

No strategy is "never" today; the table stays for what cannot be composed.

Serverless needs no certificate of the platform's, so it never needs `input.policy.https`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from function.model import Strategy

if TYPE_CHECKING:
    from function.policy.settings import HttpsSettings

REQUIRE_HTTPS = "require-https"

# Pinned "not possible" verdicts made before quote these texts: keep them as they are. An
# Azure vm meets require-https since the Application Gateway (render/azure/gateway.py); no
# table reads it any more, it stays for the pins that recorded it (the shipped examples were
# decided again: tests/config/test_pinned_alternatives.py).
AZURE_VM_NO_HTTPS = (
    "require-https: an Azure load balancer terminates no TLS (an Application Gateway would; "
    "not composed)"
)
# GKE's, no longer in the table (GKE meets require-https with an Ingress since session 9):
# kept for the verdicts pinned before, which stay as they were decided.
GKE_NO_HTTPS = (
    "require-https: GKE's public Service is a layer-4 passthrough network load balancer "
    "that terminates no TLS (a GKE Ingress with a Google-managed certificate would; not "
    "composed)"
)
# AKS met it by refusing until the application routing add-on was composed: the text stays
# for the verdicts pinned then (an alternative's reason is history, never re-checked).
AKS_NO_HTTPS = (
    "require-https: AKS's public Service is a rule on the cluster's layer-4 Azure load "
    "balancer, which terminates no TLS (an ingress controller with a Key Vault certificate "
    "would; not composed)"
)
_NEVER: dict[tuple[str, Strategy], str] = {}
# What each cloud offers instead, for the render-time refusal.
_INSTEAD = {
    "gcp": "use the vm or kubernetes strategy (an HTTPS load balancer or a GKE Ingress with "
    "a Google-managed certificate for input.policy.https.domain) or serverless (Cloud Run "
    "serves HTTPS only)",
    "azure": "use the vm strategy (an Application Gateway with the platform's Key Vault "
    "certificate, input.policy.https.keyVaultCertificate) or serverless (Container Apps "
    "ingress serves HTTPS with a managed certificate and redirects HTTP)",
}
# The field a strategy's certificate comes from, per cloud (None: no certificate composed).
CERTIFICATE_FIELD: dict[tuple[str, Strategy], str] = {
    ("aws", Strategy.VM): "input.policy.https",
    ("aws", Strategy.KUBERNETES): "input.policy.https",
    ("gcp", Strategy.VM): "input.policy.https.domain",
    ("gcp", Strategy.KUBERNETES): "input.policy.https.domain",
    ("azure", Strategy.KUBERNETES): "input.policy.https.keyVaultCertificate",
    ("azure", Strategy.VM): "input.policy.https.keyVaultCertificate",
}


def never_meets(cloud: str, strategy: Strategy) -> str | None:
    """Why `strategy` on `cloud` can never serve only HTTPS as composed, or None."""
    return _NEVER.get((cloud, strategy))


def needs_certificate(cloud: str, strategy: Strategy) -> bool:
    """Whether require-https composes (or names) a certificate of the platform's here."""
    return (cloud, strategy) in CERTIFICATE_FIELD


def certificate_missing(cloud: str, strategy: Strategy, https: HttpsSettings) -> str | None:
    """Why the certificate `strategy` needs on `cloud` cannot be had from the input
    (`input.policy.https`: `domain` / `certificateArn` on AWS, `domain` on GCP,
    `keyVaultCertificate` on Azure), or None when it can or none is needed. The reason names
    the field (CERTIFICATE_FIELD), as a "not possible" verdict does."""
    if not needs_certificate(cloud, strategy):
        return None
    if cloud == "aws":
        if https.domain or https.certificate_arn:
            return None
        return (
            "require-https: the load balancer's ACM certificate needs "
            "input.policy.https.domain (per-deployment certificates) or "
            "input.policy.https.certificateArn in the function input"
        )
    if cloud == "azure" and strategy is Strategy.KUBERNETES:
        missing = [
            field
            for field, value in (
                ("input.policy.https.keyVaultCertificate", https.key_vault_certificate),
                ("input.policy.https.domain", https.domain),
            )
            if value is None
        ]
        if not missing:
            return None
        return (
            "require-https: AKS's application routing add-on serves the platform's Key Vault "
            "certificate for <deployment>.<tenant>.<domain>, which needs "
            f"{' and '.join(missing)} in the function input"
        )
    if cloud == "azure":
        if https.key_vault_certificate is not None:
            return None
        return (
            "require-https: the Application Gateway's certificate is the platform's, in its "
            f"Key Vault: it needs {CERTIFICATE_FIELD[(cloud, strategy)]} (vaultId and name) "
            "in the function input"
        )
    if https.domain:
        return None
    return (
        "require-https: the Google-managed certificate is for "
        "<deployment>.<tenant>.<domain>, which needs input.policy.https.domain in the "
        "function input"
    )


def https_problem(
    cloud: str, strategy: Strategy, policies: list[str], https: HttpsSettings
) -> str | None:
    """Why `strategy` on `cloud` cannot meet the deployment's `require-https` (a policy in
    `policies`), or None: never as composed, or no certificate in the input
    (`https`: the function input's `policy.https`)."""
    if REQUIRE_HTTPS not in policies:
        return None
    return never_meets(cloud, strategy) or certificate_missing(cloud, strategy, https)


def ingress_on_nodes(cloud: str, policies: list[str]) -> bool:
    """Whether a kubernetes cluster on `cloud` runs an ingress controller of the platform's
    on its own nodes under `policies`: require-https on AKS (the application routing
    add-on's NGINX; its requests are sized in, decide/capacity.py
    `ingress_controller_share`)."""
    return cloud == "azure" and REQUIRE_HTTPS in policies


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
