"""Degradation: an unreachable, stopped or slow database gives MemoryUnavailable, fast."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import psycopg
import pytest

from function.memory.embed import MiniLMEmbedder
from function.memory.embedded import EmbeddedDatabase
from function.memory.errors import MemoryUnavailable
from function.memory.models import RetrievalQuery
from function.memory.settings import MemorySettings
from function.memory.store import MemoryStore
from tests.memory.helpers import record

QUERY = RetrievalQuery(namespace="team-a", framework="flask", language="python")
FAST = MemorySettings(
    retrieve_timeout_seconds=1.0,
    write_timeout_seconds=1.0,
    connect_timeout_seconds=1.0,
    migration_timeout_seconds=3.0,
    min_similarity=0.0,
)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in accepted:
            conn.close()
        listener.close()


async def test_connect_to_a_silent_server_fails_with_memory_unavailable(
    silent_server: int, embedder: MiniLMEmbedder
) -> None:
    dsn = f"host=127.0.0.1 port={silent_server} user=x dbname=x"
    with pytest.raises(MemoryUnavailable) as info:
        await asyncio.wait_for(MemoryStore.connect(dsn, FAST, embedder), timeout=30)
    assert "password" not in str(info.value)


async def test_connect_to_nothing_fails_with_memory_unavailable(
    embedder: MiniLMEmbedder,
) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    dsn = f"postgresql://scia:secret-pw@127.0.0.1:{port}/memory"
    with pytest.raises(MemoryUnavailable) as info:
        await asyncio.wait_for(MemoryStore.connect(dsn, FAST, embedder), timeout=30)
    assert "secret-pw" not in str(info.value)


async def test_a_locked_table_makes_retrieval_time_out(
    fresh_dsn: str, embedder: MiniLMEmbedder
) -> None:
    memory = await MemoryStore.connect(fresh_dsn, FAST, embedder)
    try:
        await memory.record(record("r1"))
        async with await psycopg.AsyncConnection.connect(fresh_dsn) as blocker:
            await blocker.execute("LOCK TABLE deployment_embeddings IN ACCESS EXCLUSIVE MODE")
            with pytest.raises(MemoryUnavailable, match="longer than"):
                await asyncio.wait_for(memory.retrieve(QUERY), timeout=30)
            await blocker.rollback()
        result = await memory.retrieve(QUERY)
        assert [p.xr_uid for p in result.similar] == ["r1"]
    finally:
        await memory.close()


async def test_server_stop_gives_memory_unavailable_and_the_pool_recovers(
    embedded_db: EmbeddedDatabase, fresh_dsn: str, embedder: MiniLMEmbedder
) -> None:
    memory = await MemoryStore.connect(fresh_dsn, FAST, embedder)
    try:
        await memory.record(record("before"))
        assert (await memory.retrieve(QUERY)).similar
        await asyncio.to_thread(embedded_db.stop)
        try:
            with pytest.raises(MemoryUnavailable):
                await asyncio.wait_for(memory.retrieve(QUERY), timeout=30)
            with pytest.raises(MemoryUnavailable):
                await asyncio.wait_for(memory.record(record("during")), timeout=30)
        finally:
            await asyncio.to_thread(embedded_db.restart)
        recovered = None
        for _ in range(120):  # the pool's reconnect back-off is at most a few seconds here
            try:
                recovered = await memory.retrieve(QUERY)
                break
            except MemoryUnavailable:
                await asyncio.sleep(0.5)
        assert recovered is not None
        assert [p.xr_uid for p in recovered.similar] == ["before"]
        await memory.record(record("after"))
        assert (await memory.stats()).deployments == 2
    finally:
        await memory.close()
