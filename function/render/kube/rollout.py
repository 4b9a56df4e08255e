"""Which image a Deployment runs: build first, then roll out, and roll back (pure).

Everything is read from observed state (the objects provider-kubernetes last read from the
cluster, `status.atProvider.manifest`), so every replica of the function renders the same:

- the image this revision wants (`target`) reaches the Deployment only once it exists: a
  build Job observed `Complete` (or `spec.image`, which needs no build). Until then the
  Deployment keeps the image it runs; with none yet, it is not composed;
- a failed build (Job condition `Failed`) leaves the running image as it is;
- a rollout of `target` that the Deployment controller reports as
  `Progressing=False/ProgressDeadlineExceeded` (for the generation that runs `target`) is
  rolled back to the last good image, and `target` is remembered as failed on the
  Deployment itself (annotation `scia.io/failed-image`) so later reconciles do not roll it
  forward again; a new commit (a new target) clears it;
- the last good image is the one of the last rollout observed complete, kept as annotation
  `scia.io/last-good-image` on the Deployment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from function.render.kube.workload import LAST_GOOD

FAILED_IMAGE = "scia.io/failed-image"

State = Literal[
    "waiting-for-build",
    "building",
    "build-failed",
    "rolling-out",
    "serving",
    "rolled-back",
    "rollout-failed",
]


@dataclass(frozen=True)
class Choice:
    """What the Deployment runs, and why."""

    image: str | None  # None: nothing can run yet (first build not done)
    target: str
    state: State
    message: str
    last_good: str | None = None
    failed_image: str | None = None


def _conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for c in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and isinstance(c.get("type"), str):
            out[c["type"]] = c
    return out


def job_state(job: dict[str, Any]) -> tuple[Literal["none", "running", "complete", "failed"], str]:
    """The observed build Job: not seen, running, complete or failed (with its message)."""
    if not job:
        return "none", ""
    conds = _conditions(job)
    for typ, state in (("Complete", "complete"), ("Failed", "failed")):
        c = conds.get(typ)
        if c and c.get("status") == "True":
            msg = str(c.get("message") or c.get("reason") or typ)
            return state, msg  # type: ignore[return-value]
    return "running", ""


def running_image(dep: dict[str, Any]) -> str | None:
    containers = (((dep.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
        "containers"
    ) or []
    first = containers[0] if containers and isinstance(containers[0], dict) else {}
    image = first.get("image")
    return image if isinstance(image, str) and image else None


def _annotation(dep: dict[str, Any], key: str) -> str | None:
    value = ((dep.get("metadata") or {}).get("annotations") or {}).get(key)
    return value if isinstance(value, str) and value else None


def _current(dep: dict[str, Any]) -> bool:
    """The controller has seen the Deployment's latest spec."""
    status = dep.get("status") or {}
    gen = (dep.get("metadata") or {}).get("generation")
    seen = status.get("observedGeneration")
    return isinstance(gen, int) and isinstance(seen, int) and seen >= gen


def rollout_complete(dep: dict[str, Any]) -> bool:
    """Every replica runs the latest template and is available (kubectl rollout status)."""
    if not dep or not _current(dep):
        return False
    status = dep.get("status") or {}
    want = (dep.get("spec") or {}).get("replicas", 1)
    want = want if isinstance(want, int) else 1
    progressing = _conditions(dep).get("Progressing") or {}
    return (
        status.get("updatedReplicas", 0) >= want
        and status.get("availableReplicas", 0) >= want
        and status.get("replicas", 0) <= status.get("updatedReplicas", 0)
        and progressing.get("status") != "False"
    )


def deadline_exceeded(dep: dict[str, Any]) -> bool:
    c = _conditions(dep).get("Progressing") or {}
    return (
        _current(dep)
        and c.get("status") == "False"
        and c.get("reason") == "ProgressDeadlineExceeded"
    )


def choose(
    target: str,
    deployment: dict[str, Any],
    build: dict[str, Any] | None,
    *,
    needs_build: bool,
    deadline_seconds: int,
) -> Choice:
    """The image for the Deployment given what is observed.

    `deployment`: the observed Deployment ({} when none); `build`: the observed build Job
    ({} when not observed yet; ignored without `needs_build`).
    """
    running = running_image(deployment)
    last_good = _annotation(deployment, LAST_GOOD)
    failed = _annotation(deployment, FAILED_IMAGE)
    if running and rollout_complete(deployment) and running != failed:
        last_good = running
    keep = running or last_good
    if needs_build:
        state, why = job_state(build or {})
        if state == "failed":
            msg = f"the build of {target} failed ({why[:200]})"
            msg += f"; {keep} keeps serving" if keep else "; nothing runs yet"
            return Choice(keep, target, "build-failed", msg, last_good, failed)
        if state != "complete":
            msg = f"building {target}" + (f"; {keep} keeps serving" if keep else "")
            return Choice(
                keep, target, "building" if build else "waiting-for-build", msg, last_good, failed
            )
    if failed == target:
        msg = (
            f"the rollout of {target} did not progress within {deadline_seconds} s "
            f"(ProgressDeadlineExceeded); rolled back to {keep or 'nothing'}"
        )
        return Choice(
            keep if keep != target else last_good, target, "rolled-back", msg, last_good, failed
        )
    if running == target and deadline_exceeded(deployment):
        if last_good and last_good != target:
            msg = (
                f"the rollout of {target} did not progress within {deadline_seconds} s "
                f"(ProgressDeadlineExceeded); rolling back to {last_good}"
            )
            return Choice(last_good, target, "rolled-back", msg, last_good, target)
        msg = (
            f"the rollout of {target} did not progress within {deadline_seconds} s "
            "(ProgressDeadlineExceeded) and no earlier image ran to roll back to"
        )
        return Choice(target, target, "rollout-failed", msg, last_good, None)
    if running == target and rollout_complete(deployment):
        return Choice(target, target, "serving", f"{target} serves", target, None)
    msg = f"rolling out {target}" + (f" (from {running})" if running and running != target else "")
    return Choice(target, target, "rolling-out", msg, last_good, None)
