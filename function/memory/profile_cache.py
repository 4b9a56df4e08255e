"""Analysis profiles persisted by (url, sha): the analyzer's `ProfileCache` on PostgreSQL."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from function.memory.guard import bounded
from function.memory.settings import MemorySettings


class PgProfileCache:
    """`get` and `put` raise MemoryUnavailable when the database is out or slow."""

    def __init__(self, pool: AsyncConnectionPool[Any], settings: MemorySettings) -> None:
        self._pool = pool
        self._settings = settings

    async def get(self, url: str, sha: str) -> dict[str, Any] | None:
        async with (
            bounded("profile lookup", self._settings.retrieve_timeout_seconds),
            self._pool.connection() as conn,
        ):
            cur = await conn.execute(
                "SELECT profile FROM analysis_profiles WHERE url = %s AND sha = %s", (url, sha)
            )
            row = await cur.fetchone()
        if row is None:
            return None
        profile: dict[str, Any] = row["profile"]
        return profile

    async def put(self, url: str, sha: str, profile_json: dict[str, Any]) -> None:
        async with (
            bounded("profile write", self._settings.write_timeout_seconds),
            self._pool.connection() as conn,
        ):
            await conn.execute(
                """
                INSERT INTO analysis_profiles (url, sha, profile) VALUES (%s, %s, %s)
                ON CONFLICT (url, sha) DO UPDATE
                    SET profile = EXCLUDED.profile, updated_at = now()
                """,
                (url, sha, Jsonb(profile_json)),
            )
