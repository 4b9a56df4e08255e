"""Migrations on the real embedded PostgreSQL: idempotent, and safe when replicas race."""

from __future__ import annotations

import asyncio

import psycopg

from function.memory.migrations import MIGRATIONS
from function.memory.settings import MemorySettings
from function.memory.store import run_migrations


def _schema(dsn: str) -> tuple[list[int], list[str]]:
    with psycopg.connect(dsn) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM scia_schema_migrations")]
        indexes = [
            r[0]
            for r in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'deployment_embeddings'"
            )
        ]
    return sorted(versions), sorted(indexes)


async def test_migrations_apply_once_and_then_do_nothing(fresh_dsn: str) -> None:
    settings = MemorySettings()
    first = await run_migrations(fresh_dsn, settings)
    second = await run_migrations(fresh_dsn, settings)
    assert first == [m.version for m in MIGRATIONS]
    assert second == []
    versions, indexes = _schema(fresh_dsn)
    assert versions == [m.version for m in MIGRATIONS]
    assert "deployment_embeddings_embedding_hnsw" in indexes


async def test_concurrent_migrators_apply_each_version_exactly_once(fresh_dsn: str) -> None:
    settings = MemorySettings()
    results = await asyncio.gather(*(run_migrations(fresh_dsn, settings) for _ in range(6)))
    applied = [v for r in results for v in r]
    assert sorted(applied) == [m.version for m in MIGRATIONS]
    assert _schema(fresh_dsn)[0] == [m.version for m in MIGRATIONS]
