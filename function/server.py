"""What a server process holds for its whole life: the embedding model, the memory, the jobs.

The model is loaded here, once, at start-up (never inside a request). The embedded
PostgreSQL, when asked for, is started here and stopped at exit.
"""

from __future__ import annotations

import atexit
import logging
from pathlib import Path
from typing import Literal

from function.decide.engine import DecisionEngine
from function.decide.jobs import DecisionJobs
from function.fn import FunctionRunner
from function.memory.db import redact_dsn
from function.memory.embed import Embedder
from function.memorylink import MemoryLink
from function.reconcile import Reconciler

log = logging.getLogger(__name__)

MemoryMode = Literal["auto", "on", "off"]


def load_embedder(mode: MemoryMode) -> Embedder | None:
    """The MiniLM model, or None when memory is off (or, in auto mode, not installed)."""
    if mode == "off":
        return None
    try:
        from function.memory.embed import MiniLMEmbedder

        embedder = MiniLMEmbedder.load()
    except ImportError as e:
        if mode == "on":
            raise
        log.warning("deployment memory off: the embedding model is not installed (%s)", e)
        return None
    log.info("embedding model loaded", extra={"dimensions": embedder.dimensions})
    return embedder


def start_embedded_memory(data_dir: str) -> str:
    from function.memory.embedded import start_embedded

    db = start_embedded(Path(data_dir))
    atexit.register(db.stop)
    log.info("embedded PostgreSQL started", extra={"dsn": redact_dsn(db.dsn), "data": data_dir})
    return db.dsn


def build_runner(
    memory: MemoryMode = "auto",
    memory_dsn: str | None = None,
    embedded_dir: str | None = None,
    workers: int = 4,
) -> FunctionRunner:
    embedder = load_embedder(memory)
    dsn = memory_dsn
    if embedded_dir and embedder is not None:
        dsn = start_embedded_memory(embedded_dir)
    link = MemoryLink(embedder, dsn)
    return FunctionRunner(Reconciler(DecisionEngine(memory=link), DecisionJobs(workers=workers)))
