"""Background decision jobs: one in flight per key, on a bounded pool, awaited for a bounded time.

A reconcile never waits longer than its budget. When the job is not done yet the
caller answers "Analyzing" with a short TTL, and the next reconcile picks the finished
result up. Finished results are kept for a while, so the reconcile that follows gets
them even if the job ended between two calls.

With a database (`boards`, see coordination.py) a key is one job across every replica:
whichever replica serves the next reconcile reads the result the owner stored. Without
one, jobs are per replica: each replica that serves a reconcile of a new input decides
it once.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from function.decide.coordination import Codec, JobBoard, JobBoards, run_coordinated
from function.memory.settings import MemorySettings

T = TypeVar("T")


@dataclass
class _Entry(Generic[T]):
    task: asyncio.Task[T]
    finished_at: float | None = None


class JobPending(Exception):
    """The job is still running; ask Crossplane to call again."""


class DecisionJobs(Generic[T]):
    def __init__(
        self,
        workers: int = 4,
        keep_seconds: float = 600.0,
        retry_after: float = 5.0,
        max_entries: int = 4096,
        boards: JobBoards | None = None,
        codec: Codec[T] | None = None,
    ) -> None:
        if (boards is None) != (codec is None):
            raise ValueError("shared decision jobs need both the boards and a codec")
        self._sem = asyncio.Semaphore(workers)
        self._entries: OrderedDict[str, _Entry[T]] = OrderedDict()
        self._keep = keep_seconds
        self._retry_after = retry_after
        self._max = max_entries
        self.started = 0
        self._boards = boards
        self._codec = codec

    def _evict(self) -> None:
        now = time.monotonic()
        for key in list(self._entries):
            e = self._entries[key]
            if e.finished_at is not None and now - e.finished_at > self._keep:
                del self._entries[key]
        while len(self._entries) > self._max:
            key, e = next(iter(self._entries.items()))
            if not e.task.done():
                break
            del self._entries[key]

    def in_flight(self) -> int:
        return sum(1 for e in self._entries.values() if not e.task.done())

    async def board(self, dsn: str | None, settings: MemorySettings) -> JobBoard | None:
        """The board jobs are shared on (None: per replica), for a DSN or the default."""
        if self._boards is None:
            return None
        return await self._boards.board(dsn, settings)

    def submit(
        self,
        key: str,
        work: Callable[[], Awaitable[T]],
        board: JobBoard | None = None,
        max_run_seconds: float = 1800.0,
    ) -> asyncio.Task[T]:
        """Start `work` under `key` unless a job with that key runs or finished recently.

        With a `board`, the job is claimed there first and runs here only if this replica
        wins the claim; otherwise the task waits for the owner's result. The owner holds
        the job (and may run `work`) for at most `max_run_seconds`.
        """
        self._evict()
        entry = self._entries.get(key)
        if entry is not None:
            if entry.task.done() and entry.task.exception() is not None:
                # A failed job is retried on a later reconcile, after a pause, not in a tight loop.
                age = time.monotonic() - (entry.finished_at or 0.0)
                if age < self._retry_after:
                    return entry.task
            else:
                return entry.task

        codec = self._codec

        async def run() -> T:
            if board is not None and codec is not None:
                return await run_coordinated(
                    board, key, work, codec, self._sem, max_run_seconds=max_run_seconds
                )
            async with self._sem:
                return await work()

        task = asyncio.get_running_loop().create_task(run(), name=f"decision:{key[:40]}")
        new = _Entry(task)
        self._entries[key] = new
        self.started += 1

        def _done(_: asyncio.Task[T]) -> None:
            new.finished_at = time.monotonic()

        task.add_done_callback(_done)
        return task

    async def wait(
        self,
        key: str,
        work: Callable[[], Awaitable[T]],
        timeout: float,
        board: JobBoard | None = None,
        max_run_seconds: float = 1800.0,
    ) -> T:
        """The job's result if it is ready within `timeout`; JobPending otherwise.

        The job keeps running when the wait times out (it is shielded from cancellation).
        """
        task = self.submit(key, work, board, max_run_seconds)
        if not task.done():
            done, _ = await asyncio.wait({task}, timeout=timeout)
            if not done:
                raise JobPending(key)
        return task.result()

    async def drain(self, timeout: float) -> int:
        """At shutdown: wait up to `timeout` seconds for running jobs, then cancel the rest
        and wait for them to unwind (so none is left pending when the loop closes).
        Returns how many were cancelled."""
        running = {e.task for e in self._entries.values() if not e.task.done()}
        if not running:
            if self._boards is not None:
                await self._boards.close()
            return 0
        _, pending = await asyncio.wait(running, timeout=max(0.0, timeout))
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5.0)
        if self._boards is not None:
            await self._boards.close()
        return len(pending)

    def forget(self, key: str) -> None:
        entry = self._entries.get(key)
        if entry is not None and entry.task.done():
            del self._entries[key]
