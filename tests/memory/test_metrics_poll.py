"""A running deployment's metrics come from the platform's Prometheus in the background and
are stored as its revision's performance metrics (real Reconciler, embedded PostgreSQL +
pgvector, real MiniLM, a loopback server speaking the Prometheus HTTP API)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest

from function.decide.cloudwatch import AwsCredentials
from function.decide.engine import DecisionEngine, Secrets
from function.decide.jobs import DecisionJobs
from function.memory.embed import MiniLMEmbedder
from function.memorylink import MemoryLink
from function.reconcile import Reconciler
from tests.memory.test_outcome_writes import converged, settings, step, xr_named
from tests.support.fake_cloudwatch import ACCESS_KEY as CW_KEY
from tests.support.fake_cloudwatch import SECRET_KEY as CW_SECRET
from tests.support.fake_cloudwatch import TOKEN as CW_TOKEN
from tests.support.fake_cloudwatch import Series, fake_cloudwatch
from tests.support.fake_prometheus import error, fake_prometheus, vector

pytestmark = pytest.mark.integration


def metrics_of(dsn: str, uid: str) -> dict[str, object]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT metrics FROM deployment_embeddings WHERE xr_uid = %s", (uid,)
        ).fetchone()
    return dict(row[0]) if row and row[0] else {}


async def test_prometheus_is_queried_in_the_background_and_stored_with_the_revision(
    repos: Path, fresh_dsn: str, embedder: MiniLMEmbedder
) -> None:
    answers = {
        "cpu": vector("0.42"),
        "rps": vector("17"),
        "oom": error(422, "execution", "query processing would load too many samples"),
    }
    with fake_prometheus(lambda q: answers[q.split(":")[0]], hold=True) as prom:
        queries = {
            "cpuUtilisation": 'cpu:avg(rate(cpu{namespace="{{namespace}}",app="{{name}}"}[5m]))',
            "observedRps": "rps:{{uid}}/{{revision}}",
            "oomKills": "oom:x",
        }
        s = settings(repos, metricsSource={"prometheus": {"url": prom.url, "queries": queries}})
        secrets = Secrets(memory_dsn=fresh_dsn)
        rec = Reconciler(DecisionEngine(memory=MemoryLink(embedder)), DecisionJobs())
        first, xr = await step(rec, xr_named(1), s, secrets)
        assert first.status["phase"] != "Running"
        assert prom.queries == []  # not running yet: nothing is queried
        last, xr = await converged(rec, xr, s, secrets, first.desired)
        assert xr["status"]["outcome"] == "success"
        # The reconcile answered while every query was still held by the server: the
        # metrics source is never on the reconcile path.
        for _ in range(600):
            if prom.queries:
                break
            await asyncio.sleep(0.05)
        assert prom.queries, "a running deployment is queried"
        assert prom.answered == 0  # held: no reconcile waited for an answer
        assert last.status["phase"] == "Running"
        prom.release.set()
        assert await rec.outcomes.drain(120) == 0
    want = {"cpuUtilisation": 0.42, "observedRps": 17.0}
    for _ in range(5):  # a write timed out on a loaded machine is done again
        stored = metrics_of(fresh_dsn, "uid-flask-1")
        if all(stored.get(k) == v for k, v in want.items()):
            break
        await asyncio.sleep(1)
    assert {k: stored.get(k) for k in want} == want, stored
    assert "oomKills" not in stored  # the failed query is named in the log, not stored
    assert 'cpu:avg(rate(cpu{namespace="team-a",app="flask-1"}[5m]))' in prom.queries, prom.queries
    assert "rps:uid-flask-1/1" in prom.queries
    # At most once per interval: more reconciles of the same revision query nothing more.
    seen = len(prom.queries)
    await step(rec, xr, s, secrets)
    await rec.outcomes.drain(60)
    assert len(prom.queries) == seen


async def test_cloudwatch_is_queried_in_the_background_with_the_function_credential(
    repos: Path, fresh_dsn: str, embedder: MiniLMEmbedder
) -> None:
    """metricsSource.cloudwatch: one signed GetMetricData call (the loopback server checks the
    signature), held by the server while reconciles answer; the values, scaled, stored with
    the running revision; the group's name fills {{autoScalingGroup}}."""
    cpu = "SELECT AVG(CPUUtilization) FROM SCHEMA(\"AWS/EC2\", AutoScalingGroupName) WHERE AutoScalingGroupName = '{{autoScalingGroup}}'"
    with fake_cloudwatch() as cw:
        cw.hold = True
        group = "autoscaling-group-0123456789abcdef"  # the observed id (tests/support/inproc)
        cw.series[cpu.replace("{{autoScalingGroup}}", group)] = Series((42.0, 90.0))
        cw.series["rps:uid-flask-2"] = Series((17.0,))
        source = {
            "region": "us-east-1",
            "endpoint": cw.url,
            "queries": {
                "cpuUtilisation": {"expression": cpu, "scale": 0.01},
                "observedRps": {"expression": "rps:{{uid}}"},
            },
        }
        s = settings(repos, metricsSource={"cloudwatch": source})
        creds = AwsCredentials(CW_KEY, CW_SECRET, CW_TOKEN)
        secrets = Secrets(memory_dsn=fresh_dsn, cloudwatch=creds)
        rec = Reconciler(DecisionEngine(memory=MemoryLink(embedder)), DecisionJobs())
        first, xr = await step(rec, xr_named(2), s, secrets)
        assert cw.calls == []  # not running yet: nothing is queried
        last, xr = await converged(rec, xr, s, secrets, first.desired)
        assert xr["status"]["outcome"] == "success"
        for _ in range(600):
            if cw.calls:
                break
            await asyncio.sleep(0.05)
        assert cw.calls, "a running deployment is queried"
        assert last.status["phase"] == "Running"  # answered while the call was held
        cw.release.set()
        assert await rec.outcomes.drain(120) == 0
    assert cw.bad_signatures == 0
    want = {"cpuUtilisation": 0.42, "observedRps": 17.0}
    for _ in range(5):  # a write timed out on a loaded machine is done again
        stored = metrics_of(fresh_dsn, "uid-flask-2")
        if all(stored.get(k) == v for k, v in want.items()):
            break
        await asyncio.sleep(1)
    assert {k: stored.get(k) for k in want} == want, stored
