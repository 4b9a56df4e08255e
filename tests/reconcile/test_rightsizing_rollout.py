"""Right-sizing through the real Reconciler (both XRD scopes, every strategy the examples
use): the recommendation in status, and with `rightsizing.apply` a new revision within the
same strategy that rolls out like any decision change (nothing leaves the desired set
until its replacement is Ready), once, and only from observations of the running revision.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from examples import render as R
from tests.support import inproc as P

ROOT = Path(__file__).resolve().parents[2]
IDLE = {"scia.io/observed-cpu-utilisation": "0.01", "scia.io/observed-memory-gib": "0.3"}
HOT = {"scia.io/observed-cpu-utilisation": "0.9", "scia.io/observed-memory-gib": "1.9"}
EXAMPLES = ["legacy/xr-kubernetes", "legacy/xr", "namespaced/xr", "namespaced/xr-serverless"]


def example(name: str) -> dict[str, Any]:
    (ex,) = [e for e in R.examples() if e.name == name]
    return P.without_status(P.load_xr(ex.xr))


async def running(
    name: str, repos: Path, **overrides: Any
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, Any]]:
    xr = example(name)
    inp = P.function_input(P.scope_of(xr), repos, **overrides)
    out, upxr, seen = await P.converge(xr, inp)
    assert out.status["phase"] == "Running", out.status.get("message")
    return upxr, seen, out.status


def observe(xr: dict[str, Any], values: dict[str, str], revision: int | None) -> dict[str, Any]:
    annotations = xr["metadata"].setdefault("annotations", {})
    annotations.update(values)
    if revision is not None:
        annotations["scia.io/observed-revision"] = str(revision)
    return xr


@pytest.mark.parametrize("name", EXAMPLES)
async def test_the_recommendation_is_shown_and_nothing_changes_without_apply(
    name: str, repos: Path
) -> None:
    xr, seen, status = await running(name, repos)
    out = await P.reconcile(observe(xr, HOT, 1), seen, P.function_input(P.scope_of(xr), repos))
    sized = out.status["rightsizing"]
    assert sized["state"] == "under-provisioned" and sized["revision"] == 1, sized
    assert sized["risk"] and sized["recommended"]["strategy"] == status["strategy"]
    assert "appliedRevision" not in sized
    assert out.status["decision"]["revision"] == 1
    assert out.status["decision"]["parameters"] == status["decision"]["parameters"]
    assert set(out.desired) == set(seen)


@pytest.mark.parametrize("name", EXAMPLES)
async def test_apply_makes_one_new_revision_and_keeps_every_resource_until_it_is_ready(
    name: str, repos: Path
) -> None:
    xr, seen, status = await running(name, repos)
    inp = P.function_input(P.scope_of(xr), repos, rightsizing={"apply": True})
    hot = observe(xr, HOT, 1)
    out = await P.reconcile(hot, seen, inp)
    assert not out.fatal, out.results
    sized = out.status["rightsizing"]
    if "no allowed size carries it" in sized["risk"]:
        # Within the platform's bounds and the hard budget nothing larger fits: the risk is
        # shown, the pin stays.
        assert out.status["decision"]["revision"] == 1 and "appliedRevision" not in sized
        assert set(seen) <= set(out.desired)
        return
    d = out.status["decision"]
    assert d["revision"] == 2 and d["decidedBy"] == "rightsizing", d
    assert sized["appliedRevision"] == 2
    assert out.status["strategy"] == status["strategy"]  # within the same strategy
    strategy = status["strategy"]
    assert d["parameters"][strategy] == sized["recommended"][strategy]
    assert d["trigger"].startswith("right-sizing: revision 1 was under-provisioned")
    assert [h["revision"] for h in out.status["history"]] == [1, 2]
    assert any("right-sizing" in m for _, m in out.results)
    # Faults never delete: every observed resource is still desired while the new
    # revision rolls out.
    assert set(seen) <= set(out.desired), sorted(set(seen) - set(out.desired))

    # The same observations (of revision 1) never size revision 2 again.
    again = await P.reconcile(P.with_status(hot, out.status), seen, inp)
    assert again.status["decision"]["revision"] == 2, again.results
    assert "rightsizing" not in again.status  # they measured another revision
    assert set(seen) <= set(again.desired)

    # The rollout completes like any decision change: once every new resource is Ready.
    done, _, observed = await P.converge(P.with_status(hot, again.status), inp, keep=None)
    assert done.status["decision"]["revision"] == 2
    assert done.status["phase"] == "Running", done.status.get("message")
    assert set(done.desired) <= set(observed)


async def test_apply_needs_observations_that_name_the_running_revision(repos: Path) -> None:
    xr, seen, _ = await running("legacy/xr-kubernetes", repos)
    inp = P.function_input("legacy", repos, rightsizing={"apply": True})
    unnamed = await P.reconcile(observe(xr, IDLE, None), seen, inp)
    assert unnamed.status["decision"]["revision"] == 1
    assert unnamed.status["rightsizing"]["state"] in ("over-provisioned", "right-sized")
    assert "appliedRevision" not in unnamed.status["rightsizing"]


async def test_apply_waits_while_the_deployment_is_not_running(repos: Path) -> None:
    xr = example("legacy/xr-kubernetes")
    inp = P.function_input("legacy", repos, rightsizing={"apply": True})
    out, upxr, seen = await P.converge(xr, inp, ready=False)
    assert out.status["phase"] == "Provisioning"
    later = await P.reconcile(observe(upxr, HOT, 1), seen, inp)
    assert later.status["decision"]["revision"] == 1
    # Not running yet: nothing measured its sizes, so no recommendation either.
    assert "rightsizing" not in later.status


@pytest.mark.parametrize("scope", ["legacy", "namespaced"])
async def test_a_group_observed_at_its_maximum_is_a_risk_without_any_annotation(
    scope: str, repos: Path
) -> None:
    """What the composed resources show while the revision runs sizes it too: the auto
    scaling group's observed desired capacity at its maximum is named as the risk, with no
    scia.io/observed-* annotation; the CPU basis counts the instances observed running."""
    xr, seen, _ = await running(f"{scope}/xr", repos)
    inp = P.function_input(scope, repos)
    plain = await P.reconcile(xr, seen, inp)
    assert "rightsizing" not in plain.status  # nothing observed that sizes anything
    group = seen["autoscaling-group"]
    at = group["status"]["atProvider"]
    top = group["spec"]["forProvider"]["maxSize"]
    assert top > group["spec"]["forProvider"]["minSize"]
    at.update(desiredCapacity=top, minSize=group["spec"]["forProvider"]["minSize"], maxSize=top)
    out = await P.reconcile(xr, seen, inp)
    sized = out.status["rightsizing"]
    assert sized["state"] == "under-provisioned", sized
    assert "maximum size" in sized["risk"]
    hot = await P.reconcile(observe(xr, {"scia.io/observed-cpu-utilisation": "0.9"}, 1), seen, inp)
    assert f"({top:g} running)" in hot.status["rightsizing"]["basis"], hot.status["rightsizing"]


async def test_apply_never_leaves_the_platforms_rules(repos: Path) -> None:
    """The recommendation sizes within today's allowlist and bounds, so what is applied
    passes the pin re-check (guard/pincheck.py) like any decision."""
    bounds = {"maxNodes": 3}
    xr, seen, _ = await running("legacy/xr-kubernetes", repos, kubernetes=bounds)
    inp = P.function_input("legacy", repos, rightsizing={"apply": True}, kubernetes=bounds)
    out = await P.reconcile(observe(xr, HOT, 1), seen, inp)
    assert not out.fatal, out.results
    assert out.status["decision"]["revision"] == 2, out.results  # applied, not redecided
    assert out.status["decision"]["decidedBy"] == "rightsizing"
    k8s = out.status["decision"]["parameters"]["kubernetes"]
    assert k8s["maxNodes"] <= 3 and k8s["desiredNodes"] <= 3, k8s
