"""Tenants: the CloudProvider an AppDeployment names, and the tenant's quotas and budget.

Both need objects other than the XR, fetched through Crossplane's required-resources
protocol: the function asks (`Requirement`), Crossplane calls it again with the objects.

- `cloud_provider_requirement`: the CloudProvider claim named by spec.cloudProviderRef, in
  the deployment's own namespace (so a tenant can only ever use its own);
- `tenant_deployments_requirement`: the tenant's other deployments, whose pinned decisions
  and cost estimates (their status) count against the quotas and the tenant budget;
- `apply_cloud_provider` turns the CloudProvider into `TenantSettings`;
- `enforce_quotas` lists what a new decision would break.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from function.cloudprovider import (
    CLOUD_PROVIDER_API_VERSION,
    CLOUD_PROVIDER_CLAIM_KIND,
    parse_cloud_provider_spec,
    provider_config_name,
)
from function.errors import InputError
from function.model import Decision, Strategy
from function.policy.budget import BudgetStatus, budget_check
from function.policy.refs import CloudProviderRef
from function.xr import Budget, XrIdentity

CLOUD_PROVIDER_REQUIREMENT: Final = "cloud-provider"
TENANT_DEPLOYMENTS_REQUIREMENT: Final = "tenant-deployments"
APP_API_VERSION: Final = "scia.io/v1alpha1"
CLAIM_NAMESPACE_LABEL: Final = "crossplane.io/claim-namespace"


class Requirement(BaseModel):
    """What to ask Crossplane for (the arguments of response.require_resources)."""

    model_config = ConfigDict(frozen=True)

    name: str
    api_version: str
    kind: str
    match_name: str | None = None
    match_labels: dict[str, str] | None = None
    namespace: str | None = None


class TenantQuotas(BaseModel):
    max_ec2_instances: int | None = None
    max_eks_clusters: int | None = None


class TenantSettings(BaseModel):
    """What a tenant's CloudProvider sets for its deployments."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    cloud_provider: str
    cloud: str
    provider_config_name: str
    # The CloudProvider's credentials Secret in the tenant's namespace: {namespace, name, key}.
    credentials_secret: dict[str, str] = Field(default_factory=dict)
    default_region: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    quotas: TenantQuotas = Field(default_factory=TenantQuotas)
    monthly_budget: float | None = None
    alert_threshold: float = 0.8

    def budget(self) -> Budget | None:
        if self.monthly_budget is None:
            return None
        return Budget(
            max_monthly_cost=self.monthly_budget,
            alert_threshold=self.alert_threshold,
            enforcement_mode="hard",
        )


def cloud_provider_requirement(
    ref: CloudProviderRef | None, identity: XrIdentity
) -> Requirement | None:
    """The CloudProvider claim to fetch, in the deployment's namespace; None without a ref."""
    if ref is None:
        return None
    return Requirement(
        name=CLOUD_PROVIDER_REQUIREMENT,
        api_version=CLOUD_PROVIDER_API_VERSION,
        kind=CLOUD_PROVIDER_CLAIM_KIND,
        match_name=ref.name,
        namespace=identity.tenant,
    )


def tenant_requirements(ref: CloudProviderRef | None, identity: XrIdentity) -> list[Requirement]:
    """Everything to fetch for a deployment that names a CloudProvider (none without one)."""
    cp = cloud_provider_requirement(ref, identity)
    return [] if cp is None else [cp, tenant_deployments_requirement(identity)]


def tenant_deployments_requirement(identity: XrIdentity) -> Requirement:
    """Every deployment of the tenant: claim-backed XRs by label, namespaced XRs by namespace."""
    if identity.namespaced:
        return Requirement(
            name=TENANT_DEPLOYMENTS_REQUIREMENT,
            api_version=APP_API_VERSION,
            kind="AppDeployment",
            namespace=identity.tenant,
        )
    return Requirement(
        name=TENANT_DEPLOYMENTS_REQUIREMENT,
        api_version=APP_API_VERSION,
        kind="XAppDeployment",
        match_labels={CLAIM_NAMESPACE_LABEL: identity.tenant},
    )


def apply_cloud_provider(
    found: list[dict[str, Any]], tenant: str, ref: CloudProviderRef, spec_cloud: str = "aws"
) -> TenantSettings:
    """TenantSettings from the fetched CloudProvider (`found`: the requirement's answer).

    Raises InputError naming spec.cloudProviderRef when it is missing, in another
    namespace, for another cloud, or malformed.
    """
    field = "spec.cloudProviderRef.name"
    matches = [o for o in found if (o.get("metadata") or {}).get("name") == ref.name]
    if not matches:
        raise InputError(
            field, f"no CloudProvider {ref.name!r} in namespace {tenant!r}; create it first"
        )
    cp = matches[0]
    namespace = (cp.get("metadata") or {}).get("namespace")
    if namespace != tenant:
        raise InputError(
            field,
            f"CloudProvider {ref.name!r} is in namespace {namespace!r}, not {tenant!r}: "
            "a deployment can only use its own namespace's CloudProviders",
        )
    try:
        spec = parse_cloud_provider_spec(cp, prefix=f"CloudProvider {tenant}/{ref.name} spec")
    except InputError as e:
        raise InputError(field, f"{e.field}: {e.reason}") from None
    if spec.type != spec_cloud:
        raise InputError(
            field,
            f"CloudProvider {ref.name!r} is for {spec.type}, but spec.cloudProvider is "
            f"{spec_cloud}",
        )
    return TenantSettings(
        cloud_provider=ref.name,
        cloud=spec.type,
        provider_config_name=provider_config_name(tenant, ref.name),
        credentials_secret={
            "namespace": tenant,
            "name": spec.credentials.secret_ref.name,
            "key": spec.credentials.secret_ref.key,
        },
        default_region=spec.default_region,
        tags=dict(spec.tags),
        quotas=TenantQuotas(
            max_ec2_instances=spec.quotas.max_ec2_instances,
            max_eks_clusters=spec.quotas.max_eks_clusters,
        ),
        monthly_budget=spec.cost_control.monthly_budget,
        alert_threshold=spec.cost_control.alert_threshold,
    )


def resolve_region(spec_region: str | None, tenant: TenantSettings | None) -> str:
    """The deployment's region: its own, else its CloudProvider's default, else us-east-1."""
    return spec_region or (tenant.default_region if tenant else None) or "us-east-1"


class Footprint(BaseModel):
    """What one deployment counts against the tenant's quotas and budget."""

    ec2_instances: int = 0
    eks_clusters: int = 0
    monthly_cost: float = 0.0


def decision_footprint(decision: Decision, monthly_cost: float, cloud: str = "aws") -> Footprint:
    """EC2 instances at their scaling maximum (vm group, EKS nodes), EKS clusters, cost.
    Instances and clusters count only on AWS (`cloud`): the quotas name EC2 and EKS."""
    if cloud != "aws":
        return Footprint(monthly_cost=monthly_cost)
    if decision.strategy is Strategy.VM and decision.vm:
        return Footprint(ec2_instances=decision.vm.max_size, monthly_cost=monthly_cost)
    if decision.strategy is Strategy.KUBERNETES and decision.kubernetes:
        return Footprint(
            ec2_instances=decision.kubernetes.max_nodes, eks_clusters=1, monthly_cost=monthly_cost
        )
    return Footprint(monthly_cost=monthly_cost)


def _number(v: Any) -> float:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else 0.0


def observed_footprint(deployment: dict[str, Any]) -> Footprint:
    """A deployment's footprint from its status (pinned decision, cost estimate); EC2
    instances and EKS clusters only for an AWS deployment (spec.cloudProvider, default aws)."""
    status = deployment.get("status") or {}
    if ((deployment.get("spec") or {}).get("cloudProvider") or "aws") != "aws":
        return Footprint(monthly_cost=_number((status.get("cost") or {}).get("estimatedMonthly")))
    params = (status.get("decision") or {}).get("parameters") or {}
    strategy = params.get("strategy") or status.get("strategy")
    cost = _number((status.get("cost") or {}).get("estimatedMonthly"))
    if strategy == Strategy.VM.value:
        vm = params.get("vm") or {}
        return Footprint(ec2_instances=int(_number(vm.get("maxSize")) or 1), monthly_cost=cost)
    if strategy == Strategy.KUBERNETES.value:
        k = params.get("kubernetes") or {}
        return Footprint(
            ec2_instances=int(_number(k.get("maxNodes")) or 1), eks_clusters=1, monthly_cost=cost
        )
    return Footprint(monthly_cost=cost)


def _is_self(deployment: dict[str, Any], identity: XrIdentity | None) -> bool:
    if identity is None:
        return False
    meta = deployment.get("metadata") or {}
    return meta.get("uid") == identity.uid or (
        meta.get("name") == identity.name
        and (meta.get("namespace") or None) == (identity.tenant if identity.namespaced else None)
    )


def _foreign(deployment: dict[str, Any], identity: XrIdentity | None) -> bool:
    """Another tenant's deployment (the requirement selects by tenant; this double-checks)."""
    if identity is None:
        return False
    meta = deployment.get("metadata") or {}
    if identity.namespaced:
        return meta.get("namespace") != identity.tenant
    return (meta.get("labels") or {}).get(CLAIM_NAMESPACE_LABEL) != identity.tenant


def tenant_totals(others: list[dict[str, Any]], identity: XrIdentity | None = None) -> Footprint:
    """The other deployments' combined footprint (the deployment itself and other tenants'
    deployments are left out when `identity` is given)."""
    total = Footprint()
    for d in others:
        if _is_self(d, identity) or _foreign(d, identity):
            continue
        f = observed_footprint(d)
        total.ec2_instances += f.ec2_instances
        total.eks_clusters += f.eks_clusters
        total.monthly_cost += f.monthly_cost
    return total


def enforce_quotas(
    this_decision: Decision,
    this_cost: float,
    others: list[dict[str, Any]],
    tenant_settings: TenantSettings,
    identity: XrIdentity | None = None,
    cloud: str = "aws",
) -> list[str]:
    """What the decision (for a deployment on `cloud`) would break among the tenant's
    quotas and monthly budget. maxEC2Instances and maxEKSClusters count AWS deployments
    only; the monthly budget counts every cloud's."""
    mine = decision_footprint(this_decision, this_cost, cloud)
    rest = tenant_totals(others, identity)
    q = tenant_settings.quotas
    who = f"CloudProvider {tenant_settings.cloud_provider!r}"
    out: list[str] = []
    if q.max_ec2_instances is not None and mine.ec2_instances:
        total = rest.ec2_instances + mine.ec2_instances
        if total > q.max_ec2_instances:
            out.append(
                f"quotas.maxEC2Instances of {who} is {q.max_ec2_instances}: this deployment "
                f"may run {mine.ec2_instances} and the tenant's others {rest.ec2_instances}"
            )
    if q.max_eks_clusters is not None and mine.eks_clusters:
        total = rest.eks_clusters + mine.eks_clusters
        if total > q.max_eks_clusters:
            out.append(
                f"quotas.maxEKSClusters of {who} is {q.max_eks_clusters}: the tenant already "
                f"has {rest.eks_clusters}"
            )
    status = tenant_budget_status(this_cost, rest, tenant_settings)
    if status is not None and status.status.value == "exceeded":
        out.append(
            f"costControl.monthlyBudget of {who} is ${tenant_settings.monthly_budget:.2f}: "
            f"this deployment's ${this_cost:.2f} plus the tenant's others "
            f"${rest.monthly_cost:.2f} is ${this_cost + rest.monthly_cost:.2f}/month"
        )
    return out


def tenant_budget_status(
    this_cost: float, rest: Footprint, tenant_settings: TenantSettings
) -> BudgetStatus | None:
    """The tenant's total against its CloudProvider budget (None without one)."""
    budget = tenant_settings.budget()
    if budget is None:
        return None
    return budget_check(round(this_cost + rest.monthly_cost, 2), budget)
