"""Connection to PostgreSQL: DSN from credentials, TLS and timeouts, the async pool."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pgvector.psycopg import register_vector_async
from psycopg import conninfo as pg_conninfo
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from function.memory.errors import MemoryUnavailable
from function.memory.settings import MemorySettings

log = logging.getLogger(__name__)

_PART_KEYS = ("host", "port", "user", "password", "dbname", "sslmode", "sslrootcert")
_SECRET_KEYS = {"password", "passfile", "sslpassword"}


def dsn_from_credentials(data: Mapping[str, bytes]) -> str:
    """The DSN of a Crossplane function credential (a Secret's data).

    Accepts key `dsn` (a URI or key=value string), or the keys host, port, user,
    password, dbname (or database), sslmode, sslrootcert.
    """
    text = {k: v.decode("utf-8").strip() for k, v in data.items()}
    if text.get("dsn"):
        dsn = text["dsn"]
        pg_conninfo.conninfo_to_dict(dsn)  # raises ProgrammingError on garbage
        return dsn
    if "database" in text and "dbname" not in text:
        text["dbname"] = text["database"]
    if not text.get("host"):
        raise ValueError("the memory credential needs key 'dsn' or at least 'host'")
    parts = {k: text[k] for k in _PART_KEYS if text.get(k)}
    return pg_conninfo.make_conninfo("", **parts)


def redact_dsn(dsn: str) -> str:
    """The DSN with its password replaced, safe to log."""
    try:
        params = pg_conninfo.conninfo_to_dict(dsn)
    except Exception:
        return "<unparsable dsn>"
    shown = {k: ("***" if k in _SECRET_KEYS else v) for k, v in params.items()}
    return pg_conninfo.make_conninfo("", **shown)


def connection_kwargs(settings: MemorySettings) -> dict[str, Any]:
    """Per-connection options: connect timeout, statement timeout, TLS overrides."""
    kwargs: dict[str, Any] = {
        "connect_timeout": max(1, round(settings.connect_timeout_seconds)),
        "options": f"-c statement_timeout={settings.statement_timeout_ms}",
        "application_name": "function-scia",
        "autocommit": True,
        "row_factory": dict_row,
    }
    if settings.sslmode is not None:
        kwargs["sslmode"] = settings.sslmode
    if settings.sslrootcert is not None:
        kwargs["sslrootcert"] = settings.sslrootcert
    return kwargs


def conninfo_for(dsn: str, settings: MemorySettings) -> str:
    """The DSN with the settings' options merged in (for one-off connections)."""
    python_only = ("autocommit", "row_factory")
    extra = {k: v for k, v in connection_kwargs(settings).items() if k not in python_only}
    return pg_conninfo.make_conninfo(dsn, **extra)


async def open_pool(dsn: str, settings: MemorySettings) -> AsyncConnectionPool[Any]:
    """Open the pool and wait for its first connections; MemoryUnavailable if none come.

    Each connection gets pgvector's adapters (vectors travel in binary, as
    `pgvector.Vector`), so the migrations (which create the extension) must have run.
    """
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        dsn,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        kwargs=connection_kwargs(settings),
        open=False,
        timeout=settings.retrieve_timeout_seconds,
        check=AsyncConnectionPool.check_connection,
        configure=register_vector_async,
        reconnect_timeout=60.0,
        name="scia-memory",
    )
    try:
        await pool.open(wait=True, timeout=settings.connect_timeout_seconds + 1.0)
    except Exception as err:
        await pool.close(timeout=1.0)
        raise MemoryUnavailable(
            f"cannot connect to the memory database {redact_dsn(dsn)}: {type(err).__name__}"
        ) from None
    log.info("memory database pool open: %s", redact_dsn(dsn))
    return pool
