"""The vm rollout on AWS (function/render/aws/vm_rollout.py): the instance refresh rolls
back by itself, the rollout alarm fails it, and the function notices a rollback, stops
asking for the failed launch template version, and says so in status.rollout.

Each step renders case 05's vm (../shared/cases/crossplane) with the observed group as the
provider would report it and the status.rollout the previous step wrote.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from function.render.aws.vm_rollout import ROLLOUT_ALARM
from function.render.common import RenderContext
from function.render.dispatch import render_plan
from function.render.names import EXTERNAL_NAME
from function.status import Phase
from function.workload import workload_phase
from tests.render.cases import case_dir, observed, pinned_context
from tests.support.crdcheck import assert_all_valid

AMI = "ami-0abcdef1234567890"
TG_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg-x/0123456789abcdef"
LB_ARN = (
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/lb-x/fedcba9876543210"
)
NEW_COMMIT = "e8833dc6995d839b91e86719f8659b025c5aa42d"

Observed = dict[str, dict[str, Any]]


def ctx_for(
    image_id: str = AMI, previous: dict[str, Any] | None = None, commit: str | None = None
) -> RenderContext:
    d = case_dir("05")
    ctx = pinned_context(d / "xr.yaml", d / "composition-rev1.yaml", commit=commit)
    vm = ctx.settings.vm.model_copy(update={"image_id": image_id})
    return dataclasses.replace(
        ctx,
        settings=ctx.settings.model_copy(update={"vm": vm}),
        previous_rollout=previous or {},
    )


def world(latest: int, asked: str | None, reported: str | None, arns: bool = True) -> Observed:
    """Case 05's observed resources with the template's latestVersion, the group's asked
    (spec) and AWS-reported (atProvider) launch template versions."""
    seen = observed(case_dir("05") / "observed.yaml")
    seen["launch-template"]["status"]["atProvider"]["latestVersion"] = latest
    group = seen["autoscaling-group"]
    if asked is None:
        group["spec"]["forProvider"]["launchTemplate"].pop("version", None)
    else:
        group["spec"]["forProvider"]["launchTemplate"]["version"] = asked
    if reported is not None:
        group["status"]["atProvider"]["launchTemplate"] = {"version": reported}
    if arns:
        seen["target-group"]["status"]["atProvider"]["arn"] = TG_ARN
        seen["load-balancer"]["status"]["atProvider"]["arn"] = LB_ARN
    return seen


def step(ctx: RenderContext, seen: Observed) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The version the group names, status.rollout, and the desired resources."""
    plan = render_plan(ctx, seen)
    fp = plan.desired["autoscaling-group"]["spec"]["forProvider"]
    return str(fp["launchTemplate"]["version"]), dict(ctx.report["rollout"]), plan.desired


def named(out: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**b, "metadata": {**b["metadata"], "name": f"x-{n}"}} for n, b in out.items()]


def test_the_refresh_rolls_back_by_itself_and_a_composed_alarm_fails_it() -> None:
    _, _, desired = step(ctx_for(), world(1, "1", "1"))
    prefs = desired["autoscaling-group"]["spec"]["forProvider"]["instanceRefresh"]["preferences"]
    alarm = desired[ROLLOUT_ALARM]
    name = alarm["metadata"]["annotations"][EXTERNAL_NAME]
    assert prefs == {
        "minHealthyPercentage": 50,
        "skipMatching": True,
        "autoRollback": True,
        "alarmSpecification": {"alarms": [name]},
    }
    fp = alarm["spec"]["forProvider"]
    assert fp["metricName"] == "UnHealthyHostCount" and fp["namespace"] == "AWS/ApplicationELB"
    assert fp["dimensions"] == {
        "TargetGroup": "targetgroup/tg-x/0123456789abcdef",
        "LoadBalancer": "app/lb-x/fedcba9876543210",
    }
    assert (fp["statistic"], fp["period"], fp["evaluationPeriods"]) == ("Minimum", 60, 10)
    assert fp["threshold"] == 1 and fp["treatMissingData"] == "notBreaching"
    assert_all_valid(named(desired))


def test_the_alarm_keeps_its_observed_name() -> None:
    seen = world(1, "1", "1")
    _, _, first = step(ctx_for(), seen)
    seen[ROLLOUT_ALARM] = copy.deepcopy(first[ROLLOUT_ALARM])
    seen[ROLLOUT_ALARM]["metadata"]["annotations"][EXTERNAL_NAME] = "kept-alarm-name"
    _, _, desired = step(ctx_for(), seen)
    prefs = desired["autoscaling-group"]["spec"]["forProvider"]["instanceRefresh"]["preferences"]
    assert prefs["alarmSpecification"] == {"alarms": ["kept-alarm-name"]}


def test_no_alarm_before_the_arns_are_observed() -> None:
    _, _, desired = step(ctx_for(), world(1, "1", "1", arns=False))
    prefs = desired["autoscaling-group"]["spec"]["forProvider"]["instanceRefresh"]["preferences"]
    assert ROLLOUT_ALARM not in desired and "alarmSpecification" not in prefs


def test_an_ssm_parameter_ami_cannot_roll_back_and_status_says_so() -> None:
    ctx = ctx_for(
        "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    )
    _, rollout, desired = step(ctx, world(1, "1", "1"))
    prefs = desired["autoscaling-group"]["spec"]["forProvider"]["instanceRefresh"]["preferences"]
    assert "autoRollback" not in prefs
    assert prefs["alarmSpecification"]  # the alarm still stops a failing refresh
    assert "no automatic rollback" in rollout["message"]


def test_a_rolled_back_refresh_is_noticed_and_the_failed_version_is_not_applied_again() -> None:
    # Version 1 serves.
    version, rollout, _ = step(ctx_for(), world(1, "1", "1"))
    assert version == "1" and rollout["state"] == "Running"
    assert rollout["appliedVersion"] == "1" and rollout["servingVersion"] == "1"

    # A new commit: template version 2; Crossplane asked for it, the provider has not
    # applied it yet (AWS still reports 1). This is NOT a rollback.
    version, rollout, _ = step(ctx_for(previous=rollout, commit=NEW_COMMIT), world(2, "2", "1"))
    assert version == "2" and rollout["state"] == "RollingOut"
    assert rollout["servingVersion"] == "1" and rollout["candidateVersion"] == "2"
    assert "failedVersion" not in rollout

    # The provider applied it: AWS reports 2 (the refresh runs).
    version, rollout, _ = step(ctx_for(previous=rollout, commit=NEW_COMMIT), world(2, "2", "2"))
    assert version == "2" and rollout["state"] == "Running"
    assert rollout["appliedVersion"] == "2"

    # The refresh failed and AWS rolled the group back to 1: asked 2, reported 1.
    version, rollout, _ = step(ctx_for(previous=rollout, commit=NEW_COMMIT), world(2, "2", "1"))
    assert version == "1", "the group must name the version that serves, not re-apply 2"
    assert rollout["state"] == "RolledBack"
    assert rollout["failedVersion"] == "2" and rollout["servingVersion"] == "1"
    assert "/scia/" in rollout["message"] and "<instance id>/setup" in rollout["message"]
    assert "version 1 keeps serving" in rollout["message"]
    phase, message = workload_phase(Phase.RUNNING, "all ready", {"rollout": rollout})
    assert phase is Phase.FAILED and "rolled back" in message

    # Crossplane applied 1 again; the template's newest version is still the failed one.
    version, rollout, _ = step(ctx_for(previous=rollout, commit=NEW_COMMIT), world(2, "1", "1"))
    assert version == "1" and rollout["state"] == "RolledBack"
    assert rollout["failedVersion"] == "2"

    # The group's status is lost: nothing re-applies 2 meanwhile.
    version, kept, _ = step(ctx_for(previous=rollout, commit=NEW_COMMIT), world(2, "1", None))
    assert version == "1" and kept["failedVersion"] == "2"

    # The next commit is a new template version: it rolls out; the failure is history.
    version, rollout, _ = step(ctx_for(previous=rollout), world(3, "1", "1"))
    assert version == "3" and rollout["state"] == "RollingOut"
    assert "failedVersion" not in rollout


@pytest.mark.parametrize("previous", [{}, {"servingVersion": "1", "state": "Running"}])
def test_without_a_remembered_applied_version_nothing_is_called_a_rollback(
    previous: dict[str, Any],
) -> None:
    """A first render (or a status from another strategy: a Lambda servingVersion) never
    infers a rollback from asked 2 / reported 1."""
    version, rollout, _ = step(ctx_for(previous=previous), world(2, "2", "1"))
    assert version == "2" and rollout["state"] == "RollingOut"
