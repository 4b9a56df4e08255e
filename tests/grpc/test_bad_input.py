"""Each kind of bad input gets its own clear result naming the field, through the real
gRPC server: never "internal error", never a traceback."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1

from examples import render as R
from tests.grpc.test_server import function_input, request

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
LEGACY = yaml.safe_load((ROOT / "examples" / "legacy" / "xr.yaml").read_text())
NAMESPACED = yaml.safe_load((ROOT / "examples" / "namespaced" / "xr.yaml").read_text())
NAN = float("nan")


@pytest.fixture(scope="module")
def stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[grpcv1.FunctionRunnerServiceStub]:
    port = R.free_port()
    log = tmp_path_factory.mktemp("server") / "function.log"
    with R.function_server(port, log=log), grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield grpcv1.FunctionRunnerServiceStub(ch)


def changed(xr: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(xr)
    node = out
    keys = path.split("/")
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    node[keys[-1]] = value
    return out


LONG = "a" * 300
BAD_XRS: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "namespace too long",
        changed(NAMESPACED, "metadata/namespace", "t" * 64),
        "metadata.namespace",
        "64 characters",
    ),
    (
        "namespace not a label",
        changed(NAMESPACED, "metadata/namespace", "Team_A"),
        "metadata.namespace",
        "DNS label",
    ),
    ("uid too long", changed(LEGACY, "metadata/uid", "u" * 200), "metadata.uid", "200 characters"),
    ("name too long", changed(LEGACY, "metadata/name", LONG), "metadata.name", "300 characters"),
    (
        "claim name label too long",
        changed(LEGACY, "metadata/labels/crossplane.io~claim-name", LONG),
        "crossplane.io/claim-name",
        "300 characters",
    ),
    (
        "claim namespace label too long",
        changed(LEGACY, "metadata/labels/crossplane.io~claim-namespace", "n" * 100),
        "crossplane.io/claim-namespace",
        "100 characters",
    ),
    (
        "claimRef name too long",
        changed(LEGACY, "spec/claimRef/name", LONG),
        "spec.claimRef.name",
        "300 characters",
    ),
    (
        "claimRef not an object",
        changed(LEGACY, "spec/claimRef", ["x"]),
        "spec.claimRef",
        "must be an object",
    ),
    (
        "labels not a map",
        changed(LEGACY, "metadata/labels", "x"),
        "metadata.labels",
        "must be an object",
    ),
    (
        "annotations not a map",
        changed(LEGACY, "metadata/annotations", [1]),
        "metadata.annotations",
        "must be an object",
    ),
    (
        "redecide token with a newline",
        changed(LEGACY, "metadata/annotations", {"scia.io/redecide": "a\nb"}),
        "scia.io/redecide",
        "control character",
    ),
    (
        "escape sequence in the prompt",
        changed(LEGACY, "spec/prompt", "deploy it\x1b[2J\x1b[H"),
        "spec.prompt",
        "control character (U+001B",
    ),
    (
        "NUL in the prompt",
        changed(LEGACY, "spec/prompt", "deploy\x00it"),
        "spec.prompt",
        "control character (U+0000",
    ),
    (
        "bidi override in the prompt",
        changed(LEGACY, "spec/prompt", "cheap \u202eplease"),
        "spec.prompt",
        "U+202E",
    ),
    (
        "NaN budget",
        changed(LEGACY, "spec/budget/maxMonthlyCost", NAN),
        "spec.budget.maxMonthlyCost",
        "not a number",
    ),
    (
        "infinite budget",
        changed(LEGACY, "spec/budget/maxMonthlyCost", float("inf")),
        "spec.budget.maxMonthlyCost",
        "finite",
    ),
    (
        "NaN alert threshold",
        changed(LEGACY, "spec/budget/alertThreshold", NAN),
        "spec.budget.alertThreshold",
        "not a number",
    ),
]


def _fix(xr: dict[str, Any]) -> dict[str, Any]:
    """'~' in a path above stands for '/' inside a label key."""
    labels = xr.get("metadata", {}).get("labels", {})
    if isinstance(labels, dict):
        for k in [k for k in labels if "~" in k]:
            labels[k.replace("~", "/")] = labels.pop(k)
    return xr


def fatal_of(rsp: fnv1.RunFunctionResponse) -> str:
    fatal = [r.message for r in rsp.results if r.severity == fnv1.SEVERITY_FATAL]
    assert fatal, rsp.results
    message = fatal[0]
    assert "internal error" not in message and "Traceback" not in message
    assert len(message) < 1000
    return message


@pytest.mark.parametrize(("name", "xr", "field", "reason"), BAD_XRS, ids=[b[0] for b in BAD_XRS])
def test_each_bad_xr_gets_its_own_result(
    stub: grpcv1.FunctionRunnerServiceStub,
    repos: Path,
    name: str,
    xr: dict[str, Any],
    field: str,
    reason: str,
) -> None:
    rsp = stub.RunFunction(request(_fix(xr), function_input(repos)), timeout=60)
    message = fatal_of(rsp)
    assert field in message and reason in message, message
    assert not rsp.desired.resources


BAD_INPUTS: list[tuple[str, dict[str, Any], str]] = [
    ("NaN wait", {"decision": {"waitSeconds": NAN}}, "input.decision.waitSeconds: not a number"),
    (
        "infinite port list entry",
        {"blockedPorts": [22, float("inf")]},
        "input.blockedPorts[1]: must be a finite",
    ),
    (
        "NaN cpu alarm",
        {"policy": {"monitoring": {"cpuPercent": NAN}}},
        "input.policy.monitoring.cpuPercent: not a number",
    ),
    ("rewrite entry not an object", {"urlRewrites": ["x"]}, "input.urlRewrites[0]"),
]


@pytest.mark.parametrize(("name", "extra", "named"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_each_bad_input_gets_its_own_result(
    stub: grpcv1.FunctionRunnerServiceStub,
    repos: Path,
    name: str,
    extra: dict[str, Any],
    named: str,
) -> None:
    rsp = stub.RunFunction(request(LEGACY, function_input(repos) | extra), timeout=60)
    assert named in fatal_of(rsp)


def test_a_pin_without_its_vm_parameters_is_named_and_decided_again(
    stub: grpcv1.FunctionRunnerServiceStub, repos: Path
) -> None:
    """Was an AssertionError on every reconcile, the XR stuck."""
    first = stub.RunFunction(request(LEGACY, function_input(repos)), timeout=60)
    status = resource.struct_to_dict(first.desired.composite.resource)["status"]
    xr = copy.deepcopy(LEGACY) | {"status": status}
    xr["status"]["decision"]["parameters"]["vm"] = None
    req = request(xr, function_input(repos))
    for name in first.desired.resources:
        req.observed.resources[name].resource.CopyFrom(first.desired.resources[name].resource)
    rsp = stub.RunFunction(req, timeout=60)
    messages = [r.message for r in rsp.results]
    assert not [r for r in rsp.results if r.severity == fnv1.SEVERITY_FATAL], messages
    assert any(
        "status.decision.parameters.vm: is missing; strategy vm needs its parameters" in m
        and "decided again" in m
        for m in messages
    ), messages
    after = resource.struct_to_dict(rsp.desired.composite.resource)["status"]["decision"]
    assert after["revision"] == 2 and after["parameters"]["vm"]["instanceType"]
    assert set(rsp.desired.resources) >= set(first.desired.resources)
