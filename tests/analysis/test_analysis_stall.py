"""The real gRPC server keeps answering other XRs while a hostile repository is analysed.

The hostile repository holds 300 copies of an attacker-shaped source file (the case-22
shape: `e.listen({ ` repeated, no closing brace), a package.json and a pyproject.toml nested
5,000 deep. Its function input lets the analysis read all of it (maxReadBytes) and gives
it one CPU second, so the worker process runs at full CPU until the limit ends it. During
that time a second XR (the flask example) is reconciled again and again; every answer must
come within a generous bound, and the hostile XR must end with "analysis failed: ...".
"""

from __future__ import annotations

import copy
import json
import statistics
import threading
import time
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

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
XR = yaml.safe_load((ROOT / "examples" / "legacy" / "xr.yaml").read_text())
CASE22 = (
    Path(__file__).parent / "cases" / "22-redos-listen-scan" / "repo" / "dist" / "widget.min.js"
)
BOUND_SECONDS = 2.0


def hostile_repo(repos: Path) -> None:
    line = CASE22.read_text()
    body = (line * (1024 * 1024 // len(line) + 1))[: 1024 * 1024 - 1]
    files = {f"src/w{i:03}.js": body for i in range(300)}
    files["package.json"] = '{"dependencies": ' * 5000 + "{}" + "}" * 5000
    files["api/pyproject.toml"] = "x = " + "[" * 5000 + "]" * 5000 + "\n"
    files["api/main.py"] = "from fastapi import FastAPI\napp = FastAPI()\n"
    repo = repos / "hostile"
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    R.git(repo, "init", "-q", "-b", "main")
    R.git(repo, "add", "-A")
    R.git(repo, "commit", "-q", "-m", "hostile")


def function_input(repos: Path) -> dict[str, Any]:
    return {
        "apiVersion": "scia.fn.crossplane.io/v1alpha1",
        "kind": "Input",
        "urlRewrites": [{"prefix": R.MIRRORED_PREFIX, "replacement": f"file://{repos}/"}],
        "analysis": {"allowFileUrls": True, "cpuSeconds": 1, "maxReadBytes": 1024 * 1024 * 1024,
                     "timeoutSeconds": 300},
        "decision": {"waitSeconds": 0.5},
    }  # fmt: skip


def request(xr: dict[str, Any], inp: dict[str, Any]) -> fnv1.RunFunctionRequest:
    req = fnv1.RunFunctionRequest(meta=fnv1.RequestMeta(tag="t"))
    req.observed.composite.resource.CopyFrom(resource.dict_to_struct(xr))
    req.input.CopyFrom(resource.dict_to_struct(inp))
    return req


def status(rsp: fnv1.RunFunctionResponse) -> dict[str, Any]:
    return dict(resource.struct_to_dict(rsp.desired.composite.resource).get("status") or {})


@pytest.fixture(scope="module")
def stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[grpcv1.FunctionRunnerServiceStub]:
    port = R.free_port()
    log = tmp_path_factory.mktemp("server") / "function.log"
    with R.function_server(port, log=log), grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield grpcv1.FunctionRunnerServiceStub(ch)


def test_other_xrs_are_answered_while_a_hostile_repository_is_analysed(
    stub: grpcv1.FunctionRunnerServiceStub, repos: Path
) -> None:
    hostile_repo(repos)
    inp = function_input(repos)
    good = request(XR, inp)
    bad_xr = copy.deepcopy(XR)
    bad_xr["metadata"].update(name="hostile-1", uid="0d1c2a43-8f0e-4c61-9a57-3b9e0f6a1c99")
    bad_xr["spec"]["repository"]["url"] = R.MIRRORED_PREFIX + "hostile"
    bad = request(bad_xr, inp)

    deadline = time.monotonic() + 300
    while status(stub.RunFunction(good, timeout=60)).get("phase") == "Analyzing":
        assert time.monotonic() < deadline, "the good XR was never decided"
        time.sleep(0.2)

    outcome: dict[str, Any] = {}

    def reconcile_hostile() -> None:
        while time.monotonic() < deadline:
            got = status(stub.RunFunction(bad, timeout=60))
            if got.get("phase") != "Analyzing":
                outcome.update(got)
                return
            outcome["analyzing_seen"] = True
            time.sleep(0.2)

    hostile = threading.Thread(target=reconcile_hostile)
    hostile.start()
    latencies: list[float] = []
    while hostile.is_alive() and time.monotonic() < deadline:
        started = time.perf_counter()
        rsp = stub.RunFunction(good, timeout=60)
        latencies.append(time.perf_counter() - started)
        assert status(rsp).get("strategy") == "vm", status(rsp)
        assert not [r for r in rsp.results if r.severity == fnv1.SEVERITY_FATAL], rsp.results
    hostile.join(timeout=60)

    assert outcome.get("analyzing_seen"), outcome  # the hostile analysis ran in the background
    assert outcome.get("phase") == "Failed", outcome
    assert "analysis failed: used more than its CPU time limit (1 s)" in outcome["message"]
    assert len(latencies) >= 3, latencies
    print(json.dumps({"answers": len(latencies), "p50": statistics.median(latencies),
                      "max": max(latencies)}))  # fmt: skip
    assert max(latencies) < BOUND_SECONDS, latencies
