"""Every XR status the function writes is declared in the XRD it is applied to.

Crossplane writes the desired composite status with typed server-side apply: one field
the XR's CRD does not declare makes the whole apply fail (`.status.outcome: field not
declared in schema`) and no status is written at all, so the pin never persists. The CRD
is the one Crossplane generates from the XRD (tests/support/xrd_crd.py); unknown fields
are errors here, as typed SSA treats them. Checked for every example, in both scopes, in
every phase the function reports.
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from examples import render as R
from function.reconcile import ReconcileResult
from tests.kube.make_examples import aks_https_input, gke_https_input
from tests.support import inproc as P
from tests.support.xrstatus import XRDS, status_errors

ROOT = Path(__file__).resolve().parents[2]


Scenario = Callable[[dict[str, Any], dict[str, dict[str, Any]], Path], Awaitable[ReconcileResult]]


async def _pinned(xr: dict[str, Any], repos: Path) -> ReconcileResult:
    """A fresh decision for the example's spec (pinned now)."""
    scope = P.scope_of(xr)
    out = await P.reconcile(P.without_status(xr), {}, P.function_input(scope, repos))
    assert out.status.get("decision"), out.results
    return out


async def as_shipped(
    xr: dict[str, Any], observed: dict[str, dict[str, Any]], repos: Path
) -> ReconcileResult:
    return await P.reconcile(xr, observed, P.function_input(P.scope_of(xr), repos))


async def analyzing_first(
    xr: dict[str, Any], observed: dict[str, dict[str, Any]], repos: Path
) -> ReconcileResult:
    return await P.reconcile(P.without_status(xr), {}, P.function_input(P.scope_of(xr), repos, 0))


async def analyzing_pinned(
    xr: dict[str, Any], observed: dict[str, dict[str, Any]], repos: Path
) -> ReconcileResult:
    first = await _pinned(xr, repos)
    changed = P.with_status(xr, first.status)
    changed["spec"]["prompt"] = "now as cheap as possible"
    return await P.reconcile(
        changed, P.observed_from(first.desired), P.function_input(P.scope_of(xr), repos, 0)
    )


async def provisioning(
    xr: dict[str, Any], observed: dict[str, dict[str, Any]], repos: Path
) -> ReconcileResult:
    out, _, _ = await P.converge(
        P.without_status(xr), P.function_input(P.scope_of(xr), repos), ready=False
    )
    return out


async def running(
    xr: dict[str, Any], observed: dict[str, dict[str, Any]], repos: Path
) -> ReconcileResult:
    out, _, _ = await P.converge(P.without_status(xr), P.function_input(P.scope_of(xr), repos))
    return out


async def degraded(
    xr: dict[str, Any], observed: dict[str, dict[str, Any]], repos: Path
) -> ReconcileResult:
    scope = P.scope_of(xr)
    up, upxr, lost = await P.converge(P.without_status(xr), P.function_input(scope, repos))
    assert up.status["outcome"] == "success"
    P.set_condition(lost[sorted(lost)[0]], "Ready", "False", "Unavailable")
    return await P.reconcile(upxr, lost, P.function_input(scope, repos))


async def failed_terminal(
    xr: dict[str, Any], observed: dict[str, dict[str, Any]], repos: Path
) -> ReconcileResult:
    first = await _pinned(xr, repos)
    broken = P.observed_from(first.desired, ready=False)
    P.set_condition(
        broken[sorted(broken)[0]],
        "Synced",
        "False",
        "ReconcileError",
        "create failed: operation error: api error InvalidParameterValue: bad value",
    )
    return await P.reconcile(
        P.with_status(xr, first.status), broken, P.function_input(P.scope_of(xr), repos)
    )


async def failed_after_grace(
    xr: dict[str, Any], observed: dict[str, dict[str, Any]], repos: Path
) -> ReconcileResult:
    first = await _pinned(xr, repos)
    stuck = P.observed_from(first.desired, ready=False, since=datetime.timedelta(hours=3))
    return await P.reconcile(
        P.with_status(xr, first.status), stuck, P.function_input(P.scope_of(xr), repos)
    )


async def decision_failed(
    xr: dict[str, Any], observed: dict[str, dict[str, Any]], repos: Path
) -> ReconcileResult:
    broke = P.without_status(xr)
    broke["spec"]["strategy"] = "kubernetes"
    broke["spec"]["budget"] = {"maxMonthlyCost": 20, "enforcementMode": "hard"}
    # A budget no configuration fits (require-https on AKS would be refused at admission
    # first: the shipped input names no Key Vault certificate).
    policies = broke["spec"].get("policies") or []
    broke["spec"]["policies"] = [p for p in policies if p != "require-https"]
    return await P.reconcile(broke, {}, P.function_input(P.scope_of(xr), repos))


async def repository_gone(
    xr: dict[str, Any], observed: dict[str, dict[str, Any]], repos: Path
) -> ReconcileResult:
    gone = [{"prefix": R.MIRRORED_PREFIX, "replacement": f"file://{repos}/no-such-mirror/"}]
    inp = P.function_input(P.scope_of(xr), repos, urlRewrites=gone)
    return await P.reconcile(P.without_status(xr), {}, inp)


async def rolled_back(
    xr: dict[str, Any], observed: dict[str, dict[str, Any]], repos: Path
) -> ReconcileResult:
    scope = P.scope_of(xr)
    first = await _pinned(xr, repos)
    again = P.with_status(xr, first.status)
    again["metadata"].setdefault("annotations", {})["scia.io/redecide"] = "2"
    second = await P.reconcile(again, {}, P.function_input(scope, repos))
    assert second.status["decision"]["revision"] == 2, second.results
    back = P.with_status(again, second.status)
    back["spec"]["rollbackToRevision"] = 1
    return await P.reconcile(back, {}, P.function_input(scope, repos))


async def llm_unavailable(
    xr: dict[str, Any], observed: dict[str, dict[str, Any]], repos: Path
) -> ReconcileResult:
    llm = {"enabled": True, "host": f"http://127.0.0.1:{R.free_port()}", "timeoutSeconds": 5}
    inp = P.function_input(P.scope_of(xr), repos, llm=llm)
    return await P.reconcile(P.without_status(xr), {}, inp)


IDLE = {"scia.io/observed-cpu-utilisation": "0.02", "scia.io/observed-memory-gib": "0.3"}
HOT = {"scia.io/observed-cpu-utilisation": "0.97", "scia.io/observed-at-max": "true"}


async def _running_observed(
    xr: dict[str, Any], repos: Path, observations: dict[str, str], **overrides: Any
) -> ReconcileResult:
    scope = P.scope_of(xr)
    up, upxr, seen = await P.converge(P.without_status(xr), P.function_input(scope, repos))
    assert up.status["phase"] == "Running", up.status.get("message")
    revision = str(up.status["decision"]["revision"])
    upxr["metadata"].setdefault("annotations", {}).update(
        observations | {"scia.io/observed-revision": revision}
    )
    return await P.reconcile(upxr, seen, P.function_input(scope, repos, **overrides))


async def rightsizing_shown(
    xr: dict[str, Any], observed: dict[str, dict[str, Any]], repos: Path
) -> ReconcileResult:
    out = await _running_observed(xr, repos, HOT)
    assert out.status["rightsizing"]["state"] == "under-provisioned", out.status["rightsizing"]
    return out


async def rightsizing_applied(
    xr: dict[str, Any], observed: dict[str, dict[str, Any]], repos: Path
) -> ReconcileResult:
    hot = {"scia.io/observed-cpu-utilisation": "0.9", "scia.io/observed-memory-gib": "1.9"}
    out = await _running_observed(xr, repos, hot, rightsizing={"apply": True})
    sized = out.status["rightsizing"]
    strategy = sized["recommended"]["strategy"]
    before = [h for h in out.status["history"] if h["revision"] == sized["revision"]]
    if sized["recommended"][strategy] != before[0]["parameters"][strategy]:
        assert sized["appliedRevision"] == out.status["decision"]["revision"] == 2, sized
    else:  # nothing larger is allowed: shown, not applied
        assert "appliedRevision" not in sized and "no allowed size" in sized["risk"], sized
    return out


# scenario -> (how, the phase it must reach, the Decided condition reason it must report)
SCENARIOS: dict[str, tuple[Scenario, str | None, str | None]] = {
    "as-shipped": (as_shipped, None, None),
    "analyzing": (analyzing_first, "Analyzing", "Analyzing"),
    "analyzing-with-pin": (analyzing_pinned, "Analyzing", "Analyzing"),
    "provisioning": (provisioning, "Provisioning", "Pinned"),
    "running": (running, "Running", "Pinned"),
    "degraded": (degraded, "Provisioning", "Pinned"),
    "failed-terminal": (failed_terminal, "Failed", "Pinned"),
    "failed-after-grace": (failed_after_grace, "Failed", "Pinned"),
    "decision-failed": (decision_failed, "Failed", "DecisionFailed"),
    "repository-gone": (repository_gone, "Failed", "DecisionFailed"),
    "rollback": (rolled_back, None, "Pinned"),
    "llm-unavailable": (llm_unavailable, None, "Pinned"),
    "rightsizing-shown": (rightsizing_shown, "Running", "Pinned"),
    "rightsizing-applied": (rightsizing_applied, None, "Pinned"),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("example", R.examples(), ids=lambda e: e.name)
async def test_every_status_written_is_declared_in_the_xrd(
    example: R.Example, scenario: str, repos: Path
) -> None:
    xr = P.load_xr(example.xr)
    how, phase, decided = SCENARIOS[scenario]
    out = await how(xr, P.load_observed(example.observed), repos)
    assert not out.fatal, out.results
    assert out.status, "every answer writes a status"
    if phase is not None:
        assert out.status["phase"] == phase, out.status.get("message")
    if decided is not None:
        reasons = [c.reason for c in out.conditions if c.type == "Decided"]
        assert reasons == [decided], reasons
    # Readiness is explicit in every answer, and Ready only when Running.
    assert out.composite_ready is (out.status["phase"] == "Running")
    if scenario == "degraded":
        assert out.status["outcome"] == "degraded"
    errors = status_errors(XRDS[P.scope_of(xr)], P.without_status(xr), out.status)
    assert not errors, "\n".join(errors)


# The kubernetes require-https examples: (folder, the platform's input, the endpoint's host).
HTTPS_CLUSTERS = {
    "aks-https": (aks_https_input, "https://express-tls."),
    "gke-https": (gke_https_input, "https://express-gke-https."),
}


@pytest.mark.parametrize(
    "xr_path",
    [p for folder in HTTPS_CLUSTERS for p in sorted((R.EXAMPLES / folder).rglob("xr-*.yaml"))],
    ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}/{p.stem}",
)
async def test_kubernetes_https_statuses_are_declared(xr_path: Path, repos: Path) -> None:
    """The AKS and GKE require-https examples (examples/aks-https, examples/gke-https,
    rendered with the platform's policy.https), their status as read back and once
    converged (https endpoint)."""
    platform, endpoint = HTTPS_CLUSTERS[xr_path.parent.parent.name]
    xr = P.load_xr(xr_path)
    observed = P.load_observed(xr_path.with_name(xr_path.name.replace("xr-", "observed-", 1)))
    inp = platform(P.function_input(P.scope_of(xr), repos))
    read = await P.reconcile(xr, observed, inp)
    converged, _, _ = await P.converge(P.without_status(xr), inp)
    for out in (read, converged):
        assert not out.fatal, out.results
        errors = status_errors(XRDS[P.scope_of(xr)], P.without_status(xr), out.status)
        assert not errors, "\n".join(errors)
    assert converged.status["phase"] == "Running"
    assert converged.status["endpoints"][0]["url"].startswith(endpoint)


def test_an_undeclared_field_is_an_error() -> None:
    """The check can fail: a field outside the schema is reported, as SSA rejects it."""
    xr = P.load_xr(ROOT / "examples" / "legacy" / "xr.yaml")
    errors = status_errors(XRDS["legacy"], xr, {"phase": "Running", "verdict": "great"})
    assert any("verdict" in e and "unknown field" in e for e in errors), errors
    errors = status_errors(XRDS["namespaced"], xr | {"kind": "AppDeployment"}, {"phase": "Done"})
    assert any("phase" in e for e in errors), errors


@pytest.mark.parametrize("observed", [False, True], ids=["provisioning", "running"])
async def test_cloud_provider_status_is_declared(observed: bool) -> None:
    xr = P.load_xr(ROOT / "examples" / "cloudprovider" / "xcloudprovider.yaml")
    first = await P.reconcile(xr, {}, None)
    seen = P.observed_from(first.desired) if observed else {}
    out = await P.reconcile(xr, seen, None)
    assert out.status["phase"] == ("Running" if observed else "Provisioning")
    errors = status_errors(XRDS["cloudprovider"], xr, out.status)
    assert not errors, "\n".join(errors)
