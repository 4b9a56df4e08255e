"""The memory database a CLI command talks to: --dsn, $SCIA_MEMORY_DSN, or the embedded one.

The embedded default is the same data folder the function server's `--embedded-memory`
and the demo use ($SCIA_DATA_DIR, else ~/.cache/function-scia/pgdata). The embedding
model loads only when a command embeds text (stats never does).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from function.cli.exits import Unreachable
from function.memory.embed import MINILM_DIMENSIONS, Embedder
from function.memory.errors import MemoryUnavailable
from function.memory.settings import MemorySettings
from function.memory.store import MemoryStore

DSN_ENV = "SCIA_MEMORY_DSN"
F = TypeVar("F", bound=Callable[..., Any])


def _load_minilm() -> Embedder:
    from function.memory.embed import MiniLMEmbedder

    return MiniLMEmbedder.load()


@dataclass
class CliRuntime:
    """What the commands build on; tests pass one as click's `obj` to share a loaded model."""

    embedder_factory: Callable[[], Embedder] = _load_minilm
    settings: MemorySettings = field(
        default_factory=lambda: MemorySettings(
            retrieve_timeout_seconds=30,
            write_timeout_seconds=60,
            statement_timeout_ms=60_000,
            connect_timeout_seconds=5,
            min_similarity=-1.0,
        )
    )


class LazyEmbedder:
    """Loads the model on the first text to embed (in a thread), then delegates."""

    def __init__(self, factory: Callable[[], Embedder]) -> None:
        self._factory = factory
        self._model: Embedder | None = None

    @property
    def dimensions(self) -> int:
        return self._model.dimensions if self._model else MINILM_DIMENSIONS

    async def embed(self, texts: list[str]) -> list[list[float]]:
        if self._model is None:
            self._model = await asyncio.to_thread(self._factory)
        return await self._model.embed(texts)


def runtime() -> CliRuntime:
    ctx = click.get_current_context()
    obj = ctx.find_object(CliRuntime)
    return obj if obj is not None else CliRuntime()


def dsn_option(fn: F) -> F:
    return click.option(
        "--dsn",
        envvar=DSN_ENV,
        default=None,
        help=f"PostgreSQL DSN of the memory (env {DSN_ENV}); default: the embedded database",
    )(fn)


def resolve_dsn(dsn: str | None) -> str:
    if dsn:
        return dsn
    try:
        from function.memory.embedded import default_data_dir, start_embedded

        return start_embedded(default_data_dir()).dsn
    except ImportError:
        raise Unreachable(
            f"no --dsn / {DSN_ENV} and the embedded PostgreSQL is not installed "
            "(pip install function-scia[embedded])"
        ) from None
    except Exception as e:
        raise Unreachable(
            f"the embedded PostgreSQL did not start: {type(e).__name__}: {e}"
        ) from None


@contextlib.asynccontextmanager
async def open_store(dsn: str, rt: CliRuntime) -> AsyncIterator[tuple[MemoryStore, Embedder]]:
    embedder = LazyEmbedder(rt.embedder_factory)
    try:
        store = await MemoryStore.connect(dsn, rt.settings, embedder)
    except MemoryUnavailable as e:
        raise Unreachable(f"memory database unreachable: {e}") from None
    try:
        yield store, embedder
    except MemoryUnavailable as e:
        raise Unreachable(f"memory database unreachable: {e}") from None
    finally:
        await store.close()
