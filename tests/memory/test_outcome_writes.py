"""Outcomes are never lost or overwritten: writes are monotonic per (uid, revision) whichever
replica writes, in whatever order, and the record keeps why it failed, what the team asked
for and their comment (real Reconciler, embedded PostgreSQL + pgvector, real MiniLM)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from examples import render as R
from function.decide.engine import DecisionEngine, Secrets
from function.decide.jobs import DecisionJobs
from function.memory.embed import MiniLMEmbedder
from function.memory.store import MemoryStore
from function.memorylink import MemoryLink
from function.reconcile import Reconciler, ReconcileRequest, ReconcileResult
from tests.memory.helpers import record
from tests.support.fake_ollama import Reply, fake_ollama
from tests.support.inproc import reported
from tests.support.memory_settings import PATIENT_INPUT

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
XR = yaml.safe_load((ROOT / "examples" / "legacy" / "xr.yaml").read_text())


def settings(repos: Path, **extra: Any) -> dict[str, Any]:
    return {
        "urlRewrites": [{"prefix": R.MIRRORED_PREFIX, "replacement": f"file://{repos}/"}],
        "analysis": {"allowFileUrls": True},
        "decision": {"waitSeconds": 60},
        "memory": {**PATIENT_INPUT, "minSimilarity": 0.0},
        **extra,
    }


async def step(
    rec: Reconciler,
    xr: dict[str, Any],
    s: dict[str, Any],
    secrets: Secrets,
    observed: dict[str, Any] | None = None,
) -> tuple[ReconcileResult, dict[str, Any]]:
    out = await rec.reconcile(
        ReconcileRequest(xr=xr, observed=observed or {}, input=s, secrets=secrets)
    )
    assert not out.fatal, out.results
    return out, copy.deepcopy(xr) | {"status": out.status}


def observed(desired: dict[str, Any], *, failing: str | None = None) -> dict[str, Any]:
    """Every desired resource created as applied (its desired spec) and reporting its atProvider
    fields; all Ready, or `failing` refused by the provider (Synced=False)."""
    ok = [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "True"}]
    bad = [
        {"type": "Ready", "status": "False", "reason": "Creating"},
        {
            "type": "Synced",
            "status": "False",
            "reason": "ReconcileError",
            "message": "InsufficientInstanceCapacity: no t3.small capacity in eu-west-1a",
        },
    ]
    return {
        n: {
            **b,
            "status": {
                "conditions": bad if n == failing else ok,
                "atProvider": reported(n, True, b),
            },
        }
        for n, b in desired.items()
    }


async def converged(
    rec: Reconciler,
    xr: dict[str, Any],
    s: dict[str, Any],
    secrets: Secrets,
    desired: dict[str, Any],
) -> tuple[ReconcileResult, dict[str, Any]]:
    """Reconcile with everything desired observed Ready until the desired set stops growing
    (resources are composed once the ones they reference are observed), bounded."""
    out, xr = await step(rec, xr, s, secrets, observed(desired))
    for _ in range(4):
        if set(out.desired) <= set(desired):
            break
        desired = out.desired
        out, xr = await step(rec, xr, s, secrets, observed(desired))
    return out, xr


def xr_named(i: int, prompt: str | None = None) -> dict[str, Any]:
    xr = copy.deepcopy(XR)
    xr["metadata"] |= {"name": f"flask-{i}", "uid": f"uid-flask-{i}"}
    xr["spec"]["claimRef"]["name"] = f"flask-{i}"
    if prompt is not None:
        xr["spec"]["prompt"] = prompt
    return xr


def rows(dsn: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT xr_uid, revision, outcome, user_feedback, feedback_comment, metadata"
            " FROM deployment_embeddings ORDER BY xr_uid"
        ).fetchall()


async def test_feedback_on_another_replica_never_turns_stored_successes_pending(
    repos: Path, fresh_dsn: str, embedder: MiniLMEmbedder
) -> None:
    """The reported fault: 10 deployments run on replica A (success stored); replica B, which
    never wrote them (restarted, or just another replica), sees a feedback annotation on each
    Running XR. Before the fix it upserted `pending` over 9 of the 10 stored successes."""
    secrets = Secrets(memory_dsn=fresh_dsn)
    s = settings(repos)
    link_a = MemoryLink(embedder)
    a = Reconciler(DecisionEngine(memory=link_a), DecisionJobs())
    running: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for i in range(10):
        first, xr = await step(a, xr_named(i), s, secrets)
        last, xr = await converged(a, xr, s, secrets, first.desired)
        assert xr["status"]["outcome"] == "success", xr["status"]
        running.append((xr, last.desired))
    await a.outcomes.drain(120)
    # On a loaded machine a write may time out; the product writes it again on the next
    # reconcile (nothing marks it written), which is what a real control plane does too.
    for _ in range(5):
        if [r[2] for r in rows(fresh_dsn)] == ["success"] * 10:
            break
        for xr, desired in running:
            await step(a, xr, s, secrets, observed(desired))
        await a.outcomes.drain(120)
    assert [r[2] for r in rows(fresh_dsn)] == ["success"] * 10

    link_b = MemoryLink(embedder)
    b = Reconciler(DecisionEngine(memory=link_b), DecisionJobs())
    try:
        want = {(f"uid-flask-{i}", 1 if i % 2 else -1, f"comment {i}") for i in range(10)}
        for i, (xr, _) in enumerate(running):
            xr["metadata"]["annotations"] = {
                "scia.io/feedback": "+1" if i % 2 else "-1",
                "scia.io/feedback-comment": f"comment {i}",
            }
        for _ in range(5):  # a write timed out on a loaded machine is done again
            for xr, desired in running:
                out, _ = await step(b, xr, s, secrets, observed(desired))
                assert out.status["outcome"] == "success"
            await b.outcomes.drain(120)
            stored = rows(fresh_dsn)
            assert [r[2] for r in stored] == ["success"] * 10
            if {(r[0], r[3], r[4]) for r in stored} == want:
                break
        assert {(r[0], r[3], r[4]) for r in rows(fresh_dsn)} == want
        # A pending write that arrives last (a request built before the outcome was in the
        # XR's status, nothing observed yet) changes nothing known either.
        for xr, _ in running:
            stale = copy.deepcopy(xr)
            stale["status"].pop("outcome")
            out, _ = await step(b, stale, s, secrets, {})
            assert out.status["outcome"] == "pending"
        await b.outcomes.drain(120)
        assert [r[2] for r in rows(fresh_dsn)] == ["success"] * 10
    finally:
        await link_a.close()
        await link_b.close()


async def test_store_upsert_is_monotonic_and_merges(store: MemoryStore, fresh_dsn: str) -> None:
    await store.record(record("m", outcome="failed", metadata={"failureReason": "OOM killed"}))
    await store.record(record("m", outcome="pending", metadata={"request": "100 rps"}))
    await store.record(record("m", outcome="pending", feedback=-1, feedback_comment="slow"))
    [row] = rows(fresh_dsn)
    assert row[2:5] == ("failed", -1, "slow")
    assert row[5] == {"failureReason": "OOM killed", "request": "100 rps"}
    # A later write without feedback keeps it; a real outcome change is taken.
    await store.record(record("m", outcome="success", metadata={"failureReason": None}))
    [row] = rows(fresh_dsn)
    assert row[2:5] == ("success", -1, "slow")
    assert row[5] == {"failureReason": None, "request": "100 rps"}


async def test_a_failure_keeps_its_reason_request_and_comment_and_the_prompt_shows_them(
    repos: Path, fresh_dsn: str, embedder: MiniLMEmbedder
) -> None:
    secrets = Secrets(memory_dsn=fresh_dsn)
    s = settings(repos)
    link = MemoryLink(embedder)
    rec = Reconciler(DecisionEngine(memory=link), DecisionJobs())
    try:
        said = "about 200 requests per second at peak, p95 under 300 ms"
        first, xr = await step(rec, xr_named(0, said), s, secrets)
        last, xr = await converged(rec, xr, s, secrets, first.desired)
        failing = sorted(last.desired)[0]
        out, xr = await step(rec, xr, s, secrets, observed(last.desired, failing=failing))
        assert out.status["outcome"] == "failed", out.status
        xr["metadata"]["annotations"] = {
            "scia.io/feedback": "-1",
            "scia.io/feedback-comment": "the instances ran out of capacity at noon",
        }
        await step(rec, xr, s, secrets, observed(last.desired, failing=failing))
        await rec.outcomes.drain(120)
        [row] = rows(fresh_dsn)
        assert row[2:5] == ("failed", -1, "the instances ran out of capacity at noon")
        assert "InsufficientInstanceCapacity" in row[5]["failureReason"]
        assert row[5]["request"] == said

        # The next decision of the tenant sees all three in its prompt.
        with fake_ollama(Reply.fail(500, "down")) as fake:
            await step(
                rec, xr_named(1), settings(repos, llm={"enabled": True, "host": fake.url}), secrets
            )
            prompt = fake.chat_requests()[0]["body"]["messages"][1]["content"]
        assert "InsufficientInstanceCapacity" in prompt
        assert "the instances ran out of capacity at noon" in prompt
        assert "about 200 requests per second at peak" in prompt
    finally:
        await link.close()


async def test_observations_are_stored_and_the_next_decision_learns_from_them(
    repos: Path, fresh_dsn: str, embedder: MiniLMEmbedder
) -> None:
    """A platform reports what it observed (scia.io/observed-*); the record keeps it as
    metrics, and the next decision for the same repository sizes with the learned CPU per
    request and says so."""
    secrets = Secrets(memory_dsn=fresh_dsn)
    s = settings(repos)
    link = MemoryLink(embedder)
    rec = Reconciler(DecisionEngine(memory=link), DecisionJobs())
    try:
        said = "about 20 requests per second"
        first, xr = await step(rec, xr_named(0, said), s, secrets)
        before = first.status["decision"]["parameters"]
        last, xr = await converged(rec, xr, s, secrets, first.desired)
        xr["metadata"]["annotations"] = {
            "scia.io/observed-rps": "20",
            "scia.io/observed-cpu-utilisation": "0.8",
            "scia.io/observed-memory-gib": "0.6",
        }
        for _ in range(5):  # a write timed out on a loaded machine is done again
            await step(rec, xr, s, secrets, observed(last.desired))
            await rec.outcomes.drain(120)
            stored = rows(fresh_dsn)
            if stored and stored[0][2] == "success":
                break
        with psycopg.connect(fresh_dsn) as conn:
            [(metrics,)] = conn.execute("SELECT metrics FROM deployment_embeddings").fetchall()
        assert metrics == {"observedRps": 20.0, "cpuUtilisation": 0.8, "memoryGiB": 0.6}

        second, _ = await step(rec, xr_named(1, said), s, secrets)
        reason = second.status["decision"]["parameters"]["reason"]
        assert "learned" in reason, reason
        assert "1 of this app" in reason
        assert before != second.status["decision"]["parameters"]
    finally:
        await link.close()


async def test_what_the_composed_resources_show_is_stored_with_the_running_revision(
    repos: Path, fresh_dsn: str, embedder: MiniLMEmbedder
) -> None:
    """The provider reports the auto scaling group's live size (status.atProvider): while the
    revision runs, the instances running and whether the group sits at its maximum are
    stored as its metrics, merged with what the platform's annotations report."""
    secrets = Secrets(memory_dsn=fresh_dsn)
    s = settings(repos)
    link = MemoryLink(embedder)
    rec = Reconciler(DecisionEngine(memory=link), DecisionJobs())
    try:
        first, xr = await step(rec, xr_named(0, "about 20 requests per second"), s, secrets)
        last, xr = await converged(rec, xr, s, secrets, first.desired)
        assert xr["status"]["outcome"] == "success", xr["status"]
        seen = observed(last.desired)
        group = last.desired["autoscaling-group"]["spec"]["forProvider"]
        top = int(group["maxSize"])
        seen["autoscaling-group"]["status"]["atProvider"] |= {
            "desiredCapacity": top,
            "minSize": int(group["minSize"]),
            "maxSize": top,
        }
        xr["metadata"]["annotations"] = {"scia.io/observed-rps": "20"}
        metrics: dict[str, Any] = {}
        for _ in range(5):  # a write timed out on a loaded machine is done again
            await step(rec, xr, s, secrets, seen)
            await rec.outcomes.drain(120)
            with psycopg.connect(fresh_dsn) as conn:
                found = conn.execute("SELECT metrics FROM deployment_embeddings").fetchall()
            if found and found[0][0].get("observedCapacity"):
                metrics = found[0][0]
                break
        assert metrics == {"observedRps": 20.0, "observedCapacity": float(top), "atMaxSize": True,
                           "highestCapacity": float(top), "scaleOuts": 0.0, "scaleIns": 0.0}  # fmt: skip
        # The group scales in to its minimum: the next reconcile's record counts a scale-in
        # (the store compares it with the stored level), and keeps the highest level seen.
        low = int(group["minSize"])
        assert low < top
        seen["autoscaling-group"]["status"]["atProvider"]["desiredCapacity"] = low
        for _ in range(5):
            await step(rec, xr, s, secrets, seen)
            await rec.outcomes.drain(120)
            with psycopg.connect(fresh_dsn) as conn:
                [(metrics,)] = conn.execute("SELECT metrics FROM deployment_embeddings").fetchall()
            if metrics.get("observedCapacity") == float(low):
                break
        assert metrics["scaleIns"] == 1.0 and metrics["scaleOuts"] == 0.0
        assert metrics["highestCapacity"] == float(top) and metrics["atMaxSize"] is False
        # The next decision of the tenant sees the scaling activity among the facts of its
        # similar past deployments.
        with fake_ollama(Reply.fail(500, "down")) as fake:
            await step(
                rec, xr_named(1), settings(repos, llm={"enabled": True, "host": fake.url}), secrets
            )
            prompt = fake.chat_requests()[0]["body"]["messages"][1]["content"]
        assert f"scaled out 0x and in 1x while observed; highest {top} instances of max {top}" in (
            prompt
        )
    finally:
        await link.close()
