"""RunFunction round trip over loopback gRPC with a pinned decision (~19 composed resources).

    python bench/grpc_bench.py [--requests 2000] [--threads 8]

Starts the real server (`python -m function.main --insecure`) in its own process, sends
the pinned, running example (examples/legacy/xr-running.yaml with its observed
resources) and reports sequential latency percentiles and concurrent throughput.
Client and server share the machine's cores.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repos = Path(tmp)
        R.build_repositories(repos)
        req = build_request(repos)
        port = R.free_port()
        with R.function_server(port), grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            stub = grpcv1.FunctionRunnerServiceStub(ch)
            first = stub.RunFunction(req, timeout=60)
            fatal = [r.message for r in first.results if r.severity == fnv1.SEVERITY_FATAL]
            if fatal:
                raise SystemExit(f"fatal: {fatal}")
            n_resources = len(first.desired.resources)
            for _ in range(100):  # warm-up
                stub.RunFunction(req, timeout=10)
            lat = []
            for _ in range(args.requests):
                t = time.perf_counter()
                stub.RunFunction(req, timeout=10)
                lat.append((time.perf_counter() - t) * 1000)

            def burst(n: int) -> None:
                for _ in range(n):
                    stub.RunFunction(req, timeout=10)

            per = max(1, args.requests // args.threads)
            t = time.perf_counter()
            with ThreadPoolExecutor(args.threads) as pool:
                list(pool.map(burst, [per] * args.threads))
            rps = per * args.threads / (time.perf_counter() - t)
    print(f"composed resources per response: {n_resources}")
    print(
        f"sequential, {args.requests} requests: p50 {pct(lat, 50):.2f} ms, "
        f"p90 {pct(lat, 90):.2f} ms, "
        f"p99 {pct(lat, 99):.2f} ms, mean {statistics.fmean(lat):.2f} ms"
    )
    print(f"concurrent, {args.threads} client threads: {rps:.0f} requests/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
