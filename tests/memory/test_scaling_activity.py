"""Scaling activity per (uid, revision): the store counts the scale-outs and scale-ins of the
composed group's (and the autoscalers') successive observed levels in the upsert that records
the outcome, whichever replica writes and in whatever order (embedded PostgreSQL)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from function.decide.composed import composed_metrics
from function.memory.store import MemoryStore
from tests.memory.helpers import record

pytestmark = pytest.mark.integration


def group(desired: int, low: int = 1, top: int = 4) -> dict[str, Any]:
    fields = {"desiredCapacity": desired, "minSize": low, "maxSize": top}
    return {"autoscaling-group": {"kind": "AutoScalingGroup", "status": {"atProvider": fields}}}


def autoscaler(desired: int) -> dict[str, Any]:
    manifest = {
        "kind": "HorizontalPodAutoscaler",
        "spec": {"minReplicas": 1, "maxReplicas": 8},
        "status": {"currentReplicas": desired, "desiredReplicas": desired},
    }
    return {"k8s-web-autoscaler": {"status": {"atProvider": {"manifest": manifest}}}}


def stored(dsn: str, uid: str = "s", revision: int = 1) -> dict[str, Any]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT metrics FROM deployment_embeddings WHERE xr_uid = %s AND revision = %s",
            (uid, revision),
        ).fetchone()
    assert row is not None
    metrics: dict[str, Any] = row[0]
    return metrics


async def test_successive_levels_count_as_scale_outs_and_ins(
    store: MemoryStore, fresh_dsn: str
) -> None:
    # 2 -> 3 -> 3 (another replica writes the same level) -> 4 -> 2: two outs, one in.
    for desired in (2, 3, 3, 4, 2):
        await store.record(record("s", strategy="vm", metrics=composed_metrics(group(desired))))
    m = stored(fresh_dsn)
    assert (m["scaleOuts"], m["scaleIns"], m["highestCapacity"]) == (2.0, 1.0, 4.0)
    assert m["observedCapacity"] == 2.0 and m["atMaxSize"] is False
    # A metrics poll (no level) or a pending write leaves the counts as they are.
    await store.record(record("s", strategy="vm", metrics={"cpuUtilisation": 0.2}))
    await store.record(record("s", strategy="vm", outcome="pending"))
    m = stored(fresh_dsn)
    assert (m["scaleOuts"], m["scaleIns"], m["cpuUtilisation"]) == (2.0, 1.0, 0.2)
    # Another revision counts its own.
    await store.record(record("s", revision=2, metrics=composed_metrics(group(4))))
    assert stored(fresh_dsn, revision=2)["scaleOuts"] == 0.0
    assert stored(fresh_dsn)["scaleOuts"] == 2.0


async def test_pods_and_nodes_both_count_and_the_highest_is_kept(
    store: MemoryStore, fresh_dsn: str
) -> None:
    steps = [(1, 2), (1, 5), (2, 8), (2, 3), (1, 2)]  # (nodes, pods the autoscaler wants)
    for nodes, pods in steps:
        observed = group(nodes, top=3) | autoscaler(pods)
        await store.record(record("k", strategy="kubernetes", metrics=composed_metrics(observed)))
    m = stored(fresh_dsn, "k")
    # nodes: 1->2 out, 2->1 in; pods: 2->5->8 two outs, 8->3->2 two ins.
    assert (m["scaleOuts"], m["scaleIns"]) == (3.0, 3.0)
    assert (m["highestCapacity"], m["highestReplicas"]) == (2.0, 8.0)
    assert (m["observedCapacity"], m["observedReplicas"]) == (1.0, 2.0)


async def test_a_first_write_with_a_level_starts_at_zero(
    store: MemoryStore, fresh_dsn: str
) -> None:
    """A row first written without a level (pending, before the group is observed) starts
    counting from the first level it receives."""
    await store.record(record("p", strategy="vm", outcome="pending"))
    await store.record(record("p", strategy="vm", metrics=composed_metrics(group(3))))
    m = stored(fresh_dsn, "p")
    assert (m["scaleOuts"], m["scaleIns"], m["highestCapacity"]) == (0.0, 0.0, 3.0)
    # A value that is not a number (a hand-written row) is not counted from.
    with psycopg.connect(fresh_dsn) as conn:
        conn.execute(
            "UPDATE deployment_embeddings SET metrics = metrics || "
            """'{"observedCapacity": "lots", "scaleOuts": true}'::jsonb WHERE xr_uid = 'p'"""
        )
    await store.record(record("p", strategy="vm", metrics=composed_metrics(group(4))))
    m = stored(fresh_dsn, "p")
    assert (m["scaleOuts"], m["scaleIns"], m["observedCapacity"]) == (0.0, 0.0, 4.0)
