"""The fault kinds of ../shared/cases/crossplane, each kept as a test with the right value.

Here: 01, 02 (a, c, d), 04, 14. Elsewhere: 02b, 03a, 03b in test_never_delete.py (every
strategy, both scopes), 04 and 14 through `crossplane render` in
tests/e2e/test_render_faithful.py, every phase against the XRDs in
tests/api/test_xr_status_schema.py.

The inputs are built here from the examples the way each case's README describes them,
so the tests need nothing outside the repository.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import yaml

from examples import render as R
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


WAITING_ON_VPC = (
    "cannot resolve references: spec.forProvider.vpcId: "
    "referenced field was empty (referenced resource may not yet be ready)"
)
VPC_DEPENDANTS = (
    "app-security-group",
    "internet-gateway",
    "lb-security-group",
    "route-table",
    "subnet-a",
    "subnet-b",
)


def _creating(observed: dict[str, dict[str, Any]], ago: datetime.timedelta) -> None:
    for body in observed.values():
        body["status"]["conditions"] = [
            {"type": "Ready", "status": "False", "reason": "Creating"},
            {"type": "Synced", "status": "True", "reason": "ReconcileSuccess"},
        ]
        for c in body["status"]["conditions"]:
            c["lastTransitionTime"] = P.timestamp(ago)


async def test_case_01_unresolved_reference_is_provisioning_not_failed(repos: Path) -> None:
    """01-transient-ref-synced-false: during a first create, dependants of the VPC report
    Synced=False because their vpcId reference cannot resolve yet. That is waiting."""
    xr = P.load_xr(LEGACY / "xr-provisioning.yaml")
    four_min = datetime.timedelta(minutes=4)
    xr["status"]["decision"]["decidedAt"] = P.timestamp(four_min)
    observed = P.load_observed(LEGACY / "observed-provisioning.yaml")
    _creating(observed, four_min)
    for name in VPC_DEPENDANTS:
        P.set_condition(observed[name], "Synced", "False", "ReconcileError", WAITING_ON_VPC)
    out = await P.reconcile(xr, observed, P.function_input("legacy", repos))
    assert out.status["phase"] == "Provisioning", out.status["message"]
    assert "waiting: app-security-group (cannot resolve references" in out.status["message"]
    assert out.status["outcome"] == "pending"
    assert out.status["history"][-1]["outcome"] == "pending"
    assert not [m for s, m in out.results if s != "Normal"], out.results
    assert set(observed) <= set(out.desired)
    assert not out.composite_ready


async def test_case_01_the_grace_period_still_ends_a_wait_that_never_resolves(
    repos: Path,
) -> None:
    xr = P.load_xr(LEGACY / "xr-provisioning.yaml")
    long_ago = datetime.timedelta(hours=2)
    xr["status"]["decision"]["decidedAt"] = P.timestamp(long_ago)
    observed = P.load_observed(LEGACY / "observed-provisioning.yaml")
    _creating(observed, long_ago)
    P.set_condition(observed["subnet-a"], "Synced", "False", "ReconcileError", WAITING_ON_VPC)
    observed["subnet-a"]["status"]["conditions"][0]["lastTransitionTime"] = P.timestamp(long_ago)
    out = await P.reconcile(xr, observed, P.function_input("legacy", repos))
    assert out.status["phase"] == "Failed"
    assert "grace period" in out.status["message"]
    assert "cannot resolve references" in out.status["message"]


async def test_a_terminal_provider_error_is_failed_at_once(repos: Path) -> None:
    xr = P.load_xr(LEGACY / "xr-provisioning.yaml")
    xr["status"]["decision"]["decidedAt"] = P.timestamp(datetime.timedelta(minutes=4))
    observed = P.load_observed(LEGACY / "observed-provisioning.yaml")
    _creating(observed, datetime.timedelta(minutes=4))
    terminal = (
        "create failed: async create failed: failed to create the resource: [{0 creating EC2 "
        "Subnet: operation error EC2: CreateSubnet, https response error StatusCode: 400, "
        "api error InvalidSubnet.Conflict: The CIDR '10.0.0.0/20' conflicts with another subnet"
    )
    P.set_condition(observed["subnet-a"], "Synced", "False", "ReconcileError", terminal)
    out = await P.reconcile(xr, observed, P.function_input("legacy", repos))
    assert out.status["phase"] == "Failed"
    assert out.status["message"].startswith("subnet-a: create failed")
    assert any(s == "Warning" and "-> Failed" in m for s, m in out.results)
    assert not out.composite_ready


async def test_case_04a_analyzing_with_nothing_composed_is_not_ready(repos: Path) -> None:
    """04-ready-with-zero-resources a): a decision still being made composes nothing; the
    XR must not be Ready (Crossplane marks an XR with no composed resources Available
    unless the function says otherwise)."""
    xr = P.without_status(P.load_xr(LEGACY / "xr.yaml"))
    out = await P.reconcile(xr, {}, P.function_input("legacy", repos, wait=0))
    assert out.status["phase"] == "Analyzing" and not out.desired
    assert out.composite_ready is False


async def test_case_04b_decision_failed_is_not_ready(repos: Path) -> None:
    """04-ready-with-zero-resources b): kubernetes forced under a hard $20 budget."""
    xr = P.without_status(P.load_xr(LEGACY / "xr.yaml"))
    xr["spec"]["strategy"] = "kubernetes"
    xr["spec"]["budget"] = {"maxMonthlyCost": 20, "enforcementMode": "hard"}
    out = await P.reconcile(xr, {}, P.function_input("legacy", repos))
    assert out.status["phase"] == "Failed" and not out.desired
    assert [c.reason for c in out.conditions if c.type == "Decided"] == ["DecisionFailed"]
    assert out.composite_ready is False


async def test_case_02_a_fault_keeps_every_pinned_resource(repos: Path) -> None:
    """02-fault-must-not-delete a): the mirror is gone and the LLM refuses connections; the
    pinned decision is rendered again, every observed resource stays desired."""
    xr = P.load_xr(LEGACY / "xr-running.yaml")
    observed = P.load_observed(LEGACY / "observed-running.yaml")
    gone = [{"prefix": R.MIRRORED_PREFIX, "replacement": f"file://{repos}/no-such-mirror/"}]
    llm = {"enabled": True, "host": f"http://127.0.0.1:{R.free_port()}", "timeoutSeconds": 5}
    inp = P.function_input("legacy", repos, urlRewrites=gone, llm=llm)
    out = await P.reconcile(xr, observed, inp)
    assert not out.fatal, out.results
    assert set(observed) <= set(out.desired)
    assert any(s == "Warning" and "keeping decision revision 1" in m for s, m in out.results), (
        out.results
    )


async def test_case_02_c_and_d_bad_input_is_fatal_and_composes_nothing(repos: Path) -> None:
    """02 c) an unknown policy in spec.policies, d) an invalid function input: fatal (Crossplane
    applies nothing and keeps what exists), naming the field."""
    observed = P.load_observed(LEGACY / "observed-running.yaml")
    xr = P.load_xr(LEGACY / "xr-running.yaml")
    xr["spec"]["policies"] = ["require-tls"]
    c = await P.reconcile(xr, observed, P.function_input("legacy", repos))
    assert c.fatal and not c.desired and "spec.policies" in c.results[-1][1]
    bad = P.function_input("legacy", repos)
    bad["vm"]["maxInstances"] = -3
    d = await P.reconcile(P.load_xr(LEGACY / "xr-running.yaml"), observed, bad)
    assert d.fatal and not d.desired and "input.vm.maxInstances" in d.results[-1][1]


async def test_case_05_running_only_once_the_group_runs_the_new_template_version(
    repos: Path,
) -> None:
    """05-asg-latest-no-refresh: a new launch template version (a new commit's user data)
    is not Running/success until the group observably runs it (spec and atProvider)."""
    xr = P.load_xr(LEGACY / "xr-running.yaml")
    observed = P.load_observed(LEGACY / "observed-running.yaml")
    inp = P.function_input("legacy", repos)
    observed["launch-template"]["status"]["atProvider"]["latestVersion"] = 2
    asg = observed["autoscaling-group"]
    out = await P.reconcile(xr, observed, inp)
    assert (
        out.desired["autoscaling-group"]["spec"]["forProvider"]["launchTemplate"]["version"] == "2"
    )
    assert out.status["phase"] == "Provisioning", out.status["message"]
    assert out.status["outcome"] != "success"
    assert (
        "autoscaling-group launchTemplate.version is 1 (spec), rolling out 2"
        in (out.status["message"])
    )
    # Crossplane applied version 2; the provider still reads version 1 from AWS.
    asg["spec"]["forProvider"]["launchTemplate"]["version"] = "2"
    asg["status"]["atProvider"]["launchTemplate"] = {"version": "1"}
    out = await P.reconcile(P.with_status(xr, out.status), observed, inp)
    assert out.status["phase"] == "Provisioning" and out.status["outcome"] != "success"
    assert "(atProvider), rolling out 2" in out.status["message"]
    # AWS runs it: Running.
    asg["status"]["atProvider"]["launchTemplate"] = {"version": "2"}
    out = await P.reconcile(P.with_status(xr, out.status), observed, inp)
    assert out.status["phase"] == "Running"
