"""A small pool of analysis worker processes with CPU-time, memory and wall-clock limits.

The detectors read untrusted repository content (regexes, JSON/TOML/YAML parsers). They
run in separate processes (`python -m function.analysis.worker`), never in the server's
process, so a pathological repository costs at most its own budget: the gRPC event loop
and other tenants' reconciles never wait for it.

- CPU time: the worker sets `RLIMIT_CPU` (soft) for each job; SIGXCPU ends the job with
  "used more than its CPU time limit".
- Memory: the worker sets `RLIMIT_AS` for each job; a MemoryError ends the job.
- Wall clock: the caller's deadline; a worker still busy then is killed (SIGKILL, by its
  own pid) and replaced.

A worker that hit a limit exits after answering and a fresh one is started for the next
job. Jobs go to the worker as pickles (the server is the only writer); answers come back as
JSON only, so a compromised worker cannot make the server run code. The worker gets a clean
environment (no credentials: it never talks to the network).

`WorkerPool.run` blocks (call it from a thread: `await asyncio.to_thread(pool.run, ...)`);
it is thread-safe.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import pickle
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!Q")
MAX_ANSWER_BYTES = 64 * 1024 * 1024
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass(frozen=True)
class Limits:
    """One job's budget: CPU seconds (user+system), address space bytes, wall seconds."""

    cpu_seconds: float
    memory_bytes: int
    wall_seconds: float


class WorkerFailed(Exception):
    """A job did not produce a result; `reason` is a short sentence safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _worker_env() -> dict[str, str]:
    path = [str(_PACKAGE_ROOT)]
    existing = os.environ.get("PYTHONPATH")
    if existing:
        path.append(existing)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join(path),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "LANG": "C.UTF-8",
    }
    return env


class _Worker:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-s", "-m", "function.analysis.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_worker_env(),
            cwd="/",
            close_fds=True,
        )
        self.jobs = 0

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, payload: bytes) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(_HEADER.pack(len(payload)) + payload)
        stdin.flush()

    def _read_exactly(self, count: int, deadline: float) -> bytes:
        stdout = self.process.stdout
        assert stdout is not None
        fd = stdout.fileno()
        chunks: list[bytes] = []
        remaining = count
        while remaining:
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], min(wait, 1.0))
            if not ready:
                continue
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def receive(self, deadline: float) -> bytes:
        (size,) = _HEADER.unpack(self._read_exactly(_HEADER.size, deadline))
        if size > MAX_ANSWER_BYTES:
            raise EOFError
        return self._read_exactly(size, deadline)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()


def _death_reason(returncode: int | None, limits: Limits) -> str:
    if returncode is not None and returncode < 0:
        number = -returncode
        if number in (signal.SIGXCPU, signal.SIGKILL):
            return f"used more than its CPU time limit ({limits.cpu_seconds:g} s)"
        return f"the analysis worker stopped (signal {signal.Signals(number).name})"
    return f"the analysis worker stopped (exit code {returncode})"


class WorkerPool:
    """Up to `size` worker processes, started on demand and reused between jobs."""

    def __init__(self, size: int = 2) -> None:
        self.size = max(1, size)
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._live = 0
        self._closed = False
        self.started = 0  # workers started over the pool's life (for tests and metrics)

    def _acquire(self, deadline: float) -> _Worker:
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                pass
            else:
                if worker.alive:
                    return worker
                self._discard(worker)
                continue
            with self._lock:
                if self._closed:
                    raise WorkerFailed("the analysis pool is shut down")
                if self._live < self.size:
                    self._live += 1
                    self.started += 1
                    spawn = True
                else:
                    spawn = False
            if spawn:
                try:
                    return _Worker()
                except OSError:
                    with self._lock:
                        self._live -= 1
                    raise WorkerFailed("the analysis worker could not be started") from None
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise WorkerFailed("no analysis worker became free within the time limit")
            try:
                worker = self._idle.get(timeout=min(wait, 1.0))
            except queue.Empty:
                continue
            if worker.alive:
                return worker
            self._discard(worker)

    def prestart(self) -> None:
        """Start one worker now, if none is idle and the pool has room, so its start-up
        (a new interpreter importing the detectors) overlaps the caller's own work."""
        with self._lock:
            if self._closed or not self._idle.empty() or self._live >= self.size:
                return
            self._live += 1
            self.started += 1
        try:
            worker = _Worker()
        except OSError:
            with self._lock:
                self._live -= 1
            return
        self._idle.put(worker)

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._live -= 1

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            closed = self._closed
        if closed or not worker.alive:
            self._discard(worker)
        else:
            self._idle.put(worker)

    def run(self, job: dict[str, Any], limits: Limits) -> dict[str, Any]:
        """Run one job; its answer (a JSON object) or WorkerFailed with the reason."""
        deadline = time.monotonic() + limits.wall_seconds
        worker = self._acquire(deadline)
        payload = pickle.dumps(
            {**job, "cpu_seconds": limits.cpu_seconds, "memory_bytes": limits.memory_bytes},
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        try:
            worker.send(payload)
            raw = worker.receive(deadline)
        except TimeoutError:
            self._discard(worker)
            raise WorkerFailed(
                f"took longer than the time limit ({limits.wall_seconds:g} s)"
            ) from None
        except (EOFError, OSError):
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.process.wait(timeout=5)
            code = worker.process.returncode
            self._discard(worker)
            raise WorkerFailed(_death_reason(code, limits)) from None
        worker.jobs += 1
        try:
            answer = json.loads(raw)
        except ValueError:
            self._discard(worker)
            raise WorkerFailed("the analysis worker answered garbage") from None
        if not isinstance(answer, dict):
            self._discard(worker)
            raise WorkerFailed("the analysis worker answered garbage")
        if answer.get("retire"):
            self._discard(worker)
        else:
            self._release(worker)
        if not answer.get("ok"):
            raise WorkerFailed(str(answer.get("reason") or "the analysis failed"))
        return answer

    def close(self) -> None:
        with self._lock:
            self._closed = True
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            self._discard(worker)


_default: WorkerPool | None = None
_default_lock = threading.Lock()


def default_pool() -> WorkerPool:
    """The process-wide pool (size from SCIA_ANALYSIS_WORKERS, default 2)."""
    global _default  # noqa: PLW0603 - one pool per process, created on first use
    with _default_lock:
        if _default is None:
            try:
                size = int(os.environ.get("SCIA_ANALYSIS_WORKERS", "2"))
            except ValueError:
                size = 2
            _default = WorkerPool(size)
            atexit.register(_default.close)
        return _default
