"""`crossplane render` of the cluster build examples on AKS and GKE (both scopes): the image
is built on the cluster into the deployment's registry (Azure Container Registry with AKS
workload identity; Artifact Registry with Workload Identity for GKE), then rolled out, then
serves; then the next commit's build fails, or its rollout is stuck and rolled back, and
the first commit's image keeps serving. Each step is read from the observed objects through
the real gRPC function (tests/kube/make_cloud_build_examples.py writes the examples).

The GKE examples render with the shipped composition whose input adds the platform's
`gcp.project` and `gcp.projectNumber`, as a platform that builds on GKE sets them; without
them a deployment that builds into its registry gets a fatal result rather than losing it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from examples import render as R
from function.messages import compact_images
from tests.kube.make_cloud_build_examples import GCP_PLATFORM
from tests.support.render_env import Env, assert_resources_valid, split

pytestmark = pytest.mark.e2e
SCOPES = ["legacy", "namespaced"]


@dataclass(frozen=True)
class Cluster:
    """One cloud's build examples: where they are, what the render must compose."""

    cloud: str  # aks | gke: the example app's service is express-<cloud>
    stem: str  # xr-<stem>-<stage>.yaml
    grants: frozenset[str]  # the registry and the identities that push and pull
    registry: str  # in every image reference the cluster builds
    endpoints: tuple[str, ...]  # the first endpoints' URLs once Running (the Service's IP)

    @property
    def deployment(self) -> str:
        return f"k8s-express-{self.cloud}-deployment"

    def job(self, commit: str) -> str:
        return f"build-{commit[:12]}-express-{self.cloud}"

    def folder(self, scope: str) -> Path:
        return R.EXAMPLES / scope if self.cloud == "aks" else R.EXAMPLES / "gke-build" / scope

    def composition(self, env: Env, scope: str) -> Path:
        if self.cloud == "aks":
            return env.composition(scope)
        shipped = yaml.safe_load((R.REPO_ROOT / "compositions" / f"{scope}.yaml").read_text())
        gcp = {**shipped["spec"]["pipeline"][0]["input"]["gcp"], **GCP_PLATFORM}
        return env.composition(scope, gcp=gcp)


AKS = Cluster(
    "aks",
    "azure-build",
    frozenset({"container-registry", "builder-identity", "builder-federation",
               "builder-acr-push", "kubelet-acr-pull"}),
    ".azurecr.io/app",
    ("http://203.0.113.10",),
)  # fmt: skip
GKE = Cluster(
    "gke",
    "gcp-build",
    frozenset({"artifact-repository", "builder-registry-writer", "nodes-registry-reader"}),
    "europe-west1-docker.pkg.dev/acme-prod/",
    ("http://203.0.113.10", "https://34.76.0.10"),  # the Service's IP, the control plane's
)
CLUSTERS = pytest.mark.parametrize("cluster", [AKS, GKE], ids=["aks", "gke"])
Rendered = tuple[dict[str, Any], dict[str, Any]]


def _render(env: Env, cluster: Cluster, scope: str, stage: str) -> Rendered:
    ex = cluster.folder(scope)
    xr, resources, results = split(
        env.render(
            ex / f"xr-{cluster.stem}-{stage}.yaml",
            scope,
            ex / f"observed-{cluster.stem}-{stage}.yaml",
            cluster.composition(env, scope),
        )
    )
    assert not [r for r in results if r.get("severity") == "SEVERITY_FATAL"], results
    assert not any("decided revision" in r["message"] for r in results)  # the pin is reused
    assert_resources_valid(resources)
    return xr, resources


def _image(cluster: Cluster, resources: dict[str, Any]) -> str:
    manifest = resources[cluster.deployment]["spec"]["forProvider"]["manifest"]
    image: str = manifest["spec"]["template"]["spec"]["containers"][0]["image"]
    return image


def _building(env: Env, cluster: Cluster, scope: str) -> tuple[Rendered, dict[str, Any]]:
    """The first build: nothing runs until the image exists. Returns the render and the
    build Job's pod template."""
    xr, resources = _render(env, cluster, scope, "building")
    status = xr["status"]
    commit = status["decision"]["commit"]
    assert status["phase"] == "Provisioning"
    assert (status["build"]["state"], status["rollout"]["state"]) == ("Building", "Building")
    # nothing answers yet: no app endpoint, whatever address the load balancer has
    assert all(e["type"] != "http" for e in status.get("endpoints") or []), status.get("endpoints")
    job = resources[cluster.job(commit)]["spec"]["forProvider"]["manifest"]
    pod: dict[str, Any] = job["spec"]["template"]
    box = pod["spec"]["containers"][0]
    args = " ".join(box.get("command", []) + box.get("args", []))
    assert f"context=https://github.com/acme/express-api#{commit}" in args
    assert cluster.registry in args and f":{commit}" in args
    assert set(resources) >= cluster.grants
    assert cluster.deployment not in resources
    return (xr, resources), pod


@CLUSTERS
@pytest.mark.parametrize("scope", SCOPES)
def test_building_runs_nothing_until_the_image_exists(
    env: Env, cluster: Cluster, scope: str
) -> None:
    _building(env, cluster, scope)


@pytest.mark.parametrize("scope", SCOPES)
def test_aks_builds_with_workload_identity(env: Env, scope: str) -> None:
    _, pod = _building(env, AKS, scope)
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"


@pytest.mark.parametrize("scope", SCOPES)
def test_gke_builds_as_the_builders_principal_in_the_project_pool(env: Env, scope: str) -> None:
    (_, resources), _ = _building(env, GKE, scope)
    writer = resources["builder-registry-writer"]["spec"]["forProvider"]
    assert writer["role"] == "roles/artifactregistry.writer"
    assert writer["member"].startswith(
        "principal://iam.googleapis.com/projects/123456789012/locations/global/"
        "workloadIdentityPools/acme-prod.svc.id.goog/subject/ns/scia-build/sa/scia-builder-"
    )
    pool = resources["gke-cluster"]["spec"]["forProvider"]["workloadIdentityConfig"]
    assert pool == {"workloadPool": "acme-prod.svc.id.goog"}


@CLUSTERS
@pytest.mark.parametrize("scope", SCOPES)
def test_built_rolls_the_image_out(env: Env, cluster: Cluster, scope: str) -> None:
    xr, resources = _render(env, cluster, scope, "built")
    status = xr["status"]
    assert (status["build"]["state"], status["rollout"]["state"]) == ("Succeeded", "RollingOut")
    assert _image(cluster, resources) == status["build"]["image"]
    assert _image(cluster, resources).endswith(f"/app:{status['decision']['commit']}")
    assert cluster.registry in _image(cluster, resources)


@CLUSTERS
@pytest.mark.parametrize("scope", SCOPES)
def test_running_serves_the_built_image(env: Env, cluster: Cluster, scope: str) -> None:
    xr, resources = _render(env, cluster, scope, "running")
    status = xr["status"]
    assert (status["phase"], status["rollout"]["state"]) == ("Running", "Running")
    (w,) = status["workloads"]
    assert w["state"] == "serving" and w["image"] == _image(cluster, resources)
    assert status["endpoints"]


def _next(
    env: Env, cluster: Cluster, scope: str, stage: str
) -> tuple[dict[str, Any], dict[str, Any], str, str]:
    """A stage after the team pinned the next commit (decision revision 2 replaces 1),
    Failed, the first commit's image serving: the render, the first commit's image and the
    next one's."""
    xr, resources = _render(env, cluster, scope, stage)
    status = xr["status"]
    decision = status["decision"]
    (first,) = [h["commit"] for h in status["history"] if h["revision"] == 1]
    assert decision["revision"] == 2 and decision["replaces"] == 1
    assert decision["commit"] != first
    prefix = _image(cluster, resources).rsplit(":", 1)[0]
    assert cluster.registry in prefix and prefix.endswith("/app")
    # The first commit's build Job is kept (its record) until revision 2 is all Ready.
    assert cluster.job(first) in resources
    urls = tuple(e["url"] for e in status["endpoints"])
    assert urls[: len(cluster.endpoints)] == cluster.endpoints
    assert status["phase"] == "Failed"
    old = f"{prefix}:{first}"
    assert _image(cluster, resources) == old and status["rollout"]["image"] == old
    return xr, resources, old, f"{prefix}:{decision['commit']}"


@CLUSTERS
@pytest.mark.parametrize("scope", SCOPES)
def test_a_failed_build_keeps_the_previous_image(env: Env, cluster: Cluster, scope: str) -> None:
    xr, _, old, new = _next(env, cluster, scope, "failed")
    status = xr["status"]
    assert (status["build"]["state"], status["rollout"]["state"]) == ("Failed", "BuildFailed")
    job = cluster.job(status["decision"]["commit"])
    build = status["build"]
    assert build["logStreamPrefix"] == f"scia-build/{job}"
    message = status["rollout"]["message"]
    assert len(message) <= 500
    assert f"pod of job scia-build/{job}" in message
    if cluster is AKS:
        assert status["message"].startswith(f"the build of {new} failed")
        assert f"{old} keeps serving; build log: " in status["message"]
        return
    assert build["logGroup"] == status["logs"]["build"]
    assert build["logGroup"].startswith('Cloud Logging: resource.type="k8s_container"')
    # Two Artifact Registry references and a Cloud Logging filter do not fit in 500
    # characters: the images are named by name and short tag (function/messages.py), never
    # is where the build log is cut.
    assert status["message"].startswith(compact_images(f"the build of {new} failed"))
    assert compact_images(f"{old} keeps serving") in status["message"]
    assert message.endswith(f"; build log: {build['logGroup']}, pod of job scia-build/{job}")


@CLUSTERS
@pytest.mark.parametrize("scope", SCOPES)
def test_a_stuck_rollout_rolls_back(env: Env, cluster: Cluster, scope: str) -> None:
    xr, resources, old, new = _next(env, cluster, scope, "rolled-back")
    status = xr["status"]
    assert (status["build"]["state"], status["rollout"]["state"]) == ("Succeeded", "RolledBack")
    manifest = resources[cluster.deployment]["spec"]["forProvider"]["manifest"]
    notes = manifest["metadata"]["annotations"]
    assert notes == {"scia.io/last-good-image": old, "scia.io/failed-image": new}
    assert f"rolling back to {old}" in status["rollout"]["message"]
    if cluster is AKS:
        assert status["message"].startswith(
            f"the rollout of {new} did not progress within 600 s (ProgressDeadlineExceeded); "
            f"rolling back to {old}"
        )
    else:
        assert status["rollout"]["message"].endswith(
            f"rolling back to {old}; application log: {status['logs']['application']}"
        )


@pytest.mark.parametrize("scope", SCOPES)
def test_gke_losing_the_platform_values_fails_rather_than_deletes_the_registry(
    env: Env, scope: str
) -> None:
    """The shipped composition has no `gcp.project` / `gcp.projectNumber`: the inputs hash
    moves, the deployment is decided again, and that decision cannot build. Leaving the
    registry out would delete it and the images the cluster runs: a fatal result naming the
    fields instead, so Crossplane changes and deletes nothing."""
    ex = GKE.folder(scope)
    with pytest.raises(RuntimeError) as failed:  # `crossplane render` exits on a fatal result
        env.render(ex / "xr-gcp-build-running.yaml", scope, ex / "observed-gcp-build-running.yaml")
    message = str(failed.value)
    assert "returned a fatal result" in message
    assert "gcp.project and gcp.projectNumber" in message, message
    assert "artifact-repository" in message and "spec.image" in message
    assert "Nothing composed is changed or deleted" in message
