"""What the platform team configures about policies, in the function input (`policy`).

Wired into FunctionInput as `policy: PolicySettings` (default: no domain, no certificate,
no alarm topic, nothing required), so error messages name `input.policy.<field>`.
"""

from __future__ import annotations

import re
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from function.xr import KNOWN_POLICIES

DEFAULT_SSL_POLICY: Final = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# A DNS name under which every deployment gets <deployment>.<tenant>.<domain>.
_DOMAIN = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"


class _Camel(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


# An Azure Key Vault's ARM id, and a certificate's name in it (Microsoft.KeyVault naming:
# vault names 3-24 alphanumerics and hyphens; object names 1-127 alphanumerics and hyphens).
# ARM ids are case-insensitive (Azure returns `resourcegroups` as often as `resourceGroups`),
# so the fixed segments are matched in any case; the pattern also goes into the input CRD,
# hence character classes rather than an inline flag.


def _any_case(segment: str) -> str:
    """`segment` as a regular expression that matches it in any letter case."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in segment)


_VAULT_ID = (
    f"^{_any_case('/subscriptions/')}[0-9a-fA-F-]{{36}}{_any_case('/resourceGroups/')}"
    rf"[-\w.()]{{1,90}}{_any_case('/providers/Microsoft.KeyVault/vaults/')}"
    "[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$"
)
# Key Vault's DNS suffix in Azure's public cloud (the product's Azure renderers target it).
KEY_VAULT_DNS_SUFFIX: Final = "vault.azure.net"


class KeyVaultCertificate(_Camel):
    """A certificate the platform keeps in an Azure Key Vault, served by Azure's TLS
    terminators (an Application Gateway on a vm, the AKS application routing add-on).

    Azure has no managed certificate for those (Container Apps has its own); the provider
    schemas this product composes with have no Key Vault certificate kind either, so the
    platform team issues and renews it (for example with Key Vault's CA integration) and
    names it here. Composed identities are granted read access to it, scoped to `vaultId`.
    """

    vault_id: str = Field(
        pattern=_VAULT_ID,
        max_length=400,
        description="the vault's ARM id, /subscriptions/<id>/resourceGroups/<group>/"
        "providers/Microsoft.KeyVault/vaults/<name>; access is granted on it (Azure RBAC)",
    )
    name: str = Field(
        pattern=r"^[0-9a-zA-Z-]{1,127}$",
        description="the certificate's name in the vault (it must cover the deployments' "
        "hosts, <deployment>.<tenant>.<policy.https.domain>, e.g. as a wildcard)",
    )

    @property
    def vault_name(self) -> str:
        return self.vault_id.rsplit("/", 1)[1]

    @property
    def secret_id(self) -> str:
        """The certificate's versionless secret id (an Application Gateway reads the
        certificate as this secret and picks up new versions by itself)."""
        return f"https://{self.vault_name}.{KEY_VAULT_DNS_SUFFIX}/secrets/{self.name}"

    @property
    def certificate_uri(self) -> str:
        """The versionless certificate URI (the AKS application routing add-on's
        `kubernetes.azure.com/tls-cert-keyvault-uri`)."""
        return f"https://{self.vault_name}.{KEY_VAULT_DNS_SUFFIX}/certificates/{self.name}"


class HttpsSettings(_Camel):
    """How `require-https` gets a certificate: one per deployment under `domain`, one ACM
    ARN (AWS), or one Key Vault certificate (Azure's vm and AKS)."""

    domain: str | None = Field(
        default=None,
        max_length=200,
        pattern=_DOMAIN,
        description="each deployment's HTTPS host is <deployment>.<tenant>.<domain>: AWS issues "
        "it an ACM certificate validated by DNS, GCP (vm, GKE) a Google-managed certificate; "
        "on Azure it is the host the platform's Key Vault certificate must cover",
    )
    certificate_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$",
        description="an existing ACM certificate every HTTPS listener uses (wins over domain)",
    )
    ssl_policy: str = Field(
        default=DEFAULT_SSL_POLICY, pattern=r"^ELBSecurityPolicy-[A-Za-z0-9-]+$"
    )
    key_vault_certificate: KeyVaultCertificate | None = Field(
        default=None,
        description="Azure: the platform's Key Vault certificate an Application Gateway "
        "(vm) or the AKS application routing add-on serves",
    )

    @property
    def configured(self) -> bool:
        return bool(self.domain or self.certificate_arn)


class MonitoringSettings(_Camel):
    """What `enable-monitoring` alarms on, and whom it tells."""

    alarm_topic_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$",
        description="SNS topic notified when an alarm fires (and when it recovers)",
    )
    cpu_percent: float = Field(default=80.0, gt=0, le=100)
    error_count: int = Field(
        default=5, ge=1, le=1_000_000, description="5xx responses / Lambda errors per 5 minutes"
    )


class PolicySettings(_Camel):
    https: HttpsSettings = Field(default_factory=HttpsSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    required_policies: list[Literal["require-https", "enable-monitoring"]] = Field(
        default_factory=list,
        max_length=len(KNOWN_POLICIES),
        description="policies every deployment must carry in spec.policies",
    )
    min_monthly_budget: float = Field(
        default=10.0, ge=10.0, le=1_000_000, description="USD; spec.budget.maxMonthlyCost floor"
    )
    require_cloud_provider: bool = Field(
        default=False, description="every deployment must name a CloudProvider (cloudProviderRef)"
    )

    @field_validator("required_policies")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return sorted(set(v))

    def fingerprint(self) -> dict[str, Any]:
        """The parts that change the composed resource set, to add to the decision
        fingerprint (changing them then re-decides instead of tripping the pinned-render
        guard). Empty with the defaults, so existing pins keep their hashes."""
        h = self.https
        out: dict[str, Any] = {}
        if h.configured or h.ssl_policy != DEFAULT_SSL_POLICY:
            out["https"] = [h.domain, h.certificate_arn, h.ssl_policy]
        if h.key_vault_certificate is not None:
            kv = h.key_vault_certificate
            out["keyVaultCertificate"] = [kv.vault_id, kv.name]
        return out
