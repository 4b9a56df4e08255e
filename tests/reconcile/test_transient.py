"""Transient vs terminal Synced=False (function/transient.py), message by message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function.fn import FunctionRunner
from function.transient import TRANSIENT_REASONS, classify
from tests.support import inproc as P
from tests.support.strategies import XRS, xr_for

ROOT = Path(__file__).resolve().parents[2]


def synced(message: str, reason: str = "ReconcileError") -> dict[str, Any]:
    return {"type": "Synced", "status": "False", "reason": reason, "message": message}


# Messages as crossplane-runtime, upjet and the AWS SDK word them.
TRANSIENT = {
    "reference-unresolved": "cannot resolve references: mg.Spec.ForProvider.VPCID: "
    "referenced field was empty (referenced resource may not yet be ready)",
    "reference-not-ready": "referenced field was empty (referenced resource may not yet be ready)",
    "referenced-resource-missing": 'cannot get referenced resource: VPC.ec2.aws.upbound.io "x" '
    "not found",
    "provider-config-not-created-yet": "connect failed: cannot get terraform setup: cannot get "
    'referenced ProviderConfig: ProviderConfig.aws.upbound.io "team-a-aws" not found',
    "aws-throttled": "observe failed: cannot run refresh: operation error EC2: DescribeVpcs, "
    "https response error StatusCode: 503, api error RequestLimitExceeded: Request limit "
    "exceeded.",
    "aws-request-timeout": "observe failed: context deadline exceeded",
    "kubernetes-conflict": "cannot update managed resource: Operation cannot be fulfilled on "
    'vpcs.ec2.aws.upbound.io "x": the object has been modified; please apply your changes '
    "to the latest version and try again",
}

TERMINAL = [
    "create failed: async create failed: failed to create the resource: api error "
    "InvalidParameterValue: Value (t3.nano) for parameter instanceType is invalid",
    "create failed: api error LimitExceededException: Cannot exceed quota for PoliciesPerRole",
    "connect failed: cannot get terraform setup: cannot get referenced ProviderConfig: "
    "providerconfigs.aws.upbound.io is forbidden",
    "cannot determine creation result - remove the crossplane.io/external-create-pending "
    "annotation if it is safe to proceed",
    "",
]


def test_every_documented_reason_has_an_example_here() -> None:
    assert {r.name for r in TRANSIENT_REASONS} == set(TRANSIENT)


@pytest.mark.parametrize("name", sorted(TRANSIENT))
def test_transient_messages(name: str) -> None:
    state = classify(synced(TRANSIENT[name]))
    assert (state.kind, state.reason) == ("transient", name)


@pytest.mark.parametrize("message", TERMINAL)
def test_terminal_messages(message: str) -> None:
    assert classify(synced(message)).kind == "terminal"


def test_paused_and_healthy() -> None:
    assert classify(synced("", reason="ReconcilePaused")).kind == "transient"
    assert classify({"type": "Synced", "status": "True"}).kind == "ok"
    assert classify(None).kind == "ok"


def test_the_docs_list_every_transient_reason() -> None:
    doc = (ROOT / "docs" / "status.md").read_text()
    for reason in TRANSIENT_REASONS:
        assert f"`{reason.name}`" in doc, reason.name


async def _run(xr: dict[str, Any], inp: dict[str, Any], observed: Any = None) -> Any:
    req = fnv1.RunFunctionRequest()
    req.observed.composite.resource.CopyFrom(resource.dict_to_struct(xr))
    req.input.CopyFrom(resource.dict_to_struct(inp))
    for name, body in (observed or {}).items():
        req.observed.resources[name].resource.CopyFrom(resource.dict_to_struct(body))
    return await FunctionRunner(P.reconciler()).RunFunction(req)


async def test_composite_readiness_is_explicit_in_every_grpc_answer(repos: Path) -> None:
    """desired.composite.ready is never left unspecified (Crossplane would derive it)."""
    xr = P.without_status(P.load_xr(ROOT / "examples" / "legacy" / "xr.yaml"))
    analyzing = await _run(xr, P.function_input("legacy", repos, wait=0))
    assert analyzing.desired.composite.ready == fnv1.READY_FALSE
    first = await _run(xr, P.function_input("legacy", repos))
    assert first.desired.composite.ready == fnv1.READY_FALSE  # provisioning
    _, running_xr, observed = await P.converge(xr, P.function_input("legacy", repos))
    running = await _run(running_xr, P.function_input("legacy", repos), observed)
    assert resource.struct_to_dict(running.desired.composite.resource)["status"]["phase"] == (
        "Running"
    )
    assert running.desired.composite.ready == fnv1.READY_TRUE


@pytest.mark.parametrize("key", sorted(XRS))
async def test_waiting_is_provisioning_and_a_rejection_is_failed_for_every_strategy(
    key: str, repos: Path
) -> None:
    xr = xr_for(key)
    inp = P.function_input(P.scope_of(xr), repos)
    _, pinned, observed = await P.converge(xr, inp, ready=False)
    name = sorted(observed)[-1]
    waiting = {n: dict(b) for n, b in observed.items()}
    waiting[name] = {**observed[name], "status": dict(observed[name]["status"])}
    P.set_condition(
        waiting[name], "Synced", "False", "ReconcileError", TRANSIENT["reference-unresolved"]
    )
    out = await P.reconcile(pinned, waiting, inp)
    assert out.status["phase"] == "Provisioning" and f"waiting: {name}" in out.status["message"]
    assert out.status["outcome"] == "pending" and not out.composite_ready
    P.set_condition(waiting[name], "Synced", "False", "ReconcileError", TERMINAL[0])
    out = await P.reconcile(pinned, waiting, inp)
    assert out.status["phase"] == "Failed" and out.status["message"].startswith(name)
    assert out.status["outcome"] == "failed" and not out.composite_ready


def test_rollout_fields_of_functions_and_node_groups_must_be_observed() -> None:
    """A new image (Lambda) or Kubernetes version (node group) is rolled out only once
    the observed spec and, where reported, status.atProvider hold it."""
    from function.status import Phase, resource_phase, rollout_pending

    cases = [
        ("lambda.aws.upbound.io/v1beta2", "Function", {"imageUri": "r/app:2"}, "imageUri"),
        ("eks.aws.upbound.io/v1beta2", "NodeGroup", {"version": "1.31"}, "version"),
    ]
    ready = [{"type": "Ready", "status": "True"}]
    for api, kind, fp, path in cases:
        body = {"apiVersion": api, "kind": kind, "spec": {"forProvider": fp}}
        old = {k: "old" for k in fp}
        seen = {**body, "status": {"conditions": ready, "atProvider": old}}
        assert (
            rollout_pending("x", body, seen)
            == f"x {path} is old (atProvider), rolling out {fp[path]}"
        )
        phase, _ = resource_phase({"x"}, {"x": seen}, bodies={"x": body})
        assert phase is Phase.PROVISIONING
        seen["status"]["atProvider"] = dict(fp)
        assert rollout_pending("x", body, seen) is None
        assert resource_phase({"x"}, {"x": seen}, bodies={"x": body})[0] is Phase.RUNNING
        # The observed spec not showing it yet: not rolled out (fail closed).
        assert rollout_pending("x", body, {"status": seen["status"]}) is not None
