"""Profile caches keyed by (url, commit SHA), and a short-lived ref -> SHA cache."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from function.analysis.profile import AppProfile


@runtime_checkable
class ProfileCache(Protocol):
    """Where profiles of analyzed commits are kept (in-process LRU now; PostgreSQL later).

    `url` is the redacted repository URL (no credentials)."""

    async def get(self, url: str, sha: str) -> AppProfile | None: ...

    async def put(self, url: str, sha: str, profile: AppProfile) -> None: ...


class LruProfileCache:
    """In-process LRU of profiles (a commit never changes, so entries never expire)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, str], AppProfile] = OrderedDict()

    def get_now(self, url: str, sha: str) -> AppProfile | None:
        key = (url, sha)
        profile = self._items.get(key)
        if profile is not None:
            self._items.move_to_end(key)
        return profile

    async def get(self, url: str, sha: str) -> AppProfile | None:
        return self.get_now(url, sha)

    async def put(self, url: str, sha: str, profile: AppProfile) -> None:
        if self._size <= 0:
            return
        self._items[(url, sha)] = profile
        self._items.move_to_end((url, sha))
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class RefCache:
    """ref -> SHA for `ttl` seconds, so a reconcile storm does not hit the git host."""

    def __init__(
        self, ttl: float, size: int = 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._size = size
        self._clock = clock
        self._items: OrderedDict[tuple[str, str, str], tuple[float, str]] = OrderedDict()

    def get(self, url: str, ref: str, who: str) -> str | None:
        key = (url, ref, who)
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= self._clock():
            del self._items[key]
            return None
        return item[1]

    def put(self, url: str, ref: str, who: str, sha: str) -> None:
        if self._ttl <= 0:
            return
        self._items[(url, ref, who)] = (self._clock() + self._ttl, sha)
        self._items.move_to_end((url, ref, who))
        while len(self._items) > self._size:
            self._items.popitem(last=False)
