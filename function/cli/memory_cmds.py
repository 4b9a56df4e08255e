"""`scia memory stats` and `scia memory search`: what the deployment memory holds."""

from __future__ import annotations

import asyncio
from typing import Any

import click
import psycopg
from pgvector.psycopg import register_vector_async
from psycopg.rows import dict_row

from function.cli.memorydb import dsn_option, open_store, resolve_dsn, runtime
from function.cli.output import OUTPUT_OPTION, emit, fields, money, table
from function.memory.db import conninfo_for
from function.memory.guard import bounded
from function.memory.models import MemoryStats, PastDeployment
from function.memory.retrieve import COLUMNS, as_vector, to_past
from function.memory.settings import MemorySettings

_SEARCH = (
    f"SELECT {COLUMNS}, embedding <=> %(vector)s AS distance "  # noqa: S608
    "FROM deployment_embeddings WHERE {where} "
    "ORDER BY embedding <=> %(vector)s LIMIT %(limit)s"
)


@click.group()
def memory() -> None:
    """The deployment memory (PostgreSQL + pgvector)."""


def stats_text(s: dict[str, Any]) -> str:
    def counts(d: dict[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "-"

    return fields(
        [
            ("namespace", s["namespace"] or "(all)"),
            ("deployments", s["deployments"]),
            ("by outcome", counts(s["byOutcome"])),
            ("by strategy", counts(s["byStrategy"])),
            ("shared", s["shared"]),
            ("analysis profiles", s["profiles"]),
        ]
    )


async def _stats(dsn: str, namespace: str | None) -> MemoryStats:
    async with open_store(dsn, runtime()) as (store, _):
        return await store.stats(namespace)


@memory.command()
@click.option("--namespace", default=None, help="only this namespace's own records")
@dsn_option
@OUTPUT_OPTION
def stats(namespace: str | None, dsn: str | None, output: str) -> None:
    """Counts of stored deployments by outcome and strategy."""
    got = asyncio.run(_stats(resolve_dsn(dsn), namespace))
    emit(got.model_dump(mode="json", by_alias=True), output, stats_text)


async def nearest(
    dsn: str,
    settings: MemorySettings,
    vector: list[float],
    namespace: str | None,
    top_k: int,
    framework: str | None,
) -> list[PastDeployment]:
    """The stored deployments nearest to `vector`, whatever their outcome or feedback.

    With a namespace: what that tenant can see (its own and shared records), as retrieval
    does; without: every namespace (an operator's view).
    """
    where = ["true"]
    params: dict[str, Any] = {"vector": as_vector(vector), "limit": top_k}
    if namespace:
        where.append("(namespace = %(namespace)s OR scope = 'shared')")
        params["namespace"] = namespace
    if framework:
        where.append("framework = %(framework)s")
        params["framework"] = framework
    sql = _SEARCH.format(where=" AND ".join(where))
    async with bounded("memory search", settings.retrieve_timeout_seconds):
        conn = await psycopg.AsyncConnection.connect(
            conninfo_for(dsn, settings), autocommit=True, row_factory=dict_row
        )
        try:
            await register_vector_async(conn)
            async with conn.transaction():
                await conn.execute("SET LOCAL hnsw.ef_search = 200")
                await conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
                rows = await (await conn.execute(sql, params)).fetchall()
        finally:
            await conn.close()
    return [to_past(r) for r in rows]


async def _search(
    dsn: str, text: str, namespace: str | None, top_k: int, framework: str | None
) -> list[PastDeployment]:
    rt = runtime()
    async with open_store(dsn, rt) as (store, embedder):
        [vector] = await embedder.embed([text])
        return await nearest(dsn, store.settings, vector, namespace, top_k, framework)


def search_text(found: list[dict[str, Any]]) -> str:
    if not found:
        return "nothing stored matches\n"
    return table(
        [
            "SIMILARITY",
            "DEPLOYMENT",
            "REV",
            "STRATEGY",
            "OUTCOME",
            "MONTHLY",
            "FEEDBACK",
            "FRAMEWORK",
            "SCOPE",
        ],
        [
            [
                f"{p['similarity']:.3f}",
                f"{p['namespace']}/{p['deploymentName']}",
                p["revision"],
                p["strategy"],
                p["outcome"],
                money(p["monthlyCost"]),
                p["feedback"],
                p["framework"],
                p["scope"],
            ]
            for p in found
        ],
    )


@memory.command()
@click.argument("text")
@click.option(
    "--namespace", default=None, help="search as this tenant (its own and shared records)"
)
@click.option("--framework", default=None, help="only this framework")
@click.option("--top-k", type=click.IntRange(1, 100), default=5, show_default=True)
@dsn_option
@OUTPUT_OPTION
def search(
    text: str,
    namespace: str | None,
    framework: str | None,
    top_k: int,
    dsn: str | None,
    output: str,
) -> None:
    """Stored deployments most similar in meaning to TEXT (any outcome)."""
    if not text.strip():
        raise click.BadParameter("empty", param_hint="TEXT")
    found = asyncio.run(_search(resolve_dsn(dsn), text, namespace, top_k, framework))
    emit(
        [p.model_dump(mode="json", by_alias=True, exclude={"score"}) for p in found],
        output,
        search_text,
    )
