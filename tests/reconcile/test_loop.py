"""Closing the loop: history, rollback, outcomes and feedback in the real memory, retrieval
feeding the next decision (embedded PostgreSQL + pgvector, the real MiniLM model)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from examples import render as R
from function.decide.engine import DecisionEngine, Secrets
from function.decide.jobs import DecisionJobs
from function.memory.embed import MiniLMEmbedder
from function.memory.models import RetrievalQuery
from function.memory.store import MemoryStore
from function.memorylink import MemoryLink
from function.reconcile import Reconciler, ReconcileRequest, ReconcileResult
from tests.support.fake_ollama import Reply, fake_ollama
from tests.support.inproc import reported
from tests.support.memory_settings import PATIENT_INPUT, patient

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

XR = yaml.safe_load((ROOT / "examples" / "legacy" / "xr.yaml").read_text())


def inp(repos: Path, **extra: Any) -> dict[str, Any]:
    return {
        "urlRewrites": [{"prefix": R.MIRRORED_PREFIX, "replacement": f"file://{repos}/"}],
        "analysis": {"allowFileUrls": True},
        "decision": {"waitSeconds": 30},
        "memory": {**PATIENT_INPUT, "minSimilarity": 0.0},
        **extra,
    }


async def step(
    rec: Reconciler,
    xr: dict[str, Any],
    settings: dict[str, Any],
    observed: dict[str, Any] | None = None,
    secrets: Secrets | None = None,
) -> tuple[ReconcileResult, dict[str, Any]]:
    out = await rec.reconcile(
        ReconcileRequest(
            xr=xr, observed=observed or {}, input=settings, secrets=secrets or Secrets()
        )
    )
    assert not out.fatal, out.results
    return out, copy.deepcopy(xr) | {"status": out.status}


def ready(desired: dict[str, Any]) -> dict[str, Any]:
    """Every desired resource observed Ready as applied (its desired spec), with what a
    provider reports (the launch template at version 1)."""
    cond = [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "True"}]
    return {
        n: {**b, "status": {"conditions": cond, "atProvider": reported(n, True, b)}}
        for n, b in desired.items()
    }


async def test_history_records_revisions_and_rollback_repins(repos: Path) -> None:
    rec = Reconciler(DecisionEngine(), DecisionJobs())
    s = inp(repos)
    r1, xr = await step(rec, XR, s)
    first = r1.status["decision"]
    # The auto scaling group follows once its launch template's version is observed.
    r1, xr = await step(rec, xr, s, observed=ready(r1.desired))
    assert "autoscaling-group" in r1.desired
    running, xr = await step(rec, xr, s, observed=ready(r1.desired))
    assert running.status["phase"] == "Running" and running.status["outcome"] == "success"
    xr["spec"]["prompt"] = "a cheap dev environment, one instance is plenty"
    r2, xr = await step(rec, xr, s, observed=ready(r1.desired))
    assert r2.status["decision"]["revision"] == 2
    assert [h["revision"] for h in r2.status["history"]] == [1, 2]
    assert r2.status["history"][0]["outcome"] == "success"  # revision 1 was running when replaced
    assert r2.status["decision"]["parameters"] != first["parameters"]

    xr["spec"]["rollbackToRevision"] = 1
    r3, xr = await step(rec, xr, s, observed=ready(r2.desired))
    d3 = r3.status["decision"]
    assert (d3["revision"], d3["decidedBy"], d3["rollbackOf"]) == (3, "rollback", 1)
    assert d3["parameters"]["vm"] == first["parameters"]["vm"]
    assert d3["commit"] == first["commit"]
    assert any(
        "rolled back: revision 3 re-pins the decision of revision 1" in m for _, m in r3.results
    )
    assert r3.status["history"][-1]["rollbackOf"] == 1
    asg = r3.desired["autoscaling-group"]["spec"]["forProvider"]
    assert asg["minSize"] == first["parameters"]["vm"]["minSize"]

    # The rollback holds on later reconciles, even when the prompt changes.
    xr["spec"]["prompt"] = "something else entirely"
    r4, _ = await step(rec, xr, s, observed=ready(r3.desired))
    assert r4.status["decision"]["revision"] == 3


async def test_rollback_to_unknown_revision_warns_and_keeps(repos: Path) -> None:
    rec = Reconciler(DecisionEngine(), DecisionJobs())
    _, xr = await step(rec, XR, inp(repos))
    xr["spec"]["rollbackToRevision"] = 7
    r2, _ = await step(rec, xr, inp(repos))
    assert r2.status["decision"]["revision"] == 1
    assert any(
        "spec.rollbackToRevision: revision 7 is not in status.history" in m for _, m in r2.results
    )


async def test_history_is_bounded(repos: Path) -> None:
    rec = Reconciler(DecisionEngine(), DecisionJobs())
    s = inp(repos, historyLimit=3)
    _, xr = await step(rec, XR, s)
    for i in range(5):
        xr["metadata"]["annotations"] = {"scia.io/redecide": f"t{i}"}
        out, xr = await step(rec, xr, s)
    assert [h["revision"] for h in out.status["history"]] == [4, 5, 6]


async def test_outcomes_and_feedback_reach_memory_and_steer_retrieval(
    repos: Path, fresh_dsn: str, embedder: MiniLMEmbedder
) -> None:
    link = MemoryLink(embedder)
    rec = Reconciler(DecisionEngine(memory=link), DecisionJobs())
    secrets = Secrets(memory_dsn=fresh_dsn)
    s = inp(repos)
    r1, xr = await step(rec, XR, s, secrets=secrets)
    r1, xr = await step(rec, xr, s, observed=ready(r1.desired), secrets=secrets)
    # Running: the outcome becomes success.
    _, xr = await step(rec, xr, s, observed=ready(r1.desired), secrets=secrets)
    await rec.outcomes.drain()
    store = await MemoryStore.connect(fresh_dsn, patient(min_similarity=0.0), embedder)
    try:
        query = RetrievalQuery(
            namespace="team-a", framework="flask", language="python", prompt="a flask api"
        )
        found = (await store.retrieve(query)).similar
        assert [(p.deployment_name, p.outcome, p.feedback) for p in found] == [
            ("flask-app", "success", 0)
        ]

        # Feedback annotation on the XR (propagated from the claim) -> user_feedback.
        xr["metadata"]["annotations"] = {
            "scia.io/feedback": "-1",
            "scia.io/feedback-comment": "too slow",
        }
        _, xr = await step(rec, xr, s, observed=ready(r1.desired), secrets=secrets)
        await rec.outcomes.drain()
        # Down-voted records are excluded from retrieval.
        assert (await store.retrieve(query)).similar == []
        xr["metadata"]["annotations"] = {"scia.io/feedback": "+1"}
        await step(rec, xr, s, observed=ready(r1.desired), secrets=secrets)
        await rec.outcomes.drain()
        [again] = (await store.retrieve(query)).similar
        assert again.feedback == 1

        # A second app of the same tenant sees the first one in its decision's context.
        other = copy.deepcopy(XR)
        other["metadata"] |= {"name": "flask-two", "uid": "uid-flask-two"}
        other["spec"]["claimRef"]["name"] = "flask-two"
        with fake_ollama(
            Reply.json(
                {
                    "strategy": "vm",
                    "vm": {
                        "instanceType": "t3.small",
                        "minSize": 2,
                        "maxSize": 3,
                        "desiredCapacity": 2,
                    },
                    "reason": "as the similar flask-app that succeeded",
                    "confidence": 0.9,
                    "alternatives": [],
                }
            )
        ) as fake:
            s_llm = inp(repos, llm={"enabled": True, "host": fake.url})
            r_other, _ = await step(rec, other, s_llm, secrets=secrets)
            prompt = fake.chat_requests()[0]["body"]["messages"][1]["content"]
        assert '"outcome": "success"' in prompt and '"feedback": 1' in prompt
        used = r_other.status["decision"]["similar"]
        assert (
            used and used[0]["deployment"] == "team-a/flask-app" and used[0]["outcome"] == "success"
        )
    finally:
        await store.close()
        await link.close()


async def test_memory_down_degrades_with_a_warning(repos: Path, embedder: MiniLMEmbedder) -> None:
    link = MemoryLink(embedder)
    rec = Reconciler(DecisionEngine(memory=link), DecisionJobs())
    dead = "postgresql://scia:secret-pw@127.0.0.1:9/scia?connect_timeout=1"
    out, _ = await step(
        rec, XR, inp(repos, memory={"connectTimeoutSeconds": 1}), secrets=Secrets(memory_dsn=dead)
    )
    assert out.status["decision"]["revision"] == 1
    warnings = [m for sev, m in out.results if sev == "Warning"]
    assert any("deployment memory unavailable" in m for m in warnings)
    assert not any("secret-pw" in m for _, m in out.results)
    assert "secret-pw" not in str(out.status)


async def test_restarted_replica_reuses_the_persisted_analysis(
    tmp_path: Path, fresh_dsn: str, embedder: MiniLMEmbedder
) -> None:
    """The profile of a commit is kept in the memory: a new replica needs no clone."""
    repos = tmp_path / "repos"
    repos.mkdir()
    commits = R.build_repositories(repos)
    xr = copy.deepcopy(XR)
    xr["spec"]["repository"]["ref"] = commits["flask-app"]  # a full SHA needs no ls-remote
    secrets = Secrets(memory_dsn=fresh_dsn)
    first_link = MemoryLink(embedder)
    first = Reconciler(DecisionEngine(memory=first_link), DecisionJobs())
    r1, _ = await step(first, xr, inp(repos), secrets=secrets)
    await first_link.close()

    import shutil

    shutil.rmtree(repos / "flask-app")  # the repository is gone: only the cache can answer
    second_link = MemoryLink(embedder)
    second = Reconciler(DecisionEngine(memory=second_link), DecisionJobs())
    try:
        r2, _ = await step(second, xr, inp(repos), secrets=secrets)
    finally:
        await second_link.close()
    assert r2.status["decision"]["parameters"] == r1.status["decision"]["parameters"]
    assert r2.status["decision"]["analysis"]["framework"] == "flask"
