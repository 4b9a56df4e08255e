"""The pipeline without gRPC: pinning, background decisions, and faults that must not delete."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import yaml

from examples import render as R
from function.decide.engine import DecisionEngine
from function.decide.jobs import DecisionJobs
from function.reconcile import Reconciler, ReconcileRequest

ROOT = Path(__file__).resolve().parents[2]

XR = yaml.safe_load((ROOT / "examples" / "legacy" / "xr.yaml").read_text())


def inp(repos: Path, wait: float = 30.0) -> dict[str, Any]:
    return {
        "urlRewrites": [{"prefix": R.MIRRORED_PREFIX, "replacement": f"file://{repos}/"}],
        "analysis": {"allowFileUrls": True},
        "decision": {"waitSeconds": wait, "retrySeconds": 7},
    }


def reconciler() -> Reconciler:
    return Reconciler(DecisionEngine(), DecisionJobs(workers=2))


async def test_slow_decision_answers_analyzing_then_pins(repos: Path) -> None:
    rec = reconciler()
    first = await rec.reconcile(ReconcileRequest(xr=XR, observed={}, input=inp(repos, wait=0)))
    assert first.status["phase"] == "Analyzing"
    assert first.ttl_seconds == 7
    assert not first.desired and not first.fatal
    for _ in range(200):  # bounded: the background job finishes within seconds
        if rec.jobs.in_flight() == 0:
            break
        await asyncio.sleep(0.05)
    second = await rec.reconcile(ReconcileRequest(xr=XR, observed={}, input=inp(repos, wait=0)))
    assert second.status["phase"] == "Provisioning"
    assert second.status["decision"]["revision"] == 1
    assert rec.jobs.started == 1  # one job per distinct input, reused by the second call


async def test_concurrent_reconciles_share_one_job(repos: Path) -> None:
    rec = reconciler()
    results = await asyncio.gather(
        *[rec.reconcile(ReconcileRequest(xr=XR, observed={}, input=inp(repos))) for _ in range(8)]
    )
    assert rec.jobs.started == 1
    pins = {r.status["decision"]["inputsHash"] for r in results}
    assert len(pins) == 1


async def test_new_decision_in_flight_keeps_pinned_resources(repos: Path) -> None:
    rec = reconciler()
    done = await rec.reconcile(ReconcileRequest(xr=XR, observed={}, input=inp(repos)))
    pinned_xr = copy.deepcopy(XR) | {"status": done.status}
    observed = {
        name: {**body, "metadata": {**body["metadata"], "name": name}}
        for name, body in done.desired.items()
    }
    pinned_xr["spec"] = {**pinned_xr["spec"], "prompt": "now cheaper please"}
    # A fresh replica: nothing cached, the new decision needs a clone and cannot be ready at once.
    during = await reconciler().reconcile(
        ReconcileRequest(xr=pinned_xr, observed=observed, input=inp(repos, wait=0))
    )
    assert during.status["phase"] == "Analyzing"
    assert set(during.desired) == set(done.desired)
    assert during.status["decision"] == done.status["decision"]


async def test_no_pin_but_resources_exist_is_fatal(repos: Path) -> None:
    rec = reconciler()
    bad = inp(repos) | {
        "urlRewrites": [{"prefix": R.MIRRORED_PREFIX, "replacement": "file:///nonexistent/"}]
    }
    out = await rec.reconcile(ReconcileRequest(xr=XR, observed={"vpc": {"kind": "VPC"}}, input=bad))
    assert out.fatal and "refusing to render an empty desired state" in out.results[0][1]


async def test_unreachable_repo_without_pin_fails_clearly(repos: Path) -> None:
    rec = reconciler()
    bad = inp(repos) | {
        "urlRewrites": [{"prefix": R.MIRRORED_PREFIX, "replacement": "file:///nonexistent/"}]
    }
    out = await rec.reconcile(ReconcileRequest(xr=XR, observed={}, input=bad))
    assert out.status["phase"] == "Failed"
    assert "flask-app" in out.status["message"]
    assert not out.desired


async def test_corrupt_pin_with_resources_is_fatal_not_empty(repos: Path) -> None:
    rec = reconciler()
    xr = copy.deepcopy(XR) | {"status": {"decision": {"revision": "garbage"}}}
    bad = inp(repos) | {
        "urlRewrites": [{"prefix": R.MIRRORED_PREFIX, "replacement": "file:///nonexistent/"}]
    }
    out = await rec.reconcile(ReconcileRequest(xr=xr, observed={"vpc": {"kind": "VPC"}}, input=bad))
    assert out.fatal


async def test_pinned_render_that_would_drop_a_resource_is_fatal(repos: Path) -> None:
    rec = reconciler()
    done = await rec.reconcile(ReconcileRequest(xr=XR, observed={}, input=inp(repos)))
    pinned_xr = copy.deepcopy(XR) | {"status": done.status}
    observed = {n: {"metadata": {"name": n}} for n in done.desired} | {
        "mystery": {"metadata": {"name": "m"}}
    }
    out = await rec.reconcile(ReconcileRequest(xr=pinned_xr, observed=observed, input=inp(repos)))
    assert out.fatal and "mystery" in out.results[-1][1]


def test_grace_period_turns_a_stuck_resource_into_failed() -> None:
    import datetime

    from function.status import Phase, resource_phase

    now = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)

    def res(ready: str, since: str | None) -> dict[str, Any]:
        c: dict[str, Any] = {"type": "Ready", "status": ready}
        if since:
            c["lastTransitionTime"] = since
        return {"status": {"conditions": [c]}}

    ok = {"a": res("True", "2026-06-01T10:00:00Z")}
    # Not ready for 5 minutes: still provisioning (or degraded, for a running app).
    phase, _ = resource_phase(
        {"a", "b"}, ok | {"b": res("False", "2026-06-01T11:55:00Z")}, 1800, now
    )
    assert phase is Phase.PROVISIONING
    # Not ready for 45 minutes: failed, naming it.
    phase, msg = resource_phase(
        {"a", "b"}, ok | {"b": res("False", "2026-06-01T11:15:00Z")}, 1800, now
    )
    assert phase is Phase.FAILED and "b" in msg and "30 min grace" in msg
    # Not observed (being created now: tests/reconcile/test_recreated_resources.py): no
    # verdict from the clock, however old the decision.
    phase, msg = resource_phase({"a", "b"}, ok, 1800, now)
    assert phase is Phase.PROVISIONING and msg == "1 of 2 resources ready"
    # No transition time known: no verdict from the clock.
    phase, _ = resource_phase({"a", "b"}, ok | {"b": res("False", None)}, 1800, now)
    assert phase is Phase.PROVISIONING


async def test_a_bug_is_a_fatal_result_not_a_crash_or_an_empty_desired_state(repos: Path) -> None:
    """An unexpected exception anywhere in the pipeline: fatal, so Crossplane keeps what exists."""
    from crossplane.function import resource
    from crossplane.function.proto.v1 import run_function_pb2 as fnv1

    from function.fn import FunctionRunner

    class BrokenEngine(DecisionEngine):
        async def resolve(self, *args: Any, **kwargs: Any) -> str:
            raise ZeroDivisionError("a bug")

    done = await reconciler().reconcile(ReconcileRequest(xr=XR, observed={}, input=inp(repos)))
    pinned = copy.deepcopy(XR) | {"status": done.status}
    runner = FunctionRunner(Reconciler(BrokenEngine(), DecisionJobs()))
    req = fnv1.RunFunctionRequest()
    req.observed.composite.resource.CopyFrom(resource.dict_to_struct(pinned))
    req.input.CopyFrom(resource.dict_to_struct(inp(repos)))
    for name in done.desired:
        req.observed.resources[name].resource.CopyFrom(resource.dict_to_struct({"kind": "X"}))
    rsp = await runner.RunFunction(req)
    fatal = [r for r in rsp.results if r.severity == fnv1.SEVERITY_FATAL]
    assert fatal and "internal error (ZeroDivisionError)" in fatal[0].message
    assert "a bug" not in fatal[0].message and "Traceback" not in fatal[0].message
    assert not rsp.desired.resources  # the fatal result makes Crossplane keep what exists
