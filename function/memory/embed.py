"""Text embeddings: MiniLM in-process (default, minilm.py) or an Ollama server.

Both keep the event loop free: MiniLM encodes in one dedicated worker thread on ONNX
Runtime (the model is opened lazily in that thread, off the request path), Ollama is
called through its async client with a timeout.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from function.memory.embed_cache import MINILM_DIMENSIONS, CachingEmbedder, text_key
from function.memory.minilm import MiniLMEmbedder

__all__ = [
    "MINILM_DIMENSIONS",
    "CachingEmbedder",
    "Embedder",
    "MiniLMEmbedder",
    "OllamaEmbedder",
    "text_key",
]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors of `dimensions` floats (one per text, same order)."""

    @property
    def dimensions(self) -> int: ...

    async def embed(self, texts: list[str]) -> list[list[float]]: ...


def _normalized(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [float(x) / norm for x in vector] if norm > 0 else [float(x) for x in vector]


class OllamaEmbedder(CachingEmbedder):
    """Embeddings from an Ollama server (`POST /api/embed`), e.g. model `all-minilm` (384)."""

    def __init__(
        self,
        host: str,
        model: str = "all-minilm",
        *,
        dimensions: int = MINILM_DIMENSIONS,
        timeout_seconds: float = 10.0,
        batch_size: int = 64,
        cache_size: int = 4096,
    ) -> None:
        import ollama

        super().__init__(cache_size)
        self._client = ollama.AsyncClient(host=host, timeout=timeout_seconds)
        self._model = model
        self._dimensions = dimensions
        self._timeout = timeout_seconds
        self._batch_size = batch_size

    @property
    def dimensions(self) -> int:
        return self._dimensions

    async def _compute(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = texts[start : start + self._batch_size]
            async with asyncio.timeout(self._timeout):
                response = await self._client.embed(model=self._model, input=batch)
            got = [list(v) for v in response.embeddings]
            if len(got) != len(batch):
                raise ValueError(f"ollama returned {len(got)} embeddings for {len(batch)} texts")
            for vector in got:
                if len(vector) != self._dimensions:
                    raise ValueError(
                        f"ollama model {self._model} gives {len(vector)} dimensions, "
                        f"expected {self._dimensions}"
                    )
                vectors.append(_normalized(vector))
        return vectors
