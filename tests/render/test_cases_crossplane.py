"""The render side of ../shared/cases/crossplane 05, 06, 07, 09 and 10, each with the right value.

Each test loads the case's own inputs (XR with its pinned decision, the composition's
function input, the observed resources) and renders what the function would compose.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from function.decide.engine import DecisionEngine
from function.decide.jobs import DecisionJobs
from function.model import Decision, ServerlessParams, Strategy
from function.reconcile import Reconciler, ReconcileRequest
from function.render.aws.serverless import ImageNotServable
from function.render.dispatch import render, render_plan
from function.render.names import EXTERNAL_NAME, RULES
from tests.render.cases import case_dir, context, load_yaml, observed, pinned_context
from tests.support.crdcheck import assert_all_valid

NEW_COMMIT = "e8833dc6995d839b91e86719f8659b025c5aa42d"
READY = [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "True"}]


def named(out: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**b, "metadata": {**b["metadata"], "name": f"x-{n}"}} for n, b in out.items()]


def asg(out: dict[str, dict[str, Any]]) -> dict[str, Any]:
    fp: dict[str, Any] = out["autoscaling-group"]["spec"]["forProvider"]
    return fp


# --- 05: a new commit reaches running instances -------------------------------------------


def test_05_new_commit_changes_the_group_so_instance_refresh_runs() -> None:
    d = case_dir("05")
    seen = observed(d / "observed.yaml")
    seen["launch-template"]["status"]["atProvider"]["latestVersion"] = 1
    rev1 = render(pinned_context(d / "xr.yaml", d / "composition-rev1.yaml"), seen)
    assert asg(rev1)["launchTemplate"]["version"] == "1"

    # Revision 2 (one more commit): the template's user data changes, the provider makes
    # template version 2, and the group's spec changes with it: the refresh starts.
    ctx2 = pinned_context(d / "xr.yaml", d / "composition-rev2.yaml", commit=NEW_COMMIT)
    rev2_before = render(ctx2, seen)
    assert rev2_before["launch-template"] != rev1["launch-template"]
    seen["launch-template"]["status"]["atProvider"]["latestVersion"] = 2
    rev2 = render(ctx2, seen)
    assert asg(rev2)["launchTemplate"]["version"] == "2"
    assert asg(rev2) != asg(rev1)
    assert asg(rev2)["instanceRefresh"] == {
        "strategy": "Rolling",
        "preferences": {"minHealthyPercentage": 50, "skipMatching": True},
    }
    assert "$Latest" not in str(rev2)
    assert_all_valid(named(rev2))


def test_05_before_the_template_version_is_observed_the_group_waits_and_says_so() -> None:
    d = case_dir("05")
    plan = render_plan(pinned_context(d / "xr.yaml", d / "composition-rev1.yaml"), {})
    assert "autoscaling-group" not in plan.desired and "scaling-policy" not in plan.desired
    assert any("latestVersion" in n for n in plan.notes)


def test_05_template_status_lost_keeps_the_groups_version() -> None:
    """A lost atProvider never drops the group nor rewrites its version (case 03b's kind)."""
    d = case_dir("05")
    seen = observed(d / "observed.yaml")  # the case's template shows no latestVersion
    seen["autoscaling-group"]["spec"]["forProvider"]["launchTemplate"]["version"] = "4"
    plan = render_plan(pinned_context(d / "xr.yaml", d / "composition-rev1.yaml"), seen)
    assert asg(plan.desired)["launchTemplate"]["version"] == "4"
    assert any("keeps launchTemplate.version" in n for n in plan.notes)


# --- 06: a public Function URL answers ---------------------------------------------------


def test_06_public_function_url_has_both_permissions() -> None:
    d = case_dir("06")
    out = render(
        pinned_context(d / "xr.yaml", d / "composition.yaml"), observed(d / "observed.yaml")
    )
    perms = {
        b["spec"]["forProvider"]["action"]: b["spec"]["forProvider"]
        for b in out.values()
        if b["kind"] == "Permission"
    }
    assert set(perms) == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    assert perms["lambda:InvokeFunctionUrl"]["functionUrlAuthType"] == "NONE"
    assert perms["lambda:InvokeFunction"]["invokedViaFunctionUrl"] is True
    assert {p["principal"] for p in perms.values()} == {"*"}
    # The existing permission is not touched (Permission fields are all ForceNew).
    old = observed(d / "observed.yaml")["function-url-permission"]["spec"]["forProvider"]
    new = out["function-url-permission"]["spec"]["forProvider"]
    assert {k: new[k] for k in old if k in new} == {k: old[k] for k in old if k in new}
    assert out["function-url"]["spec"]["forProvider"]["authorizationType"] == "NONE"
    assert_all_valid(named(out))


# --- 07: an image Lambda cannot run is refused, naming spec.image --------------------------

SERVERLESS = Decision(
    strategy=Strategy.SERVERLESS,
    port=3000,
    reason="r",
    confidence=0.9,
    serverless=ServerlessParams(memory_mb=1024, timeout_seconds=30),
)


@pytest.mark.parametrize(
    ("xr", "why"),
    [("a-xr.yaml", "is not one"), ("b-xr.yaml", "is in us-west-2 but the function runs in")],
)
def test_07_render_refuses_an_image_lambda_cannot_pull(xr: str, why: str) -> None:
    d = case_dir("07")
    with pytest.raises(ImageNotServable, match=r"spec\.image") as e:
        render(context(d / xr, d / "composition.yaml", SERVERLESS, "a" * 40), {})
    assert why in str(e.value)


@pytest.mark.integration
@pytest.mark.parametrize("xr", ["a-xr.yaml", "b-xr.yaml"])
async def test_07_reconcile_is_fatal_naming_spec_image(xr: str, repos: Path) -> None:
    from examples import render as R

    d = case_dir("07")
    inp = load_yaml(d / "composition.yaml")["spec"]["pipeline"][0]["input"]
    inp["urlRewrites"] = [{"prefix": R.MIRRORED_PREFIX, "replacement": f"file://{repos}/"}]
    inp.setdefault("analysis", {})["allowFileUrls"] = True
    inp.setdefault("decision", {})["waitSeconds"] = 30
    rec = Reconciler(DecisionEngine(), DecisionJobs())
    out = await rec.reconcile(ReconcileRequest(xr=load_yaml(d / xr), observed={}, input=inp))
    assert out.fatal, out.results
    assert not out.desired
    fatal = " ".join(m for s, m in out.results if s == "Fatal")
    assert "spec.image" in fatal and "ECR" in fatal


# --- 09: never fight an autoscaler ----------------------------------------------------------


def test_09_node_group_desired_size_is_set_at_creation_only_and_a_policy_scales() -> None:
    d = case_dir("09")
    ctx = pinned_context(d / "xr.yaml", d / "composition.yaml")
    k = ctx.decision.kubernetes
    assert k is not None and k.max_nodes > k.min_nodes
    fresh = render_plan(ctx, {})
    ng = fresh.desired["node-group"]["spec"]
    assert "desiredSize" not in ng["forProvider"]["scalingConfig"]
    assert ng["forProvider"]["scalingConfig"] == {"minSize": k.min_nodes, "maxSize": k.max_nodes}
    assert ng["initProvider"] == {"scalingConfig": {"desiredSize": k.desired_nodes}}
    # The policy needs the group EKS made for the nodes; until then the render says so.
    assert "scaling-policy" not in fresh.desired
    assert any("scaling policy" in n for n in fresh.notes)
    seen = {
        "node-group": {
            "status": {
                "atProvider": {"resources": [{"autoscalingGroups": [{"name": "eks-ng-1a2b"}]}]}
            }
        }
    }
    out = render(ctx, seen)
    pol = out["scaling-policy"]["spec"]["forProvider"]
    assert pol["autoscalingGroupName"] == "eks-ng-1a2b"
    assert pol["policyType"] == "TargetTrackingScaling"
    spec = pol["targetTrackingConfiguration"]["predefinedMetricSpecification"]
    assert spec == {"predefinedMetricType": "ASGAverageCPUUtilization"}
    assert_all_valid(named(out))


def test_09_vm_desired_capacity_in_init_provider_and_a_target_tracking_policy() -> None:
    d = case_dir("09")
    root = Path(__file__).resolve().parents[2]
    ex = root / "examples" / "legacy"
    ctx = pinned_context(ex / "xr-running.yaml", d / "composition-vm.yaml")
    assert ctx.decision.vm is not None and "scaling 2-3" in ctx.decision.reason
    seen = observed(ex / "observed-running.yaml")
    out = render(ctx, seen)
    group = out["autoscaling-group"]["spec"]
    assert "desiredCapacity" not in group["forProvider"]
    assert group["initProvider"] == {"desiredCapacity": 2}
    assert (group["forProvider"]["minSize"], group["forProvider"]["maxSize"]) == (2, 3)
    pol = out["scaling-policy"]["spec"]["forProvider"]
    assert pol["autoscalingGroupNameSelector"]["matchLabels"] == {
        "scia.io/component": "autoscaling-group"
    }
    assert pol["targetTrackingConfiguration"]["targetValue"] == 60
    assert_all_valid(named(out))


# --- 10: an immutable field is replaced, not edited -----------------------------------------


def _ready(body: dict[str, Any], arn: str) -> dict[str, Any]:
    return {**body, "status": {"conditions": READY, "atProvider": {"arn": arn}}}


def _provider_applies(desired: Any, seen: Any, arns: dict[str, str]) -> Any:
    """The observed forProvider after the provider applied `desired` (crossplane-runtime).

    `xSelector` fills `x` from the selected resource's ARN only when `x` is empty in the
    observed spec, or on every reconcile with `policy.resolve: Always` (the default is
    IfNotPresent); other fields are applied as desired.
    """
    if isinstance(desired, list):
        seen_l = seen if isinstance(seen, list) else []
        return [
            _provider_applies(d, seen_l[i] if i < len(seen_l) else None, arns)
            for i, d in enumerate(desired)
        ]
    if not isinstance(desired, dict):
        return desired
    seen_d = seen if isinstance(seen, dict) else {}
    out = {k: _provider_applies(v, seen_d.get(k), arns) for k, v in desired.items()}
    for k, v in desired.items():
        if not k.endswith("Selector") or not isinstance(v, dict):
            continue
        field = k[: -len("Selector")]
        selected = arns.get((v.get("matchLabels") or {}).get("scia.io/component", ""))
        if selected is None:  # not part of this test's replacement
            continue
        always = (v.get("policy") or {}).get("resolve") == "Always"
        if field in seen_d and not always:
            out[field] = seen_d[field]
        else:
            out[field] = selected
    return out


def test_10_port_change_replaces_the_target_group_before_the_old_one_leaves() -> None:
    d = case_dir("10")
    seen = observed(d / "observed.yaml")
    old_arn = "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/old/1"
    seen["target-group"]["status"]["atProvider"]["arn"] = old_arn
    seen["listener-http"]["spec"]["forProvider"]["defaultAction"][0]["targetGroupArn"] = old_arn
    seen["launch-template"]["status"]["atProvider"]["latestVersion"] = 1
    ctx = pinned_context(
        d / "xr.yaml", d / "composition-rev2.yaml", commit=NEW_COMMIT, update={"port": 8080}
    )

    # 1. The new target group is composed beside the old one, under another name.
    p1 = render_plan(ctx, seen)
    new = [n for n in p1.desired if n.startswith("target-group-g")]
    assert len(new) == 1
    tg_new = p1.desired[new[0]]["spec"]["forProvider"]
    tg_old = p1.desired["target-group"]["spec"]["forProvider"]
    assert (tg_old["port"], tg_new["port"]) == (5000, 8080)
    assert tg_new["name"] != tg_old["name"] == seen["target-group"]["spec"]["forProvider"]["name"]
    assert RULES["LBTargetGroup"].valid(tg_new["name"])
    # Traffic stays on the old group until the new one is ready.
    fwd = p1.desired["listener-http"]["spec"]["forProvider"]["defaultAction"][0]
    assert fwd["targetGroupArnSelector"]["matchLabels"]["scia.io/component"] == "target-group"
    assert any("cannot change in place" in n and "port" in n for n in p1.notes)
    assert not p1.retired
    assert_all_valid(named(p1.desired))

    # 2. New group ready: the listener and the auto scaling group switch to it; the old one
    #    stays while the observed listener still names it.
    new_arn = "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/new/2"
    seen[new[0]] = _ready(p1.desired[new[0]], new_arn)
    p2 = render_plan(ctx, seen)
    fwd = p2.desired["listener-http"]["spec"]["forProvider"]["defaultAction"][0]
    assert fwd["targetGroupArnSelector"]["matchLabels"]["scia.io/component"] == new[0]
    assert p2.desired["autoscaling-group"]["spec"]["forProvider"]["trafficSource"] == [
        {"identifier": new_arn, "type": "elbv2"}
    ]
    assert "target-group" in p2.desired and not p2.retired

    # 3. The provider applies the desired specs the way crossplane-runtime does: a selector
    #    is resolved only when its field is empty unless its policy says Always; a concrete
    #    field (the ASG's trafficSource) is applied as given.
    arns = {"target-group": old_arn, new[0]: new_arn}
    for name in ("listener-http", "autoscaling-group"):
        applied = _provider_applies(
            p2.desired[name]["spec"]["forProvider"], seen[name]["spec"]["forProvider"], arns
        )
        seen[name]["spec"]["forProvider"] = applied
    assert (
        seen["listener-http"]["spec"]["forProvider"]["defaultAction"][0]["targetGroupArn"]
        == new_arn
    )
    # Once nothing observed names the old group, it leaves (Crossplane deletes it).
    p3 = render_plan(ctx, seen)
    assert "target-group" not in p3.desired and "target-group" in p3.retired
    assert new[0] in p3.desired
    assert_all_valid(named(p3.desired))


def test_10_old_group_stays_while_referrers_do_not_show_the_new_one() -> None:
    """Fail closed: observed specs as shipped (the listener shows only its selector, the
    group no trafficSource) cannot prove the old target group unused, so it stays."""
    d = case_dir("10")
    seen = observed(d / "observed.yaml")
    seen["launch-template"]["status"]["atProvider"]["latestVersion"] = 1
    ctx = pinned_context(
        d / "xr.yaml", d / "composition-rev2.yaml", commit=NEW_COMMIT, update={"port": 8080}
    )
    p1 = render_plan(ctx, seen)
    [new] = [n for n in p1.desired if n.startswith("target-group-g")]
    new_arn = "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/new/2"
    seen[new] = _ready(p1.desired[new], new_arn)
    p2 = render_plan(ctx, seen)
    fwd = p2.desired["listener-http"]["spec"]["forProvider"]["defaultAction"][0]
    assert fwd["targetGroupArnSelector"]["policy"] == {"resolve": "Always"}
    assert "target-group" in p2.desired and not p2.retired
    # The listener now shows the new ARN, the group still no trafficSource: still kept.
    seen["listener-http"]["spec"]["forProvider"]["defaultAction"][0]["targetGroupArn"] = new_arn
    p3 = render_plan(ctx, seen)
    assert "target-group" in p3.desired and not p3.retired
    assert any("autoscaling-group" in n for n in p3.notes)
    # Both name the new group: the old one leaves.
    seen["autoscaling-group"]["spec"]["forProvider"]["trafficSource"] = [
        {"identifier": new_arn, "type": "elbv2"}
    ]
    p4 = render_plan(ctx, seen)
    assert "target-group" in p4.retired and "target-group" not in p4.desired
    assert_all_valid(named(p4.desired))


def test_10_names_of_name_as_identifier_kinds_are_set_once() -> None:
    d = case_dir("10")
    seen = observed(d / "observed.yaml")
    seen["launch-template"]["status"]["atProvider"]["latestVersion"] = 1
    out = render(pinned_context(d / "xr.yaml", d / "composition-rev1.yaml"), seen)
    # The existing group keeps the name it was created under (metadata.name).
    assert (
        out["autoscaling-group"]["metadata"]["annotations"][EXTERNAL_NAME]
        == (seen["autoscaling-group"]["metadata"]["name"])
    )


@pytest.mark.integration
async def test_10_reconcile_retires_the_replaced_target_group_without_a_fatal() -> None:
    """The reconcile's would-delete guard lets a replaced resource go, and says so."""
    d = case_dir("10")
    xr = load_yaml(d / "xr.yaml")
    pin = xr["status"]["decision"]
    pin["parameters"]["port"] = 8080  # revision 1 of this test: the port already moved
    pin["analysis"]["port"] = 8080
    seen = observed(d / "observed.yaml")
    seen["launch-template"]["status"]["atProvider"]["latestVersion"] = 1
    ctx = pinned_context(d / "xr.yaml", d / "composition-rev1.yaml", update={"port": 8080})
    p1 = render_plan(ctx, seen)
    [new] = [n for n in p1.desired if n.startswith("target-group-g")]
    new_arn = "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/new/2"
    seen[new] = _ready(p1.desired[new], new_arn)
    seen["listener-http"]["spec"]["forProvider"]["defaultAction"][0]["targetGroupArn"] = new_arn
    seen["autoscaling-group"]["spec"]["forProvider"]["trafficSource"] = [
        {"identifier": new_arn, "type": "elbv2"}
    ]
    inp = load_yaml(d / "composition-rev1.yaml")["spec"]["pipeline"][0]["input"]
    rec = Reconciler(DecisionEngine(), DecisionJobs())
    out = await rec.reconcile(ReconcileRequest(xr=xr, observed=seen, input=inp))
    assert not out.fatal, out.results
    assert "target-group" not in out.desired and new in out.desired
    assert any("no longer used: removed" in m for _, m in out.results)
