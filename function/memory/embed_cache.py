"""What every embedder shares: de-duplication and an LRU of vectors by text hash."""

from __future__ import annotations

import hashlib
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict

MINILM_DIMENSIONS = 384


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


class CachingEmbedder(ABC):
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
