"""Does the function decide better as outcomes and observations accumulate? A learning benchmark.

    python bench/learning_bench.py [--train 300] [--eval 40] [--seeds 1]
                                   [--checkpoints 0 50 100 200 300] [--json results.json]

What runs (everything real except the hidden world):
- 12 template applications (bench/learning_scenarios.py) as real git repositories, and a
  world drawn per seed with hidden per-framework CPU and memory coefficients the engine
  cannot see; scenarios state traffic, latency, connections and budget in words;
- the function's `Reconciler` in-process with `DecisionEngine(memory=MemoryLink(MiniLM,
  dsn))` on an embedded PostgreSQL + pgvector, one fresh database per run, no LLM (the
  knowledge base with the capacity model decides);
- each training deployment: reconcile (decide), then reconcile again with observed resources
  derived from the truth (all Ready -> success; one Synced=False -> failed; the groups'
  sizes in the provider's status, read by function/decide/composed.py) and the
  `scia.io/observed-*` annotations a platform would set (rps, CPU utilisation, peak memory or
  OOM kills), so the OutcomeRecorder stores outcome and metrics and the capacity model
  learns from them (function/decide/learning.py);
- at each checkpoint a fixed held-out set is decided (not recorded) and scored: success
  rate, "good" (works and costs <= 1.2x the cheapest working configuration), mean regret of
  the successes. "no memory" is the same engine without a memory (the priors alone).

Targets (issue 17): >= 90% success at 0 stored outcomes (the capacity model alone), >= 20%
relative improvement of the good rate after 100, mean regret of successes <= 15% after 200.
Figures are in README (Benchmarks) with the command that produced them.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import importlib.util
import json
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import conninfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from learning_scenarios import (  # noqa: E402
    TEMPLATES,
    Scenario,
    World,
    config_of,
    cost,
    generate,
    judge,
    observations,
    optimum,
)

from function.decide.engine import DecisionEngine, Secrets  # noqa: E402
from function.decide.jobs import DecisionJobs  # noqa: E402
from function.memory.embed import MiniLMEmbedder  # noqa: E402
from function.memory.embedded import EmbeddedDatabase, start_embedded  # noqa: E402
from function.memorylink import MemoryLink  # noqa: E402
from function.reconcile import Reconciler, ReconcileRequest, ReconcileResult  # noqa: E402
from tests.support.inproc import reported  # noqa: E402

_spec = importlib.util.spec_from_file_location("examples_render", ROOT / "examples" / "render.py")
assert _spec and _spec.loader
R = importlib.util.module_from_spec(_spec)
sys.modules["examples_render"] = R
_spec.loader.exec_module(R)

TENANT = "team-a"
GOOD_WITHIN = 1.2
MIN_COST = 1.0  # $/month: regret of a nearly free optimum (an idle Lambda) is taken against $1


def build_templates(dest: Path) -> None:
    for t in TEMPLATES:
        repo = dest / t.name
        for name, content in t.files.items():
            path = repo / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        R.git(repo, "init", "-q", "-b", "main")
        R.git(repo, "add", "-A")
        R.git(repo, "commit", "-q", "-m", t.name)


def xr_of(s: Scenario, uid: str) -> dict[str, Any]:
    name = f"{s.template.name}-{s.index}"
    return {
        "apiVersion": "scia.io/v1alpha1",
        "kind": "XAppDeployment",
        "metadata": {
            "name": f"{name}-x",
            "uid": uid,
            "labels": {"crossplane.io/claim-name": name, "crossplane.io/claim-namespace": TENANT},
        },
        "spec": {
            "claimRef": {
                "apiVersion": "scia.io/v1alpha1",
                "kind": "AppDeployment",
                "name": name,
                "namespace": TENANT,
            },
            **s.spec(),
        },
    }


def group_size(name: str, body: dict[str, Any]) -> dict[str, Any]:
    """What the provider reports of a group's size (the world does not autoscale: it runs
    the desired count), read by function/decide/composed.py."""
    spec = body.get("spec") or {}
    fp, init = spec.get("forProvider") or {}, spec.get("initProvider") or {}
    if name == "autoscaling-group":
        return {"desiredCapacity": init.get("desiredCapacity"), "minSize": fp.get("minSize"),
                "maxSize": fp.get("maxSize")}  # fmt: skip
    if name == "node-group":
        sc, isc = fp.get("scalingConfig") or {}, init.get("scalingConfig") or {}
        return {"scalingConfig": {"desiredSize": isc.get("desiredSize"),
                                  "minSize": sc.get("minSize"), "maxSize": sc.get("maxSize")}}  # fmt: skip
    return {}


def observed_for(desired: dict[str, Any], failure: str | None) -> dict[str, Any]:
    ok = [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "True"}]
    # Each resource as applied (its desired spec), as a provider reports it.
    out = {
        n: {**b, "status": {"conditions": ok,
                            "atProvider": reported(n, True, b) | group_size(n, b)}}
        for n, b in desired.items()
    }  # fmt: skip
    if failure is not None and desired:
        first = sorted(desired)[0]
        out[first] = {**desired[first], "status": {"atProvider": reported(first, True), "conditions": [
            {"type": "Ready", "status": "False", "reason": "Creating"},
            {"type": "Synced", "status": "False", "reason": "ReconcileError", "message": failure},
        ]}}  # fmt: skip
    return out


@dataclass
class Scored:
    scenario: int
    template: str
    traffic: str
    decided: str
    decided_by: str
    optimum: str
    failure: str | None
    cost: float | None
    optimum_cost: float

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def regret(self) -> float | None:
        if not self.ok or self.cost is None:
            return None
        return (self.cost - self.optimum_cost) / max(self.optimum_cost, MIN_COST)

    @property
    def good(self) -> bool:
        return (
            self.ok
            and self.cost is not None
            and self.cost <= max(GOOD_WITHIN * self.optimum_cost, self.optimum_cost + MIN_COST)
        )


def score(s: Scenario, out: ReconcileResult) -> Scored:
    best, best_cost = optimum(s)
    decision = out.status.get("decision")
    if not decision:
        message = str(out.status.get("message") or "no decision")
        return Scored(s.index, s.template.name, s.traffic, "none", "-", best.label(),
                      f"no decision: {message[:80]}", None, best_cost)  # fmt: skip
    c = config_of(decision)
    return Scored(s.index, s.template.name, s.traffic, c.label(), decision["decidedBy"],
                  best.label(), judge(s, c), cost(c, s), best_cost)  # fmt: skip


@dataclass
class Summary:
    decider: str
    seed: int
    stored: int
    n: int
    success: float
    good: float
    regret_mean: float
    regret_median: float
    llm_share: float

    @classmethod
    def of(cls, decider: str, seed: int, stored: int, scored: list[Scored]) -> Summary:
        regrets = [r for x in scored if (r := x.regret) is not None]
        return cls(
            decider=decider, seed=seed, stored=stored, n=len(scored),
            success=sum(x.ok for x in scored) / len(scored),
            good=sum(x.good for x in scored) / len(scored),
            regret_mean=statistics.fmean(regrets) if regrets else float("nan"),
            regret_median=statistics.median(regrets) if regrets else float("nan"),
            llm_share=sum(x.decided_by == "llm" for x in scored) / len(scored),
        )  # fmt: skip


class Run:
    def __init__(self, decider: str, dsn: str, repos: Path, embedder: MiniLMEmbedder | None,
                 llm_url: str | None) -> None:  # fmt: skip
        self.decider = decider
        self.dsn = dsn
        self.link = MemoryLink(embedder)
        self.rec = Reconciler(DecisionEngine(memory=self.link), DecisionJobs(workers=2))
        self.secrets = Secrets(memory_dsn=dsn)
        self.input: dict[str, Any] = {
            "urlRewrites": [{"prefix": R.MIRRORED_PREFIX, "replacement": f"file://{repos}/"}],
            "analysis": {"allowFileUrls": True},
            "decision": {"waitSeconds": 60},
            "memory": {"retrieveTimeoutSeconds": 10, "writeTimeoutSeconds": 20},
        }
        if llm_url:
            self.input["llm"] = {"enabled": True, "host": llm_url, "timeoutSeconds": 30}
        self.train_scored: list[Scored] = []

    async def _reconcile(self, xr: dict[str, Any], observed: dict[str, Any]) -> ReconcileResult:
        out = await self.rec.reconcile(ReconcileRequest(
            xr=xr, observed=observed, input=self.input, secrets=self.secrets))  # fmt: skip
        if out.fatal:
            raise RuntimeError(f"fatal reconcile: {out.results}")
        return out

    async def train(self, s: Scenario) -> None:
        xr = xr_of(s, f"train-{s.index}-{uuid.uuid4().hex[:8]}")
        first = await self._reconcile(xr, {})
        scored = score(s, first)
        self.train_scored.append(scored)
        if first.status.get("decision"):
            # Resources are composed once those they reference are observed: converge.
            desired, status = first.desired, first.status
            for _ in range(4):
                nxt = await self._reconcile(
                    copy.deepcopy(xr) | {"status": status}, observed_for(desired, None)
                )
                status = nxt.status
                if set(nxt.desired) <= set(desired):
                    break
                desired = nxt.desired
            again = copy.deepcopy(xr) | {"status": status}
            config = config_of(first.status["decision"])
            again["metadata"]["annotations"] = observations(s, config, scored.failure)
            await self._reconcile(again, observed_for(desired, scored.failure))
        await self.rec.outcomes.drain(timeout=60)

    async def evaluate(self, scenarios: list[Scenario], stored: int) -> list[Scored]:
        out = []
        for s in scenarios:
            result = await self._reconcile(xr_of(s, f"eval-{stored}-{s.index}"), {})
            out.append(score(s, result))
        await self.rec.outcomes.drain(timeout=60)
        # Held-out decisions are not outcomes: drop their pending records.
        if self.link.configured:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                conn.execute("DELETE FROM deployment_embeddings WHERE xr_uid LIKE 'eval-%'")
        return out

    async def close(self) -> None:
        await self.link.close()


def fresh_database(server: EmbeddedDatabase) -> str:
    name = f"learn_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server.dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return conninfo.make_conninfo(server.dsn, dbname=name)


async def run_decider(
    decider: str, seed: int, args: argparse.Namespace, server: EmbeddedDatabase, repos: Path,
    embedder: MiniLMEmbedder | None,
) -> tuple[list[Summary], list[Summary], dict[int, list[Scored]]]:  # fmt: skip
    world = World.draw(seed)
    train = generate(args.train, seed, world=world)
    held_out = generate(args.eval, seed + 10_000, start=100_000, world=world)
    run = Run(decider, fresh_database(server), repos, embedder, None)
    checkpoints = sorted({c for c in args.checkpoints if c <= args.train})
    if embedder is None:
        checkpoints = [0]  # without a memory nothing is learned: one evaluation says it all
    summaries: list[Summary] = []
    details: dict[int, list[Scored]] = {}
    done = 0
    started = time.monotonic()
    try:
        for cp in checkpoints:
            while done < cp:
                await run.train(train[done])
                done += 1
            scored = await run.evaluate(held_out, cp)
            details[cp] = scored
            summaries.append(Summary.of(decider, seed, cp, scored))
            print(f"  [{decider} seed {seed}] {cp:>3} stored outcomes: held-out success "
                  f"{summaries[-1].success:.0%}, good {summaries[-1].good:.0%}, regret "
                  f"{summaries[-1].regret_mean:+.0%} ({time.monotonic() - started:.0f}s)",
                  flush=True)  # fmt: skip
    finally:
        await run.close()
    windows = []
    size = max(1, args.train // 4)
    for lo in range(0, len(run.train_scored), size):
        chunk = run.train_scored[lo : lo + size]
        windows.append(
            Summary.of(f"{decider} (stream {lo + 1}-{lo + len(chunk)})", seed, lo, chunk)
        )
    return summaries, windows, details


def table(rows: list[Summary]) -> str:
    head = f"{'decider':<34} {'seed':>4} {'stored':>6} {'n':>4} {'success':>8} {'good':>6} " \
           f"{'regret mean':>11} {'median':>7} {'by llm':>7}"  # fmt: skip
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r.decider:<34} {r.seed:>4} {r.stored:>6} {r.n:>4} {r.success:>8.0%} "
                     f"{r.good:>6.0%} {r.regret_mean:>+11.0%} {r.regret_median:>+7.0%} "
                     f"{r.llm_share:>7.0%}")  # fmt: skip
    return "\n".join(lines)


def failures_by_cause(details: dict[int, list[Scored]]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    for cp, scored in details.items():
        counts: dict[str, int] = {}
        for s in scored:
            if s.failure:
                key = s.failure.split(":")[0].split(";")[0][:40]
                counts[key] = counts.get(key, 0) + 1
        out[cp] = counts
    return out


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="scia-learning-"))
    repos = root / "repos"
    repos.mkdir()
    build_templates(repos)
    server = start_embedded(root / "pgdata")
    embedder = await MiniLMEmbedder.aload()
    results: dict[str, Any] = {"checkpoints": [], "streams": [], "failures": {}, "world": {}}
    try:
        for seed in range(1, args.seeds + 1):
            results["world"][str(seed)] = asdict(World.draw(seed))
            base, _, base_details = await run_decider(
                "no memory (priors)", seed, args, server, repos, None)  # fmt: skip
            mem, mem_windows, mem_details = await run_decider(
                "memory (learning)", seed, args, server, repos, embedder)  # fmt: skip
            results["checkpoints"] += [asdict(s) for s in base + mem]
            results["streams"] += [asdict(s) for s in mem_windows]
            results["failures"][f"no-memory/{seed}"] = failures_by_cause(base_details)
            results["failures"][f"memory/{seed}"] = failures_by_cause(mem_details)
    finally:
        embedder.close()
        server.stop()
    results["seconds"] = round(time.monotonic() - started, 1)
    results["settings"] = {k: v for k, v in vars(args).items() if k != "json"}
    return results


def _spread(values: list[float], fmt: str) -> str:
    if not values:
        return "-"
    mean, sd = statistics.fmean(values), statistics.pstdev(values)
    return f"{mean:{fmt}} (sd {sd:{fmt.lstrip('+')}}, {min(values):{fmt}}..{max(values):{fmt}})"


def across_seeds(rows: list[Summary]) -> list[str]:
    """Per checkpoint, over the seeds: success, good, the good rate's relative change since
    0 stored outcomes, and the mean regret of the successes."""
    mine = [r for r in rows if r.decider == "memory (learning)"]
    first = {r.seed: r.good for r in mine if r.stored == 0}
    lines = []
    for cp in sorted({r.stored for r in mine}):
        at = [r for r in mine if r.stored == cp]
        rel = [(r.good - first[r.seed]) / first[r.seed] for r in at if first.get(r.seed)]
        regrets = [r.regret_mean for r in at if r.regret_mean == r.regret_mean]
        lines.append(
            f"after {cp:>3} outcomes: success {_spread([r.success for r in at], '.0%')}, good "
            f"{_spread([r.good for r in at], '.0%')}, good vs 0 {_spread(rel, '+.0%')}, "
            f"mean regret {_spread(regrets, '+.0%')}"
        )
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=300, help="deployments whose outcomes are stored")
    ap.add_argument("--eval", type=int, default=40, help="held-out scenarios per checkpoint")
    ap.add_argument("--checkpoints", type=int, nargs="+", default=[0, 50, 100, 200, 300])
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    results = asyncio.run(main_async(args))
    rows = [Summary(**r) for r in results["checkpoints"]]
    print("\nHeld-out decisions after N stored outcomes (same scenarios at every checkpoint):")
    print(table(rows))
    print("\nThe training streams themselves (decided with the outcomes stored so far):")
    print(table([Summary(**r) for r in results["streams"]]))
    print("\nHeld-out failures by cause:", json.dumps(results["failures"], indent=1))
    for seed in range(1, args.seeds + 1):
        mine = [r for r in rows if r.decider == "memory (learning)" and r.seed == seed]
        first = next((r for r in mine if r.stored == 0), None)
        for r in mine:
            rel = (r.good - first.good) / first.good if first and first.good else float("nan")
            print(f"seed {seed}: after {r.stored:>3} outcomes: success {r.success:.0%}, good "
                  f"{r.good:.0%} ({rel:+.0%} relative to 0), mean regret {r.regret_mean:+.0%}")  # fmt: skip
    if args.seeds > 1:
        print(f"\nOver {args.seeds} seeds (mean, population standard deviation, min..max):")
        for line in across_seeds(rows):
            print(line)
    print(f"\n{results['seconds']}s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
