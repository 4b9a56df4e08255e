"""The LLM inside reconciles: latency while the model is slow, calls per XR, concurrent decisions.

    python bench/llm_bench.py [--llm-delay 10] [--wait 2] [--xrs 40]

Runs the real Reconciler (analysis of local git repositories, knowledge base, the real
`ollama` client) against the fake Ollama server of the tests on loopback, scripted to
answer a valid decision after --llm-delay seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from examples import render as R  # noqa: E402
from function.decide.engine import DecisionEngine  # noqa: E402
from function.decide.jobs import DecisionJobs  # noqa: E402
from function.reconcile import Reconciler, ReconcileRequest  # noqa: E402
from tests.support.fake_ollama import Reply, fake_ollama  # noqa: E402

XR = yaml.safe_load((ROOT / "examples" / "legacy" / "xr.yaml").read_text())
ANSWER = {
    "strategy": "vm",
    "vm": {"instanceType": "t3.small", "minSize": 2, "maxSize": 3, "desiredCapacity": 2},
    "reason": "two small instances behind an ALB",
    "confidence": 0.8,
    "alternatives": [],
}


def settings(repos: Path, url: str, wait: float, workers: int) -> dict[str, Any]:
    return {
        "urlRewrites": [{"prefix": R.MIRRORED_PREFIX, "replacement": f"file://{repos}/"}],
        "analysis": {"allowFileUrls": True},
        "decision": {"waitSeconds": wait, "retrySeconds": 5},
        "llm": {"enabled": True, "host": url, "timeoutSeconds": 60},
    }


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


async def slow_llm(repos: Path, delay: float, wait: float) -> None:
    with fake_ollama(Reply.json(ANSWER, delay=delay)) as fake:
        rec = Reconciler(DecisionEngine(), DecisionJobs(workers=4))
        inp = settings(repos, fake.url, wait, 4)
        lat: list[float] = []
        phases: list[str] = []
        start = time.perf_counter()
        result = None
        for _ in range(200):  # bounded: the model answers after `delay`
            t = time.perf_counter()
            result = await rec.reconcile(ReconcileRequest(xr=XR, observed={}, input=inp))
            lat.append(time.perf_counter() - t)
            phases.append(result.status["phase"])
            if result.status["phase"] != "Analyzing":
                break
        total = time.perf_counter() - start
        assert result is not None
        print(
            f"slow LLM ({delay:g}s), wait budget {wait:g}s: {len(lat)} reconciles until decided "
            f"in {total:.1f}s; reconcile latency max {max(lat):.2f}s, "
            f"p50 {pct(lat, 50):.2f}s; phases {phases[0]} ... {phases[-1]}; "
            f"LLM calls {len(fake.chat_requests())}; decided by {result.status['decision']['decidedBy']}"
        )


async def calls_per_xr(repos: Path, reconciles: int) -> None:
    with fake_ollama(Reply.json(ANSWER)) as fake:
        rec = Reconciler(DecisionEngine(), DecisionJobs(workers=4))
        inp = settings(repos, fake.url, 30, 4)
        xr = copy.deepcopy(XR)
        lat = []
        for _ in range(reconciles):
            t = time.perf_counter()
            out = await rec.reconcile(ReconcileRequest(xr=xr, observed={}, input=inp))
            lat.append((time.perf_counter() - t) * 1000)
            xr = copy.deepcopy(XR) | {"status": out.status}  # Crossplane applies the status
        print(
            f"{reconciles} reconciles of one XR: {len(fake.chat_requests())} LLM call(s); "
            f"pinned reconcile p50 {pct(lat[1:], 50):.2f} ms, p99 {pct(lat[1:], 99):.2f} ms"
        )


async def concurrent(repos: Path, xrs: int, delay: float, workers: int) -> None:
    with fake_ollama(Reply.json(ANSWER, delay=delay)) as fake:
        rec = Reconciler(DecisionEngine(), DecisionJobs(workers=workers))
        inp = settings(repos, fake.url, 60, workers)
        items = []
        for i in range(xrs):
            xr = copy.deepcopy(XR)
            xr["metadata"]["uid"] = f"bench-{i}"
            xr["spec"]["prompt"] = f"deployment {i}, highly available"
            items.append(xr)
        t = time.perf_counter()
        out = await asyncio.gather(
            *[rec.reconcile(ReconcileRequest(xr=x, observed={}, input=inp)) for x in items]
        )
        dt = time.perf_counter() - t
        by = statistics.multimode([o.status["decision"]["decidedBy"] for o in out])
        print(
            f"{xrs} distinct XRs at once, LLM {delay:g}s per answer, {workers} workers: "
            f"{xrs / dt:.1f} decisions/s ({dt:.1f}s), LLM calls {len(fake.chat_requests())}, decided by {by}"
        )


async def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--llm-delay", type=float, default=10.0)
    ap.add_argument("--wait", type=float, default=2.0)
    ap.add_argument("--reconciles", type=int, default=100)
    ap.add_argument("--xrs", type=int, default=40)
    ap.add_argument("--workers", type=int, default=4)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repos = Path(tmp)
        R.build_repositories(repos)
        await slow_llm(repos, args.llm_delay, args.wait)
        await calls_per_xr(repos, args.reconciles)
        await concurrent(repos, args.xrs, 0.5, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
