"""MemoryStore against the real embedded PostgreSQL + pgvector and the real MiniLM model."""

from __future__ import annotations

import psycopg
import pytest

from function.memory.embed import MiniLMEmbedder
from function.memory.errors import MemoryRecordNotFound
from function.memory.models import RetrievalQuery
from function.memory.settings import MemorySettings, RetrievalWeights
from function.memory.store import MemoryStore
from tests.memory.helpers import record

FLASK_QUERY = RetrievalQuery(
    namespace="team-a",
    framework="flask",
    language="python",
    dependencies=["flask", "sqlalchemy"],
    region="eu-west-1",
    prompt="a small REST API for an internal tool",
)


async def test_record_is_an_idempotent_upsert_that_keeps_feedback(
    store: MemoryStore, fresh_dsn: str
) -> None:
    await store.record(record("x1", outcome="pending", monthly_cost=None))
    await store.set_feedback("x1", 1, 1, "worked well")
    await store.record(record("x1", outcome="success", monthly_cost=31.5, metrics={"p99Ms": 80}))
    await store.record(record("x1", outcome="success", monthly_cost=31.5, metrics={"p99Ms": 80}))
    await store.record(record("x1", revision=2, strategy="kubernetes"))
    with psycopg.connect(fresh_dsn) as conn:
        rows = conn.execute(
            "SELECT revision, outcome, monthly_cost, metrics, user_feedback, feedback_comment,"
            " vector_dims(embedding) FROM deployment_embeddings ORDER BY revision"
        ).fetchall()
    assert rows == [
        (1, "success", 31.5, {"p99Ms": 80}, 1, "worked well", 384),
        (2, "success", 20.0, {}, 0, None, 384),
    ]
    stats = await store.stats("team-a")
    assert stats.deployments == 2
    assert stats.by_strategy == {"serverless": 1, "kubernetes": 1}


async def test_retrieve_filters_by_framework_outcome_budget_and_feedback(
    store: MemoryStore,
) -> None:
    await store.record(record("ok"))
    await store.record(record("django", framework="django", dependencies=["django"]))
    await store.record(record("failed", outcome="failed"))
    await store.record(record("pending", outcome="pending"))
    await store.record(record("pricey", monthly_cost=500.0))
    await store.record(record("disliked"))
    await store.set_feedback("disliked", 1, -1, "too slow")
    result = await store.retrieve(FLASK_QUERY.model_copy(update={"max_monthly_cost": 100.0}))
    assert [p.xr_uid for p in result.similar] == ["ok"]
    assert {p.xr_uid for p in result.failures} == {"failed", "disliked"}
    best = result.similar[0]
    assert 0.5 < best.similarity <= 1.0
    assert best.score > 0
    unbounded = await store.retrieve(FLASK_QUERY)
    assert {p.xr_uid for p in unbounded.similar} == {"ok", "pricey"}


async def test_retrieve_ranks_by_similarity_then_the_weighted_terms(
    fresh_dsn: str, embedder: MiniLMEmbedder
) -> None:
    similar_only = MemorySettings(
        min_similarity=0.0,
        weights=RetrievalWeights(similarity=1, feedback=0, recency=0, cost_efficiency=0),
    )
    cost_heavy = similar_only.model_copy(
        update={"weights": RetrievalWeights(similarity=0.1, cost_efficiency=1)}
    )
    feedback_heavy = similar_only.model_copy(
        update={"weights": RetrievalWeights(similarity=0.1, feedback=1, cost_efficiency=0)}
    )
    close = record("close", monthly_cost=90.0)
    far = record(
        "far",
        dependencies=["flask", "celery", "redis", "pandas"],
        reason="batch data pipeline with workers",
        prompt="nightly ETL of sales data into a warehouse",
        monthly_cost=10.0,
    )
    ranked: dict[str, list[str]] = {}
    for name, settings in (
        ("similarity", similar_only),
        ("cost", cost_heavy),
        ("feedback", feedback_heavy),
    ):
        memory = await MemoryStore.connect(fresh_dsn, settings, embedder)
        try:
            await memory.record(close)
            await memory.record(far)
            await memory.set_feedback("far", 1, 1 if name == "feedback" else 0, None)
            result = await memory.retrieve(FLASK_QUERY)
            ranked[name] = [p.xr_uid for p in result.similar]
            sims = {p.xr_uid: p.similarity for p in result.similar}
        finally:
            await memory.close()
        assert sims["close"] > sims["far"]
    assert ranked == {
        "similarity": ["close", "far"],
        "cost": ["far", "close"],
        "feedback": ["far", "close"],
    }


async def test_top_k_and_exclusion_of_the_asking_xr(store: MemoryStore) -> None:
    for i in range(8):
        await store.record(record(f"r{i}", deployment_name=f"api-{i}"))
    result = await store.retrieve(FLASK_QUERY.model_copy(update={"top_k": 3}))
    assert len(result.similar) == 3
    excluded = await store.retrieve(FLASK_QUERY.model_copy(update={"exclude_xr_uid": "r0"}))
    assert "r0" not in {p.xr_uid for p in excluded.similar}
    assert len(excluded.similar) == store.settings.top_k


async def test_feedback_on_an_unknown_deployment_is_an_error(store: MemoryStore) -> None:
    with pytest.raises(MemoryRecordNotFound):
        await store.set_feedback("nope", 1, 1, None)
    await store.record(record("known"))
    with pytest.raises(ValueError, match="feedback"):
        await store.set_feedback("known", 1, 5, None)


async def test_profile_cache_round_trip(store: MemoryStore) -> None:
    cache = store.profile_cache
    url, sha = "https://git.example/app.git", "a" * 40
    assert await cache.get(url, sha) is None
    await cache.put(url, sha, {"services": [{"name": "web", "ports": [8080]}]})
    await cache.put(url, sha, {"services": [{"name": "web", "ports": [8081]}]})
    assert await cache.get(url, sha) == {"services": [{"name": "web", "ports": [8081]}]}
    assert await cache.get(url, "b" * 40) is None
    assert (await store.stats()).profiles == 1


@pytest.mark.parametrize("cap", [0, 2, 5000], ids=["index-only", "over-cap-falls-back", "exact"])
async def test_exact_and_index_paths_find_the_same_neighbours(
    fresh_dsn: str, embedder: MiniLMEmbedder, cap: int
) -> None:
    """Selective filters are searched exactly; past the cap (or with 0) the HNSW index."""
    s = MemorySettings(
        min_similarity=0.0,
        exact_search_max_rows=cap,
        weights=RetrievalWeights(similarity=1, feedback=0, recency=0, cost_efficiency=0),
    )
    memory = await MemoryStore.connect(fresh_dsn, s, embedder)
    try:
        await memory.record(record("near", prompt="a small REST API for an internal tool"))
        await memory.record(record("mid", prompt="a public REST API with a web front end"))
        await memory.record(
            record("far", reason="batch jobs", prompt="nightly ETL of sales data into a warehouse")
        )
        await memory.record(record("fail", outcome="failed", prompt="a small REST API"))
        result = await memory.retrieve(FLASK_QUERY)
    finally:
        await memory.close()
    assert [p.xr_uid for p in result.similar] == ["near", "mid", "far"]
    assert [p.xr_uid for p in result.failures] == ["fail"]
