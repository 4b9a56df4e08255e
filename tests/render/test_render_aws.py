"""Every strategy x scope renders manifests that the real provider CRDs accept."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from function.input import FunctionInput
from function.model import Decision, KubernetesParams, ServerlessParams, Strategy, VmParams
from function.pinning import AnalysisSummary
from function.render.common import RenderContext
from function.render.dispatch import render
from function.render.kube.objects import provider_config_name
from function.xr import AppSpec, XrIdentity
from tests.support.crdcheck import assert_all_valid

DECISIONS = {
    Strategy.VM: Decision(
        strategy=Strategy.VM,
        port=5000,
        health_check_path="/healthz",
        reason="r",
        confidence=0.8,
        vm=VmParams(instance_type="t3.small", min_size=2, max_size=4, desired_capacity=2),
    ),
    Strategy.KUBERNETES: Decision(
        strategy=Strategy.KUBERNETES,
        reason="r",
        confidence=0.7,
        kubernetes=KubernetesParams(
            node_instance_type="t3.medium", min_nodes=2, max_nodes=4, desired_nodes=2
        ),
    ),
    Strategy.SERVERLESS: Decision(
        strategy=Strategy.SERVERLESS,
        port=3000,
        reason="r",
        confidence=0.6,
        serverless=ServerlessParams(memory_mb=1024, timeout_seconds=30),
    ),
}


# Observed values some resources wait for: with these every resource is composed.
FULL_OBSERVED: dict[str, dict[str, Any]] = {
    "launch-template": {"status": {"atProvider": {"latestVersion": 2}}},
    "app-logs": {
        "status": {
            "atProvider": {"arn": "arn:aws:logs:eu-west-1:123456789012:log-group:/scia/x/app"}
        }
    },
    # The cluster's credentials are published: the workload's Objects are composed.
    "cluster-auth": {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
    "node-group": {
        "status": {"atProvider": {"resources": [{"autoscalingGroups": [{"name": "eks-ng-1"}]}]}}
    },
}


def ctx(
    strategy: Strategy, namespaced: bool, settings: dict[str, Any] | None = None
) -> RenderContext:
    return RenderContext(
        identity=XrIdentity(
            name="flask-app-x1",
            uid="u-1",
            tenant="team-a",
            namespaced=namespaced,
            deployment_name="flask-app",
        ),
        spec=AppSpec.model_validate(
            {
                "repository": {"url": "https://github.com/acme/flask-app"},
                "region": "eu-west-1",
                "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1",
            }
        ),
        settings=FunctionInput.model_validate(settings or {}),
        decision=DECISIONS[strategy],
        commit="a" * 40,
        analysis=AnalysisSummary(language="python", framework="flask", port=5000),
    )


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
@pytest.mark.parametrize("strategy", list(Strategy))
def test_every_manifest_validates_against_provider_crds(
    strategy: Strategy, namespaced: bool
) -> None:
    out = render(ctx(strategy, namespaced), observed=FULL_OBSERVED)
    assert out
    if strategy is not Strategy.SERVERLESS:
        assert "scaling-policy" in out
    for name, body in out.items():
        group = body["apiVersion"].split("/")[0]
        assert group.endswith((".aws.m.upbound.io", ".m.crossplane.io")) == namespaced, name
        meta = {"name": f"x-{name}"} | body["metadata"]
        assert_all_valid([{**body, "metadata": meta}])


def test_vm_never_opens_ssh_and_requires_imdsv2() -> None:
    out = render(ctx(Strategy.VM, False), observed={})
    rules = [
        b["spec"]["forProvider"] for b in out.values() if b["kind"] == "SecurityGroupIngressRule"
    ]
    for r in rules:
        assert not (
            r.get("fromPort", 0) <= 22 <= r.get("toPort", 0) and r.get("cidrIpv4") == "0.0.0.0/0"
        )
    world = [r for r in rules if r.get("cidrIpv4") == "0.0.0.0/0"]
    assert [(r["fromPort"], r["toPort"]) for r in world] == [(80, 80)]
    app = next(r for r in rules if r.get("fromPort") == 5000)
    assert "referencedSecurityGroupIdSelector" in app and "cidrIpv4" not in app
    lt = out["launch-template"]["spec"]["forProvider"]
    assert lt["metadataOptions"]["httpTokens"] == "required"
    script = base64.b64decode(lt["userData"]).decode()
    assert "a" * 40 in script and "https://github.com/acme/flask-app" in script


def test_vm_asg_sizes_from_decision_and_target_group_from_observed() -> None:
    c = ctx(Strategy.VM, False)
    out = render(c, observed=FULL_OBSERVED)
    group = out["autoscaling-group"]["spec"]
    asg = group["forProvider"]
    assert (asg["minSize"], asg["maxSize"], group["initProvider"]["desiredCapacity"]) == (2, 4, 2)
    assert asg["launchTemplate"]["version"] == "2"
    assert "trafficSource" not in asg
    arn = "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/x/1"
    tg = {"target-group": {"status": {"atProvider": {"arn": arn}}}}
    out = render(c, observed=FULL_OBSERVED | tg)
    assert out["autoscaling-group"]["spec"]["forProvider"]["trafficSource"] == [
        {"identifier": arn, "type": "elbv2"}
    ]


def test_existing_network_composes_no_vpc() -> None:
    settings = {
        "network": {
            "vpcId": "vpc-0123456789abcdef0",
            "subnetIds": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
        }
    }
    out = render(ctx(Strategy.VM, False, settings), observed={})
    assert not {"vpc", "subnet-a", "internet-gateway"} & set(out)
    assert out["target-group"]["spec"]["forProvider"]["vpcId"] == "vpc-0123456789abcdef0"
    assert out["load-balancer"]["spec"]["forProvider"]["subnets"] == [
        "subnet-0aaaaaaaaaaaaaaaa",
        "subnet-0bbbbbbbbbbbbbbbb",
    ]


def test_every_resource_is_labelled_tagged_and_has_provider_config() -> None:
    for strategy in Strategy:
        for namespaced in (False, True):
            c = ctx(strategy, namespaced)
            for name, body in render(c, observed=FULL_OBSERVED).items():
                labels = body["metadata"]["labels"]
                assert labels["scia.io/component"] == name
                assert labels["scia.io/tenant"] == "team-a"
                assert (body["metadata"].get("namespace") == "team-a") == namespaced
                if body["kind"] == "ProviderConfig":  # provider-kubernetes': credentials only
                    continue
                pcr = body["spec"]["providerConfigRef"]
                # Objects name the cluster's own provider-kubernetes ProviderConfig.
                want = "default" if body["kind"] != "Object" else provider_config_name(c)
                assert pcr["name"] == want
                assert ("kind" in pcr) == namespaced
                tags = body["spec"]["forProvider"].get("tags")
                if tags is not None:
                    assert tags["managed-by"] == "scia"
