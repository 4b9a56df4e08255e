"""The second code path: an XCloudProvider (a tenant's cloud account) -> its ProviderConfig.

A tenant claims a CloudProvider in its namespace, next to the Secret with the account's
credentials. This composes the cloud's provider's cluster-scoped ProviderConfig
`<tenant>-<name>` (for legacy XRs) and ClusterProviderConfig (for namespaced ones) reading
that Secret. A claim's secretRef has no namespace: it is always the claim's own namespace,
so a tenant can never point a ProviderConfig at another tenant's Secret.

Per cloud (`PROVIDER_CONFIGS`): aws (`aws.upbound.io`, the Secret holds a shared credentials
file), gcp (`gcp.upbound.io`, the Secret holds a service account key JSON; `spec.project`
is the ProviderConfig's required projectID), azure (`azure.upbound.io`, the Secret holds
the service principal's JSON credentials: clientId, clientSecret, subscriptionId, tenantId;
provider-upjet-azure reads the subscription and tenant from it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from function.clouds import region_problem
from function.errors import InputError, describe_validation_error
from function.render.common import label_value
from function.xr import CROSSPLANE_SPEC_FIELDS

CLOUD_PROVIDER_KIND: Final = "XCloudProvider"
CLOUD_PROVIDER_CLAIM_KIND: Final = "CloudProvider"
CLOUD_PROVIDER_API_VERSION: Final = "scia.io/v1alpha1"
PROVIDER_CONFIG = "provider-config"
# The same account for Crossplane v2 namespaced managed resources (aws.m.upbound.io),
# which name a ClusterProviderConfig (or a ProviderConfig in their own namespace).
CLUSTER_PROVIDER_CONFIG = "cluster-provider-config"
_AWS_CLUSTER_PROVIDER_CONFIG_API = "aws.m.upbound.io/v1beta1"
_AWS_PROVIDER_CONFIG_API: Final = "aws.upbound.io/v1beta1"
_GCP_PROJECT = r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$"
_DNS_NAME = re.compile(r"[^a-z0-9-]")

Severity = Literal["Normal", "Warning", "Fatal"]


class _Camel(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


class SecretKeyRef(_Camel):
    name: str = Field(min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    key: str = Field(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")


class Credentials(_Camel):
    secret_ref: SecretKeyRef


class Quotas(_Camel):
    max_ec2_instances: int | None = Field(default=None, ge=0, le=10_000, alias="maxEC2Instances")
    max_eks_clusters: int | None = Field(default=None, ge=0, le=100, alias="maxEKSClusters")


class CostControl(_Camel):
    monthly_budget: float | None = Field(default=None, ge=10, le=10_000_000)
    alert_threshold: float = Field(default=0.8, gt=0, le=1)


class CloudProviderSpec(_Camel):
    type: Literal["aws", "gcp", "azure"]
    credentials: Credentials
    # Spelled per cloud (us-east-1, us-central1, eastus); checked against `type` below.
    default_region: str | None = Field(default=None, max_length=32)
    project: str | None = Field(
        default=None, pattern=_GCP_PROJECT, description="gcp: the project id (required)"
    )
    quotas: Quotas = Field(default_factory=Quotas)
    cost_control: CostControl = Field(default_factory=CostControl)
    tags: dict[str, str] = Field(default_factory=dict, max_length=32)


def parse_cloud_provider_spec(obj: dict[str, Any], prefix: str = "spec") -> CloudProviderSpec:
    """The spec of an XCloudProvider or CloudProvider claim. Raises InputError naming the field."""
    raw = obj.get("spec")
    if not isinstance(raw, dict):
        raise InputError(prefix, "the CloudProvider has no spec")
    try:
        spec = CloudProviderSpec.model_validate(
            {k: v for k, v in raw.items() if k not in CROSSPLANE_SPEC_FIELDS}
        )
    except ValidationError as e:
        path, reason = describe_validation_error(e, prefix=prefix)
        raise InputError(path, reason) from None
    if spec.default_region and (problem := region_problem(spec.type, spec.default_region)):
        raise InputError(f"{prefix}.defaultRegion", problem)
    if spec.type == "gcp" and not spec.project:
        raise InputError(f"{prefix}.project", "a gcp CloudProvider needs its project id")
    if spec.type != "gcp" and spec.project:
        raise InputError(
            f"{prefix}.project", f"only a gcp CloudProvider has a project, not {spec.type}"
        )
    return spec


def provider_config_name(tenant: str, name: str) -> str:
    """`<tenant>-<name>`, as a DNS subdomain (ProviderConfigs are cluster-scoped)."""
    return _DNS_NAME.sub("-", f"{tenant}-{name}".lower())[:253].strip("-")


def _secret_credentials(spec: CloudProviderSpec, tenant: str) -> dict[str, Any]:
    ref = spec.credentials.secret_ref
    return {
        "source": "Secret",
        "secretRef": {"namespace": tenant, "name": ref.name, "key": ref.key},
    }


def _aws_spec(spec: CloudProviderSpec, tenant: str) -> dict[str, Any]:
    return {"credentials": _secret_credentials(spec, tenant)}


def _gcp_spec(spec: CloudProviderSpec, tenant: str) -> dict[str, Any]:
    # The Secret's key holds a service account key (JSON); projectID is required.
    return {"projectID": spec.project, "credentials": _secret_credentials(spec, tenant)}


@dataclass(frozen=True)
class ProviderConfigKind:
    """A cloud's ProviderConfig (legacy, cluster-scoped MRs) and ClusterProviderConfig
    (namespaced MRs) API versions, and their spec for a CloudProvider."""

    legacy_api: str
    namespaced_api: str
    spec: Callable[[CloudProviderSpec, str], dict[str, Any]]


PROVIDER_CONFIGS: dict[str, ProviderConfigKind] = {
    "aws": ProviderConfigKind(
        _AWS_PROVIDER_CONFIG_API, _AWS_CLUSTER_PROVIDER_CONFIG_API, _aws_spec
    ),
    "gcp": ProviderConfigKind("gcp.upbound.io/v1beta1", "gcp.m.upbound.io/v1beta1", _gcp_spec),
    # The Secret's key holds the service principal's JSON credentials (as on AWS, only the
    # credentials are in the spec: subscriptionID and tenantID come from that JSON).
    "azure": ProviderConfigKind(
        "azure.upbound.io/v1beta1", "azure.m.upbound.io/v1beta1", _aws_spec
    ),
}


@dataclass
class CloudProviderResult:
    desired: dict[str, dict[str, Any]] = field(default_factory=dict)
    ready: set[str] = field(default_factory=set)
    status: dict[str, Any] = field(default_factory=dict)
    results: list[tuple[Severity, str]] = field(default_factory=list)

    @property
    def fatal(self) -> bool:
        return any(s == "Fatal" for s, _ in self.results)


def _claim(xr: dict[str, Any]) -> tuple[str, str]:
    """(tenant namespace, claim name) of an XCloudProvider; InputError for a bare XR."""
    meta = xr.get("metadata") or {}
    labels = meta.get("labels") or {}
    ref = (xr.get("spec") or {}).get("claimRef") or {}
    tenant = ref.get("namespace") or labels.get("crossplane.io/claim-namespace")
    name = ref.get("name") or labels.get("crossplane.io/claim-name")
    if not tenant or not name:
        raise InputError(
            "spec.claimRef",
            "an XCloudProvider must come from a CloudProvider claim in a tenant namespace "
            "(its credentials Secret lives there)",
        )
    return str(tenant), str(name)


def reconcile_cloud_provider(
    xr: dict[str, Any], observed: dict[str, dict[str, Any]]
) -> CloudProviderResult:
    """Desired ProviderConfig and XR status for an XCloudProvider (pure)."""
    out = CloudProviderResult()
    try:
        tenant, claim_name = _claim(xr)
        spec = parse_cloud_provider_spec(xr)
    except InputError as e:
        out.results.append(("Fatal", f"invalid {e.field}: {e.reason}"))
        return out
    pc_name = provider_config_name(tenant, claim_name)
    cloud = PROVIDER_CONFIGS.get(spec.type)
    if cloud is None:
        out.results.append(
            (
                "Fatal",
                f"invalid spec.type: {spec.type!r} is not supported yet; "
                f"supported: {', '.join(sorted(PROVIDER_CONFIGS))}",
            )
        )
        return out
    ref = spec.credentials.secret_ref
    for name, api, kind in (
        (PROVIDER_CONFIG, cloud.legacy_api, "ProviderConfig"),
        (CLUSTER_PROVIDER_CONFIG, cloud.namespaced_api, "ClusterProviderConfig"),
    ):
        out.desired[name] = {
            "apiVersion": api,
            "kind": kind,
            "metadata": {
                "name": pc_name,
                "labels": {
                    "app.kubernetes.io/managed-by": "scia",
                    "scia.io/tenant": label_value(tenant),
                    "scia.io/cloud-provider": label_value(claim_name),
                },
            },
            "spec": cloud.spec(spec, tenant),
        }
        # A ProviderConfig has no Ready condition: it is usable once it exists.
        if name in observed:
            out.ready.add(name)
    exists = out.ready == {PROVIDER_CONFIG, CLUSTER_PROVIDER_CONFIG}
    out.status = {
        "providerConfigName": pc_name,
        "phase": "Running" if exists else "Provisioning",
        "message": f"ProviderConfig and ClusterProviderConfig {pc_name} read Secret "
        f"{tenant}/{ref.name} key {ref.key}",
    }
    return out
