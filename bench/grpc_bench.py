"""RunFunction round trip over loopback gRPC with a pinned decision (~19 composed resources),
beside the bare-SDK floor with the same request bytes and the same desired output.

    python bench/grpc_bench.py [--requests 2000] [--threads 8]

Starts the real server (`python -m function.main --insecure --memory off`) in its own
process, sends the pinned, running example (examples/legacy/xr-running.yaml with its
observed resources) in its steady state (the XR's status as the function wrote it, which
is what Crossplane sends on every later reconcile) and reports sequential latency percentiles, concurrent throughput and
the server's CPU time per call (user + system, from /proc, over the sequential requests).
Then it starts bench/floor_function.py, which answers with the desired resources and
status function-scia returned (dicts turned into Structs on every call, nothing else), runs
the same requests, and prints the ratio of CPU per call: function-scia / floor. Client and
servers share the machine's cores, so compare CPU per call, not wall time, on a busy machine.

An unchanged request of a Running, pinned XR is answered from the answer cache
(function/answers.py); `--no-answer-cache` (the server's `--answer-cache-mib 0`) measures
the whole reconcile every call instead, which is what the first reconcile after any change
costs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import yaml
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from examples import render as R  # noqa: E402


def build_request(repos: Path) -> fnv1.RunFunctionRequest:
    ex = ROOT / "examples" / "legacy"
    xr = yaml.safe_load((ex / "xr-running.yaml").read_text())
    observed = [d for d in yaml.safe_load_all((ex / "observed-running.yaml").read_text()) if d]
    comp = yaml.safe_load((ROOT / "compositions" / "legacy.yaml").read_text())
    inp = comp["spec"]["pipeline"][0]["input"]
    inp["urlRewrites"] = [{"prefix": R.MIRRORED_PREFIX, "replacement": f"file://{repos}/"}]
    inp["analysis"]["allowFileUrls"] = True
    req = fnv1.RunFunctionRequest(meta=fnv1.RequestMeta(tag="bench"))
    req.observed.composite.resource.CopyFrom(resource.dict_to_struct(xr))
    for d in observed:
        name = d["metadata"]["annotations"]["crossplane.io/composition-resource-name"]
        req.observed.resources[name].resource.CopyFrom(resource.dict_to_struct(d))
    req.input.CopyFrom(resource.dict_to_struct(inp))
    return req


def steady(req: fnv1.RunFunctionRequest) -> fnv1.RunFunctionRequest:
    """The request of the steady state: the XR's status as the function wrote it.

    The example XR carries the pin as an earlier renderer wrote it, without a phase; after
    the first answer Crossplane writes the status the function returned, and every later
    reconcile sends that. One in-process reconcile gives it (same code as the server).
    """
    from function.fn import FunctionRunner
    from function.server import build_runner

    runner: FunctionRunner = build_runner("off")
    rsp = asyncio.run(runner.RunFunction(req))
    xr = resource.struct_to_dict(req.observed.composite.resource)
    xr["status"] = {
        **xr.get("status", {}),
        **resource.struct_to_dict(rsp.desired.composite.resource)["status"],
    }
    out = fnv1.RunFunctionRequest()
    out.CopyFrom(req)
    out.observed.composite.resource.CopyFrom(resource.dict_to_struct(xr))
    return out


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def floor_server(port: int, desired: Path) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "floor_function.py"),
            f"127.0.0.1:{port}",
            str(desired),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


def measure(
    stub: grpcv1.FunctionRunnerServiceStub, pid: int, req: fnv1.RunFunctionRequest, args: Any
) -> dict[str, float]:
    for _ in range(100):  # warm-up
        stub.RunFunction(req, timeout=10)
    lat = []
    cpu0 = cpu_seconds(pid)
    for _ in range(args.requests):
        t = time.perf_counter()
        stub.RunFunction(req, timeout=10)
        lat.append((time.perf_counter() - t) * 1000)
    cpu = (cpu_seconds(pid) - cpu0) * 1000 / args.requests

    def burst(n: int) -> None:
        for _ in range(n):
            stub.RunFunction(req, timeout=10)

    per = max(1, args.requests // args.threads)
    t = time.perf_counter()
    with ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(burst, [per] * args.threads))
    rps = per * args.threads / (time.perf_counter() - t)
    return {
        "p50_ms": pct(lat, 50),
        "p90_ms": pct(lat, 90),
        "p99_ms": pct(lat, 99),
        "mean_ms": statistics.fmean(lat),
        "cpu_ms_per_call": cpu,
        "rps": rps,
    }


def desired_of(rsp: fnv1.RunFunctionResponse) -> dict[str, Any]:
    return {
        "resources": {
            name: resource.struct_to_dict(r.resource) for name, r in rsp.desired.resources.items()
        },
        "status": resource.struct_to_dict(rsp.desired.composite.resource).get("status", {}),
    }


def serve_and_measure(
    start: Callable[[int], Any], req: fnv1.RunFunctionRequest, args: Any
) -> tuple[fnv1.RunFunctionResponse, dict[str, float]]:
    port = R.free_port()
    with start(port) as proc, grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        grpc.channel_ready_future(ch).result(timeout=120)
        stub = grpcv1.FunctionRunnerServiceStub(ch)
        first = stub.RunFunction(req, timeout=60)
        fatal = [r.message for r in first.results if r.severity == fnv1.SEVERITY_FATAL]
        if fatal:
            raise SystemExit(f"fatal: {fatal}")
        return first, measure(stub, proc.pid, req, args)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--no-answer-cache", action="store_true", help="reconcile every call")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repos = Path(tmp) / "repos"
        R.build_repositories(repos)
        req = steady(build_request(repos))
        server_args: tuple[str, ...] = ("--memory", "off")
        if args.no_answer_cache:
            server_args += ("--answer-cache-mib", "0")
        first, scia = serve_and_measure(
            lambda port: R.function_server(port, args=server_args), req, args
        )
        desired = Path(tmp) / "desired.json"
        desired.write_text(json.dumps(desired_of(first)))
        floor_first, floor = serve_and_measure(lambda port: floor_server(port, desired), req, args)
    n_resources = len(first.desired.resources)
    assert len(floor_first.desired.resources) == n_resources
    cache = "off" if args.no_answer_cache else "on"
    print(
        f"composed resources per response: {n_resources}; {args.requests} sequential requests;"
        f" answer cache {cache}"
    )
    print(
        f"{'server':14} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'CPU ms/call':>12} {'req/s':>7}"
    )
    for name, m in (("function-scia", scia), ("bare-SDK floor", floor)):
        print(
            f"{name:14} {m['p50_ms']:>7.2f} {m['p90_ms']:>7.2f} {m['p99_ms']:>7.2f}"
            f" {m['cpu_ms_per_call']:>12.2f} {m['rps']:>7.0f}"
        )
    print(
        f"CPU per call, function-scia / floor: {scia['cpu_ms_per_call'] / floor['cpu_ms_per_call']:.2f}"
        f" (target <= 1.2; concurrent: {args.threads} client threads)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
