"""A desired resource that is not observed yet has just been (or is being) created: it is
not "not ready past the grace period", however old the decision is.

Crossplane creates every desired resource right after the answer, so a resource is
unobserved for one reconcile only: when a Running deployment's composed resource was
deleted and is recreated, or when a resource is composed only once another's status is
observed (a later pass). Timed from the decision, that one reconcile read Failed (a
"phase Running -> Failed" warning and a failure outcome) for any deployment older than
the grace period. A resource Crossplane cannot create is reported by Crossplane itself on
the XR's Synced condition.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from examples import render as R
from tests.support import inproc as P

RUNNING = [e for e in R.examples() if e.observed is not None and e.name.endswith("running")]
DAY = datetime.timedelta(days=1)


def test_every_strategy_and_scope_has_a_running_example() -> None:
    names = {e.name for e in RUNNING}
    for scope in ("legacy", "namespaced"):
        assert any(n.startswith(f"{scope}/") and "kubernetes" in n for n in names), names
    assert len(RUNNING) >= 6, names


@pytest.mark.parametrize("example", RUNNING, ids=lambda e: e.name)
async def test_a_recreated_resource_of_an_old_decision_is_provisioning_not_failed(
    example: R.Example, repos: Path
) -> None:
    assert example.observed is not None
    xr = P.load_xr(example.xr)
    decision = xr["status"]["decision"]
    decision["decidedAt"] = P.timestamp(DAY)
    decision.pop("renderedAt", None)
    observed = P.load_observed(example.observed)
    inp = P.function_input(P.scope_of(xr), repos)
    before = await P.reconcile(xr, observed, inp)
    assert before.status["phase"] == "Running", before.status["message"]

    # The first resource whose loss still renders (losing a cluster, say, leaves resources
    # composed from its status unrenderable: a fatal result that keeps what exists,
    # tests/reconcile/test_never_delete.py).
    for gone in sorted(n for n in before.desired if n in observed):
        seen = {n: b for n, b in observed.items() if n != gone}
        out = await P.reconcile(P.with_status(xr, before.status), seen, inp)
        if not out.fatal:
            break
    else:
        pytest.fail("no resource's loss renders")
    assert gone in out.desired
    assert out.status["phase"] == "Provisioning", out.status["message"]
    assert not [m for s, m in out.results if "Failed" in m], out.results
    assert out.status["outcome"] != "failure"
