"""What a server process holds for its whole life: the embedding model, the memory, the jobs.

The model is loaded here, once, at start-up (never inside a request). The embedded
PostgreSQL, when asked for, is started here and stopped at exit.

`serve` runs the gRPC server until SIGTERM or SIGINT, then shuts down cleanly: no new
requests are taken, in-flight RunFunction calls finish (up to a grace period), in-flight
decisions and background memory writes are drained (what is still running at the end
is cancelled and awaited, never left pending), connections are closed, and only then
does the event loop close.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import logging
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import grpc
from crossplane.function import runtime
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1
from crossplane.function.proto.v1beta1 import run_function_pb2_grpc as grpcv1beta1
from grpc_reflection.v1alpha import reflection

from function.answers import DEFAULT_MAX_BYTES
from function.decide.coordination import OUTCOME_CODEC, JobBoards
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
    """The MiniLM embedder, or None when memory is off (or, in auto mode, not installed).

    The model (ONNX Runtime, memory/minilm.py) opens in the embedder's worker thread,
    which starts now: the server serves at once, and the first embedding waits for it.
    """
    if mode == "off":
        return None
    from function.memory.minilm import MiniLMEmbedder, ModelMissing

    try:
        embedder = MiniLMEmbedder()
    except ModelMissing as e:
        if mode == "on":
            raise
        log.warning("deployment memory off: the embedding model is not installed (%s)", e)
        return None
    embedder.prefetch()
    log.info("embedding model loading", extra={"model": str(embedder.directory)})
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
    lease_seconds: float = 20.0,
    answer_cache_bytes: int = DEFAULT_MAX_BYTES,
) -> FunctionRunner:
    """The server's runner. With a database (default DSN or per-request credential), decision
    jobs are shared by every replica using it (decide/coordination.py)."""
    embedder = load_embedder(memory)
    dsn = memory_dsn
    if embedded_dir and embedder is not None:
        dsn = start_embedded_memory(embedded_dir)
    link = MemoryLink(embedder, dsn)
    boards = JobBoards(dsn, lease_seconds=lease_seconds)
    jobs = DecisionJobs(workers=workers, boards=boards, codec=OUTCOME_CODEC)
    return FunctionRunner(Reconciler(DecisionEngine(memory=link), jobs), answer_cache_bytes)


def _server(
    runner: FunctionRunner,
    address: str,
    creds: grpc.ServerCredentials | None,
    insecure: bool,
    options: Sequence[tuple[str, Any]] | None,
) -> grpc.aio.Server:
    """The gRPC server the SDK's runtime.serve builds: v1, v1beta1 and reflection."""
    if creds is None and not insecure:
        raise ValueError(
            "no credentials were provided - did you provide credentials or use the insecure flag?"
        )
    server = grpc.aio.server(options=options)
    grpcv1.add_FunctionRunnerServiceServicer_to_server(runner, server)  # type: ignore[no-untyped-call]
    grpcv1beta1.add_FunctionRunnerServiceServicer_to_server(  # type: ignore[no-untyped-call]
        runtime.BetaFunctionRunner(wrapped=runner), server
    )
    reflection.enable_server_reflection(runtime.SERVICE_NAMES, server)
    if creds is not None:
        server.add_secure_port(address, creds)
    if insecure:
        server.add_insecure_port(address)
    return server


async def drain(runner: FunctionRunner, timeout: float) -> None:
    """Let in-flight decisions and memory writes finish within `timeout` seconds, cancel
    (and await) what is left, then close the memory pools and LLM clients."""
    rec = runner.reconciler
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(0.0, timeout)
    cancelled = await rec.jobs.drain(timeout)
    writes = await rec.outcomes.drain(max(0.0, deadline - loop.time()))
    if cancelled or writes:
        log.warning(
            "shutdown: %d decisions and %d memory writes did not finish in time; "
            "they are done again by the next reconcile",
            cancelled,
            writes,
        )
    await rec.outcomes.cancel()
    await rec.engine.close()


def freeze_startup_objects() -> int:
    """Put everything start-up made (modules, classes, schemas, the runner: ~80,000
    objects) out of the cyclic garbage collector's reach, and return how many.

    They live as long as the process, but every full collection would walk them again: at
    2026-11-29 a replica's gen-2 collections each took ~240 ms (load ~11) in the middle of a
    RunFunction, ~50 times a per-call reconcile's CPU; with them frozen, under 1 ms
    (docs/operations/scaling.md). Objects are still freed by reference counting; only
    cycles among the frozen ones would stay, and start-up makes none that die."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


async def _serve(
    runner: FunctionRunner,
    address: str,
    creds: grpc.ServerCredentials | None,
    insecure: bool,
    options: Sequence[tuple[str, Any]] | None,
    grace: float,
    drain_seconds: float,
) -> None:
    server = _server(runner, address, creds, insecure, options)  # on the running loop
    frozen = freeze_startup_objects()
    log.debug("start-up objects frozen out of the GC", extra={"objects": frozen})
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    log.info("serving")
    waiter = loop.create_task(server.wait_for_termination())
    stopper = loop.create_task(stop.wait())
    await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    log.info("shutting down: finishing in-flight requests (up to %gs)", grace)
    await server.stop(grace)
    await drain(runner, drain_seconds)
    for task in (waiter, stopper):
        task.cancel()
    await asyncio.gather(waiter, stopper, return_exceptions=True)
    log.info("stopped")


def serve(
    runner: FunctionRunner,
    address: str,
    *,
    creds: grpc.ServerCredentials | None,
    insecure: bool,
    options: Sequence[tuple[str, Any]] | None = None,
    grace_seconds: float = 15.0,
    drain_seconds: float = 10.0,
) -> None:
    """Serve RunFunction on `address` until SIGTERM/SIGINT, then shut down cleanly.

    grace_seconds: how long in-flight RunFunction calls may take to finish once stopping.
    drain_seconds: how long in-flight decisions and background writes may take after that.
    Kubernetes waits terminationGracePeriodSeconds (30 s by default) before SIGKILL: keep
    the sum below it. Raises ValueError without credentials unless `insecure`.
    """
    asyncio.run(_serve(runner, address, creds, insecure, options, grace_seconds, drain_seconds))
