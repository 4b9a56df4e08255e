"""MemoryStore: the deployment memory as the function uses it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import psycopg
from pgvector import Vector
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from function.decide.composed import LEVELS
from function.memory.db import conninfo_for, open_pool, redact_dsn
from function.memory.embed import MINILM_DIMENSIONS, Embedder
from function.memory.errors import MemoryRecordNotFound, MemoryTenantConflict
from function.memory.guard import bounded
from function.memory.migrations import migrate
from function.memory.models import (
    DeploymentRecord,
    MemoryStats,
    RetrievalQuery,
    RetrievalResult,
)
from function.memory.profile_cache import PgProfileCache
from function.memory.retrieve import as_vector, candidate_sql, rerank, to_past
from function.memory.settings import MemorySettings
from function.memory.text import text_of

log = logging.getLogger(__name__)


def _num(side: str, key: str) -> str:
    """SQL: metrics key `key` of `side` ("deployment_embeddings" or "EXCLUDED") as a number,
    NULL when absent or not a number."""
    return (
        f"(CASE WHEN jsonb_typeof({side}.metrics->'{key}') = 'number' "
        f"THEN ({side}.metrics->>'{key}')::float8 END)"
    )


def _scaling_merge() -> str:
    """SQL: the scaling counters of a merged row (composed.py LEVELS). A level that rose over
    the stored one is a scale-out, one that fell a scale-in, each added to the stored count;
    the highest level is kept. Only when the new record carries a level: other writes (a
    metrics poll, feedback) leave the counters as they are."""
    old, new = "deployment_embeddings", "EXCLUDED"
    levels = [level for level, _ in LEVELS]
    carries = "EXCLUDED.metrics ?| array[" + ", ".join(f"'{x}'" for x in levels) + "]"

    def count(key: str, op: str) -> str:
        steps = " + ".join(
            f"(CASE WHEN {_num(new, x)} {op} {_num(old, x)} THEN 1 ELSE 0 END)" for x in levels
        )
        return f"CASE WHEN {carries} THEN COALESCE({_num(old, key)}, 0) + {steps} END"

    parts = [f"'scaleOuts', {count('scaleOuts', '>')}", f"'scaleIns', {count('scaleIns', '<')}"]
    for level, highest in LEVELS:
        parts.append(
            f"'{highest}', CASE WHEN {_num(new, level)} IS NOT NULL THEN GREATEST("
            f"{_num(old, highest)}, {_num(old, level)}, {_num(new, level)}) END"
        )
    return "jsonb_strip_nulls(jsonb_build_object(" + ", ".join(parts) + "))"


SCALING_MERGE = _scaling_merge()

_UPSERT = (
    """
INSERT INTO deployment_embeddings (
    xr_uid, revision, deployment_name, namespace, framework, language, strategy, region,
    content, embedding, metadata, outcome, monthly_cost, metrics, scope, user_feedback,
    feedback_comment
) VALUES (
    %(xr_uid)s, %(revision)s, %(deployment_name)s, %(namespace)s, %(framework)s,
    %(language)s, %(strategy)s, %(region)s, %(content)s, %(embedding)s,
    %(metadata)s, %(outcome)s, %(monthly_cost)s, %(metrics)s, %(scope)s,
    COALESCE(%(feedback)s::smallint, 0), %(feedback_comment)s::text
)
ON CONFLICT (xr_uid, revision) DO UPDATE SET
    deployment_name = EXCLUDED.deployment_name,
    framework = EXCLUDED.framework,
    language = EXCLUDED.language,
    strategy = EXCLUDED.strategy,
    region = EXCLUDED.region,
    content = EXCLUDED.content,
    embedding = EXCLUDED.embedding,
    metadata = deployment_embeddings.metadata || EXCLUDED.metadata,
    outcome = CASE WHEN EXCLUDED.outcome = 'pending' THEN deployment_embeddings.outcome
                   ELSE EXCLUDED.outcome END,
    monthly_cost = COALESCE(EXCLUDED.monthly_cost, deployment_embeddings.monthly_cost),
    metrics = deployment_embeddings.metrics || EXCLUDED.metrics || """
    + SCALING_MERGE
    + """,
    scope = EXCLUDED.scope,
    user_feedback = COALESCE(%(feedback)s::smallint, deployment_embeddings.user_feedback),
    feedback_comment = CASE WHEN %(feedback)s::smallint IS NULL
                            THEN deployment_embeddings.feedback_comment
                            ELSE %(feedback_comment)s::text END,
    updated_at = now()
WHERE deployment_embeddings.namespace = EXCLUDED.namespace
RETURNING id
"""
)


async def run_migrations(dsn: str, settings: MemorySettings) -> list[int]:
    """Apply pending migrations on a connection of their own (lock released on close)."""
    timeout_ms = int(settings.migration_timeout_seconds * 1000)
    conninfo = conninfo_for(dsn, settings)
    conninfo = psycopg.conninfo.make_conninfo(
        conninfo, options=f"-c statement_timeout={timeout_ms}"
    )
    async with bounded("migrations", settings.migration_timeout_seconds):
        conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
        try:
            applied = await migrate(conn)
        finally:
            await conn.close()
    if applied:
        log.info("memory migrations applied: %s on %s", applied, redact_dsn(dsn))
    return applied


class MemoryStore:
    """Past deployments by tenant, retrieved by meaning; every call bounded in time.

    Outages and slowness raise `MemoryUnavailable`; the pool reconnects by itself
    when the database comes back.
    """

    def __init__(
        self, pool: AsyncConnectionPool[Any], settings: MemorySettings, embedder: Embedder
    ) -> None:
        self._pool = pool
        self._settings = settings
        self._embedder = embedder
        self.profile_cache = PgProfileCache(pool, settings)

    @classmethod
    async def connect(cls, dsn: str, settings: MemorySettings, embedder: Embedder) -> MemoryStore:
        """Migrate the schema, then open the pool. Raises MemoryUnavailable when out."""
        if embedder.dimensions != MINILM_DIMENSIONS:
            raise ValueError(
                f"the embedder gives {embedder.dimensions} dimensions; the table holds 384"
            )
        await run_migrations(dsn, settings)
        pool = await open_pool(dsn, settings)
        return cls(pool, settings, embedder)

    @property
    def settings(self) -> MemorySettings:
        return self._settings

    async def _embed_one(self, text: str) -> Vector:
        [vector] = await self._embedder.embed([text])
        return as_vector(vector)

    async def retrieve(self, query: RetrievalQuery) -> RetrievalResult:
        """The tenant's (and shared) most similar successes, re-ranked, and similar failures."""
        s = self._settings
        async with bounded("memory retrieval", s.retrieve_timeout_seconds):
            vector = await self._embed_one(text_of(query))
            async with self._pool.connection() as conn, conn.transaction():
                await conn.execute(
                    "SELECT set_config('hnsw.ef_search', %s, true),"
                    " set_config('hnsw.iterative_scan', 'relaxed_order', true)",
                    (str(max(s.ef_search, s.candidate_k)),),
                )
                similar_rows = await self._nearest(conn, query, vector, failures=False)
                failure_rows: list[dict[str, Any]] = []
                if s.failures_k > 0:
                    failure_rows = await self._nearest(conn, query, vector, failures=True)
        failures = [to_past(r) for r in failure_rows]
        failures = [f for f in failures if f.similarity >= s.min_similarity]
        failures.sort(key=lambda p: -p.similarity)
        return RetrievalResult(
            similar=rerank(similar_rows, query, s, datetime.now(UTC)), failures=failures
        )

    async def _nearest(
        self, conn: Any, query: RetrievalQuery, vector: Vector, *, failures: bool
    ) -> list[dict[str, Any]]:
        """Exact search when the filters keep few rows, the HNSW index otherwise."""
        s = self._settings
        if s.exact_search_max_rows > 0:
            sql, params = candidate_sql(query, s, failures=failures, exact=True)
            cur = await conn.execute(sql, {**params, "vector": vector})
            rows: list[dict[str, Any]] = await cur.fetchall()
            if not rows or int(rows[0]["matched"]) <= s.exact_search_max_rows:
                return rows
        sql, params = candidate_sql(query, s, failures=failures, exact=False)
        cur = await conn.execute(sql, {**params, "vector": vector})
        found: list[dict[str, Any]] = await cur.fetchall()
        return found

    async def record(self, record: DeploymentRecord) -> None:
        """Insert or merge the deployment (xr_uid, revision); never loses what is known.

        Monotonic per (xr_uid, revision), whichever replica writes and in whatever order:
        `pending` never replaces a known outcome (success, failed, degraded), metadata and
        metrics are merged key by key, a missing cost keeps the stored one, and feedback
        (`record.feedback`, with its comment) is written only when the record carries it.
        Raises MemoryTenantConflict when the row belongs to another namespace.
        """
        async with bounded("memory write", self._settings.write_timeout_seconds):
            text = text_of(record)
            vector = await self._embed_one(text)
            params = {
                **record.model_dump(
                    include={
                        "xr_uid",
                        "revision",
                        "deployment_name",
                        "namespace",
                        "framework",
                        "language",
                        "strategy",
                        "region",
                        "outcome",
                        "monthly_cost",
                        "scope",
                        "feedback",
                        "feedback_comment",
                    }
                ),
                "content": text,
                "embedding": vector,
                "metadata": Jsonb(record.metadata),
                "metrics": Jsonb(record.metrics),
            }
            async with self._pool.connection() as conn:
                row = await (await conn.execute(_UPSERT, params)).fetchone()
        if row is None:
            raise MemoryTenantConflict(
                f"xr {record.xr_uid} revision {record.revision} belongs to another namespace"
            )

    async def observations(
        self, namespace: str, framework: str | None, language: str | None, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Stored deployments of the tenant (and shared ones) of this framework or language
        that carry observed metrics, newest first: the capacity model learns from them.
        Rows: repository, framework, language, region, metadata, metrics, outcome."""
        async with (
            bounded("memory observations", self._settings.retrieve_timeout_seconds),
            self._pool.connection() as conn,
        ):
            cur = await conn.execute(
                "SELECT metadata->>'repository' AS repository, framework, language, region,"
                " metadata, metrics, outcome FROM deployment_embeddings"
                " WHERE (namespace = %(ns)s OR scope = 'shared') AND metrics <> '{}'::jsonb"
                " AND (framework = %(fw)s OR language = %(lang)s)"
                " ORDER BY updated_at DESC LIMIT %(limit)s",
                {"ns": namespace, "fw": framework, "lang": language, "limit": limit},
            )
            rows: list[dict[str, Any]] = await cur.fetchall()
        return rows

    async def set_feedback(
        self, xr_uid: str, revision: int, feedback: int, comment: str | None
    ) -> None:
        """Feedback -1 (bad), 0 (none), 1 (good) on one stored deployment."""
        if feedback not in (-1, 0, 1):
            raise ValueError("feedback must be -1, 0 or 1")
        async with (
            bounded("memory feedback", self._settings.write_timeout_seconds),
            self._pool.connection() as conn,
        ):
            cur = await conn.execute(
                "UPDATE deployment_embeddings SET user_feedback = %s, feedback_comment = %s,"
                " updated_at = now() WHERE xr_uid = %s AND revision = %s RETURNING id",
                (feedback, comment, xr_uid, revision),
            )
            row = await cur.fetchone()
        if row is None:
            raise MemoryRecordNotFound(f"no stored deployment {xr_uid} revision {revision}")

    async def stats(self, namespace: str | None = None) -> MemoryStats:
        """Counts of stored deployments, of one namespace's own records when given."""
        where, params = ("WHERE namespace = %(ns)s", {"ns": namespace}) if namespace else ("", {})
        async with (
            bounded("memory stats", self._settings.retrieve_timeout_seconds * 5),
            self._pool.connection() as conn,
        ):
            outcome_rows = await (
                await conn.execute(
                    f"SELECT outcome AS k, count(*) AS n FROM deployment_embeddings {where}"  # noqa: S608
                    " GROUP BY outcome",
                    params,
                )
            ).fetchall()
            strategy_rows = await (
                await conn.execute(
                    f"SELECT strategy AS k, count(*) AS n FROM deployment_embeddings {where}"  # noqa: S608
                    " GROUP BY strategy",
                    params,
                )
            ).fetchall()
            shared_where = f"{where} AND" if where else "WHERE"
            shared = await (
                await conn.execute(
                    f"SELECT count(*) AS n FROM deployment_embeddings {shared_where}"  # noqa: S608
                    " scope = 'shared'",
                    params,
                )
            ).fetchone()
            profiles = await (
                await conn.execute("SELECT count(*) AS n FROM analysis_profiles")
            ).fetchone()
        by_outcome = {str(r["k"]): int(r["n"]) for r in outcome_rows}
        return MemoryStats(
            namespace=namespace,
            deployments=sum(by_outcome.values()),
            by_outcome=by_outcome,
            by_strategy={str(r["k"]): int(r["n"]) for r in strategy_rows},
            shared=int(shared["n"]) if shared else 0,
            profiles=int(profiles["n"]) if profiles else 0,
        )

    async def close(self) -> None:
        await self._pool.close(timeout=5.0)
