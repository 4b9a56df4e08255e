"""The examples' pinned alternatives say no more than the rules do now.

A pinned decision keeps the alternatives it was made with; an example written before the
stores were wired for kubernetes and serverless kept telling readers they were "wired for
vm only so far", and one written before serverless could build its image kept saying it
"needs a container image (spec.image)". Every example whose pinned alternatives give a
verdict ("not possible: ...", or a data-store reason) is decided again (same spec, same
commit) and must give the same verdict for that strategy. Refresh an example by deciding it
again (tests/config/make_datastore_examples.py writes the kubernetes and serverless ones).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from examples import render as R
from tests.support import inproc as P

DATASTORES = R.EXAMPLES / "datastores"


def _pinned_examples() -> list[Path]:
    paths = [e.xr for e in R.examples()] + sorted(DATASTORES.glob("xr-*.yaml"))
    return sorted({p for p in paths if (P.load_xr(p).get("status") or {}).get("decision")})


def _verdict(reason: str) -> bool:
    """A reason that says whether the strategy is possible (not one that compares costs)."""
    return reason.startswith("not possible") or "data store" in reason or "spec.services" in reason


def test_store_strategies_are_every_strategy() -> None:
    from function.config.datastores import STORE_STRATEGIES
    from function.model import Strategy

    assert set(STORE_STRATEGIES) == set(Strategy)


@pytest.mark.parametrize("path", _pinned_examples(), ids=lambda p: f"{p.parent.name}/{p.stem}")
async def test_pinned_verdicts_are_current(path: Path, repos: Path) -> None:
    xr = P.load_xr(path)
    pin = xr["status"]["decision"]
    claims = [
        a
        for a in (pin.get("parameters") or {}).get("alternatives") or []
        if _verdict(a.get("reason", ""))
    ]
    shown = [a for a in xr["status"].get("alternativeStrategies") or [] if _verdict(a["reason"])]
    if not claims and not shown:
        return
    fresh_xr: dict[str, Any] = {k: v for k, v in xr.items() if k != "status"}
    stores = P.compose_stores(P.scope_of(xr)) if path.parent == DATASTORES else {}
    out = await P.reconcile(fresh_xr, {}, P.function_input(P.scope_of(xr), repos, **stores))
    assert not out.fatal, out.results
    now = {a["strategy"]: a["reason"] for a in out.status["decision"]["parameters"]["alternatives"]}
    for a in claims + shown:
        assert now.get(a["strategy"]) == a["reason"], (
            f"{path.name}: the pin says {a['strategy']}: {a['reason']!r}; the rules now say "
            f"{now.get(a['strategy'])!r}"
        )


@pytest.mark.parametrize("path", _pinned_examples(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_pinned_decision_says_the_intent_and_capacity_it_used(path: Path) -> None:
    """Issue 17's "done": the decision on the examples is explained in status by the intent
    and capacity figures it used (pins written before that reason existed kept the old one)."""
    pin = P.load_xr(path)["status"]["decision"]
    if pin.get("decidedBy") not in (None, "knowledge-base") or pin.get("replaces"):
        return  # an LLM's or a right-sizing's reason is worded by them
    reason = pin["parameters"]["reason"]
    assert "intent:" in reason and "capacity:" in reason, f"{path.name}: {reason}"
