"""The kubernetes examples through the real Reconciler with faults in the observed objects:
a failed build keeps what runs and says where the log is; a rollout past its deadline
rolls back by itself; both scopes."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from examples import render as R
from function.render.kube.rollout import FAILED_IMAGE
from function.render.kube.workload import LAST_GOOD
from tests.support import inproc as P
from tests.support.kube_observed import in_cluster

SCOPES = pytest.mark.parametrize("scope", ["legacy", "namespaced"])
DEP = "k8s-express-k8s-deployment"
PREVIOUS = "e" * 40  # the commit that ran before the example's


def _old(observed: dict[str, dict[str, Any]]) -> str:
    """The previous commit's image, in the example's own repository (as ECR reports it)."""
    url: str = observed["image-repository"]["status"]["atProvider"]["repositoryUrl"]
    return f"{url}:{PREVIOUS}"


def _load(scope: str, stage: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    ex = R.EXAMPLES / scope
    return (
        P.load_xr(ex / f"xr-kubernetes-{stage}.yaml"),
        P.load_observed(ex / f"observed-kubernetes-{stage}.yaml"),
    )


def _job(observed: dict[str, dict[str, Any]]) -> str:
    (name,) = [n for n in observed if n.startswith("build-") and n.endswith("-express-k8s")]
    return name


def _image(body: dict[str, Any]) -> str:
    m = body["spec"]["forProvider"]["manifest"]
    image: str = m["spec"]["template"]["spec"]["containers"][0]["image"]
    return image


def _serving(observed: dict[str, dict[str, Any]], image: str, **how: Any) -> None:
    """The observed Deployment runs `image` (as the cluster shows it)."""
    body = observed[DEP]
    manifest = copy.deepcopy(body["spec"]["forProvider"]["manifest"])
    manifest["spec"]["template"]["spec"]["containers"][0]["image"] = image
    body["spec"]["forProvider"]["manifest"] = manifest
    body["status"]["atProvider"]["manifest"] = in_cluster(manifest, **how)


@SCOPES
async def test_a_failed_first_build_fails_clearly(scope: str, repos: Path) -> None:
    xr, observed = _load(scope, "building")
    job = _job(observed)
    body = observed[job]
    body["status"]["atProvider"]["manifest"] = in_cluster(
        body["spec"]["forProvider"]["manifest"], job="Failed"
    )
    out = await P.reconcile(xr, observed, P.function_input(scope, repos))
    assert not out.fatal, out.results
    s = out.status
    assert s["phase"] == "Failed" and s["outcome"] == "failed"
    assert s["build"]["state"] == "Failed" and s["rollout"]["state"] == "BuildFailed"
    assert "backoff limit" in s["message"] and "build log: /aws/containerinsights/" in s["message"]
    assert job in s["message"]
    assert DEP not in out.desired and set(observed) <= set(out.desired)


@SCOPES
async def test_a_failed_build_keeps_the_running_version(scope: str, repos: Path) -> None:
    xr, observed = _load(scope, "running")
    old = _old(observed)
    _serving(observed, old)
    job = _job(observed)
    body = observed[job]
    body["status"]["atProvider"]["manifest"] = in_cluster(
        body["spec"]["forProvider"]["manifest"], job="Failed"
    )
    out = await P.reconcile(xr, observed, P.function_input(scope, repos))
    assert not out.fatal, out.results
    assert _image(out.desired[DEP]) == old
    assert out.status["phase"] == "Failed"
    assert f"{old} keeps serving" in out.status["message"]
    ready = out.ready
    assert DEP in ready  # the running version is untouched and Ready


@SCOPES
async def test_a_stuck_rollout_rolls_back_by_itself(scope: str, repos: Path) -> None:
    xr, observed = _load(scope, "running")
    old = _old(observed)
    target = _image(observed[DEP])
    inp = P.function_input(scope, repos)
    # The previous image served; the new one does not become available in time.
    body = observed[DEP]
    body["spec"]["forProvider"]["manifest"]["metadata"]["annotations"] = {LAST_GOOD: old}
    _serving(observed, target, rollout="deadline", generation=4)
    body["status"]["atProvider"]["manifest"]["metadata"]["annotations"] = {LAST_GOOD: old}
    out = await P.reconcile(xr, observed, inp)
    assert not out.fatal, out.results
    dep = out.desired[DEP]["spec"]["forProvider"]["manifest"]
    assert _image(out.desired[DEP]) == old
    assert dep["metadata"]["annotations"][FAILED_IMAGE] == target
    s = out.status
    assert s["phase"] == "Failed" and s["rollout"]["state"] == "RolledBack"
    assert "ProgressDeadlineExceeded" in s["message"] and old in s["message"]
    # The rollback completes: it stays rolled back (the failed image is not retried).
    after = copy.deepcopy(observed)
    after[DEP]["spec"]["forProvider"]["manifest"] = dep
    after[DEP]["status"]["atProvider"]["manifest"] = in_cluster(dep, generation=5)
    again = await P.reconcile(P.with_status(xr, s), after, inp)
    assert _image(again.desired[DEP]) == old
    assert again.status["rollout"]["state"] == "RolledBack"
    assert again.status["phase"] == "Failed"


@SCOPES
async def test_a_next_commit_xr_by_hand_as_docs_status_says(scope: str, repos: Path) -> None:
    """docs/status.md, "A next-commit XR by hand": the running XR with spec.repository.ref
    set to the next commit, status as it is, decides revision 2 with `replaces: 1` (what
    the shipped next-commit examples carry)."""
    after = R.git(repos / "express-api", "rev-parse", "next")
    xr, observed = _load(scope, "running")
    xr["spec"]["repository"]["ref"] = after
    out = await P.reconcile(xr, observed, P.function_input(scope, repos))
    assert not out.fatal, out.results
    decision = out.status["decision"]
    assert (decision["revision"], decision["commit"], decision["replaces"]) == (2, after, 1)
    assert [h["revision"] for h in out.status["history"]] == [1, 2]
    shipped = P.load_xr(R.EXAMPLES / scope / "xr-kubernetes-next-building.yaml")["status"]
    assert shipped["decision"]["commit"] == after and shipped["decision"]["replaces"] == 1
    first = xr["status"]["decision"]["commit"]
    assert f"build-{first[:12]}-express-k8s" in out.desired  # kept until revision 2 is ready


@SCOPES
async def test_a_next_commit_pin_without_replaces_deletes_nothing(scope: str, repos: Path) -> None:
    """Without `status.decision.replaces`, the revision before's build Job (observed, no
    longer rendered) may not go: a fatal result names it, and Crossplane keeps everything."""
    xr, observed = _load(scope, "build-failed")
    first = next(h["commit"] for h in xr["status"]["history"] if h["revision"] == 1)
    del xr["status"]["decision"]["replaces"]
    out = await P.reconcile(xr, observed, P.function_input(scope, repos))
    assert out.fatal
    assert any(
        severity == "Fatal" and "would delete" in m and f"build-{first[:12]}-express-k8s" in m
        for severity, m in out.results
    ), out.results
