"""Versioned schema migrations, applied at start-up under a PostgreSQL advisory lock.

Every replica may start at once: each takes `pg_advisory_lock(MIGRATION_LOCK_KEY)`,
applies the versions missing from `scia_schema_migrations` (each in its own
transaction) and releases the lock; the others then find nothing to do. The
statements are idempotent as well (IF NOT EXISTS), so a half-applied history
heals on the next start.

Vector index: HNSW (m=16, ef_construction=64) on cosine distance, plus b-trees on
(namespace, framework, outcome) and, for the shared pool, (framework, outcome) WHERE
scope = 'shared'. Measured with bench/memory_bench.py (2 cores, 300 filtered queries,
real MiniLM vectors): at 10k rows HNSW and IVFFlat (lists=100, probes 10) both give
recall@5 1.0; at 100k rows (the tenant + framework filter keeps ~530 rows) HNSW
ef_search=100 with `hnsw.iterative_scan = relaxed_order` gives recall@5 1.0 (0.97-0.99 at
ef_search=40), IVFFlat probes=10 also 1.0, but both walk the vector index under such a
selective filter: SQL p50 36-50 ms. So retrieval (retrieve.py) searches exactly over the
rows the b-trees keep when they are few (<= exactSearchMaxRows, recall 1.0 by
construction) and uses HNSW otherwise: MemoryStore.retrieve at 100k rows p50 7.4 ms,
p99 11.5 ms with shared_buffers 512MB (p50 12 ms, p99 43 ms with PostgreSQL's default
128MB, where the scattered rows miss the buffer cache). HNSW stays the index: it needs
no rebuild as the table grows (IVFFlat's lists are fixed at build time).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import AsyncConnection

MIGRATION_LOCK_KEY = 0x5C1A_3E30  # any constant: "scia memory"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "deployment embeddings",
        (
            "CREATE EXTENSION IF NOT EXISTS vector",
            """
            CREATE TABLE IF NOT EXISTS deployment_embeddings (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                xr_uid text NOT NULL,
                revision integer NOT NULL CHECK (revision >= 0),
                deployment_name text NOT NULL,
                namespace text NOT NULL,
                framework text,
                language text,
                strategy text NOT NULL,
                region text,
                content text NOT NULL,
                embedding vector(384) NOT NULL,
                metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
                outcome text NOT NULL DEFAULT 'pending'
                    CHECK (outcome IN ('pending', 'success', 'failed', 'degraded')),
                monthly_cost double precision CHECK (monthly_cost >= 0),
                metrics jsonb NOT NULL DEFAULT '{}'::jsonb,
                user_feedback smallint NOT NULL DEFAULT 0
                    CHECK (user_feedback BETWEEN -1 AND 1),
                feedback_comment text,
                scope text NOT NULL DEFAULT 'private' CHECK (scope IN ('private', 'shared')),
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                CONSTRAINT deployment_embeddings_xr_revision UNIQUE (xr_uid, revision)
            )
            """,
            """
            CREATE INDEX IF NOT EXISTS deployment_embeddings_embedding_hnsw
                ON deployment_embeddings USING hnsw (embedding vector_cosine_ops)
                WITH (m = 16, ef_construction = 64)
            """,
            """
            CREATE INDEX IF NOT EXISTS deployment_embeddings_tenant
                ON deployment_embeddings (namespace, framework, outcome)
            """,
            """
            CREATE INDEX IF NOT EXISTS deployment_embeddings_shared
                ON deployment_embeddings (framework, outcome) WHERE scope = 'shared'
            """,
        ),
    ),
    Migration(
        2,
        "analysis profiles",
        (
            """
            CREATE TABLE IF NOT EXISTS analysis_profiles (
                url text NOT NULL,
                sha text NOT NULL,
                profile jsonb NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (url, sha)
            )
            """,
        ),
    ),
    Migration(
        3,
        "decision jobs shared by the replicas",
        (
            """
            CREATE TABLE IF NOT EXISTS scia_decision_jobs (
                key text PRIMARY KEY,
                state text NOT NULL CHECK (state IN ('running', 'done', 'failed')),
                owner text NOT NULL,
                lease_until timestamptz NOT NULL,
                attempts integer NOT NULL DEFAULT 1,
                result text,
                error_kind text,
                error text,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX IF NOT EXISTS scia_decision_jobs_updated"
            " ON scia_decision_jobs (updated_at)",
        ),
    ),
)

_LEDGER = """
CREATE TABLE IF NOT EXISTS scia_schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


async def migrate(conn: AsyncConnection[Any]) -> list[int]:
    """Apply the missing migrations; returns the versions this call applied.

    `conn` must be in autocommit mode; its statement_timeout bounds the lock wait.
    """
    await conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
    try:
        await conn.execute(_LEDGER)
        cur = await conn.execute("SELECT version FROM scia_schema_migrations")
        done = {_first(row) for row in await cur.fetchall()}
        applied = []
        for migration in MIGRATIONS:
            if migration.version in done:
                continue
            async with conn.transaction():
                for statement in migration.statements:
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO scia_schema_migrations (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )
            applied.append(migration.version)
        return applied
    finally:
        # On failure the caller closes the connection, which releases the lock too.
        with contextlib.suppress(psycopg.Error):
            await conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))


def _first(row: Any) -> int:
    value = next(iter(row.values())) if isinstance(row, dict) else row[0]
    return int(value)
