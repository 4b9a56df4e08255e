"""Serverless without spec.image: build, then roll out through a health check and the live
alias; a failed build or health check keeps what served; status reports each step."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

import pytest

from function.render.aws.build import LOGS, PROJECT, SCHEDULE, STATUS, build_token
from function.render.aws.registry import REPOSITORY
from function.render.aws.rollout import CANDIDATE, FUNCTION, HEALTH, LIVE, VERSION_HEADER
from function.render.common import RenderContext
from function.render.dispatch import render_plan
from function.status import Phase
from function.workload import workload_phase, workload_status
from tests.render.test_build_route import REPO_URL, SUMMARY, arn
from tests.render.test_build_route import ctx as build_ctx
from tests.support.crdcheck import assert_all_valid

OLD, NEW = "a" * 40, "b" * 40
Observed = dict[str, dict[str, Any]]


def ctx(commit: str = OLD, namespaced: bool = False) -> RenderContext:
    return replace(build_ctx(namespaced), commit=commit)


def ready(body: dict[str, Any], at: dict[str, Any] | None = None) -> dict[str, Any]:
    """A desired body as Crossplane applied it, Ready, with what the provider reports."""
    out = copy.deepcopy(body)
    out["status"] = {
        "conditions": [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "True"}],
        "atProvider": at or {},
    }
    return out


def infrastructure() -> Observed:
    """The registry and the build's resources, created (ARNs and URL reported)."""
    return {
        REPOSITORY: {
            "status": {
                "atProvider": {"arn": arn("ecr", "repository/scia/x"), "repositoryUrl": REPO_URL}
            }
        },
        LOGS: {"status": {"atProvider": {"arn": arn("logs", "log-group:/scia/x/build")}}},
        STATUS: {"status": {"atProvider": {"arn": arn("ssm", "parameter/scia/x/build-status")}}},
        PROJECT: {"status": {"atProvider": {"arn": arn("codebuild", "project/scia-x")}}},
    }


def built(c: RenderContext, state: str = "SUCCEEDED") -> dict[str, Any]:
    value = json.dumps(
        {
            "token": build_token(c),
            "commit": c.commit,
            "state": state,
            "buildId": "p:1",
            "step": "done",
        }
    )
    return {
        "status": {
            "atProvider": {
                "arn": arn("ssm", "parameter/scia/x/build-status"),
                "insecureValue": value,
            }
        }
    }


def render(c: RenderContext, observed: Observed) -> tuple[dict[str, Any], dict[str, Any]]:
    plan = render_plan(c, observed)
    return plan.desired, dict(c.report)


def health(desired: dict[str, Any], code: int | None, error: str | None = None) -> dict[str, Any]:
    body = ready(
        desired[HEALTH], {"result": json.dumps({"statusCode": code, "body": "ok"})} if code else {}
    )
    if error:
        body["status"]["conditions"] = [
            {"type": "Synced", "status": "False", "reason": "ReconcileError", "message": error}
        ]
    return body


def rolled_out(c: RenderContext) -> tuple[Observed, dict[str, Any]]:
    """Drive the first rollout of `c.commit` to the end; returns the observed state."""
    seen = infrastructure() | {STATUS: built(c)}
    desired, _ = render(c, seen)
    seen[FUNCTION] = ready(
        desired[FUNCTION],
        {"arn": arn("lambda", "function:x"), "version": "1", "imageUri": f"{REPO_URL}:{c.commit}"},
    )
    desired, _ = render(c, seen)
    seen[CANDIDATE] = ready(desired[CANDIDATE], {"functionVersion": "1"})
    desired, _ = render(c, seen)
    seen[HEALTH] = health(desired, 200)
    desired, report = render(c, seen)
    for name in ("function-url", "function-url-permission", "function-invoke-permission", LIVE):
        seen[name] = ready(
            desired[name],
            {"functionUrl": "https://u.lambda-url.eu-west-1.on.aws/", "functionVersion": "1"},
        )
    return seen, report


def test_nothing_serves_before_the_first_build_and_status_says_building() -> None:
    c = ctx()
    desired, report = render(c, {})
    assert FUNCTION not in desired and "function-url" not in desired
    assert {REPOSITORY, LOGS, STATUS, "app-logs", "lambda-role"} <= set(desired)
    assert report["build"]["state"] == "Waiting" and report["rollout"]["state"] == "Building"
    assert report["logs"]["application"].endswith("/app") and report["logs"]["build"].endswith(
        "/build"
    )
    phase, message = workload_phase(Phase.RUNNING, "all ready", report)
    assert phase is Phase.PROVISIONING and message.startswith("Building: ")


def test_first_rollout_goes_live_only_after_the_health_check_passes() -> None:
    c = ctx()
    seen = infrastructure() | {STATUS: built(c)}
    desired, report = render(c, seen)
    fn = desired[FUNCTION]["spec"]["forProvider"]
    assert fn["imageUri"] == f"{REPO_URL}:{OLD}" and fn["publish"] is True
    assert fn["loggingConfig"] == {"logFormat": "Text", "logGroup": report["logs"]["application"]}
    assert CANDIDATE not in desired and LIVE not in desired  # no version published yet
    assert report["rollout"]["state"] == "RollingOut"
    seen[FUNCTION] = ready(desired[FUNCTION], {"version": "1", "imageUri": fn["imageUri"]})
    desired, report = render(c, seen)
    assert desired[CANDIDATE]["spec"]["forProvider"]["functionVersion"] == "1"
    assert HEALTH not in desired  # the candidate alias has not moved yet
    seen[CANDIDATE] = ready(desired[CANDIDATE], {"functionVersion": "1"})
    desired, report = render(c, seen)
    check = desired[HEALTH]["spec"]["forProvider"]
    assert check["qualifier"] == "candidate" and check["lifecycleScope"] == "CRUD"
    # Deleting it must not invoke a function that may be gone already.
    assert "Delete" not in desired[HEALTH]["spec"]["managementPolicies"]
    event = json.loads(check["input"])
    assert (
        event["rawPath"] == c.decision.health_check_path and event["headers"][VERSION_HEADER] == "1"
    )
    assert LIVE not in desired and report["rollout"]["state"] == "RollingOut"
    seen[HEALTH] = health(desired, None)  # invoked, no result yet
    assert LIVE not in render(c, seen)[0]
    seen[HEALTH] = health(desired, 200)
    desired, report = render(c, seen)
    assert desired[LIVE]["spec"]["forProvider"]["functionVersion"] == "1"
    assert desired[LIVE]["metadata"]["annotations"]["crossplane.io/external-name"] == "live"
    assert desired["function-url"]["spec"]["forProvider"]["qualifier"] == "live"
    for perm in ("function-url-permission", "function-invoke-permission"):
        assert desired[perm]["spec"]["forProvider"]["qualifier"] == "live"
    assert report["rollout"]["state"] == "Running" and report["rollout"]["servingVersion"] == "1"
    assert workload_phase(Phase.RUNNING, "all ready", report) == (Phase.RUNNING, "all ready")


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
def test_every_manifest_of_a_rolled_out_deployment_validates(namespaced: bool) -> None:
    c = ctx(namespaced=namespaced)
    seen, _ = rolled_out(c)
    desired, _ = render(c, seen)
    assert {FUNCTION, CANDIDATE, LIVE, HEALTH, PROJECT, SCHEDULE, "function-url"} <= set(desired)
    for name, body in desired.items():
        assert_all_valid([{**body, "metadata": {**body["metadata"], "name": f"x-{name}"}}])


def test_a_new_commit_keeps_the_old_version_serving_while_it_builds() -> None:
    old = ctx(OLD)
    seen, _ = rolled_out(old)
    c = ctx(NEW)
    desired, report = render(c, seen)  # the status parameter still holds the old build
    assert desired[FUNCTION]["spec"]["forProvider"]["imageUri"] == f"{REPO_URL}:{OLD}"
    assert desired[LIVE]["spec"]["forProvider"]["functionVersion"] == "1"
    assert set(seen) <= set(desired)  # nothing observed is left out
    assert report["build"]["state"] == "Waiting" and report["rollout"]["state"] == "Building"
    assert report["rollout"]["servingVersion"] == "1"
    assert desired[SCHEDULE]["spec"]["forProvider"]["state"] == "ENABLED"
    env = {
        v["name"]: v["value"]
        for v in desired[PROJECT]["spec"]["forProvider"]["environment"]["environmentVariable"]
    }
    assert env["SCIA_COMMIT"] == NEW


def test_a_failed_build_is_failed_names_the_log_and_keeps_the_old_version() -> None:
    seen, _ = rolled_out(ctx(OLD))
    c = ctx(NEW)
    seen[STATUS] = built(c, "FAILED")
    desired, report = render(c, seen)
    assert desired[FUNCTION]["spec"]["forProvider"]["imageUri"] == f"{REPO_URL}:{OLD}"
    assert desired[LIVE]["spec"]["forProvider"]["functionVersion"] == "1"
    assert desired[SCHEDULE]["spec"]["forProvider"]["state"] == "DISABLED"
    assert report["build"]["state"] == "Failed" and report["rollout"]["state"] == "BuildFailed"
    phase, message = workload_phase(Phase.RUNNING, "all ready", report)
    assert phase is Phase.FAILED
    assert report["build"]["logGroup"] in message and "stream bbbbbbbbbbbb/p:1" in message
    status = workload_status(report)
    assert status["build"]["logGroup"] == report["logs"]["build"]


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
@pytest.mark.parametrize("state", ["building", "FAILED"])
def test_the_function_describes_what_it_runs_until_the_new_image_rolls_out(
    namespaced: bool, state: str
) -> None:
    """While the new commit builds, or after its build failed, the function keeps the old
    image and its description keeps naming the old commit (a new description alone would
    also publish a version of the old image); it names the new one with the new image."""
    old = ctx(OLD, namespaced)
    seen, _ = rolled_out(old)
    running = seen[FUNCTION]["spec"]["forProvider"]["description"]
    assert OLD[:12] in running and NEW[:12] not in running
    c = ctx(NEW, namespaced)
    if state == "FAILED":
        seen[STATUS] = built(c, state)
    desired, report = render(c, seen)
    assert report["rollout"]["state"] == ("BuildFailed" if state == "FAILED" else "Building")
    fp = desired[FUNCTION]["spec"]["forProvider"]
    assert fp["imageUri"] == f"{REPO_URL}:{OLD}" and fp["description"] == running
    seen[STATUS] = built(c)
    desired, _ = render(c, seen)
    fp = desired[FUNCTION]["spec"]["forProvider"]
    assert fp["imageUri"] == f"{REPO_URL}:{NEW}" and NEW[:12] in fp["description"]
    body = desired[FUNCTION]
    assert_all_valid([{**body, "metadata": {**body["metadata"], "name": "x-fn"}}])


def test_an_unhealthy_new_version_rolls_back_and_says_so() -> None:
    seen, _ = rolled_out(ctx(OLD))
    c = ctx(NEW)
    seen[STATUS] = built(c)
    desired, report = render(c, seen)
    new_image = f"{REPO_URL}:{NEW}"
    assert desired[FUNCTION]["spec"]["forProvider"]["imageUri"] == new_image
    assert report["rollout"]["state"] == "RollingOut"
    seen[FUNCTION] = ready(desired[FUNCTION], {"version": "2", "imageUri": new_image})
    desired, _ = render(c, seen)
    assert desired[CANDIDATE]["spec"]["forProvider"]["functionVersion"] == "2"
    # Until the candidate alias is observed at 2, the check keeps what it checked (1).
    assert (
        json.loads(desired[HEALTH]["spec"]["forProvider"]["input"])["headers"][VERSION_HEADER]
        == "1"
    )
    seen[CANDIDATE] = ready(desired[CANDIDATE], {"functionVersion": "2"})
    desired, _ = render(c, seen)
    assert (
        json.loads(desired[HEALTH]["spec"]["forProvider"]["input"])["headers"][VERSION_HEADER]
        == "2"
    )
    seen[HEALTH] = health(desired, 500)
    desired, report = render(c, seen)
    assert desired[LIVE]["spec"]["forProvider"]["functionVersion"] == "1"  # traffic stays
    assert report["rollout"]["state"] == "RolledBack"
    assert "rolled back: version 1 keeps serving" in report["rollout"]["message"]
    assert workload_phase(Phase.RUNNING, "all ready", report)[0] is Phase.FAILED
    # A failing invocation (the image does not start) is unhealthy too.
    seen[HEALTH] = health(desired, None, error="invoking Lambda Function (x): Runtime.ExitError")
    desired, report = render(c, seen)
    assert desired[LIVE]["spec"]["forProvider"]["functionVersion"] == "1"
    assert (
        report["rollout"]["state"] == "RolledBack"
        and "Runtime.ExitError" in report["rollout"]["message"]
    )


def test_a_healthy_new_version_goes_live() -> None:
    seen, _ = rolled_out(ctx(OLD))
    c = ctx(NEW)
    seen[STATUS] = built(c)
    desired, _ = render(c, seen)
    seen[FUNCTION] = ready(desired[FUNCTION], {"version": "2", "imageUri": f"{REPO_URL}:{NEW}"})
    desired, _ = render(c, seen)
    seen[CANDIDATE] = ready(desired[CANDIDATE], {"functionVersion": "2"})
    desired, _ = render(c, seen)
    seen[HEALTH] = health(desired, 204)
    desired, report = render(c, seen)
    assert desired[LIVE]["spec"]["forProvider"]["functionVersion"] == "2"
    assert report["rollout"]["state"] == "Running"


def test_an_analysis_that_cannot_build_is_refused_naming_the_field() -> None:
    from function.render.aws.serverless import ImageNotServable

    c = replace(ctx(), analysis=SUMMARY.model_copy(update={"runtime": None}))
    with pytest.raises(ImageNotServable, match="runtime"):
        render(c, {})


def test_spec_image_deployments_render_as_before() -> None:
    c = replace(
        ctx(),
        spec=ctx().spec.model_copy(
            update={"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1"}
        ),
    )
    desired, report = render(c, {})
    # No build, no versions or alias: the team's image runs as given.
    assert REPOSITORY not in desired and LIVE not in desired
    assert "qualifier" not in desired["function-url"]["spec"]["forProvider"]
    assert "publish" not in desired[FUNCTION]["spec"]["forProvider"]
    # Its logs go to the deployment's own log group, named in status, as a built image's.
    group = "/scia/team-a-flask-app-33ee4749/app"
    assert report == {"logs": {"application": group}}
    assert desired["app-logs"]["spec"]["forProvider"]["retentionInDays"] > 0
    assert desired[FUNCTION]["spec"]["forProvider"]["loggingConfig"]["logGroup"] == group
    for name in ("app-logs", FUNCTION):
        body = desired[name]
        assert_all_valid([{**body, "metadata": {**body["metadata"], "name": f"x-{name}"}}])


def test_a_generated_static_site_image_is_served_on_its_own_port() -> None:
    site = SUMMARY.model_copy(
        update={"runtime": None, "static_site": True, "start_command": None, "port": None,
                "framework": "static-html", "build_command": None}
    )  # fmt: skip
    c = replace(ctx(), analysis=site)
    seen = infrastructure() | {STATUS: built(c)}
    desired, _ = render(c, seen)
    variables = desired[FUNCTION]["spec"]["forProvider"]["environment"]["variables"]
    assert variables["AWS_LWA_PORT"] == variables["PORT"] == "8080"
