"""The fault kinds of ../shared/cases/crossplane, each kept as a test with the right value.

The inputs are built here from the examples the way each case's README describes them,
so the tests need nothing outside the repository.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import yaml

from tests.support import inproc as P
from tests.support.xrstatus import XRDS, status_errors

ROOT = Path(__file__).resolve().parents[2]
LEGACY = ROOT / "examples" / "legacy"


async def test_case_14_outcome_is_declared_so_a_lost_readiness_is_degraded(repos: Path) -> None:
    """14-status-field-pruned: status.outcome must survive the API server, so that a running
    deployment that loses readiness becomes `degraded` (not `pending`)."""
    xr = P.load_xr(LEGACY / "xr-running.yaml")
    observed = P.load_observed(LEGACY / "observed-running.yaml")
    up = await P.reconcile(xr, observed, P.function_input("legacy", repos))
    assert up.status["phase"] == "Running" and up.status["outcome"] == "success"
    assert not status_errors(XRDS["legacy"], P.without_status(xr), up.status)
    declared = yaml.safe_load(XRDS["legacy"].read_text())["spec"]["versions"][0]["schema"]
    assert "outcome" in declared["openAPIV3Schema"]["properties"]["status"]["properties"]

    P.set_condition(observed["autoscaling-group"], "Ready", "False", "Creating")
    observed["autoscaling-group"]["status"]["conditions"][-1]["lastTransitionTime"] = P.timestamp(
        datetime.timedelta(minutes=2)
    )
    down = await P.reconcile(
        P.with_status(xr, up.status), observed, P.function_input("legacy", repos)
    )
    assert down.status["phase"] == "Provisioning"
    assert down.status["outcome"] == "degraded"
    assert down.status["history"][-1]["outcome"] == "degraded"
