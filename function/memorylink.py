"""Which deployment memory a reconcile talks to, connected once per DSN and reused.

The DSN comes from the function credential `memory-dsn` (a Secret named in the
Composition), else from the server's default (`--memory-dsn`, or the embedded
PostgreSQL started by `--embedded-memory`). Never from the XR. The embedding model is
loaded once, when the server starts, not inside a request.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging

from pydantic import ValidationError

from function.analysis.profile import PROFILE_VERSION, AppProfile
from function.memory.embed import Embedder
from function.memory.errors import MemoryUnavailable
from function.memory.settings import MemorySettings
from function.memory.store import MemoryStore

log = logging.getLogger(__name__)


class MemoryLink:
    def __init__(self, embedder: Embedder | None, default_dsn: str | None = None) -> None:
        self.embedder = embedder
        self.default_dsn = default_dsn
        self._stores: dict[str, MemoryStore] = {}
        self._lock = asyncio.Lock()
        self._failed_at: dict[str, float] = {}

    @property
    def configured(self) -> bool:
        return self.embedder is not None

    async def store(self, dsn: str | None, settings: MemorySettings) -> MemoryStore | None:
        """The store for `dsn` (or the default); None when no memory is configured.

        Raises MemoryUnavailable when the database cannot be reached; a failed connect is
        not retried for a few seconds, so an outage costs a reconcile nothing.
        """
        dsn = dsn or self.default_dsn
        if dsn is None or self.embedder is None or not settings.enabled:
            return None
        key = hashlib.sha256(f"{dsn}|{settings.model_dump_json()}".encode()).hexdigest()
        found = self._stores.get(key)
        if found is not None:
            return found
        loop = asyncio.get_running_loop()
        if loop.time() - self._failed_at.get(key, -1e9) < 5.0:
            raise MemoryUnavailable("the deployment memory was unreachable moments ago")
        async with self._lock:
            found = self._stores.get(key)
            if found is not None:
                return found
            try:
                store = await MemoryStore.connect(dsn, settings, self.embedder)
            except MemoryUnavailable:
                self._failed_at[key] = loop.time()
                raise
            self._stores[key] = store
            return store

    async def close(self) -> None:
        for s in self._stores.values():
            await s.close()
        self._stores.clear()


class SharedProfileCache:
    """The analyzer's ProfileCache on the deployment memory, so a restarted replica does not
    clone every repository again. An outage is a cache miss, never a failed analysis."""

    def __init__(self, store: MemoryStore) -> None:
        self._pg = store.profile_cache

    async def get(self, url: str, sha: str) -> AppProfile | None:
        try:
            raw = await self._pg.get(url, sha)
        except MemoryUnavailable:
            return None
        if raw is None or raw.get("version") != PROFILE_VERSION:
            return None
        try:
            return AppProfile.model_validate(raw)
        except ValidationError:
            return None

    async def put(self, url: str, sha: str, profile: AppProfile) -> None:
        try:
            await self._pg.put(url, sha, profile.model_dump(mode="json"))
        except MemoryUnavailable:
            log.warning("could not keep the profile of %s in the deployment memory", url)
