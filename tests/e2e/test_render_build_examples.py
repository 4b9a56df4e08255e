"""The build-and-rollout examples (examples/build/), rendered by the real `crossplane
render` through the real function server: each step's status and resources, both scopes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from examples.render import BUILD_NEXT_STEPS, BUILD_NEXT_XR
from tests.support.render_env import Env, assert_resources_valid, split
from tests.support.xrstatus import XRDS, status_errors

pytestmark = pytest.mark.e2e
BUILD = Path(__file__).resolve().parents[2] / "examples" / "build"
SCOPES = ["legacy", "namespaced"]

# step -> (phase, status.build.state, status.rollout.state)
EXPECTED = {
    "building": ("Provisioning", "Building", "Building"),
    "built": ("Provisioning", "Succeeded", "RollingOut"),
    "rolling-out": ("Provisioning", "Succeeded", "RollingOut"),
    "running": ("Running", "Succeeded", "Running"),
    "build-failed": ("Failed", "Failed", "BuildFailed"),
    "rolled-back": ("Failed", "Succeeded", "RolledBack"),
}


def xr_file(scope: str, step: str) -> Path:
    return BUILD / scope / (BUILD_NEXT_XR if step in BUILD_NEXT_STEPS else "xr.yaml")


def render(env: Env, scope: str, step: str) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    observed = BUILD / scope / f"observed-{step}.yaml"
    xr, resources, results = split(env.render(xr_file(scope, step), scope, observed))
    assert not [r for r in results if r.get("severity") == "SEVERITY_FATAL"], results
    seen = {
        d["metadata"]["annotations"]["crossplane.io/composition-resource-name"]
        for d in yaml.safe_load_all(observed.read_text())
        if d
    }
    assert seen <= set(resources), f"{step}: observed resources left out: {seen - set(resources)}"
    # Every desired resource is observed: an unobserved one would be timed from the pin's
    # decidedAt and turn the example Failed once it is older than readyGraceSeconds.
    assert set(resources) <= seen, f"{step}: not observed: {set(resources) - seen}"
    assert_resources_valid(resources)
    return xr, resources, results


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("step", list(EXPECTED))
def test_each_step_reports_its_build_and_rollout(env: Env, scope: str, step: str) -> None:
    xr, resources, _ = render(env, scope, step)
    status = xr["status"]
    phase, build, rollout = EXPECTED[step]
    assert (status["phase"], status["build"]["state"], status["rollout"]["state"]) == (
        phase, build, rollout,
    ), status["message"]  # fmt: skip
    first = yaml.safe_load((BUILD / scope / "xr.yaml").read_text())["status"]["decision"]
    if step in BUILD_NEXT_STEPS:  # the team pinned the next commit: revision 2
        assert status["decision"]["revision"] == 2
        assert status["decision"]["commit"] != first["commit"]
        assert {h["revision"]: h["commit"] for h in status["history"]}[1] == first["commit"]
    else:
        assert status["decision"]["revision"] == 1  # the pin is reused at every step
    # Every status field is declared in the XRD (typed server-side apply drops the whole
    # status otherwise).
    written = {k: v for k, v in status.items() if k != "conditions"}
    shipped = yaml.safe_load(xr_file(scope, step).read_text())
    shipped.pop("status")
    errors = status_errors(XRDS[scope], shipped, written)
    assert not errors, "\n".join(errors)
    commit = status["decision"]["commit"]
    assert status["logs"]["application"].endswith("/app")
    assert status["build"]["logGroup"] == status["logs"]["build"]
    env_vars = {
        v["name"]: v["value"]
        for v in resources["build-project"]["spec"]["forProvider"]["environment"][
            "environmentVariable"
        ]
    }
    assert env_vars["SCIA_COMMIT"] == commit and env_vars["SCIA_DOCKERFILE"] == "Dockerfile"
    schedule = resources["build-schedule"]["spec"]["forProvider"]["state"]
    assert schedule == ("ENABLED" if step == "building" else "DISABLED")
    repo = resources["image-repository"]["metadata"]["annotations"]["crossplane.io/external-name"]
    if step == "building":
        assert "lambda-function" not in resources and "function-url" not in resources
    else:
        # The function runs the image of the commit whose build succeeded, from the composed
        # repository: the first commit's while the next one's build failed.
        image = resources["lambda-function"]["spec"]["forProvider"]["imageUri"]
        served = first["commit"] if step == "build-failed" else commit
        assert image.endswith(f".amazonaws.com/{repo}:{served}"), image
    if step == "build-failed":
        assert status["build"]["logGroup"] in status["message"]
    if step == "rolled-back":
        assert "rolled back: version 1 keeps serving" in status["message"]
        check = json.loads(resources["health-check"]["spec"]["forProvider"]["input"])
        assert check["headers"]["x-scia-version"] == "2"


@pytest.mark.parametrize("scope", SCOPES)
def test_the_generated_examples_are_what_the_generator_writes(scope: str) -> None:
    """The examples hold their own claims: the steps are the ones this test knows."""
    steps = sorted(
        p.stem.removeprefix("observed-") for p in (BUILD / scope).glob("observed-*.yaml")
    )
    assert steps == sorted(EXPECTED)
