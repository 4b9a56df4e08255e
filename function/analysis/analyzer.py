"""The analyzer: URL + ref (+ credential) -> AppProfile, safely, cached per commit."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import threading
from collections.abc import Callable

from function.analysis.cache import LruProfileCache, ProfileCache, RefCache
from function.analysis.credentials import RepoCredentials
from function.analysis.errors import AnalysisError
from function.analysis.fetch import (
    FULL_SHA,
    FetchError,
    check_ref,
    fetch_commit,
    read_commit,
    resolve_ref,
)
from function.analysis.gitrun import GitSession
from function.analysis.local import AnalysisFailed, analyze_path, run_in_worker
from function.analysis.pool import WorkerPool
from function.analysis.profile import AppProfile
from function.analysis.remote import Remote, RemoteRefusedError, guard, parse_remote, redact
from function.analysis.settings import AnalysisSettings
from function.analysis.tree import MemoryTree
from function.metrics import count_cache

__all__ = [
    "AnalysisError",
    "AnalysisSettings",
    "Analyzer",
    "ProfileCache",
    "RepoCredentials",
    "analyze_path",
]

log = logging.getLogger(__name__)


def _scrub(text: str, credentials: RepoCredentials | None) -> str:
    text = redact(text)
    for secret in credentials.secrets() if credentials else []:
        text = text.replace(secret, "***")
    return text


def _who(credentials: RepoCredentials | None) -> str:
    """A cache partition per credential (its hash), so one tenant's token cannot let
    another resolve refs of a private repository."""
    if credentials is None:
        return ""
    material = "\0".join([credentials.username or "", *credentials.secrets()])
    return hashlib.sha256(material.encode()).hexdigest()[:16]


class Analyzer:
    """Analyze repositories by URL. Safe to share between concurrent requests."""

    def __init__(
        self,
        settings: AnalysisSettings,
        cache: ProfileCache | None = None,
        pool: WorkerPool | None = None,
    ) -> None:
        self.settings = settings
        self._pool = pool
        self._local = LruProfileCache(settings.cache_size)
        self._shared = cache
        self._refs = RefCache(settings.ref_cache_seconds)
        self._inflight: dict[tuple[str, str], asyncio.Future[AppProfile]] = {}
        self._fetches = asyncio.Semaphore(settings.max_concurrent_fetches)

    def _remote(self, url: str, ref: str) -> Remote:
        try:
            return parse_remote(url, allow_file=self.settings.allow_file_urls)
        except RemoteRefusedError as refused:
            raise AnalysisError(redact(url), ref, str(refused)) from None

    async def _session(
        self, remote: Remote, ref: str, credentials: RepoCredentials | None
    ) -> GitSession:
        try:
            pinned = await guard(
                remote,
                allow_private=self.settings.allow_private_addresses,
                seconds=self.settings.resolve_timeout_seconds,
            )
        except RemoteRefusedError as refused:
            raise AnalysisError(remote.display, ref, str(refused)) from None
        return GitSession(
            remote,
            pinned=pinned,
            allow_file=self.settings.allow_file_urls,
            credentials=credentials,
            known_hosts=self.settings.ssh_known_hosts,
            work_dir=self.settings.work_dir,
            ca_bundle=self.settings.ca_bundle,
        )

    async def resolve(self, url: str, ref: str, credentials: RepoCredentials | None = None) -> str:
        """The commit SHA `ref` names. A full SHA needs no network; names are cached briefly."""
        remote = self._remote(url, ref)
        try:
            checked = check_ref(ref)
        except FetchError as failed:
            raise AnalysisError(remote.display, ref, str(failed)) from None
        if FULL_SHA.match(checked.lower()):
            return checked.lower()
        who = _who(credentials)
        cached = self._refs.get(remote.cache_key, checked, who)
        if cached is not None:
            return cached
        session = await self._session(remote, ref, credentials)
        try:
            async with session as git:
                sha = await resolve_ref(git, checked, self.settings.resolve_timeout_seconds)
        except FetchError as failed:
            raise AnalysisError(remote.display, ref, _scrub(str(failed), credentials)) from None
        except OSError:
            raise AnalysisError(remote.display, ref, "git could not be started") from None
        self._refs.put(remote.cache_key, checked, who, sha)
        return sha

    async def analyze(
        self, url: str, ref: str, credentials: RepoCredentials | None = None
    ) -> AppProfile:
        """The profile of `url` at `ref`; an unchanged commit is served from the cache."""
        remote = self._remote(url, ref)
        sha = await self.resolve(url, ref, credentials)
        key = (remote.cache_key, sha)
        profile = self._local.get_now(*key)
        count_cache("profile", hit=profile is not None)
        if profile is None and self._shared is not None:
            profile = await self._shared.get(*key)
            count_cache("profile-shared", hit=profile is not None)
            if profile is not None:
                await self._local.put(*key, profile)
        if profile is None:
            profile = await self._analyze_once(remote, ref, sha, credentials)
        if profile.ref != ref:
            profile = profile.model_copy(update={"ref": ref})
        return profile

    async def _analyze_once(
        self, remote: Remote, ref: str, sha: str, credentials: RepoCredentials | None
    ) -> AppProfile:
        key = (remote.cache_key, sha)
        running = self._inflight.get(key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[AppProfile] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            profile = await self._fetch_and_profile(remote, ref, sha, credentials)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # mark retrieved: waiters may not exist
            raise
        finally:
            self._inflight.pop(key, None)
        future.set_result(profile)
        await self._local.put(*key, profile)
        if self._shared is not None:
            try:
                await asyncio.wait_for(self._shared.put(*key, profile), 5.0)
            except Exception:  # a failing shared cache must not fail the analysis
                log.warning("could not store the profile of %s in the shared cache", key[0])
        return profile

    async def _fetch_and_profile(
        self, remote: Remote, ref: str, sha: str, credentials: RepoCredentials | None
    ) -> AppProfile:
        session = await self._session(remote, ref, credentials)
        settings = self.settings
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.timeout_seconds
        try:
            async with self._fetches, session as git:
                async with asyncio.timeout_at(deadline):
                    commit = await fetch_commit(git, sha, settings)
                    tree = await read_commit(git, commit, settings)
        except FetchError as failed:
            raise AnalysisError(remote.display, ref, _scrub(str(failed), credentials)) from None
        except TimeoutError:
            reason = f"took longer than the time limit ({settings.timeout_seconds:g} s)"
            raise AnalysisError(remote.display, ref, reason) from None
        except OSError:
            raise AnalysisError(remote.display, ref, "git could not be started") from None
        job = {"kind": "tree", "url": remote.display, "ref": ref, "commit": commit,
               **tree_job(tree)}  # fmt: skip
        wall = max(deadline - loop.time(), 1.0)
        try:
            return await _in_daemon_thread(run_in_worker, job, settings, wall, self._pool)
        except AnalysisFailed as failed:
            raise AnalysisError(remote.display, ref, failed.reason) from None


async def _in_daemon_thread(
    call: Callable[[dict[str, object], AnalysisSettings, float, WorkerPool | None], AppProfile],
    job: dict[str, object],
    settings: AnalysisSettings,
    wall: float,
    pool: WorkerPool | None,
) -> AppProfile:
    """Wait for the worker in a daemon thread: the event loop stays free, and a server that
    shuts down does not wait for an analysis in flight (the worker dies with it)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[AppProfile] = loop.create_future()

    def settle(result: AppProfile | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            assert result is not None
            future.set_result(result)

    def run() -> None:
        try:
            result = call(job, settings, wall, pool)
        except BaseException as error:  # handed to the awaiting coroutine
            outcome: tuple[AppProfile | None, BaseException | None] = (None, error)
        else:
            outcome = (result, None)
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=run, name="analysis-wait", daemon=True).start()
    return await future


def tree_job(tree: MemoryTree) -> dict[str, object]:
    return {"paths": tree.paths, "contents": tree.raw, "read_bytes": tree.read_bytes}
