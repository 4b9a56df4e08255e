"""Server responsiveness while a hostile repository is analysed (issue 14, goal <= 100 ms).

Starts the real function server (gRPC on 127.0.0.1), decides the flask example once, then
reconciles it again and again: first with nothing else going on (idle), then while a second
XR points at a hostile repository (300 MiB of attacker-shaped JavaScript, manifests nested
5,000 deep; `cpuSeconds` bounds its analysis, which runs in a worker process).

Run: python bench/analysis_stall_bench.py [--idle 300] [--cpu-seconds 5]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "analysis")]

import grpc  # noqa: E402
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1  # noqa: E402

from examples import render as R  # noqa: E402
from tests.analysis.test_analysis_stall import (  # noqa: E402
    XR,
    function_input,
    hostile_repo,
    request,
    status,
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def show(name: str, values: list[float]) -> None:
    print(f"{name:<28} n={len(values):5d}  p50 {statistics.median(values) * 1e3:7.1f} ms  "
          f"p99 {percentile(values, 0.99) * 1e3:7.1f} ms  max {max(values) * 1e3:7.1f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--idle", type=int, default=300)
    parser.add_argument("--cpu-seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repos = Path(tmp)
        R.build_repositories(repos)
        hostile_repo(repos)
        inp: dict[str, Any] = function_input(repos)
        inp["analysis"]["cpuSeconds"] = args.cpu_seconds
        port = R.free_port()
        with R.function_server(port), grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = grpcv1.FunctionRunnerServiceStub(channel)
            good = request(XR, inp)
            while status(stub.RunFunction(good, timeout=60)).get("phase") == "Analyzing":
                time.sleep(0.2)
            idle = []
            for _ in range(args.idle):
                started = time.perf_counter()
                stub.RunFunction(good, timeout=60)
                idle.append(time.perf_counter() - started)
            bad_xr = copy.deepcopy(XR)
            bad_xr["metadata"].update(name="hostile-1", uid="0d1c2a43-8f0e-4c61-9a57-3b9e0f6a1c99")
            bad_xr["spec"]["repository"]["url"] = R.MIRRORED_PREFIX + "hostile"
            bad = request(bad_xr, inp)
            result: dict[str, Any] = {}
            began = time.monotonic()

            def hostile() -> None:
                while True:
                    got = status(stub.RunFunction(bad, timeout=60))
                    if got.get("phase") != "Analyzing":
                        result.update(got, seconds=time.monotonic() - began)
                        return
                    time.sleep(0.2)

            thread = threading.Thread(target=hostile)
            thread.start()
            during = []
            while thread.is_alive():
                started = time.perf_counter()
                stub.RunFunction(good, timeout=60)
                during.append(time.perf_counter() - started)
            thread.join()
    print("RunFunction latency of another XR (pinned decision, real gRPC server, loopback)")
    show("idle", idle)
    show("while hostile repo analysed", during)
    print(f"hostile XR: phase {result.get('phase')} after {result.get('seconds', 0):.1f} s: "
          f"{result.get('message')}")  # fmt: skip


if __name__ == "__main__":
    main()
