"""End to end with the real `crossplane render`: the CloudProvider path, and an AppDeployment
that names a CloudProvider, fetched through `--required-resources`.

Both need the lead's wiring in function/reconcile.py and function/fn.py (dispatch on the
XR kind; requirements declared and read back); until then these are expected failures.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from examples import render as R
from tests.support.render_env import Env, assert_resources_valid, split

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
TENANCY = ROOT / "examples" / "tenancy"


def render_with_required(env: Env, xr: dict[str, Any], required: list[dict[str, Any]]) -> Any:
    xr_path = env.work / f"xr-{abs(hash(str(xr)))}.yaml"
    xr_path.write_text(yaml.safe_dump(xr))
    req_path = env.work / f"required-{abs(hash(str(required)))}.yaml"
    req_path.write_text(yaml.safe_dump_all(required))
    return R.render(
        env.crossplane,
        xr_path,
        env.composition("legacy"),
        env.functions,
        extra=("--required-resources", str(req_path)),
    )


def test_cloud_provider_renders_its_provider_config(env: Env) -> None:
    docs = R.render(
        env.crossplane,
        ROOT / "examples" / "cloudprovider" / "xcloudprovider.yaml",
        ROOT / "compositions" / "cloudprovider.yaml",
        env.functions,
    )
    xr, resources, results = split(docs)
    assert not [r for r in results if r.get("severity") == "SEVERITY_FATAL"]
    for name in ("provider-config", "cluster-provider-config"):
        pc = resources[name]
        assert pc["metadata"]["name"] == "team-a-aws-prod"
        assert pc["spec"]["credentials"]["secretRef"]["namespace"] == "team-a"
    assert resources["cluster-provider-config"]["apiVersion"] == "aws.m.upbound.io/v1beta1"
    assert xr["status"]["providerConfigName"] == "team-a-aws-prod"
    assert_resources_valid(resources)


def test_deployment_uses_its_cloud_providers_config_and_tags(env: Env) -> None:
    xr = yaml.safe_load((TENANCY / "deployment-with-cloudprovider.yaml").read_text())
    required = list(yaml.safe_load_all((TENANCY / "required-resources.yaml").read_text()))
    out, resources, results = split(render_with_required(env, xr, required))
    assert not [r for r in results if r.get("severity") == "SEVERITY_FATAL"]
    assert out["status"]["strategy"] == "vm"
    assert resources
    for body in resources.values():
        assert body["spec"]["providerConfigRef"]["name"] == "team-a-aws-prod"
    tags = resources["vpc"]["spec"]["forProvider"]["tags"]
    assert tags["cost-center"] == "cc-1234" and tags["scia.io/tenant"] == "team-a"
    assert_resources_valid(resources)


def test_deployment_without_region_takes_the_cloud_providers_default(env: Env) -> None:
    xr = yaml.safe_load((TENANCY / "deployment-with-cloudprovider.yaml").read_text())
    required = list(yaml.safe_load_all((TENANCY / "required-resources.yaml").read_text()))
    cloud = next(d for d in required if d["kind"] == "CloudProvider")
    cloud["spec"]["defaultRegion"] = "eu-central-1"
    xr["spec"].pop("region")
    _, resources, _ = split(render_with_required(env, xr, required))
    assert {b["spec"]["forProvider"].get("region") for b in resources.values()} - {None} == {
        "eu-central-1"
    }
    assert resources["subnet-a"]["spec"]["forProvider"]["availabilityZone"] == "eu-central-1a"
    # An explicit region wins over the default.
    xr["spec"]["region"] = "us-west-2"
    _, resources, _ = split(render_with_required(env, xr, required))
    assert resources["vpc"]["spec"]["forProvider"]["region"] == "us-west-2"


def test_missing_cloud_provider_is_fatal_naming_the_ref(env: Env) -> None:
    xr = yaml.safe_load((TENANCY / "deployment-with-cloudprovider.yaml").read_text())
    required = [
        d
        for d in yaml.safe_load_all((TENANCY / "required-resources.yaml").read_text())
        if d["kind"] != "CloudProvider"
    ]
    with pytest.raises(RuntimeError, match=r"spec.cloudProviderRef.name"):
        render_with_required(env, xr, required)


def test_tenant_budget_refuses_a_new_decision(env: Env) -> None:
    xr = yaml.safe_load((TENANCY / "deployment-with-cloudprovider.yaml").read_text())
    required = list(yaml.safe_load_all((TENANCY / "required-resources.yaml").read_text()))
    spent = copy.deepcopy(required[1])
    spent["metadata"]["name"] = "big-spender-1a2b3"
    spent["metadata"]["uid"] = "1f0c1e55-6b3d-4f0a-8c1e-2d9b4f6a7e10"
    spent["status"]["cost"]["estimatedMonthly"] = 1690
    spent["status"]["decision"]["parameters"] = {"strategy": "serverless"}
    spent["status"]["strategy"] = "serverless"
    out, resources, results = split(render_with_required(env, xr, [*required, spent]))
    assert not resources
    assert out["status"]["phase"] == "Failed"
    assert any("costControl.monthlyBudget" in r["message"] for r in results)


def test_namespaced_deployment_uses_the_cloud_providers_cluster_provider_config(env: Env) -> None:
    xr = yaml.safe_load((TENANCY / "deployment-with-cloudprovider.yaml").read_text())
    xr = {
        "apiVersion": "scia.io/v1alpha1",
        "kind": "AppDeployment",
        "metadata": {"name": "flask-app", "namespace": "team-a", "uid": "ns-uid-1"},
        "spec": {k: v for k, v in xr["spec"].items() if k not in ("claimRef", "compositionRef")},
    }
    required = list(yaml.safe_load_all((TENANCY / "required-resources.yaml").read_text()))
    xr_path = env.work / "xr-namespaced-cloudprovider.yaml"
    xr_path.write_text(yaml.safe_dump(xr))
    req_path = env.work / "required-namespaced.yaml"
    req_path.write_text(yaml.safe_dump_all(required))
    docs = R.render(
        env.crossplane,
        xr_path,
        env.composition("namespaced"),
        env.functions,
        extra=("--required-resources", str(req_path)),
    )
    _, resources, results = split(docs)
    assert not [r for r in results if r.get("severity") == "SEVERITY_FATAL"]
    for body in resources.values():
        assert body["apiVersion"].split("/")[0].endswith(".aws.m.upbound.io")
        assert body["spec"]["providerConfigRef"] == {
            "kind": "ClusterProviderConfig",
            "name": "team-a-aws-prod",
        }
    assert_resources_valid(resources)
