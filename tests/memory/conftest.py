"""Memory fixtures. The server, the model and fresh databases come from tests/conftest.py:
each test gets a database of its own, so tests never see each other's rows and the
migrations run on a clean schema every time."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from function.memory.embed import MiniLMEmbedder
from function.memory.settings import MemorySettings
from function.memory.store import MemoryStore

pytestmark = pytest.mark.integration


@pytest.fixture
def settings() -> MemorySettings:
    return MemorySettings(retrieve_timeout_seconds=5.0, min_similarity=0.0)


@pytest.fixture
async def store(
    fresh_dsn: str, settings: MemorySettings, embedder: MiniLMEmbedder
) -> AsyncIterator[MemoryStore]:
    memory = await MemoryStore.connect(fresh_dsn, settings, embedder)
    try:
        yield memory
    finally:
        await memory.close()
