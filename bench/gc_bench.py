"""GC pauses during whole (cold) pinned reconciles, with and without the server's freeze.

    python bench/gc_bench.py [--calls 800] [--no-freeze]

Runs the server's FunctionRunner in this process (`--memory off`) over `--calls` distinct
running XRs (examples/legacy/xr-running.yaml under new uids, each with its 19 observed
resources: the first reconcile of each is a whole reconcile, as on a replica that has not
seen the XR yet) and reports the CPU per call (thread time: p50, p99, max) and, per GC
generation, how many collections ran, the longest and the total (wall time, so on a busy
machine they include waiting for a core). Before the calls it does what the server does at
start-up (server.freeze_startup_objects) unless `--no-freeze`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import load_test as L  # noqa: E402

from examples import render as R  # noqa: E402
from function.server import build_runner, freeze_startup_objects  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=800)
    ap.add_argument("--no-freeze", action="store_true")
    a = ap.parse_args()
    pauses: list[tuple[int, float]] = []
    started = [0.0]

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append((int(info["generation"]), time.perf_counter() - started[0]))

    root = Path(tempfile.mkdtemp(prefix="scia-gc-"))
    R.build_repositories(root / "repos")
    inp = L.base_input(root / "repos", "http://127.0.0.1:9")
    requests = [L.pinned_request(i, inp) for i in range(a.calls + 1)]
    runner = build_runner(memory="off")

    async def run() -> None:
        await runner.RunFunction(requests[0])  # the first call's imports and caches
        if not a.no_freeze:
            print(f"frozen at start-up: {freeze_startup_objects()} objects")
        gc.callbacks.append(on_gc)
        cpu = []
        for req in requests[1:]:
            t = time.thread_time()
            await runner.RunFunction(req)
            cpu.append(time.thread_time() - t)
        gc.callbacks.remove(on_gc)
        cpu.sort()
        print(
            f"whole reconciles: {len(cpu)}; CPU per call p50 {statistics.median(cpu) * 1000:.2f}"
            f" ms, p99 {cpu[int(len(cpu) * 0.99)] * 1000:.2f} ms, max {cpu[-1] * 1000:.2f} ms"
        )
        for generation in (0, 1, 2):
            took = [d for g, d in pauses if g == generation]
            if took:
                print(
                    f"gen {generation}: {len(took)} collections, longest {max(took) * 1000:.2f}"
                    f" ms, total {sum(took) * 1000:.1f} ms"
                )

    asyncio.run(run())


if __name__ == "__main__":
    main()
