"""Function-side admission: what a deployment must satisfy before anything is decided.

The same rules run at `kubectl apply` as a ValidatingAdmissionPolicy
(examples/tenancy/admission-policy.yaml); here they also cover `crossplane render`,
clusters without the policy and rules that depend on the function input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from function.model import Strategy
from function.policy.https import REQUIRE_HTTPS, certificate_missing, needs_certificate
from function.policy.settings import PolicySettings
from function.xr import KNOWN_POLICIES, AppSpec, StrategyChoice, XrIdentity

__all__ = ["ENABLE_MONITORING", "REQUIRE_HTTPS", "Violation", "admit", "certificate_domain"]

ENABLE_MONITORING = "enable-monitoring"
# ACM refuses a certificate whose domain name (its common name) is longer than 64 characters.
MAX_CERTIFICATE_DOMAIN = 64
_LABEL = re.compile(r"[^a-z0-9-]")


@dataclass(frozen=True)
class Violation:
    field: str
    reason: str

    def __str__(self) -> str:
        return f"invalid {self.field}: {self.reason}"


# A Kubernetes label value (k8s.io/apimachinery validation: IsValidLabelValue).
MAX_LABEL_VALUE = 63


def dns_label(value: str) -> str:
    """A DNS label from a Kubernetes name (dots and other characters become dashes)."""
    return _LABEL.sub("-", value.lower())[:63].strip("-") or "x"


def certificate_domain(identity: XrIdentity, domain: str) -> str:
    """The host a deployment's certificate is for: <deployment>.<tenant>.<domain>."""
    return f"{dns_label(identity.deployment_name)}.{dns_label(identity.tenant)}.{domain}"


def admit(spec: AppSpec, identity: XrIdentity, settings: PolicySettings) -> list[Violation]:
    """Every rule the deployment breaks; empty when it may proceed."""
    out: list[Violation] = []
    if len(identity.name) > MAX_LABEL_VALUE:
        out.append(
            Violation(
                "metadata.name",
                f"{len(identity.name)} characters; Crossplane labels every composed resource "
                f"with its composite's name (crossplane.io/composite), and a Kubernetes label "
                f"value holds at most {MAX_LABEL_VALUE}: the API server would refuse every "
                "resource; use a shorter name",
            )
        )
    if spec.budget is not None and spec.budget.max_monthly_cost < settings.min_monthly_budget:
        out.append(
            Violation(
                "spec.budget.maxMonthlyCost",
                f"${spec.budget.max_monthly_cost:g}/month is below the platform minimum of "
                f"${settings.min_monthly_budget:g}/month (input policy.minMonthlyBudget)",
            )
        )
    unknown = [p for p in spec.policies if p not in KNOWN_POLICIES]
    if unknown:
        out.append(
            Violation(
                "spec.policies",
                f"unknown policy {unknown[0]!r}; known: {', '.join(KNOWN_POLICIES)}",
            )
        )
    missing = [p for p in settings.required_policies if p not in spec.policies]
    if missing:
        out.append(
            Violation(
                "spec.policies",
                f"the platform requires {', '.join(missing)} on every deployment "
                "(input policy.requiredPolicies); add it to spec.policies",
            )
        )
    if settings.require_cloud_provider and spec.cloud_provider_ref is None:
        out.append(
            Violation(
                "spec.cloudProviderRef",
                "the platform requires every deployment to name a CloudProvider in its "
                "namespace (input policy.requireCloudProvider)",
            )
        )
    if REQUIRE_HTTPS in spec.policies:
        out.extend(_certificate(spec, identity, settings))
    return out


def _certificate(spec: AppSpec, identity: XrIdentity, settings: PolicySettings) -> list[Violation]:
    """require-https: the certificate the strategy composes must be possible.

    Only where one is composed (policy/https.py): an explicit vm or kubernetes strategy
    on AWS and GCP, vm and kubernetes (AKS) on Azure. Serverless needs none (its URL is
    HTTPS anyway), and under `strategy: auto` a missing setting makes those strategies
    "not possible" in the decision instead (decide/rules.py) rather than refusing the
    deployment. The length of an ACM certificate's domain depends on the deployment's
    names, which the decision does not see: a too-long one is refused here unless the
    strategy is serverless."""
    https = settings.https
    cloud = spec.cloud_provider
    explicit = None if spec.strategy is StrategyChoice.AUTO else Strategy(spec.strategy.value)
    out: list[Violation] = []
    if explicit is not None and needs_certificate(cloud, explicit):
        if cloud == "gcp" and not https.domain:
            out.append(
                Violation(
                    "input.policy.https.domain",
                    f"require-https with strategy {explicit.value} on gcp needs "
                    "policy.https.domain in the function input (a Google-managed certificate "
                    "is composed for <deployment>.<tenant>.<domain>)",
                )
            )
        if cloud == "azure" and explicit is Strategy.KUBERNETES:
            if why := certificate_missing(cloud, explicit, https):
                # AKS's application routing add-on: the platform's Key Vault certificate,
                # for <deployment>.<tenant>.<domain> (NGINX serves it only for a host it names).
                field = (
                    "input.policy.https.keyVaultCertificate"
                    if https.key_vault_certificate is None
                    else "input.policy.https.domain"
                )
                reason = why.removeprefix(f"{REQUIRE_HTTPS}: ")
                out.append(
                    Violation(
                        field, f"require-https with strategy {explicit.value} on azure: {reason}"
                    )
                )
        elif cloud == "azure" and https.key_vault_certificate is None:
            out.append(
                Violation(
                    "input.policy.https.keyVaultCertificate",
                    f"require-https with strategy {explicit.value} on azure needs "
                    "policy.https.keyVaultCertificate in the function input (the Application "
                    "Gateway's certificate in the platform's Key Vault: vaultId and name)",
                )
            )
        if cloud == "aws" and not https.configured:
            out.append(
                Violation(
                    "input.policy.https",
                    f"require-https with strategy {explicit.value} needs a certificate: set "
                    "policy.https.domain (a DNS zone for per-deployment ACM certificates) or "
                    "policy.https.certificateArn in the function input",
                )
            )
    if (
        cloud == "aws"
        and explicit is not Strategy.SERVERLESS
        and https.certificate_arn is None
        and https.domain is not None
    ):
        host = certificate_domain(identity, https.domain)
        if len(host) > MAX_CERTIFICATE_DOMAIN:
            out.append(
                Violation(
                    "input.policy.https.domain",
                    f"the certificate domain {host!r} is {len(host)} characters; ACM "
                    f"allows {MAX_CERTIFICATE_DOMAIN}: use a shorter domain, deployment "
                    "or tenant name, or policy.https.certificateArn (or strategy serverless, "
                    "whose Function URL needs no certificate)",
                )
            )
    return out
