"""The real LLM server (Ollama + SmolLM2-135M) for the tests that talk to a real model: one per
test session, started on first use."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.real_ollama import RealOllama, real_ollama


@pytest.fixture(scope="session")
def ollama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealOllama]:
    with real_ollama(tmp_path_factory.mktemp("ollama")) as server:
        yield server
