"""What the platform team configures about policies, in the function input (`policy`).

Wired into FunctionInput as `policy: PolicySettings` (default: no domain, no certificate,
no alarm topic, nothing required), so error messages name `input.policy.<field>`.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from function.xr import KNOWN_POLICIES

DEFAULT_SSL_POLICY: Final = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# A DNS name under which every deployment gets <deployment>.<tenant>.<domain>.
_DOMAIN = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"


class _Camel(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


class HttpsSettings(_Camel):
    """How `require-https` gets a certificate: one per deployment under `domain`, or one ARN."""

    domain: str | None = Field(
        default=None,
        max_length=200,
        pattern=_DOMAIN,
        description="each deployment gets an ACM certificate for <deployment>.<tenant>.<domain>, "
        "validated by DNS",
    )
    certificate_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$",
        description="an existing ACM certificate every HTTPS listener uses (wins over domain)",
    )
    ssl_policy: str = Field(
        default=DEFAULT_SSL_POLICY, pattern=r"^ELBSecurityPolicy-[A-Za-z0-9-]+$"
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
        if not h.configured and h.ssl_policy == DEFAULT_SSL_POLICY:
            return {}
        return {"https": [h.domain, h.certificate_arn, h.ssl_policy]}
