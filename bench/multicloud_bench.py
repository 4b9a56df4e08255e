"""The whole reconcile of a pinned, running XR, per cloud and strategy.

    python bench/multicloud_bench.py [--reconciles 200]

For each shipped running example (and each cloud's running example under require-https,
with the function input its generator names) (the XR with the status the function wrote, and the
composed resources as the providers report them), the in-process Reconciler
(function/reconcile.py, as the gRPC server runs it, without the gRPC layer and the answer
cache) reconciles it `--reconciles` times: the pin is read back, the desired state
rendered, readiness and status derived. Prints, per example, the number of desired
resources and p50/p99 wall time per reconcile. This is what every reconcile of a Running
XR costs whichever cloud it is on, and what the answer cache saves (bench/grpc_bench.py).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from examples import render as R  # noqa: E402
from tests.support import inproc as P  # noqa: E402

EX = R.EXAMPLES
# (label, xr, observed): a pinned, Running example per cloud and strategy.
CASES = (
    ("aws vm", "legacy/xr-running.yaml", "legacy/observed-running.yaml"),
    ("aws kubernetes", "legacy/xr-kubernetes-running.yaml", "legacy/observed-kubernetes-running.yaml"),
    ("aws serverless", "namespaced/xr-serverless-running.yaml",
     "namespaced/observed-serverless-running.yaml"),
    ("gcp vm", "legacy/xr-gcp-running.yaml", "legacy/observed-gcp-running.yaml"),
    ("gcp kubernetes (GKE build)", "gke-build/legacy/xr-gcp-build-running.yaml",
     "gke-build/legacy/observed-gcp-build-running.yaml"),
    ("gcp serverless", "namespaced/xr-gcp-serverless-running.yaml",
     "namespaced/observed-gcp-serverless-running.yaml"),
    ("azure vm", "legacy/xr-azure-running.yaml", "legacy/observed-azure-running.yaml"),
    ("azure kubernetes (AKS build)", "legacy/xr-azure-build-running.yaml",
     "legacy/observed-azure-build-running.yaml"),
    ("azure serverless", "namespaced/xr-azure-serverless-running.yaml",
     "namespaced/observed-azure-serverless-running.yaml"),
    ("gcp kubernetes (require-https)", "gke-https/legacy/xr-gke-https-running.yaml",
     "gke-https/legacy/observed-gke-https-running.yaml"),
    ("azure kubernetes (require-https)", "aks-https/legacy/xr-azure-https-running.yaml",
     "aks-https/legacy/observed-azure-https-running.yaml"),
    ("azure vm (require-https)", "vm/azure-https/legacy/xr-running.yaml",
     "vm/azure-https/legacy/observed-running.yaml"),
)  # fmt: skip


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def bench(n: int) -> None:
    from examples.vm.azure_https import INPUT as AZURE_HTTPS
    from tests.kube.make_cloud_build_examples import gcp_input
    from tests.kube.make_examples import aks_https_input, gke_https_input

    repos = Path(tempfile.mkdtemp(prefix="multicloud-bench-"))
    R.build_repositories(repos)
    rec = P.reconciler()
    for label, xr_rel, observed_rel in CASES:
        xr = P.load_xr(EX / xr_rel)
        observed = P.load_observed(EX / observed_rel)
        inp = P.function_input(P.scope_of(xr), repos)
        if xr_rel.startswith("gke-build/"):
            inp = gcp_input(inp)
        if xr_rel.startswith("gke-https/"):
            inp = gke_https_input(inp)
        if xr_rel.startswith("aks-https/"):
            inp = aks_https_input(inp)
        if xr_rel.startswith("vm/azure-https/"):
            inp |= AZURE_HTTPS
        out = await P.reconcile(xr, observed, inp, rec)  # warm: the ref cache, the pin
        assert not out.fatal, (label, out.results)
        times = []
        for _ in range(n):
            t = time.perf_counter()
            out = await P.reconcile(xr, observed, inp, rec)
            times.append((time.perf_counter() - t) * 1000)
        phase = out.status.get("phase")
        print(
            f"{label:34s} {len(out.desired):3d} resources  {phase:9s} "
            f"p50 {statistics.median(times):7.2f} ms  p99 {_pct(times, 0.99):7.2f} ms"
        )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--reconciles", type=int, default=200)
    asyncio.run(bench(p.parse_args().reconciles))


if __name__ == "__main__":
    main()
