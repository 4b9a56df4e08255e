"""Retrieval SQL (hybrid: filters + cosine distance) and the re-ranking that follows it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pgvector import Vector

from function.memory.models import PastDeployment, RetrievalQuery
from function.memory.settings import MemorySettings

COLUMNS = """
    xr_uid, revision, namespace, deployment_name, framework, strategy, region, outcome,
    monthly_cost, metrics, metadata, user_feedback AS feedback, feedback_comment, scope,
    created_at, updated_at
"""


def as_vector(vector: Sequence[float]) -> Vector:
    """A query or stored embedding as a bound parameter (pgvector's binary form).

    The connection must have pgvector's adapters registered (`register_vector_async`,
    which the pool does for each connection: see db.open_pool).
    """
    return Vector([float(x) for x in vector])


def _filters(
    query: RetrievalQuery, settings: MemorySettings, *, failures: bool
) -> tuple[list[str], dict[str, Any]]:
    where = ["(namespace = %(namespace)s OR scope = 'shared')"]
    params: dict[str, Any] = {"namespace": query.namespace}
    if failures:
        where.append("(outcome IN ('failed', 'degraded') OR user_feedback < 0)")
    else:
        where.append("outcome = 'success'")
        where.append("user_feedback >= 0")
        if query.max_monthly_cost is not None:
            where.append("(monthly_cost IS NULL OR monthly_cost <= %(budget)s)")
            params["budget"] = query.max_monthly_cost
    if settings.same_framework_only and query.framework:
        where.append("framework = %(framework)s")
        params["framework"] = query.framework
    if query.exclude_xr_uid:
        where.append("xr_uid <> %(exclude)s")
        params["exclude"] = query.exclude_xr_uid
    return where, params


def candidate_sql(
    query: RetrievalQuery, settings: MemorySettings, *, failures: bool, exact: bool = False
) -> tuple[str, dict[str, Any]]:
    """Nearest rows visible to the tenant that pass the filters, by cosine distance.

    `exact`: for selective filters (a tenant and a framework keep a few hundred rows of a
    large table) the rows are filtered first (b-tree) and sorted by exact distance; the
    HNSW index walk under such a filter visits many rows it then throws away. At most
    `exactSearchMaxRows + 1` rows are taken, and each result row carries `matched`, how
    many were: more than the maximum means the filter was not selective, and the caller
    asks again with the HNSW index (iterative scans). Only literal SQL written here is
    concatenated; every value is a parameter.
    """
    where, params = _filters(query, settings, failures=failures)
    limit = settings.failures_k if failures else settings.candidate_k
    if exact:
        sql = (
            "WITH c AS MATERIALIZED ("  # noqa: S608
            "SELECT * FROM deployment_embeddings "
            f"WHERE {' AND '.join(where)} LIMIT %(cap)s) "
            f"SELECT {COLUMNS}, embedding <=> %(vector)s AS distance, "
            "(SELECT count(*) FROM c) AS matched FROM c ORDER BY distance LIMIT %(limit)s"
        )
        params["cap"] = settings.exact_search_max_rows + 1
    else:
        sql = (
            f"SELECT {COLUMNS}, embedding <=> %(vector)s AS distance "  # noqa: S608
            f"FROM deployment_embeddings WHERE {' AND '.join(where)} "
            "ORDER BY embedding <=> %(vector)s LIMIT %(limit)s"
        )
    params["limit"] = limit
    return sql, params


def _recency(updated_at: datetime, now: datetime, half_life_days: float) -> float:
    age_days = max(0.0, (now - updated_at).total_seconds() / 86_400)
    return math.exp(-math.log(2) * age_days / half_life_days)


def _cost_efficiency(
    cost: float | None, budget: float | None, low: float | None, high: float | None
) -> float:
    if cost is None:
        return 0.5
    if budget is not None and budget > 0:
        return min(1.0, max(0.0, 1.0 - cost / budget))
    if low is None or high is None or high <= low:
        return 0.5
    return 1.0 - (cost - low) / (high - low)


def to_past(row: dict[str, Any], score: float | None = None) -> PastDeployment:
    similarity = 1.0 - float(row["distance"])
    fields = {k: v for k, v in row.items() if k not in ("distance", "matched")}
    return PastDeployment(
        **fields, similarity=similarity, score=similarity if score is None else score
    )


def rerank(
    rows: list[dict[str, Any]],
    query: RetrievalQuery,
    settings: MemorySettings,
    now: datetime,
) -> list[PastDeployment]:
    """Score = weighted similarity, feedback, recency and cost efficiency; best first."""
    w = settings.weights
    costs = [float(r["monthly_cost"]) for r in rows if r["monthly_cost"] is not None]
    low, high = (min(costs), max(costs)) if costs else (None, None)
    scored = []
    for row in rows:
        similarity = 1.0 - float(row["distance"])
        if similarity < settings.min_similarity:
            continue
        cost = None if row["monthly_cost"] is None else float(row["monthly_cost"])
        score = (
            w.similarity * similarity
            + w.feedback * (int(row["feedback"]) + 1) / 2
            + w.recency * _recency(row["updated_at"], now, settings.recency_half_life_days)
            + w.cost_efficiency * _cost_efficiency(cost, query.max_monthly_cost, low, high)
        )
        scored.append(to_past(row, score))
    scored.sort(key=lambda p: (-p.score, -p.similarity, p.xr_uid, p.revision))
    return scored[: query.top_k or settings.top_k]
