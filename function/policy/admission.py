"""Function-side admission: what a deployment must satisfy before anything is decided.

The same rules run at `kubectl apply` as a ValidatingAdmissionPolicy
(examples/tenancy/admission-policy.yaml); here they also cover `crossplane render`,
clusters without the policy and rules that depend on the function input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from function.policy.settings import PolicySettings
from function.xr import KNOWN_POLICIES, AppSpec, XrIdentity

REQUIRE_HTTPS = "require-https"
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
    if (
        REQUIRE_HTTPS in spec.policies
        and spec.cloud_provider == "gcp"
        and not settings.https.domain
    ):
        out.append(
            Violation(
                "input.policy.https.domain",
                "require-https on gcp needs policy.https.domain in the function input (a "
                "Google-managed certificate is composed for <deployment>.<tenant>.<domain>)",
            )
        )
    if REQUIRE_HTTPS in spec.policies and spec.cloud_provider == "aws":
        https = settings.https
        if not https.configured:
            out.append(
                Violation(
                    "input.policy.https",
                    "require-https needs a certificate: set policy.https.domain (a DNS zone "
                    "for per-deployment ACM certificates) or policy.https.certificateArn in "
                    "the function input",
                )
            )
        elif https.certificate_arn is None and https.domain is not None:
            host = certificate_domain(identity, https.domain)
            if len(host) > MAX_CERTIFICATE_DOMAIN:
                out.append(
                    Violation(
                        "input.policy.https.domain",
                        f"the certificate domain {host!r} is {len(host)} characters; ACM "
                        f"allows {MAX_CERTIFICATE_DOMAIN}: use a shorter domain, deployment "
                        "or tenant name, or policy.https.certificateArn",
                    )
                )
    return out
