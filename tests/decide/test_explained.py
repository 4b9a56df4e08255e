"""The decision on every example is explained in status by the intent and capacity figures it
used (both XRD scopes, the knowledge base deciding through the real Reconciler)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from examples import render as R
from function.decide.engine import DecisionEngine
from function.decide.jobs import DecisionJobs
from function.reconcile import Reconciler, ReconcileRequest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = [
    "legacy/xr.yaml",
    "legacy/xr-staging.yaml",
    "legacy/xr-kubernetes.yaml",
    "namespaced/xr.yaml",
    "namespaced/xr-serverless.yaml",
]


def inp(repos: Path) -> dict[str, Any]:
    return {
        "urlRewrites": [{"prefix": R.MIRRORED_PREFIX, "replacement": f"file://{repos}/"}],
        "analysis": {"allowFileUrls": True},
        "decision": {"waitSeconds": 60},
    }


@pytest.mark.parametrize("example", EXAMPLES)
async def test_status_explains_the_decision_by_intent_and_capacity(
    repos: Path, example: str
) -> None:
    xr = yaml.safe_load((ROOT / "examples" / example).read_text())
    xr.pop("status", None)
    rec = Reconciler(DecisionEngine(), DecisionJobs())
    out = await rec.reconcile(ReconcileRequest(xr=xr, observed={}, input=inp(repos)))
    assert not out.fatal, out.results
    reason = out.status["decision"]["parameters"]["reason"]
    assert "intent: " in reason and "capacity: " in reason, reason
    assert "ms CPU/request" in reason and "GiB per instance" in reason
    assert "/month" in reason
