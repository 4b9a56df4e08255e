"""Faults never delete (function/keep.py, function/adopt.py, function/lastknown.py).

A desired set never omits an observed composed resource unless a recorded decision change
asked for it, and then only once the replacement is Ready. With no pin and resources that
exist, the pin is adopted from them or the answer is fatal, naming them. Cases 02b, 03a and
03b of ../shared/cases/crossplane, for every strategy and both XRD scopes.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from examples import render as R
from function.fn import FunctionRunner
from tests.support import inproc as P
from tests.support.strategies import XRS, image, xr_for

ROOT = Path(__file__).resolve().parents[2]
LEGACY = ROOT / "examples" / "legacy"
NAMESPACED = ROOT / "examples" / "namespaced"


async def deployed(xr: dict[str, Any], repos: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Decide and observe everything Ready: (XR with its status, observed resources)."""
    up, running, observed = await P.converge(xr, P.function_input(P.scope_of(xr), repos))
    assert up.status["phase"] == "Running", up.status["message"]
    assert set(up.desired) == set(observed)
    return running, observed


@pytest.mark.parametrize("key", sorted(XRS))
async def test_case_03a_status_lost_adopts_what_exists(key: str, repos: Path) -> None:
    """The XR comes back without status (strategy auto) while another strategy's resources
    exist: the pin is adopted from them, nothing is left out."""
    running, observed = await deployed(xr_for(key), repos)
    strategy = running["status"]["strategy"]
    lost = P.without_status(running)
    lost["spec"]["strategy"] = "auto"
    out = await P.reconcile(lost, observed, P.function_input(P.scope_of(lost), repos))
    assert not out.fatal, out.results
    assert set(observed) <= set(out.desired)
    decision = out.status["decision"]
    assert decision["decidedBy"] == "adopted" and out.status["strategy"] == strategy
    sizes = running["status"]["decision"]["parameters"][strategy]
    assert decision["parameters"][strategy] == sizes
    assert any(s == "Warning" and "adopted" in m for s, m in out.results)
    # The adopted pin renders the same resources as the lost one did (the observed spec
    # may also hold what the provider resolved from a selector).
    for name, body in observed.items():
        want, got = body["spec"], out.desired[name]["spec"]
        assert _holds(want.get("forProvider", want), got.get("forProvider", got)), name


def _holds(seen: Any, want: Any) -> bool:
    """`seen` has every field of `want` with its value (lists element by element)."""
    if isinstance(want, dict):
        return isinstance(seen, dict) and all(
            k in seen and _holds(seen[k], v) for k, v in want.items()
        )
    if isinstance(want, list):
        return (
            isinstance(seen, list)
            and len(seen) == len(want)
            and all(_holds(a, b) for a, b in zip(seen, want, strict=True))
        )
    return bool(seen == want)


async def test_case_03a_adoption_through_grpc_reads_the_observed_specs(repos: Path) -> None:
    """fn.py hands the reconciler only status fields on every call; adoption reads specs."""
    running, observed = await deployed(xr_for("legacy-kubernetes"), repos)
    lost = P.without_status(running)
    lost["spec"]["strategy"] = "auto"
    req = fnv1.RunFunctionRequest()
    req.observed.composite.resource.CopyFrom(resource.dict_to_struct(lost))
    req.input.CopyFrom(resource.dict_to_struct(P.function_input("legacy", repos)))
    for name, body in observed.items():
        req.observed.resources[name].resource.CopyFrom(resource.dict_to_struct(body))
    rsp = await FunctionRunner(P.reconciler()).RunFunction(req)
    assert not [r for r in rsp.results if r.severity == fnv1.SEVERITY_FATAL]
    assert set(observed) <= set(rsp.desired.resources)
    status = resource.struct_to_dict(rsp.desired.composite.resource)["status"]
    assert status["decision"]["decidedBy"] == "adopted" and status["strategy"] == "kubernetes"


async def test_adoption_refuses_a_forced_strategy_that_differs(repos: Path) -> None:
    running, observed = await deployed(xr_for("legacy-kubernetes"), repos)
    lost = P.without_status(running)
    lost["spec"]["strategy"] = "vm"
    out = await P.reconcile(lost, observed, P.function_input("legacy", repos))
    assert out.fatal and not out.desired
    message = out.results[-1][1]
    assert "eks-cluster" in message and "spec.strategy is vm" in message


async def test_case_02b_status_lost_and_repository_gone_is_fatal_naming_them(
    repos: Path,
) -> None:
    running, observed = await deployed(xr_for("legacy-vm"), repos)
    gone = [{"prefix": R.MIRRORED_PREFIX, "replacement": f"file://{repos}/no-such-mirror/"}]
    inp = P.function_input("legacy", repos, urlRewrites=gone)
    out = await P.reconcile(P.without_status(running), observed, inp)
    assert out.fatal and not out.desired
    assert "autoscaling-group" in out.results[-1][1]
    assert "refusing" in out.results[-1][1]


def _without_at_provider(observed: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(observed)
    for body in out.values():
        body["status"].pop("atProvider", None)
    return out


async def test_case_03b_missing_at_provider_keeps_the_last_known_values(repos: Path) -> None:
    """b-observed: every status.atProvider emptied. The ASG keeps its trafficSource and the
    status its endpoints, from the values pinned while they were observed."""
    running, observed = await deployed(xr_for("legacy-vm"), repos)
    inp = P.function_input("legacy", repos)
    before = await P.reconcile(running, observed, inp)
    assert before.status["decision"]["lastObserved"]["target-group"]["arn"]
    traffic = before.desired["autoscaling-group"]["spec"]["forProvider"]["trafficSource"]
    after = await P.reconcile(
        P.with_status(running, before.status), _without_at_provider(observed), inp
    )
    assert not after.fatal, after.results
    assert after.desired["autoscaling-group"]["spec"]["forProvider"]["trafficSource"] == traffic
    assert after.status["endpoints"] == before.status["endpoints"] != []
    assert after.desired == before.desired


async def test_case_03b_missing_at_provider_with_nothing_known_is_refused(repos: Path) -> None:
    """The example pin predates lastObserved: nothing is known, so refuse rather than
    detach the auto scaling group from its target group."""
    xr = P.load_xr(LEGACY / "xr-running.yaml")
    observed = _without_at_provider(P.load_observed(LEGACY / "observed-running.yaml"))
    out = await P.reconcile(xr, observed, P.function_input("legacy", repos))
    assert out.fatal
    assert "target-group.status.atProvider.arn" in out.results[-1][1]


# (scope key, strategy it starts with, strategy it moves to)
MOVES = [
    ("legacy-vm", "kubernetes"),
    ("legacy-kubernetes", "vm"),
    ("namespaced-serverless", "vm"),
    ("namespaced-vm", "serverless"),
]


@pytest.mark.parametrize(("key", "to"), MOVES, ids=[f"{k}-to-{t}" for k, t in MOVES])
async def test_a_decision_change_keeps_the_old_resources_until_the_new_are_ready(
    key: str, to: str, repos: Path
) -> None:
    running, observed = await deployed(xr_for(key), repos)
    inp = P.function_input(P.scope_of(running), repos)
    changed = copy.deepcopy(running)
    changed["spec"]["strategy"] = to
    if to == "serverless":
        changed["spec"]["image"] = image(changed)
    # 1. The new revision: its resources are created, the old ones all stay.
    r2 = await P.reconcile(changed, observed, inp)
    assert r2.status["decision"]["revision"] == 2, r2.results
    assert set(observed) <= set(r2.desired)
    own = await P.reconcile(P.with_status(changed, r2.status), {}, inp)  # nothing observed
    old_only = sorted(set(observed) - set(own.desired))
    assert old_only, "the strategies share every resource?"
    assert r2.status["decision"]["replaces"] == 1
    assert "keeping" in r2.status["message"]
    # Carried resources are exactly as observed.
    for name in old_only:
        assert r2.desired[name]["spec"] == observed[name]["spec"]
    # 2. The new resources exist but are not ready: still kept.
    new_observed = observed | P.observed_from(
        {n: b for n, b in r2.desired.items() if n not in old_only}, ready=False
    )
    r3 = await P.reconcile(P.with_status(changed, r2.status), new_observed, inp)
    assert set(new_observed) <= set(r3.desired)
    assert r3.status["phase"] == "Provisioning" and not r3.composite_ready
    # 3. The new resources are ready: the old ones are retired (left out, deleted).
    r4, changed_now, all_ready = await P.converge(
        P.with_status(changed, r3.status), inp, keep={n: observed[n] for n in old_only}
    )
    assert not set(old_only) & set(r4.desired)
    assert sorted(r4.status["decision"]["retired"]) == sorted(old_only)
    assert "replaces" not in r4.status["decision"]
    assert r4.status["phase"] == "Running" and r4.composite_ready
    # 4. While Crossplane deletes them they are still observed: not a fault.
    r5 = await P.reconcile(changed_now, all_ready, inp)
    assert not r5.fatal, r5.results
    assert not set(old_only) & set(r5.desired)


async def test_a_pinned_render_never_drops_an_observed_resource(repos: Path) -> None:
    running, observed = await deployed(xr_for("namespaced-vm"), repos)
    extra = observed | {"stranger": copy.deepcopy(observed["vpc"])}
    out = await P.reconcile(running, extra, P.function_input("namespaced", repos))
    assert out.fatal and "stranger" in out.results[-1][1]
