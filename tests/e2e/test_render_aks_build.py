"""`crossplane render` of the AKS build examples (both scopes): the image is built on the
cluster into the deployment's Azure Container Registry, then rolled out, then serves; each
step read from the observed objects through the real gRPC function (tests/kube/
make_cloud_build_examples.py writes the examples)."""

from __future__ import annotations

from typing import Any

import pytest

from examples import render as R
from tests.support.render_env import Env, assert_resources_valid, split

pytestmark = pytest.mark.e2e
SCOPES = ["legacy", "namespaced"]
DEP = "k8s-express-aks-deployment"
GRANTS = {"container-registry", "builder-identity", "builder-federation", "builder-acr-push",
          "kubelet-acr-pull"}  # fmt: skip


def _render(env: Env, scope: str, stage: str) -> tuple[dict[str, Any], dict[str, Any]]:
    ex = R.EXAMPLES / scope
    xr, resources, results = split(
        env.render(
            ex / f"xr-azure-build-{stage}.yaml", scope, ex / f"observed-azure-build-{stage}.yaml"
        )
    )
    assert not [r for r in results if r.get("severity") == "SEVERITY_FATAL"], results
    assert_resources_valid(resources)
    return xr, resources


def _image(resources: dict[str, Any]) -> str:
    manifest = resources[DEP]["spec"]["forProvider"]["manifest"]
    image: str = manifest["spec"]["template"]["spec"]["containers"][0]["image"]
    return image


@pytest.mark.parametrize("scope", SCOPES)
def test_building_on_aks_runs_nothing_until_the_image_exists(env: Env, scope: str) -> None:
    xr, resources = _render(env, scope, "building")
    status = xr["status"]
    commit = status["decision"]["commit"]
    assert status["phase"] == "Provisioning"
    assert status["build"]["state"] == "Building"
    assert status["rollout"]["state"] == "Building"
    # nothing answers yet: no app endpoint, whatever address the load balancer has
    assert all(e["type"] != "http" for e in status.get("endpoints") or []), status.get("endpoints")
    job = resources[f"build-{commit[:12]}-express-aks"]["spec"]["forProvider"]["manifest"]
    pod = job["spec"]["template"]
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    box = pod["spec"]["containers"][0]
    args = " ".join(box.get("command", []) + box.get("args", []))
    assert f"context=https://github.com/acme/express-api#{commit}" in args
    assert ".azurecr.io/app:" in args and f":{commit}" in args
    assert set(resources) >= GRANTS
    assert DEP not in resources


@pytest.mark.parametrize("scope", SCOPES)
def test_built_on_aks_rolls_the_image_out(env: Env, scope: str) -> None:
    xr, resources = _render(env, scope, "built")
    status = xr["status"]
    assert status["build"]["state"] == "Succeeded"
    assert status["rollout"]["state"] == "RollingOut"
    assert _image(resources) == status["build"]["image"]
    assert _image(resources).endswith(f".azurecr.io/app:{status['decision']['commit']}")


@pytest.mark.parametrize("scope", SCOPES)
def test_running_on_aks_serves_the_built_image(env: Env, scope: str) -> None:
    xr, resources = _render(env, scope, "running")
    status = xr["status"]
    assert status["phase"] == "Running"
    assert status["rollout"]["state"] == "Running"
    (w,) = status["workloads"]
    assert w["state"] == "serving" and w["image"] == _image(resources)
    assert status["endpoints"]


def _next(env: Env, scope: str, stage: str) -> tuple[dict[str, Any], dict[str, Any], str, str]:
    """A stage after the team pinned the next commit (decision revision 2 replaces 1): the
    render, the first commit's image and the next one's."""
    xr, resources = _render(env, scope, stage)
    status = xr["status"]
    decision = status["decision"]
    (first,) = [h["commit"] for h in status["history"] if h["revision"] == 1]
    assert decision["revision"] == 2 and decision["replaces"] == 1
    assert decision["commit"] != first
    prefix = _image(resources).rsplit(":", 1)[0]
    assert prefix.endswith(".azurecr.io/app")
    # The first commit's build Job is kept (its record) until revision 2 is all Ready.
    assert f"build-{first[:12]}-express-aks" in resources
    assert status["endpoints"][0]["url"] == "http://203.0.113.10"  # the Service's public IP
    return xr, resources, f"{prefix}:{first}", f"{prefix}:{decision['commit']}"


@pytest.mark.parametrize("scope", SCOPES)
def test_a_failed_build_on_aks_keeps_the_previous_image(env: Env, scope: str) -> None:
    xr, resources, old, new = _next(env, scope, "failed")
    status = xr["status"]
    assert status["phase"] == "Failed"
    assert (status["build"]["state"], status["rollout"]["state"]) == ("Failed", "BuildFailed")
    assert _image(resources) == old and status["rollout"]["image"] == old
    job = f"build-{status['decision']['commit'][:12]}-express-aks"
    assert status["build"]["logStreamPrefix"] == f"scia-build/{job}"
    assert status["message"].startswith(f"the build of {new} failed")
    assert f"{old} keeps serving; build log: " in status["message"]
    assert f"pod of job scia-build/{job}" in status["message"]


@pytest.mark.parametrize("scope", SCOPES)
def test_a_stuck_rollout_on_aks_rolls_back(env: Env, scope: str) -> None:
    xr, resources, old, new = _next(env, scope, "rolled-back")
    status = xr["status"]
    assert status["phase"] == "Failed"
    assert (status["build"]["state"], status["rollout"]["state"]) == ("Succeeded", "RolledBack")
    assert _image(resources) == old and status["rollout"]["image"] == old
    notes = resources[DEP]["spec"]["forProvider"]["manifest"]["metadata"]["annotations"]
    assert notes == {"scia.io/last-good-image": old, "scia.io/failed-image": new}
    assert status["message"].startswith(
        f"the rollout of {new} did not progress within 600 s (ProgressDeadlineExceeded); "
        f"rolling back to {old}"
    )
