"""The image build route without a cluster: CodeBuild started by a schedule, its outcome
read from an observed SSM parameter; every manifest validates in both scopes."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
import yaml

from function.build.dockerfile import recipe_for_pin
from function.input import FunctionInput
from function.model import Strategy
from function.pinning import AnalysisSummary
from function.render.aws.build import (
    GIT_TOKEN,
    GIT_TOKEN_VERSION,
    LOGS,
    PROJECT,
    REBUILD_ANNOTATION,
    ROLE_POLICY,
    SCHEDULE,
    STATUS,
    build_resources,
    build_state,
    build_token,
)
from function.render.aws.registry import REPOSITORY
from function.render.common import RenderContext
from tests.render.test_render_aws import ctx as base_ctx
from tests.support.crdcheck import assert_all_valid

SHA = "a" * 40
REPO_URL = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/scia/team-a-flask-app-1a2b3c4d"
SUMMARY = AnalysisSummary(
    language="python", framework="flask", port=5000, runtime="python", runtime_version="3.12",
    package_manager="pip", build_command="pip install -r requirements.txt",
    start_command="gunicorn app:app --bind 0.0.0.0:5000",
)  # fmt: skip


def ctx(
    namespaced: bool = False, settings: dict[str, Any] | None = None, **ann: str
) -> RenderContext:
    c = base_ctx(Strategy.SERVERLESS, namespaced, settings)
    identity = c.identity.model_copy(update={"annotations": dict(ann)})
    spec = c.spec.model_copy(update={"image": None})
    return replace(c, identity=identity, spec=spec, analysis=SUMMARY)


def arn(service: str, rest: str) -> str:
    return f"arn:aws:{service}:eu-west-1:123456789012:{rest}"


def observed(status_value: str | None = None, project: bool = True) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {
        REPOSITORY: {
            "status": {
                "atProvider": {"arn": arn("ecr", "repository/scia/x"), "repositoryUrl": REPO_URL}
            }
        },
        LOGS: {"status": {"atProvider": {"arn": arn("logs", "log-group:/scia/x/build")}}},
        STATUS: {"status": {"atProvider": {"arn": arn("ssm", "parameter/scia/x/build-status")}}},
        GIT_TOKEN: {"status": {"atProvider": {"arn": arn("secretsmanager", "secret:x-AbCdEf")}}},
    }
    if status_value is not None:
        out[STATUS]["status"]["atProvider"]["insecureValue"] = status_value
    if project:
        out[PROJECT] = {"status": {"atProvider": {"arn": arn("codebuild", "project/scia-x")}}}
    return out


def status_json(c: RenderContext, state: str, **extra: str) -> str:
    return json.dumps(
        {"token": build_token(c), "commit": SHA, "state": state, "buildId": "scia-x:1", **extra}
    )


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
def test_every_build_manifest_validates(namespaced: bool, private: bool) -> None:
    settings = (
        {
            "build": {
                "repositoryCredentialsSecretRef": {
                    "namespace": "crossplane-system",
                    "name": "repo-creds",
                }
            }
        }
        if private
        else None
    )
    c = ctx(namespaced, settings)
    out = build_resources(c, recipe_for_pin(SUMMARY), observed(), build_state(c, observed()))
    assert {LOGS, STATUS, PROJECT, SCHEDULE, ROLE_POLICY} <= set(out)
    assert (GIT_TOKEN in out) == private
    for name, body in out.items():
        assert body["apiVersion"].split("/")[0].endswith(".aws.m.upbound.io") == namespaced
        assert_all_valid([{**body, "metadata": {**body["metadata"], "name": f"x-{name}"}}])


def test_the_project_builds_the_pinned_commit_into_the_observed_repository() -> None:
    c = ctx()
    out = build_resources(c, recipe_for_pin(SUMMARY), observed(), build_state(c, observed()))
    project = out[PROJECT]["spec"]["forProvider"]
    env = {v["name"]: v["value"] for v in project["environment"]["environmentVariable"]}
    assert env["SCIA_COMMIT"] == SHA and env["SCIA_IMAGE_REPOSITORY"] == REPO_URL
    assert env["SCIA_GIT_URL"] == "https://github.com/acme/flask-app"
    assert env["SCIA_DOCKERFILE"] == ""  # generated: embedded in the buildspec
    assert {v["type"] for v in project["environment"]["environmentVariable"]} == {"PLAINTEXT"}
    assert project["source"]["type"] == "NO_SOURCE" and project["concurrentBuildLimit"] == 1
    assert project["environment"]["privilegedMode"] is True
    spec = yaml.safe_load(project["source"]["buildspec"])
    assert spec["version"] == 0.2 and "secrets-manager" not in spec["env"]
    script = spec["phases"]["build"]["commands"][0]
    assert 'docker push "$image"' in script and "put-parameter" in script
    assert (
        project["logsConfig"]["cloudwatchLogs"]["groupName"]
        == out[LOGS]["metadata"]["annotations"]["crossplane.io/external-name"]
    )
    # The status parameter is created and observed, never written back by Crossplane.
    assert out[STATUS]["spec"]["managementPolicies"] == ["Observe", "Create", "Delete"]
    policy = json.loads(out[ROLE_POLICY]["spec"]["forProvider"]["policy"])
    resources = json.dumps(policy)
    assert arn("ecr", "repository/scia/x") in resources and "ssm:PutParameter" in resources


def test_a_private_repository_token_is_a_secret_reference_never_plain_text() -> None:
    settings = {
        "build": {
            "repositoryCredentialsSecretRef": {
                "namespace": "crossplane-system",
                "name": "repo-creds",
                "key": "token",
            }
        }
    }
    c = ctx(False, settings)
    out = build_resources(c, recipe_for_pin(SUMMARY), observed(), build_state(c, observed()))
    version = out[GIT_TOKEN_VERSION]["spec"]["forProvider"]
    assert version["secretStringSecretRef"] == {
        "namespace": "crossplane-system",
        "name": "repo-creds",
        "key": "token",
    }
    spec = yaml.safe_load(out[PROJECT]["spec"]["forProvider"]["source"]["buildspec"])
    assert spec["env"]["secrets-manager"] == {
        "SCIA_GIT_TOKEN": arn("secretsmanager", "secret:x-AbCdEf")
    }
    assert "secretsmanager:GetSecretValue" in out[ROLE_POLICY]["spec"]["forProvider"]["policy"]
    # Namespaced managed resources read Secrets of their own namespace only.
    nout = build_resources(
        ctx(True, settings), recipe_for_pin(SUMMARY), observed(), build_state(c, observed())
    )
    assert nout[GIT_TOKEN_VERSION]["spec"]["forProvider"]["secretStringSecretRef"] == {
        "name": "repo-creds",
        "key": "token",
    }
    # A platform-made secret is used as it is: nothing composed.
    arn_only = FunctionInput.model_validate(
        {"build": {"gitTokenSecretArn": arn("secretsmanager", "secret:git-Ab12Cd")}}
    )
    c2 = replace(c, settings=arn_only)
    out2 = build_resources(c2, recipe_for_pin(SUMMARY), observed(), build_state(c2, observed()))
    assert GIT_TOKEN not in out2
    assert (
        arn("secretsmanager", "secret:git-Ab12Cd")
        in out2[PROJECT]["spec"]["forProvider"]["source"]["buildspec"]
    )


def test_resources_that_need_observed_values_wait_and_say_so() -> None:
    c = ctx()
    out = build_resources(c, recipe_for_pin(SUMMARY), {}, build_state(c, {}))
    assert PROJECT not in out and SCHEDULE not in out and ROLE_POLICY not in out
    assert {LOGS, STATUS} <= set(out)
    assert any("ECR repository" in n for n in c.notes)
    c = ctx()
    out = build_resources(c, recipe_for_pin(SUMMARY), observed(project=False), build_state(c, {}))
    assert PROJECT in out and SCHEDULE not in out
    assert any("project's ARN" in n for n in c.notes)


@pytest.mark.parametrize(
    ("value", "state", "enabled"),
    [
        (None, "Waiting", True),
        ('{"state": "NONE"}', "Waiting", True),
        ("not json", "Waiting", True),
        ("BUILDING", "Building", True),
        ("SUCCEEDED", "Succeeded", False),
        ("FAILED", "Failed", False),
    ],
)
def test_the_observed_status_decides_the_state_and_the_schedule(
    value: str | None, state: str, enabled: bool
) -> None:
    c = ctx()
    raw = (
        status_json(c, value, step="build")
        if value in ("BUILDING", "SUCCEEDED", "FAILED")
        else value
    )
    seen = observed(raw)
    s = build_state(c, seen)
    assert s.state == state
    out = build_resources(c, recipe_for_pin(SUMMARY), seen, s)
    assert out[SCHEDULE]["spec"]["forProvider"]["state"] == ("ENABLED" if enabled else "DISABLED")
    if state == "Succeeded":
        assert s.image == f"{REPO_URL}:{SHA}"
    if state == "Failed":
        assert "/scia/" in s.message and "stream aaaaaaaaaaaa/scia-x:1" in s.message
        assert REBUILD_ANNOTATION in s.message and s.image is None


def test_an_older_build_or_a_rebuild_request_is_not_the_wanted_build() -> None:
    c = ctx()
    done = status_json(c, "FAILED")
    assert build_state(c, observed(done)).state == "Failed"
    again = ctx(**{REBUILD_ANNOTATION: "1"})
    assert build_token(again) != build_token(c)
    assert build_state(again, observed(done)).state == "Waiting"
    other_commit = replace(c, commit="b" * 40)
    assert build_state(other_commit, observed(done)).state == "Waiting"
