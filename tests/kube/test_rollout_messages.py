"""status.rollout.message always says where the log is: a failed build points at the build
pod's log, a rolled-back or failed rollout at the application log, even when the images'
references and the log's location are long (a GKE build log is a Cloud Logging filter of
~150 characters; two Artifact Registry references are ~200). The message is shortened,
never the location."""

from __future__ import annotations

from typing import Any

import pytest

from function.render.kube.units import MESSAGE_LIMIT, bounded, rollout_status

REGISTRY = "europe-west1-docker.pkg.dev/acme-prod/artifact-repository-0123abcd/app"
NEW, OLD = f"{REGISTRY}:{'9' * 40}", f"{REGISTRY}:{'2' * 40}"
CLOUD_LOGGING = (
    'Cloud Logging: resource.type="k8s_container" resource.labels.cluster_name='
    '"team-a-express-gke-5186c1f2-gke-cluster" resource.labels.namespace_name="scia-build"'
)
BUILD_LOG = f"{CLOUD_LOGGING}, pod of job scia-build/build-999999999999-express-gke"
APP_LOG = CLOUD_LOGGING.replace("scia-build", "express-gke")


def _entry(state: str, message: str, name: str = "express-gke") -> dict[str, Any]:
    return {"name": name, "state": state, "message": message, "buildLog": BUILD_LOG}


FAILED = (
    f"the build of {NEW} failed (Job has reached the specified backoff limit); {OLD} keeps serving"
)
ROLLED_BACK = (
    f"the rollout of {NEW} did not progress within 600 s (ProgressDeadlineExceeded); "
    f"rolling back to {OLD}"
)
STUCK = (
    f"the rollout of {NEW} did not progress within 600 s (ProgressDeadlineExceeded) "
    "and no earlier image ran to roll back to"
)
CASES = {
    "build-failed": (FAILED, f"; build log: {BUILD_LOG}"),
    "rolled-back": (ROLLED_BACK, f"; application log: {APP_LOG}"),
    "rollout-failed": (STUCK, f"; application log: {APP_LOG}"),
}


@pytest.mark.parametrize("state", sorted(CASES))
@pytest.mark.parametrize("services", [1, 2])
def test_the_log_location_survives_a_long_message(state: str, services: int) -> None:
    message, where = CASES[state]
    entries = [_entry(state, message + " " + "x" * 200)]
    if services > 1:  # a monorepo: the worst service's message, named
        entries.append(_entry("serving", f"{OLD} serves", name="worker"))
    out = rollout_status(entries, APP_LOG)
    assert len(out["message"]) <= MESSAGE_LIMIT
    assert out["message"].endswith(where)
    assert out["message"].startswith(("express-gke: " if services > 1 else "") + "the ")
    assert "..." in out["message"]


@pytest.mark.parametrize("state", sorted(CASES))
def test_a_message_that_fits_is_kept_whole(state: str) -> None:
    message, where = CASES[state]
    short = message.replace(REGISTRY, "r.example/app")
    out = rollout_status([_entry(state, short)], APP_LOG)
    assert out["message"] == short + where.replace(REGISTRY, "r.example/app")


def test_bounded_keeps_to_the_limit_at_the_edges() -> None:
    assert bounded("a" * 10, "; b", 13) == "a" * 10 + "; b"
    assert bounded("a" * 11, "; b", 13) == "a" * 7 + "...; b"
    assert bounded("a" * 11, "b" * 12, 13) == "a" + "b" * 12
    assert bounded("a" * 11, "b" * 20, 13) == "b" * 13
    assert len(bounded("a" * 1000, "; b" * 100, MESSAGE_LIMIT)) == MESSAGE_LIMIT
