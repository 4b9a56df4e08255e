"""vm: the app's logs go to a CloudWatch log group per deployment, named in status."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import shutil
import subprocess
from typing import Any

import pytest

from function.model import Strategy
from function.render.aws.userdata import AGENT_CONFIG, APP_LOG_FILE
from function.render.common import RenderContext
from function.render.dispatch import render
from tests.render.test_render_aws import FULL_OBSERVED, ctx
from tests.support.crdcheck import assert_all_valid

EXTERNAL = "crossplane.io/external-name"
GROUP_ARN = FULL_OBSERVED["app-logs"]["status"]["atProvider"]["arn"]


def _script(out: dict[str, Any]) -> str:
    return base64.b64decode(out["launch-template"]["spec"]["forProvider"]["userData"]).decode()


def _docker(c: RenderContext) -> RenderContext:
    analysis = c.analysis.model_copy(update={"has_dockerfile": True})
    return dataclasses.replace(c, analysis=analysis)


def _agent_config(script: str) -> dict[str, Any]:
    line = next(x for x in script.splitlines() if AGENT_CONFIG in x and "printf" in x)
    quoted = re.search(r"printf '%s\\n' '(.*)' >", line)
    assert quoted, line
    parsed: dict[str, Any] = json.loads(quoted.group(1))
    return parsed


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
def test_log_group_with_retention_named_in_status(namespaced: bool) -> None:
    c = ctx(Strategy.VM, namespaced, {"build": {"logRetentionDays": 14}})
    out = render(c, observed=FULL_OBSERVED)
    group = out["app-logs"]
    assert group["kind"] == "Group"
    assert group["spec"]["forProvider"]["retentionInDays"] == 14
    name = group["metadata"]["annotations"]["crossplane.io/external-name"]
    assert re.fullmatch(r"/scia/team-a-flask-app-[0-9a-f]{8}/app", name), name
    assert c.report["logs"] == {"application": name}
    for n in ("app-logs", "instance-role", "instance-profile", "instance-logs-policy"):
        body = out[n]
        assert_all_valid([{**body, "metadata": {"name": f"x-{n}"} | body["metadata"]}])
    lt = out["launch-template"]["spec"]["forProvider"]
    assert lt["iamInstanceProfile"] == {
        "nameSelector": {
            "matchControllerRef": True,
            "matchLabels": {"scia.io/component": "instance-profile"},
        }
    }


def test_the_instances_may_write_that_group_only() -> None:
    c = ctx(Strategy.VM, False)
    waiting = render(c, observed={"launch-template": FULL_OBSERVED["launch-template"]})
    assert "instance-logs-policy" not in waiting
    assert any("log group's ARN" in n for n in c.notes)
    out = render(ctx(Strategy.VM, False), observed=FULL_OBSERVED)
    policy = json.loads(out["instance-logs-policy"]["spec"]["forProvider"]["policy"])
    (statement,) = policy["Statement"]
    assert statement["Resource"] == [GROUP_ARN, GROUP_ARN + ":*"]
    assert "logs:CreateLogGroup" not in statement["Action"]
    assert out["instance-logs-policy"]["spec"]["forProvider"]["roleSelector"]["matchLabels"] == {
        "scia.io/component": "instance-role"
    }


def test_a_systemd_service_logs_to_a_file_the_agent_ships() -> None:
    out = render(ctx(Strategy.VM, False), observed=FULL_OBSERVED)
    name = out["app-logs"]["metadata"]["annotations"]["crossplane.io/external-name"]
    script = _script(out)
    assert f"StandardOutput=append:{APP_LOG_FILE}" in script
    assert f"StandardError=append:{APP_LOG_FILE}" in script
    files = _agent_config(script)["logs"]["logs_collected"]["files"]["collect_list"]
    assert {(f["file_path"], f["log_group_name"], f["log_stream_name"]) for f in files} == {
        ("/var/log/cloud-init-output.log", name, "{instance_id}/setup"),
        (APP_LOG_FILE, name, "{instance_id}/app"),
    }
    assert "amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s" in script
    assert "copytruncate" in script
    # The agent starts before the repository is fetched (a failed fetch is shipped too).
    assert script.index("amazon-cloudwatch-agent-ctl") < script.index("git fetch")


def test_a_container_logs_through_dockers_awslogs_driver() -> None:
    out = render(_docker(ctx(Strategy.VM, True)), observed=FULL_OBSERVED)
    name = out["app-logs"]["metadata"]["annotations"]["crossplane.io/external-name"]
    script = _script(out)
    run = next(x for x in script.splitlines() if x.startswith("docker run"))
    assert "--log-driver=awslogs" in run
    assert f"--log-opt awslogs-group={name}" in run
    assert "--log-opt awslogs-region=eu-west-1" in run
    assert '--log-opt awslogs-stream="$INSTANCE_ID/app"' in run
    files = _agent_config(script)["logs"]["logs_collected"]["files"]["collect_list"]
    assert [f["log_stream_name"] for f in files] == ["{instance_id}/setup"]
    assert "StandardOutput=append" not in script


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
@pytest.mark.parametrize("docker", [False, True], ids=["systemd", "docker"])
def test_the_user_data_is_valid_shell(docker: bool) -> None:
    c = ctx(Strategy.VM, False)
    out = render(_docker(c) if docker else c, observed=FULL_OBSERVED)
    done = subprocess.run(
        ["bash", "-n"], input=_script(out), text=True, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_the_log_group_keeps_its_observed_name() -> None:
    kept = "/scia/team-a-flask-app-00000000/app"
    seen = FULL_OBSERVED | {
        "app-logs": {
            "metadata": {"annotations": {"crossplane.io/external-name": kept}},
            "status": {"atProvider": {"arn": f"arn:aws:logs:eu-west-1:1:log-group:{kept}"}},
        }
    }
    c = ctx(Strategy.VM, False)
    out = render(c, observed=seen)
    assert out["app-logs"]["metadata"]["annotations"]["crossplane.io/external-name"] == kept
    assert c.report["logs"]["application"] == kept
    assert f"awslogs-group={kept}" in _script(render(_docker(ctx(Strategy.VM, False)), seen))


def test_a_failed_build_on_the_instance_reaches_the_setup_stream() -> None:
    """The Dockerfile build's output (and a failure's) is the script's own output, which
    cloud-init writes to /var/log/cloud-init-output.log; the agent ships that file to
    `<instance id>/setup` and is started before the fetch and the build, so a rolled-back
    vm rollout's message can point there (render/aws/vm_rollout.py)."""
    out = render(_docker(ctx(Strategy.VM, True)), observed=FULL_OBSERVED)
    lines = _script(out).splitlines()
    agent = next(i for i, x in enumerate(lines) if "fetch-config" in x)
    build = next(i for i, x in enumerate(lines) if x.startswith("docker build"))
    fetch = next(i for i, x in enumerate(lines) if "git fetch" in x)
    assert agent < fetch < build
    assert not re.search(r"(>|2>|-q\b|--quiet)", lines[build]), lines[build]
    setup = _agent_config("\n".join(lines))["logs"]["logs_collected"]["files"]["collect_list"][0]
    assert setup["file_path"] == "/var/log/cloud-init-output.log"
    assert setup["log_stream_name"] == "{instance_id}/setup"
    assert setup["log_group_name"] == out["app-logs"]["metadata"]["annotations"][EXTERNAL]
