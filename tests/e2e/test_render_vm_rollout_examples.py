"""The vm rollout examples (examples/vm/), rendered by the real `crossplane render` through
the real function server: each step's status.rollout, the launch template version the auto
scaling group names, and the instance refresh's rollback settings, both scopes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from examples.render import VM_STEPS
from tests.support.render_env import Env, assert_resources_valid, split
from tests.support.xrstatus import XRDS, status_errors

pytestmark = pytest.mark.e2e
VM = Path(__file__).resolve().parents[2] / "examples" / "vm"
SCOPES = ["legacy", "namespaced"]
AMI = "ami-0abcdef1234567890"

# step -> (phase, status.rollout.state, the group's launch template version, revision)
EXPECTED = {
    "running": ("Running", "Running", "1", 1),
    "rolling-out": ("Provisioning", "RollingOut", "2", 2),
    "running-next": ("Running", "Running", "2", 2),
    "rolled-back": ("Failed", "RolledBack", "1", 2),
}


def render(
    env: Env, scope: str, step: str, composition: Path | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    observed = VM / scope / f"observed-{step}.yaml"
    xr, resources, results = split(
        env.render(VM / scope / VM_STEPS[step], scope, observed, composition)
    )
    assert not [r for r in results if r.get("severity") == "SEVERITY_FATAL"], results
    seen = {
        d["metadata"]["annotations"]["crossplane.io/composition-resource-name"]
        for d in yaml.safe_load_all(observed.read_text())
        if d
    }
    assert seen == set(resources), f"{step}: {seen ^ set(resources)}"
    assert_resources_valid(resources)
    return xr, resources


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("step", list(EXPECTED))
def test_each_step_reports_its_rollout(env: Env, scope: str, step: str) -> None:
    xr, resources = render(env, scope, step)
    status = xr["status"]
    phase, state, version, revision = EXPECTED[step]
    assert (status["phase"], status["rollout"]["state"]) == (phase, state), status["message"]
    assert status["decision"]["revision"] == revision
    group = resources["autoscaling-group"]["spec"]["forProvider"]
    assert group["launchTemplate"]["version"] == version
    alarm = resources["rollout-alarm"]["metadata"]["annotations"]["crossplane.io/external-name"]
    assert group["instanceRefresh"]["preferences"]["alarmSpecification"] == {"alarms": [alarm]}
    written = {k: v for k, v in status.items() if k != "conditions"}
    shipped = yaml.safe_load((VM / scope / VM_STEPS[step]).read_text())
    shipped.pop("status")
    errors = status_errors(XRDS[scope], shipped, written)
    assert not errors, "\n".join(errors)
    if step == "rolled-back":
        rollout = status["rollout"]
        assert (rollout["failedVersion"], rollout["servingVersion"]) == ("2", "1")
        assert status["logs"]["application"] in status["message"]
        assert "<instance id>/setup" in status["message"]
        assert "version 1 keeps serving" in status["message"]
    if step == "rolling-out":
        assert status["rollout"]["servingVersion"] == "1"
        assert status["rollout"]["candidateVersion"] == "2"


@pytest.mark.parametrize("scope", SCOPES)
def test_with_an_ami_id_the_refresh_rolls_back_by_itself(env: Env, scope: str) -> None:
    """The platform's vm.imageId names an AMI: the refresh has autoRollback, and the
    rolled-back message says AWS rolled it back."""
    comp = env.composition(scope, vm={"imageId": AMI})
    for step in ("running", "rolled-back"):
        xr, resources = render(env, scope, step, comp)
        prefs = resources["autoscaling-group"]["spec"]["forProvider"]["instanceRefresh"]
        assert prefs["preferences"]["autoRollback"] is True
        assert resources["launch-template"]["spec"]["forProvider"]["imageId"] == AMI
    assert "its rollout alarm fired, and AWS rolled it back" in xr["status"]["message"]


@pytest.mark.parametrize("scope", SCOPES)
def test_with_the_default_ssm_ami_there_is_no_automatic_rollback(env: Env, scope: str) -> None:
    xr, resources = render(env, scope, "running")
    prefs = resources["autoscaling-group"]["spec"]["forProvider"]["instanceRefresh"]
    assert "autoRollback" not in prefs["preferences"]
    assert "no automatic rollback" in xr["status"]["rollout"]["message"]


@pytest.mark.parametrize("scope", SCOPES)
def test_the_generated_examples_are_the_steps_this_test_knows(scope: str) -> None:
    steps = sorted(p.stem.removeprefix("observed-") for p in (VM / scope).glob("observed-*.yaml"))
    assert steps == sorted(EXPECTED) == sorted(VM_STEPS)
