"""`crossplane render` of the GKE build examples (both scopes): the image is built on the
cluster into the deployment's Artifact Registry repository (Workload Identity: the
builder's principal may write to that repository only), then rolled out, then serves;
each step read from the observed objects through the real gRPC function
(tests/kube/make_cloud_build_examples.py writes the examples). They render with the
shipped composition whose input adds the platform's `gcp.project` and
`gcp.projectNumber`, as a platform that builds on GKE sets them."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from examples import render as R
from function.messages import compact_images
from tests.kube.make_cloud_build_examples import GCP_PLATFORM
from tests.support.render_env import Env, assert_resources_valid, split

pytestmark = pytest.mark.e2e
SCOPES = ["legacy", "namespaced"]
DEP = "k8s-express-gke-deployment"
GRANTS = {"artifact-repository", "builder-registry-writer", "nodes-registry-reader"}


def _render(env: Env, scope: str, stage: str) -> tuple[dict[str, Any], dict[str, Any]]:
    ex = R.EXAMPLES / "gke-build" / scope
    shipped = yaml.safe_load((R.REPO_ROOT / "compositions" / f"{scope}.yaml").read_text())
    gcp = {**shipped["spec"]["pipeline"][0]["input"]["gcp"], **GCP_PLATFORM}
    xr, resources, results = split(
        env.render(
            ex / f"xr-gcp-build-{stage}.yaml",
            scope,
            ex / f"observed-gcp-build-{stage}.yaml",
            env.composition(scope, gcp=gcp),
        )
    )
    assert not [r for r in results if r.get("severity") == "SEVERITY_FATAL"], results
    assert not any("decided revision" in r["message"] for r in results)  # the pin is reused
    assert_resources_valid(resources)
    return xr, resources


def _image(resources: dict[str, Any]) -> str:
    manifest = resources[DEP]["spec"]["forProvider"]["manifest"]
    image: str = manifest["spec"]["template"]["spec"]["containers"][0]["image"]
    return image


@pytest.mark.parametrize("scope", SCOPES)
def test_building_on_gke_runs_nothing_until_the_image_exists(env: Env, scope: str) -> None:
    xr, resources = _render(env, scope, "building")
    status = xr["status"]
    commit = status["decision"]["commit"]
    assert status["phase"] == "Provisioning"
    assert status["build"]["state"] == "Building"
    # nothing answers yet: no app endpoint, whatever address the load balancer has
    assert all(e["type"] != "http" for e in status.get("endpoints") or []), status.get("endpoints")
    job = resources[f"build-{commit[:12]}-express-gke"]["spec"]["forProvider"]["manifest"]
    box = job["spec"]["template"]["spec"]["containers"][0]
    args = " ".join(box.get("command", []) + box.get("args", []))
    assert f"context=https://github.com/acme/express-api#{commit}" in args
    assert "-docker.pkg.dev/acme-prod/" in args and f":{commit}" in args
    assert set(resources) >= GRANTS
    writer = resources["builder-registry-writer"]["spec"]["forProvider"]
    assert writer["role"] == "roles/artifactregistry.writer"
    assert writer["member"].startswith(
        "principal://iam.googleapis.com/projects/123456789012/locations/global/"
        "workloadIdentityPools/acme-prod.svc.id.goog/subject/ns/scia-build/sa/scia-builder-"
    )
    pool = resources["gke-cluster"]["spec"]["forProvider"]["workloadIdentityConfig"]
    assert pool == {"workloadPool": "acme-prod.svc.id.goog"}
    assert DEP not in resources


@pytest.mark.parametrize("scope", SCOPES)
def test_built_on_gke_rolls_the_image_out(env: Env, scope: str) -> None:
    xr, resources = _render(env, scope, "built")
    status = xr["status"]
    assert status["build"]["state"] == "Succeeded"
    assert status["rollout"]["state"] == "RollingOut"
    assert _image(resources) == status["build"]["image"]
    assert _image(resources).endswith(f"/app:{status['decision']['commit']}")


@pytest.mark.parametrize("scope", SCOPES)
def test_running_on_gke_serves_the_built_image(env: Env, scope: str) -> None:
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
    assert prefix.startswith("europe-west1-docker.pkg.dev/acme-prod/") and prefix.endswith("/app")
    assert f"build-{first[:12]}-express-gke" in resources
    assert status["endpoints"][0]["url"] == "http://203.0.113.10"  # the Service's public IP
    assert status["endpoints"][1]["url"] == "https://34.76.0.10"  # the control plane's
    return xr, resources, f"{prefix}:{first}", f"{prefix}:{decision['commit']}"


@pytest.mark.parametrize("scope", SCOPES)
def test_a_failed_build_on_gke_keeps_the_previous_image(env: Env, scope: str) -> None:
    xr, resources, old, new = _next(env, scope, "failed")
    status = xr["status"]
    assert status["phase"] == "Failed"
    assert (status["build"]["state"], status["rollout"]["state"]) == ("Failed", "BuildFailed")
    assert _image(resources) == old and status["rollout"]["image"] == old
    job = f"build-{status['decision']['commit'][:12]}-express-gke"
    build = status["build"]
    assert build["logGroup"] == status["logs"]["build"]
    assert build["logGroup"].startswith('Cloud Logging: resource.type="k8s_container"')
    assert build["logStreamPrefix"] == f"scia-build/{job}"
    # Two Artifact Registry references and a Cloud Logging filter do not fit in 500
    # characters: the images are named by name and short tag (function/messages.py), never
    # is where the build log is cut.
    assert status["message"].startswith(compact_images(f"the build of {new} failed"))
    assert compact_images(f"{old} keeps serving") in status["message"]
    assert len(status["rollout"]["message"]) <= 500
    assert status["rollout"]["message"].endswith(
        f"; build log: {build['logGroup']}, pod of job scia-build/{job}"
    )


@pytest.mark.parametrize("scope", SCOPES)
def test_a_stuck_rollout_on_gke_rolls_back(env: Env, scope: str) -> None:
    xr, resources, old, new = _next(env, scope, "rolled-back")
    status = xr["status"]
    assert status["phase"] == "Failed"
    assert (status["build"]["state"], status["rollout"]["state"]) == ("Succeeded", "RolledBack")
    assert _image(resources) == old and status["rollout"]["image"] == old
    notes = resources[DEP]["spec"]["forProvider"]["manifest"]["metadata"]["annotations"]
    assert notes == {"scia.io/last-good-image": old, "scia.io/failed-image": new}
    assert status["rollout"]["message"].endswith(
        f"rolling back to {old}; application log: {status['logs']['application']}"
    )


@pytest.mark.parametrize("scope", SCOPES)
def test_losing_the_platform_values_fails_rather_than_deletes_the_registry(
    env: Env, scope: str
) -> None:
    """The shipped composition has no `gcp.project` / `gcp.projectNumber`: the inputs hash
    moves, the deployment is decided again, and that decision cannot build. Leaving the
    registry out would delete it and the images the cluster runs: a fatal result naming the
    fields instead, so Crossplane changes and deletes nothing."""
    ex = R.EXAMPLES / "gke-build" / scope
    with pytest.raises(RuntimeError) as failed:  # `crossplane render` exits on a fatal result
        env.render(ex / "xr-gcp-build-running.yaml", scope, ex / "observed-gcp-build-running.yaml")
    message = str(failed.value)
    assert "returned a fatal result" in message
    assert "gcp.project and gcp.projectNumber" in message, message
    assert "artifact-repository" in message and "spec.image" in message
    assert "Nothing composed is changed or deleted" in message
