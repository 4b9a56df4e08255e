"""`crossplane render` of the kubernetes examples (both scopes): image -> build -> rollout
-> endpoint, each step's readiness read from the observed objects."""

from __future__ import annotations

from typing import Any

import pytest

from examples import render as R
from tests.support.render_env import Env, split

pytestmark = pytest.mark.e2e
SCOPES = ["legacy", "namespaced"]
DEP = "k8s-express-k8s-deployment"


def _render(env: Env, scope: str, stage: str) -> tuple[dict[str, Any], dict[str, Any]]:
    ex = R.EXAMPLES / scope
    xr, resources, results = split(
        env.render(
            ex / f"xr-kubernetes-{stage}.yaml", scope, ex / f"observed-kubernetes-{stage}.yaml"
        )
    )
    assert not [r for r in results if r.get("severity") == "SEVERITY_FATAL"], results
    return xr, resources


def _image(resources: dict[str, Any]) -> str:
    manifest = resources[DEP]["spec"]["forProvider"]["manifest"]
    image: str = manifest["spec"]["template"]["spec"]["containers"][0]["image"]
    return image


def _job(resources: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (name,) = [n for n in resources if n.startswith("build-") and n.endswith("-express-k8s")]
    return name, resources[name]["spec"]["forProvider"]["manifest"]


def _build_script(job: dict[str, Any]) -> str:
    """The builder container's command line (the repository's Dockerfile, then the launcher
    wrapper around its image: one buildctl call each)."""
    (builder,) = job["spec"]["template"]["spec"]["containers"]
    return " ".join(builder.get("command", []) + builder.get("args", []))


@pytest.mark.parametrize("scope", SCOPES)
def test_building_runs_nothing_until_the_image_exists(env: Env, scope: str) -> None:
    xr, resources = _render(env, scope, "building")
    status = xr["status"]
    assert status["phase"] == "Provisioning"
    assert status["build"]["state"] == "Building"
    assert status["rollout"]["state"] == "Building"
    # nothing answers yet: no app endpoint, whatever address the load balancer has
    assert all(e["type"] != "http" for e in status.get("endpoints") or []), status.get("endpoints")
    name, job = _job(resources)
    commit = status["decision"]["commit"]
    assert name == f"build-{commit[:12]}-express-k8s"
    # The repository's Dockerfile, at the pinned commit, pushed as <repository>:<commit>.
    script = _build_script(job)
    assert f"context=https://github.com/acme/express-api#{commit}" in script
    repo = resources["image-repository"]["metadata"]["annotations"]["crossplane.io/external-name"]
    assert f".amazonaws.com/{repo}:{commit},push=true" in script
    assert DEP not in resources  # nothing to run before the first build
    assert {"image-repository", "image-lifecycle", "builder-pod-identity"} <= set(resources)
    ready = [c for c in status.get("conditions", []) if c["type"] == "Ready"]
    assert ready and ready[0]["status"] == "False"


@pytest.mark.parametrize("scope", SCOPES)
def test_built_composes_the_deployment_with_the_built_image(env: Env, scope: str) -> None:
    xr, resources = _render(env, scope, "built")
    status = xr["status"]
    assert status["phase"] == "Provisioning"
    assert status["build"]["state"] == "Succeeded"
    assert status["rollout"]["state"] == "RollingOut"
    # The image the Job pushed, <composed repository URL>:<commit>, is what the Deployment runs.
    _, job = _job(resources)
    assert f"type=image,name={_image(resources)},push=true" in _build_script(job)
    assert _image(resources) == status["build"]["image"]
    assert {"k8s-express-k8s-autoscaler", "k8s-express-k8s-service"} <= set(resources)


@pytest.mark.parametrize("scope", SCOPES)
def test_rolling_out_the_built_image(env: Env, scope: str) -> None:
    xr, resources = _render(env, scope, "rolling-out")
    status = xr["status"]
    assert status["phase"] == "Provisioning"
    assert status["build"]["state"] == "Succeeded"
    assert status["rollout"]["state"] == "RollingOut"
    assert _image(resources) == status["build"]["image"]
    assert _image(resources).endswith(f":{status['decision']['commit']}")


@pytest.mark.parametrize("scope", SCOPES)
def test_running_answers_at_the_load_balancer(env: Env, scope: str) -> None:
    xr, resources = _render(env, scope, "running")
    status = xr["status"]
    assert status["phase"] == "Running"
    assert status["rollout"]["state"] == "Running"
    (w,) = status["workloads"]
    assert w["state"] == "serving" and w["image"] == _image(resources)
    first = status["endpoints"][0]
    assert first["name"] == "express-k8s" and first["url"].startswith("http://")
    assert first["url"].endswith(".elb.eu-west-1.amazonaws.com")
    assert status["logs"]["application"].startswith("/aws/containerinsights/")
    assert status["logs"]["application"].endswith("/application")
    group = resources["app-log-group"]["metadata"]["annotations"]["crossplane.io/external-name"]
    assert group == status["logs"]["application"]
    ready = [c for c in status.get("conditions", []) if c["type"] == "Ready"]
    assert ready and ready[0]["status"] == "True"
