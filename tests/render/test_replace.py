"""Immutable fields are replaced, not edited: every strategy, both scopes, to convergence.

A small stand-in for Crossplane + the provider applies each desired state: every desired
resource becomes observed and Ready with an ARN, selectors are resolved into the fields
they fill (as the provider's reference resolver does), and a resource left out is gone.
Each step is checked: the old generation never leaves before its replacement is Ready
and unused, and the run ends with one generation per component carrying the new value.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from function.model import KubernetesParams, Strategy
from function.render.common import COMPONENT_LABEL, RenderContext
from function.render.dispatch import render_plan
from function.render.replace import ReplacementRefused, users
from tests.render.test_render_aws import FULL_OBSERVED, ctx
from tests.support.crdcheck import assert_all_valid

Observed = dict[str, dict[str, Any]]
READY = [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "True"}]


def _arn(name: str) -> str:
    return f"arn:aws:test:::{name}"


def _resolve(node: Any, arns: dict[str, str]) -> Any:
    if isinstance(node, list):
        return [_resolve(x, arns) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _resolve(v, arns) for k, v in node.items()}
    for k, v in node.items():
        if k.endswith("Selector") and isinstance(v, dict):
            comp = (v.get("matchLabels") or {}).get(COMPONENT_LABEL)
            if comp in arns:
                out[k[: -len("Selector")]] = arns[comp]
    return out


def apply(desired: Observed, before: Observed, extra: Observed) -> Observed:
    """What Crossplane and the provider make of a desired state (everything becomes Ready)."""
    by_label = {
        b["metadata"]["labels"].get(COMPONENT_LABEL, n): _arn(n) for n, b in desired.items()
    }
    out: Observed = {}
    for name, body in desired.items():
        seen = copy.deepcopy(body)
        seen["metadata"] = {
            **seen["metadata"],
            "name": f"xr-{name}",
            "annotations": {
                **seen["metadata"].get("annotations", {}),
                "crossplane.io/composition-resource-name": name,
            },
        }
        seen["spec"] = _resolve(seen["spec"], by_label)
        at = {"arn": _arn(name)} | ((extra.get(name) or {}).get("status") or {}).get(
            "atProvider", {}
        )
        if body["kind"] == "NodeGroup":  # EKS makes one auto scaling group per node group
            at["resources"] = [{"autoscalingGroups": [{"name": f"eks-{name}"}]}]
        seen["status"] = {"conditions": READY, "atProvider": at}
        out[name] = seen
    return out


def converge(c: RenderContext, observed: Observed, extra: Observed) -> tuple[Observed, list[str]]:
    notes: list[str] = []
    for _ in range(12):
        p = render_plan(c, observed)
        notes += p.notes
        assert_all_valid(
            [{**b, "metadata": {**b["metadata"], "name": f"x-{n}"}} for n, b in p.desired.items()]
        )
        for gone, why in p.retired.items():
            assert not users(gone, observed), (gone, why)
        left = set(observed) - set(p.desired)
        assert left == set(p.retired), left
        nxt = apply(p.desired, observed, extra)
        if nxt.keys() == observed.keys() and all(
            nxt[n]["spec"] == observed[n]["spec"] for n in nxt
        ):
            return nxt, notes
        observed = nxt
    raise AssertionError("did not converge in 12 reconciles")


def start(c: RenderContext) -> Observed:
    observed, _ = converge(c, {}, FULL_OBSERVED)
    return observed


def _fp(observed: Observed, prefix: str) -> list[dict[str, Any]]:
    return [
        b["spec"]["forProvider"]
        for n, b in observed.items()
        if n == prefix or n.startswith(prefix + "-g")
    ]


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
def test_vm_target_group_port_change_is_a_replacement(namespaced: bool) -> None:
    c = ctx(Strategy.VM, namespaced)
    before = start(c)
    old_name = before["target-group"]["spec"]["forProvider"]["name"]
    c2 = dataclasses.replace(c, decision=c.decision.model_copy(update={"port": 8080}))
    after, notes = converge(c2, before, FULL_OBSERVED)
    groups = _fp(after, "target-group")
    assert [g["port"] for g in groups] == [8080]
    assert groups[0]["name"] != old_name
    assert "target-group" not in after
    fwd = after["listener-http"]["spec"]["forProvider"]["defaultAction"][0]
    assert (
        fwd["targetGroupArn"]
        == after[next(n for n in after if "target-group-g" in n)]["status"]["atProvider"]["arn"]
    )
    assert any("cannot change in place" in n for n in notes)


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
def test_kubernetes_node_type_change_is_a_replacement(namespaced: bool) -> None:
    c = ctx(Strategy.KUBERNETES, namespaced)
    before = start(c)
    k = KubernetesParams(node_instance_type="m6g.large", min_nodes=2, max_nodes=4, desired_nodes=2)
    c2 = dataclasses.replace(c, decision=c.decision.model_copy(update={"kubernetes": k}))
    after, _ = converge(c2, before, FULL_OBSERVED)
    groups = _fp(after, "node-group")
    assert [(g["instanceTypes"], g["amiType"]) for g in groups] == [
        (["m6g.large"], "AL2023_ARM_64_STANDARD")
    ]
    assert "node-group" not in after
    # The cluster is untouched: same resource, same spec.
    assert after["eks-cluster"]["spec"] == before["eks-cluster"]["spec"]


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
def test_serverless_region_change_replaces_function_url_and_permissions(namespaced: bool) -> None:
    c = ctx(Strategy.SERVERLESS, namespaced)
    before = start(c)
    spec = c.spec.model_copy(
        update={
            "region": "eu-central-1",
            "image": "123456789012.dkr.ecr.eu-central-1.amazonaws.com/app:1",
        }
    )
    after, _ = converge(dataclasses.replace(c, spec=spec), before, FULL_OBSERVED)
    for base in ("lambda-function", "function-url", "function-url-permission"):
        fps = _fp(after, base)
        assert [f["region"] for f in fps] == ["eu-central-1"], base
        assert base not in after, base
    # IAM is global: the role stays.
    assert after["lambda-role"]["spec"] == before["lambda-role"]["spec"]


@pytest.mark.parametrize("strategy", [Strategy.VM, Strategy.KUBERNETES])
def test_network_changes_are_refused_naming_the_field(strategy: Strategy) -> None:
    c = ctx(strategy, False)
    before = start(c)
    moved = dataclasses.replace(
        c,
        spec=c.spec.model_copy(update={"region": "us-west-2"}),
    )
    with pytest.raises(ReplacementRefused, match=r"spec\.forProvider\.region"):
        render_plan(moved, before)


def test_unchanged_decision_renders_no_generation() -> None:
    for strategy in Strategy:
        for namespaced in (False, True):
            c = ctx(strategy, namespaced)
            before = start(c)
            p = render_plan(c, before)
            assert set(p.desired) == set(before) and not p.retired
            assert not [n for n in p.desired if "-g" in n.rsplit("-", 1)[-1][:2]]


def test_replacement_through_the_grpc_layers_reduced_observed_state() -> None:
    """fn.py converts only the fields renderers read; an echoed old generation is whole."""
    from crossplane.function import resource
    from crossplane.function.proto.v1 import run_function_pb2 as fnv1

    from function.fn import _observed

    c = ctx(Strategy.VM, True)
    before = start(c)
    req = fnv1.RunFunctionRequest()
    for name, body in before.items():
        req.observed.resources[name].resource.CopyFrom(resource.dict_to_struct(body))
    reduced = _observed(req)
    assert "tags" not in reduced["target-group"]["spec"]["forProvider"]  # not read
    c2 = dataclasses.replace(c, decision=c.decision.model_copy(update={"port": 8080}))
    p = render_plan(c2, reduced)
    assert p.desired["target-group"]["spec"] == before["target-group"]["spec"]
    assert (
        p.desired["target-group"]["metadata"]["labels"]
        == before["target-group"]["metadata"]["labels"]
    )
    assert p.desired == render_plan(c2, before).desired


def test_a_replaced_permission_on_the_same_function_gets_its_own_statement_id() -> None:
    c = ctx(Strategy.SERVERLESS, False)
    before = start(c)
    # An older render's permission, different in an immutable field (no qualifier then).
    before["function-invoke-permission"]["spec"]["forProvider"]["principal"] = (
        "lambda.amazonaws.com"
    )
    after, _ = converge(c, before, FULL_OBSERVED)
    [perm] = [b for n, b in after.items() if n.startswith("function-invoke-permission")]
    assert perm["spec"]["forProvider"]["principal"] == "*"
    assert perm["spec"]["forProvider"]["statementId"].startswith("AllowPublicFunctionUrlInvoke-")
    assert "function-invoke-permission" not in after
