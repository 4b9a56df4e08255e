"""Tenants: the CloudProvider requirement, TenantSettings from it, quotas and tenant budget."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from function.errors import InputError
from function.model import Decision, KubernetesParams, ServerlessParams, Strategy, VmParams
from function.policy.refs import CloudProviderRef
from function.policy.tenant import (
    TenantSettings,
    apply_cloud_provider,
    cloud_provider_requirement,
    enforce_quotas,
    resolve_region,
    tenant_deployments_requirement,
    tenant_totals,
)
from function.xr import XrIdentity
from tests.support.crdcheck import REPO_ROOT

CLAIM: dict[str, Any] = yaml.safe_load(
    (REPO_ROOT / "examples" / "cloudprovider" / "claim.yaml").read_text()
)
REF = CloudProviderRef(name="aws-prod")
LEGACY = XrIdentity(
    name="shop-x1", uid="u-shop", tenant="team-a", namespaced=False, deployment_name="shop"
)
NAMESPACED = LEGACY.model_copy(update={"namespaced": True, "name": "shop"})


def vm(max_size: int) -> Decision:
    return Decision(
        strategy=Strategy.VM,
        reason="r",
        confidence=0.8,
        vm=VmParams(instance_type="t3.small", min_size=1, max_size=max_size, desired_capacity=1),
    )


def eks(max_nodes: int) -> Decision:
    return Decision(
        strategy=Strategy.KUBERNETES,
        reason="r",
        confidence=0.8,
        kubernetes=KubernetesParams(
            node_instance_type="t3.medium", min_nodes=1, max_nodes=max_nodes, desired_nodes=1
        ),
    )


LAMBDA = Decision(
    strategy=Strategy.SERVERLESS,
    reason="r",
    confidence=0.8,
    serverless=ServerlessParams(memory_mb=512, timeout_seconds=30),
)


def deployment(
    name: str, decision: Decision, cost: float, uid: str | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "scia.io/v1alpha1",
        "kind": "XAppDeployment",
        "metadata": {
            "name": name,
            "uid": uid or f"u-{name}",
            "labels": {"crossplane.io/claim-namespace": "team-a"},
        },
        "status": {
            "strategy": decision.strategy.value,
            "cost": {"estimatedMonthly": cost},
            "decision": {"parameters": decision.model_dump(mode="json", by_alias=True)},
        },
    }


def tenant() -> TenantSettings:
    return apply_cloud_provider([CLAIM], "team-a", REF)


def test_requirements_ask_for_the_tenants_own_objects() -> None:
    assert cloud_provider_requirement(None, LEGACY) is None
    req = cloud_provider_requirement(REF, LEGACY)
    assert req is not None
    assert (req.api_version, req.kind, req.match_name, req.namespace) == (
        "scia.io/v1alpha1",
        "CloudProvider",
        "aws-prod",
        "team-a",
    )
    legacy = tenant_deployments_requirement(LEGACY)
    assert legacy.kind == "XAppDeployment" and legacy.namespace is None
    assert legacy.match_labels == {"crossplane.io/claim-namespace": "team-a"}
    ns = tenant_deployments_requirement(NAMESPACED)
    assert (ns.kind, ns.namespace, ns.match_labels) == ("AppDeployment", "team-a", None)


def test_apply_cloud_provider_reads_region_tags_quotas_budget() -> None:
    t = tenant()
    assert t.provider_config_name == "team-a-aws-prod"
    assert t.default_region == "eu-west-1"
    assert t.tags == {"cost-center": "cc-1234", "team": "team-a"}
    assert (t.quotas.max_ec2_instances, t.quotas.max_eks_clusters) == (20, 1)
    assert t.monthly_budget == 2000 and t.alert_threshold == 0.8
    # Its credentials Secret, always in the tenant's own namespace (GKE's provider-kubernetes
    # identity reads it: render/gcp/kubernetes.py).
    ref = CLAIM["spec"]["credentials"]["secretRef"]
    assert t.credentials_secret == {"namespace": "team-a", "name": ref["name"], "key": ref["key"]}
    assert resolve_region(None, t) == "eu-west-1"
    assert resolve_region("us-west-2", t) == "us-west-2"
    assert resolve_region(None, None) == "us-east-1"


def test_missing_foreign_or_mismatched_cloud_provider_are_clear_errors() -> None:
    with pytest.raises(InputError, match="no CloudProvider 'aws-prod' in namespace 'team-a'"):
        apply_cloud_provider([], "team-a", REF)
    foreign = copy.deepcopy(CLAIM)
    foreign["metadata"]["namespace"] = "team-b"
    with pytest.raises(InputError, match="in namespace 'team-b', not 'team-a'") as e:
        apply_cloud_provider([foreign], "team-a", REF)
    assert e.value.field == "spec.cloudProviderRef.name"
    with pytest.raises(InputError, match=r"is for aws, but spec\.cloudProvider is gcp"):
        apply_cloud_provider([CLAIM], "team-a", REF, spec_cloud="gcp")
    broken = copy.deepcopy(CLAIM)
    del broken["spec"]["credentials"]
    with pytest.raises(InputError, match="credentials: required field is missing"):
        apply_cloud_provider([broken], "team-a", REF)


def test_quotas_count_instances_at_their_maximum_and_clusters() -> None:
    others = [deployment("web", vm(10), 100.0), deployment("batch", eks(6), 300.0)]
    assert enforce_quotas(vm(4), 50.0, others, tenant()) == []
    [v] = enforce_quotas(vm(5), 50.0, others, tenant())
    assert "quotas.maxEC2Instances" in v and "20" in v and "may run 5" in v
    violations = enforce_quotas(eks(2), 100.0, others, tenant())
    assert any("quotas.maxEKSClusters" in v and "already has 1" in v for v in violations)
    # Serverless uses no instance and no cluster quota.
    assert enforce_quotas(LAMBDA, 5.0, others, tenant()) == []


def test_tenant_monthly_budget_spans_all_deployments() -> None:
    others = [deployment("web", LAMBDA, 1500.0), deployment("api", LAMBDA, 400.0)]
    assert enforce_quotas(LAMBDA, 100.0, others, tenant()) == []
    [v] = enforce_quotas(LAMBDA, 100.01, others, tenant())
    assert "costControl.monthlyBudget" in v and "$2000.00" in v


def test_the_deployment_itself_is_not_counted_twice() -> None:
    me = deployment("shop-x1", vm(10), 1000.0, uid="u-shop")
    others = [me, deployment("web", vm(10), 100.0)]
    assert tenant_totals(others, LEGACY).ec2_instances == 10
    assert enforce_quotas(vm(10), 1000.0, others, tenant(), LEGACY) == []
    assert enforce_quotas(vm(10), 1000.0, others, tenant())  # counted twice without identity


def test_undecided_or_odd_status_counts_as_nothing() -> None:
    odd = {"metadata": {"name": "x"}, "status": {"cost": {"estimatedMonthly": "lots"}}}
    bare = {"metadata": {"name": "y"}}
    totals = tenant_totals([odd, bare])
    assert (totals.ec2_instances, totals.eks_clusters, totals.monthly_cost) == (0, 0, 0.0)


def test_other_tenants_deployments_never_count() -> None:
    foreign = deployment("theirs", vm(50), 5000.0)
    foreign["metadata"]["labels"]["crossplane.io/claim-namespace"] = "team-b"
    assert enforce_quotas(vm(10), 100.0, [foreign], tenant(), LEGACY) == []
    namespaced_foreign = {**deployment("theirs", vm(50), 5000.0), "kind": "AppDeployment"}
    namespaced_foreign["metadata"] = {"name": "theirs", "namespace": "team-b"}
    assert tenant_totals([namespaced_foreign], NAMESPACED).ec2_instances == 0
    namespaced_foreign["metadata"]["namespace"] = "team-a"
    assert tenant_totals([namespaced_foreign], NAMESPACED).ec2_instances == 50


def test_ec2_and_eks_quotas_count_aws_deployments_only() -> None:
    """maxEC2Instances and maxEKSClusters name AWS's kinds: GCE/GKE and Azure VMSS/AKS
    deployments of the same tenant do not count against them, on either side; the
    monthly budget counts every cloud's."""
    gce = deployment("gce-web", vm(18), 100.0)
    gce["spec"] = {"cloudProvider": "gcp"}
    aks = deployment("aks-api", eks(6), 300.0)
    aks["spec"] = {"cloudProvider": "azure"}
    totals = tenant_totals([gce, aks])
    assert (totals.ec2_instances, totals.eks_clusters, totals.monthly_cost) == (0, 0, 400.0)
    assert enforce_quotas(vm(20), 50.0, [gce, aks], tenant()) == []
    assert enforce_quotas(vm(25), 50.0, [], tenant(), cloud="gcp") == []
    assert (
        enforce_quotas(eks(3), 50.0, [deployment("b", eks(3), 1.0)], tenant(), cloud="azure") == []
    )
    # The AWS quota still binds an AWS deployment.
    [v] = enforce_quotas(vm(21), 50.0, [gce, aks], tenant())
    assert "quotas.maxEC2Instances" in v and "may run 21" in v
