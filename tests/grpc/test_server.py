"""The real gRPC server: malformed requests get clear answers, and the server lives on."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1
from google.protobuf import struct_pb2

from examples import render as R
from tests.support.certs import make_certs

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


XR = yaml.safe_load((ROOT / "examples" / "legacy" / "xr.yaml").read_text())


@pytest.fixture(scope="module")
def stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[grpcv1.FunctionRunnerServiceStub]:
    port = R.free_port()
    log = tmp_path_factory.mktemp("server") / "function.log"
    with R.function_server(port, log=log), grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield grpcv1.FunctionRunnerServiceStub(ch)


def function_input(repos: Path, **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "scia.fn.crossplane.io/v1alpha1",
        "kind": "Input",
        "urlRewrites": [{"prefix": R.MIRRORED_PREFIX, "replacement": f"file://{repos}/"}],
        "analysis": {"allowFileUrls": True},
        "decision": {"waitSeconds": 30},
        **extra,
    }


def request(xr: Any, inp: Any = None) -> fnv1.RunFunctionRequest:
    req = fnv1.RunFunctionRequest(meta=fnv1.RequestMeta(tag="t"))
    if isinstance(xr, dict):
        req.observed.composite.resource.CopyFrom(resource.dict_to_struct(xr))
    if isinstance(inp, dict):
        req.input.CopyFrom(resource.dict_to_struct(inp))
    return req


def with_spec(**changes: Any) -> dict[str, Any]:
    xr = copy.deepcopy(XR)
    for path, value in changes.items():
        node = xr
        keys = path.split("__")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        if value is _DELETE:
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = value
    return xr


_DELETE = object()

# (name, XR, expected field named in the fatal message)
MALFORMED: list[tuple[str, Any, str]] = [
    (
        "no spec",
        {"apiVersion": "scia.io/v1alpha1", "kind": "XAppDeployment", "metadata": {"name": "x"}},
        "spec",
    ),
    (
        "no name",
        {"apiVersion": "scia.io/v1alpha1", "kind": "XAppDeployment", "spec": {}},
        "metadata.name",
    ),
    ("empty request", None, "metadata.name"),
    ("missing repository", with_spec(spec__repository=_DELETE), "spec.repository"),
    (
        "repository url garbage",
        with_spec(spec__repository={"url": "javascript:alert(1)"}),
        "spec.repository.url",
    ),
    (
        "repository url with spaces",
        with_spec(spec__repository={"url": "https://x y"}),
        "spec.repository.url",
    ),
    ("repository url not a string", with_spec(spec__repository={"url": 42}), "spec.repository.url"),
    (
        "ref traversal",
        with_spec(spec__repository={"url": "https://github.com/a/b", "ref": "../../etc"}),
        "spec.repository.ref",
    ),
    ("unknown strategy", with_spec(spec__strategy="rocket"), "spec.strategy"),
    ("unknown cloud", with_spec(spec__cloudProvider="ibm"), "spec.cloudProvider"),
    ("unknown region shape", with_spec(spec__region="moon"), "spec.region"),
    (
        "negative budget",
        with_spec(spec__budget={"maxMonthlyCost": -1}),
        "spec.budget.maxMonthlyCost",
    ),
    (
        "budget under minimum",
        with_spec(spec__budget={"maxMonthlyCost": 5}),
        "spec.budget.maxMonthlyCost",
    ),
    (
        "budget not a number",
        with_spec(spec__budget={"maxMonthlyCost": "lots"}),
        "spec.budget.maxMonthlyCost",
    ),
    (
        "bad enforcement",
        with_spec(spec__budget={"maxMonthlyCost": 50, "enforcementMode": "maybe"}),
        "spec.budget.enforcementMode",
    ),
    ("100 KB prompt", with_spec(spec__prompt="x" * 100_000), "spec.prompt"),
    ("unknown policy", with_spec(spec__policies=["allow-everything"]), "spec.policies"),
    ("unknown field", with_spec(spec__sshKey="ssh-rsa AAAA"), "spec.sshKey"),
    ("spec is a list", with_spec(spec=[1, 2]), "spec"),
    ("gcp region spelled for aws", with_spec(spec__cloudProvider="gcp"), "spec.region"),
]


@pytest.mark.parametrize(("name", "xr", "field"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_xr_gets_a_fatal_result_naming_the_field(
    stub: grpcv1.FunctionRunnerServiceStub, repos: Path, name: str, xr: Any, field: str
) -> None:
    rsp = stub.RunFunction(request(xr, function_input(repos)), timeout=30)
    fatal = [r for r in rsp.results if r.severity == fnv1.SEVERITY_FATAL]
    assert fatal, f"{name}: no fatal result: {rsp.results}"
    assert field in fatal[0].message, fatal[0].message
    assert "Traceback" not in fatal[0].message
    assert len(fatal[0].message) < 1000
    assert not rsp.desired.resources


MALFORMED_INPUT: list[tuple[str, Any, str]] = [
    ("unknown input field", {"vmSize": "huge"}, "input.vmSize"),
    ("empty allowlist", {"vm": {"allowedInstanceTypes": []}}, "input.vm.allowedInstanceTypes"),
    ("max instances zero", {"vm": {"maxInstances": 0}}, "input.vm.maxInstances"),
    ("half a network", {"network": {"vpcId": "vpc-0123456789abcdef0"}}, "input.network"),
    (
        "bad vpc id",
        {"network": {"vpcId": "x", "subnetIds": ["subnet-1", "subnet-2"]}},
        "input.network.vpcId",
    ),
    ("wait too long", {"decision": {"waitSeconds": 1000}}, "input.decision.waitSeconds"),
    ("wrong kind", {"kind": "Other"}, "input.kind"),
]


@pytest.mark.parametrize(
    ("name", "extra", "field"), MALFORMED_INPUT, ids=[m[0] for m in MALFORMED_INPUT]
)
def test_malformed_function_input_gets_a_fatal_result(
    stub: grpcv1.FunctionRunnerServiceStub,
    repos: Path,
    name: str,
    extra: dict[str, Any],
    field: str,
) -> None:
    rsp = stub.RunFunction(request(XR, function_input(repos) | extra), timeout=30)
    fatal = [r for r in rsp.results if r.severity == fnv1.SEVERITY_FATAL]
    assert fatal and field in fatal[0].message, rsp.results


def test_struct_with_odd_values_does_not_crash(
    stub: grpcv1.FunctionRunnerServiceStub, repos: Path
) -> None:
    req = request(XR, function_input(repos))
    odd = struct_pb2.Struct()
    odd.update(
        {"spec": {"repository": {"url": None, "ref": [1, {"a": None}]}}, "metadata": {"name": 1}}
    )
    req.observed.composite.resource.CopyFrom(odd)
    rsp = stub.RunFunction(req, timeout=30)
    assert any(r.severity == fnv1.SEVERITY_FATAL for r in rsp.results)


def test_server_still_answers_a_good_request_after_the_corpus(
    stub: grpcv1.FunctionRunnerServiceStub, repos: Path
) -> None:
    for _, xr, _ in MALFORMED:
        stub.RunFunction(request(xr, function_input(repos)), timeout=30)
    rsp = stub.RunFunction(request(XR, function_input(repos)), timeout=60)
    assert not [r for r in rsp.results if r.severity == fnv1.SEVERITY_FATAL], rsp.results
    assert "launch-template" in rsp.desired.resources  # the group follows once it exists
    status = resource.struct_to_dict(rsp.desired.composite.resource)["status"]
    assert status["strategy"] == "vm"


def test_mtls_like_crossplane(tmp_path: Path, repos: Path) -> None:
    """--tls-certs-dir serves mTLS: a CA-signed client is answered, others are refused."""
    make_certs(tmp_path, "tls", "client")
    port = R.free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "function.main",
            "--address",
            f"127.0.0.1:{port}",
            "--tls-certs-dir",
            str(tmp_path),
            "--memory",
            "off",  # mTLS is the point here; loading the model takes 15-60 s on a busy machine
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        creds = grpc.ssl_channel_credentials(
            root_certificates=(tmp_path / "ca.crt").read_bytes(),
            private_key=(tmp_path / "client.key").read_bytes(),
            certificate_chain=(tmp_path / "client.crt").read_bytes(),
        )
        with grpc.secure_channel(f"127.0.0.1:{port}", creds) as ch:
            grpc.channel_ready_future(ch).result(timeout=120)
            rsp = grpcv1.FunctionRunnerServiceStub(ch).RunFunction(
                request(XR, function_input(repos)), timeout=60
            )
            assert "vpc" in rsp.desired.resources
        anonymous = grpc.ssl_channel_credentials(
            root_certificates=(tmp_path / "ca.crt").read_bytes()
        )
        target = f"127.0.0.1:{port}"
        with grpc.secure_channel(target, anonymous) as ch, pytest.raises(grpc.RpcError):
            grpcv1.FunctionRunnerServiceStub(ch).RunFunction(request(XR), timeout=10)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch, pytest.raises(grpc.RpcError):
            grpcv1.FunctionRunnerServiceStub(ch).RunFunction(request(XR), timeout=10)
    finally:
        proc.terminate()
        proc.wait(10)
