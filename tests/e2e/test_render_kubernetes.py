"""`crossplane render` of the kubernetes examples (both scopes): image -> build -> rollout
-> endpoint, each step's readiness read from the observed objects."""

from __future__ import annotations

from typing import Any

import pytest

from examples import render as R
from function.messages import compact_images
from tests.kube.make_examples import HEADER, NEXT_HEADER
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


# The next commit (tests/kube/make_examples.py `next_commit_stages`): the team pinned it
# after the first commit ran (decision revision 2, which replaces revision 1).
NEXT_STAGES = ["next-building", "build-failed", "next-rolling-out", "rolled-back"]


def _first_commit(status: dict[str, Any]) -> str:
    (first,) = [h["commit"] for h in status["history"] if h["revision"] == 1]
    commit: str = first
    return commit


def _annotations(resources: dict[str, Any]) -> dict[str, str]:
    notes: dict[str, str] = resources[DEP]["spec"]["forProvider"]["manifest"]["metadata"].get(
        "annotations", {}
    )
    return notes


def _next(env: Env, scope: str, stage: str) -> tuple[dict[str, Any], dict[str, Any], str, str]:
    """The render of a next-commit stage, the previous image and the next one."""
    xr, resources = _render(env, scope, stage)
    status = xr["status"]
    decision = status["decision"]
    first = _first_commit(status)
    assert decision["revision"] == 2 and decision["commit"] != first
    repo = resources["image-repository"]["metadata"]["annotations"]["crossplane.io/external-name"]
    old, new = (f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{repo}:{c}"
                for c in (first, decision["commit"]))  # fmt: skip
    # The first commit's build Job stays (kept as it is, the record of what runs) until
    # revision 2's resources are all Ready: status.decision.replaces says whose it is.
    assert decision["replaces"] == 1
    assert f"build-{first[:12]}-express-k8s" in resources
    assert f"build-{decision['commit'][:12]}-express-k8s" in resources
    assert f"keeping build-{first[:12]}-express-k8s" in status["message"]
    # The previous version keeps answering at the load balancer throughout.
    url = status["endpoints"][0]["url"]
    assert url.startswith("http://") and url.endswith(".elb.eu-west-1.amazonaws.com")
    return xr, resources, old, new


@pytest.mark.parametrize("scope", SCOPES)
def test_the_next_commit_builds_while_the_previous_one_serves(env: Env, scope: str) -> None:
    xr, resources, old, new = _next(env, scope, "next-building")
    status = xr["status"]
    assert status["phase"] == "Provisioning"
    assert (status["build"]["state"], status["rollout"]["state"]) == ("Building", "Building")
    assert status["build"]["commit"] == status["decision"]["commit"]
    assert _image(resources) == old and status["rollout"]["image"] == old
    assert f"building {new}; {old} keeps serving" in status["message"]
    _, job = _job_of(resources, status["decision"]["commit"])
    assert f"type=image,name={new},push=true" in _build_script(job)


@pytest.mark.parametrize("scope", SCOPES)
def test_a_failed_build_of_the_next_commit_keeps_the_previous_one(env: Env, scope: str) -> None:
    xr, resources, old, new = _next(env, scope, "build-failed")
    status = xr["status"]
    assert status["phase"] == "Failed"
    assert (status["build"]["state"], status["rollout"]["state"]) == ("Failed", "BuildFailed")
    # The Deployment still runs the first commit's image, and nothing asks for the new one.
    assert _image(resources) == old and status["rollout"]["image"] == old
    assert new not in str(resources[DEP]["spec"])
    # An over-long message names images by name and short tag (function/messages.py).
    said = compact_images(status["message"])
    assert (
        compact_images(f"the build of {new} failed (Job has reached the specified backoff limit)")
        in said
    )
    assert compact_images(f"{old} keeps serving") in said
    # Where the build log is: the cluster's container log group, the build pod's stream.
    build = status["build"]
    job = f"build-{status['decision']['commit'][:12]}-express-k8s"
    assert build["logGroup"] == status["logs"]["build"] == status["logs"]["application"]
    assert build["logGroup"].startswith("/aws/containerinsights/")
    assert build["logStreamPrefix"] == f"scia-build/{job}"
    assert f"build log: {build['logGroup']}, pod of job scia-build/{job}" in status["message"]
    group = resources["app-log-group"]["metadata"]["annotations"]["crossplane.io/external-name"]
    assert group == build["logGroup"]


@pytest.mark.parametrize("scope", SCOPES)
def test_the_next_commit_rolls_out_once_built(env: Env, scope: str) -> None:
    xr, resources, old, new = _next(env, scope, "next-rolling-out")
    status = xr["status"]
    assert status["phase"] == "Provisioning"
    assert (status["build"]["state"], status["rollout"]["state"]) == ("Succeeded", "RollingOut")
    assert _image(resources) == new == status["build"]["image"]
    # The last image whose rollout completed, to roll back to.
    assert _annotations(resources)["scia.io/last-good-image"] == old


@pytest.mark.parametrize("scope", SCOPES)
def test_a_rollout_past_its_deadline_rolls_back_by_itself(env: Env, scope: str) -> None:
    xr, resources, old, new = _next(env, scope, "rolled-back")
    status = xr["status"]
    manifest = resources[DEP]["spec"]["forProvider"]["manifest"]
    deadline = manifest["spec"]["progressDeadlineSeconds"]
    assert status["phase"] == "Failed"
    assert (status["build"]["state"], status["rollout"]["state"]) == ("Succeeded", "RolledBack")
    # Back to the first commit's image; the failed one is remembered on the Deployment so
    # later reconciles do not roll it forward again.
    assert _image(resources) == old and status["rollout"]["image"] == old
    assert _annotations(resources) == {
        "scia.io/last-good-image": old,
        "scia.io/failed-image": new,
    }
    assert compact_images(
        f"the rollout of {new} did not progress within {deadline} s "
        f"(ProgressDeadlineExceeded); rolling back to {old}; "
        f"application log: {status['logs']['application']}"
    ) in compact_images(status["message"])


def _job_of(resources: dict[str, Any], commit: str) -> tuple[str, dict[str, Any]]:
    name = f"build-{commit[:12]}-express-k8s"
    return name, resources[name]["spec"]["forProvider"]["manifest"]


def test_the_examples_are_the_generators_stages() -> None:
    """Every kubernetes example is one of tests/kube/make_examples.py's stages, and each
    stage has its example in both scopes."""
    for scope in SCOPES:
        stages = sorted(
            p.stem.removeprefix("xr-kubernetes-")
            for p in (R.EXAMPLES / scope).glob("xr-kubernetes-*.yaml")
        )
        assert stages == sorted([*HEADER, *NEXT_HEADER]), scope
        for stage in stages:
            assert (R.EXAMPLES / scope / f"observed-kubernetes-{stage}.yaml").exists()
