"""Decision jobs shared by every replica through the PostgreSQL the memory already uses.

Crossplane load-balances function calls over the replicas behind the function's Service,
so the reconciles of one XR land on all of them. Without coordination each replica would
analyse, retrieve and call the LLM for the same input. With a database, the table
`scia_decision_jobs` (migration 3) holds one row per decision key:

- **claim**: one atomic upsert (`INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE` the row
  is claimable) makes the caller the owner, or changes nothing. PostgreSQL locks the
  conflicting row and re-checks the WHERE on its newest version, so of any number of
  replicas claiming at once exactly one wins. A row is claimable when it is new, when the
  owner's lease ran out (the replica died), when it failed more than `retry_after` seconds
  ago, or when its result is older than `keep_seconds`. The claim returns the row's
  `attempts`, which every later write of the owner names: a **fencing token**.
- **lease**: a thread of the replica's own (`LeaseKeeper`, with its own connection) renews
  the leases of all the jobs the replica works on every third of the lease, whatever the
  event loop is doing: a replica that is alive but slow (a long LLM call, a busy or
  starved event loop) keeps its jobs; a killed replica stops renewing and another replica
  takes its jobs over once the lease lapses. A job is renewed only within its budget (the
  analysis and LLM timeouts, `run_coordinated(max_run_seconds=...)`), after which the owner
  gives it up; so a hung job is taken over too. Times are the database's (`now()`).
- **fencing**: before the LLM call the work confirms the lease with its token
  (decide/lease.py), and the result is stored only by the owner with the token it claimed
  with: a replica that lost its job (frozen past its lease) neither calls the LLM after
  that nor overwrites the new owner's result; it reads the new owner's result instead.
- **result**: the owner stores the outcome (JSON) and every replica serving a later
  reconcile of the same input reads it: all of them render the same pin, byte for byte.
- **failure**: a known failure (the repository cannot be analysed, no decision fits) is
  stored as well, and answered by every replica until `retry_after` has passed.

A replica that does not own a job polls its row (every 0.1 s, backing off to 1 s) while a
reconcile waits, and in the background afterwards, until the result is there or the
lease lapses. Rows are deleted `keep_seconds` after their last change.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, cast

from psycopg_pool import AsyncConnectionPool
from pydantic import TypeAdapter

from function.analysis.errors import AnalysisError
from function.decide import lease
from function.decide.engine import DecidedOutcome
from function.decide.rules import DecisionError
from function.memory.db import connection_kwargs, open_pool, redact_dsn
from function.memory.errors import MemoryUnavailable
from function.memory.guard import bounded
from function.memory.settings import MemorySettings
from function.memory.store import run_migrations

log = logging.getLogger(__name__)

T = TypeVar("T")
State = Literal["running", "done", "failed"]


@dataclass(frozen=True)
class Codec(Generic[T]):
    """How a job's result is stored in the table (text) and read back."""

    encode: Callable[[T], str]
    decode: Callable[[str], T]


_OUTCOME = TypeAdapter(DecidedOutcome)


class RemoteJobError(RuntimeError):
    """The replica that ran the job hit an unexpected error (its message, no traceback)."""


def replica_id() -> str:
    """This process's name on the board: host, pid and a random part (pids repeat in pods)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _encode_outcome(outcome: DecidedOutcome) -> str:
    return _OUTCOME.dump_json(outcome).decode("utf-8")


def _decode_outcome(payload: str) -> DecidedOutcome:
    return _OUTCOME.validate_json(payload)


OUTCOME_CODEC: Codec[DecidedOutcome] = Codec(_encode_outcome, _decode_outcome)


def encode_error(err: BaseException) -> tuple[str, str]:
    """(kind, JSON detail) of a failure worth sharing with the other replicas."""
    if isinstance(err, AnalysisError):
        detail = {"url": err.url, "ref": err.ref, "reason": err.reason}
        return "analysis", json.dumps(detail)
    if isinstance(err, DecisionError):
        return "decision", json.dumps({"message": str(err)})
    return "error", json.dumps({"message": f"{type(err).__name__}: {str(err)[:300]}"})


def decode_error(kind: str, detail: str) -> Exception:
    data = json.loads(detail)
    if kind == "analysis":
        return AnalysisError(str(data["url"]), str(data["ref"]), str(data["reason"]))
    if kind == "decision":
        return DecisionError(str(data["message"]))
    return RemoteJobError(f"the decision failed on another replica: {data['message']}")


@dataclass(frozen=True)
class Row:
    state: State
    mine: bool
    result: str | None = None
    error_kind: str | None = None
    error: str | None = None
    claimable: bool = False


_CLAIMABLE = """
    (j.state = 'running' AND j.lease_until < now())
    OR (j.state = 'failed' AND j.updated_at < now() - make_interval(secs => %(retry)s))
    OR (j.state = 'done' AND j.updated_at < now() - make_interval(secs => %(keep)s))
"""

_CLAIM = f"""
INSERT INTO scia_decision_jobs AS j (key, state, owner, lease_until)
VALUES (%(key)s, 'running', %(owner)s, now() + make_interval(secs => %(lease)s))
ON CONFLICT (key) DO UPDATE SET
    state = 'running', owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until,
    attempts = j.attempts + 1, result = NULL, error_kind = NULL, error = NULL,
    updated_at = now()
WHERE {_CLAIMABLE}
RETURNING j.attempts
"""  # noqa: S608 (no value is formatted in: _CLAIMABLE is literal SQL)

_LOOK = f"""
SELECT state, owner = %(owner)s AS mine, result, error_kind, error, ({_CLAIMABLE}) AS claimable
FROM scia_decision_jobs AS j WHERE key = %(key)s
"""  # noqa: S608

# Every write of an owner names the claim it holds (owner and attempts: the fencing token).
_HELD = "key = %(key)s AND owner = %(owner)s AND attempts = %(token)s AND state = 'running'"

_RENEW = f"""
UPDATE scia_decision_jobs SET lease_until = now() + make_interval(secs => %(lease)s)
WHERE {_HELD}
RETURNING key
"""  # noqa: S608 (no value is formatted in: _HELD is literal SQL)

_RENEW_ALL = """
UPDATE scia_decision_jobs AS j SET lease_until = now() + make_interval(secs => %(lease)s)
FROM unnest(%(keys)s::text[], %(tokens)s::integer[]) AS h(key, token)
WHERE j.key = h.key AND j.attempts = h.token AND j.owner = %(owner)s AND j.state = 'running'
RETURNING j.key
"""

_FINISH = f"""
UPDATE scia_decision_jobs SET state = %(state)s, result = %(result)s,
    error_kind = %(error_kind)s, error = %(error)s, updated_at = now()
WHERE {_HELD}
RETURNING key
"""  # noqa: S608

_RELEASE = f"""
UPDATE scia_decision_jobs SET lease_until = now()
WHERE {_HELD}
RETURNING key
"""  # noqa: S608

_PURGE = """
DELETE FROM scia_decision_jobs
WHERE updated_at < now() - make_interval(secs => %(keep)s)
  AND (state <> 'running' OR lease_until < now() - make_interval(secs => %(keep)s))
"""


class LeaseKeeper:
    """Renews the leases of the jobs this replica works on, from a thread of its own.

    The thread has its own connection (opened at the first job, reopened after an error)
    and one statement renews every held job: `UPDATE ... WHERE owner AND attempts` (the
    fencing token). It needs a few milliseconds of CPU per `lease_seconds / 3`, so a
    blocked or starved event loop does not make the replica lose its jobs; only a process
    that is killed or frozen for a whole lease does. A job whose row was not renewed (it
    was taken over) is marked lost. Keys are the board's hashed keys.
    """

    def __init__(self, conninfo: str, kwargs: dict[str, Any], owner: str, lease: float) -> None:
        self._conninfo = conninfo
        self._kwargs = kwargs
        self.owner = owner
        self.lease_seconds = lease
        self._held: dict[str, tuple[int, float]] = {}  # key -> (token, renew until: monotonic)
        self._lost: set[str] = set()
        self._on_lost: dict[str, Callable[[], None]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: Any = None
        self.renewals = 0
        self.errors = 0

    def hold(
        self, key: str, token: int, seconds: float, on_lost: Callable[[], None] | None = None
    ) -> None:
        """Keep renewing `key` (claimed with `token`) for at most `seconds` from now.
        `on_lost` is called (from the keeper's thread) once a renewal finds the job taken
        over."""
        with self._lock:
            self._held[key] = (token, time.monotonic() + seconds)
            self._lost.discard(key)
            if on_lost is not None:
                self._on_lost[key] = on_lost
            else:
                self._on_lost.pop(key, None)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="scia-lease-keeper", daemon=True
                )
                self._thread.start()

    def drop(self, key: str) -> None:
        with self._lock:
            self._held.pop(key, None)
            self._lost.discard(key)
            self._on_lost.pop(key, None)

    def lost(self, key: str) -> bool:
        """True once a renewal found the job no longer this replica's (claimed with the token)."""
        with self._lock:
            return key in self._lost

    def _run(self) -> None:
        every = max(self.lease_seconds / 3.0, 0.2)
        while not self._stop.wait(every):
            self.renew_now()
        self._disconnect()

    def renew_now(self) -> None:
        """One round of renewals (the thread calls it every third of the lease)."""
        now = time.monotonic()
        with self._lock:
            held = {k: tok for k, (tok, until) in self._held.items() if until > now}
        if not held:
            return
        params = {
            "keys": list(held),
            "tokens": list(held.values()),
            "owner": self.owner,
            "lease": self.lease_seconds,
        }
        try:
            if self._conn is None:
                import psycopg

                self._conn = psycopg.connect(self._conninfo, **self._kwargs)
            rows = self._conn.execute(_RENEW_ALL, params).fetchall()
        except Exception as e:  # the database may come back before the leases run out
            self.errors += 1
            log.warning("could not renew decision job leases: %s", type(e).__name__)
            self._disconnect()
            return
        renewed = {r["key"] for r in rows}
        self.renewals += 1
        newly_lost: list[Callable[[], None]] = []
        with self._lock:
            for key, tok in held.items():
                if key not in renewed and self._held.get(key, (None, 0.0))[0] == tok:
                    if key not in self._lost:
                        log.warning("lost decision job %s to another replica", key[:16])
                        callback = self._on_lost.pop(key, None)
                        if callback is not None:
                            newly_lost.append(callback)
                    self._lost.add(key)
        for callback in newly_lost:
            with contextlib.suppress(Exception):  # e.g. the event loop closed meanwhile
                callback()

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=10.0)


class JobBoard:
    """The decision jobs of one database, seen by one replica (`owner`)."""

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        *,
        owner: str,
        lease_seconds: float = 20.0,
        keep_seconds: float = 600.0,
        retry_after: float = 5.0,
        timeout_seconds: float = 5.0,
        keeper: LeaseKeeper | None = None,
    ) -> None:
        self._pool = pool
        self.keeper = keeper
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.keep_seconds = keep_seconds
        self.retry_after = retry_after
        self._timeout = timeout_seconds
        self._purged_at = -1e9

    @staticmethod
    def hashed(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8")).hexdigest()

    def _params(self, key: str, token: int = 0) -> dict[str, Any]:
        return {
            "key": self.hashed(key),
            "token": token,
            "owner": self.owner,
            "lease": self.lease_seconds,
            "retry": self.retry_after,
            "keep": self.keep_seconds,
        }

    async def _one(self, sql: str, params: dict[str, Any]) -> dict[str, Any] | None:
        async with bounded("decision job board", self._timeout), self._pool.connection() as c:
            row: dict[str, Any] | None = await (await c.execute(sql, params)).fetchone()
            return row

    async def claim(self, key: str) -> int | None:
        """Become the owner of `key` if nobody holds it: the claim's fencing token (the
        row's attempts) when this replica now owns the job, None when it does not."""
        await self._purge()
        row = await self._one(_CLAIM, self._params(key))
        return None if row is None else int(row["attempts"])

    async def look(self, key: str) -> Row | None:
        row = await self._one(_LOOK, self._params(key))
        if row is None:
            return None
        return Row(
            state=row["state"],
            mine=bool(row["mine"]),
            result=row["result"],
            error_kind=row["error_kind"],
            error=row["error"],
            claimable=bool(row["claimable"]),
        )

    async def renew(self, key: str, token: int) -> bool:
        """Extend this replica's lease; False when it no longer owns the job with `token`."""
        return await self._one(_RENEW, self._params(key, token)) is not None

    async def release(self, key: str, token: int) -> None:
        """Give the job up now (this replica stops): another replica may claim it at once."""
        await self._one(_RELEASE, self._params(key, token))

    async def finish(self, key: str, token: int, payload: str) -> bool:
        """Store the result; False when the job is no longer this replica's with `token`
        (another replica took it over: its result, stored or to come, is the one kept)."""
        params = {**self._params(key, token), "state": "done", "result": payload}
        params |= {"error_kind": None, "error": None}
        return await self._one(_FINISH, params) is not None

    async def fail(self, key: str, token: int, err: BaseException) -> None:
        kind, detail = encode_error(err)
        params = {**self._params(key, token), "state": "failed", "result": None}
        params |= {"error_kind": kind, "error": detail}
        await self._one(_FINISH, params)

    async def _purge(self) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() - self._purged_at < 60.0:
            return
        self._purged_at = loop.time()
        async with bounded("decision job purge", self._timeout), self._pool.connection() as c:
            await c.execute(_PURGE, self._params(""))

    async def close(self) -> None:
        if self.keeper is not None:
            await asyncio.to_thread(self.keeper.close)
        await self._pool.close(timeout=5.0)


class DecisionTimedOut(RuntimeError):
    """The owner's work ran past its budget and was stopped (the job is retried later)."""


async def run_coordinated(
    board: JobBoard,
    key: str,
    work: Callable[[], Awaitable[T]],
    codec: Codec[T],
    limit: asyncio.Semaphore,
    *,
    max_seconds: float = 3600.0,
    max_run_seconds: float = 1800.0,
) -> T:
    """The result for `key`: computed here when this replica wins the claim, else read.

    A replica claims only once it has a free worker (`limit`), so queued jobs go to the
    replicas with room. It polls the row while another replica owns it, and takes the job
    over when the owner's lease lapses. The owner's work may run `max_run_seconds` (its
    lease is renewed that long; the work is then cancelled and DecisionTimedOut stored).
    When the database cannot be reached the job runs here, as it would without a database.
    Gives up (TimeoutError) after `max_seconds`.
    """
    poll = 0.1
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_seconds
    while loop.time() < deadline:
        try:
            row = await board.look(key)
            if row is None or row.claimable:
                async with limit:
                    token = await board.claim(key)
                    if token is not None:
                        owned = await _own(board, key, token, work, codec, max_run_seconds)
                        if owned is not _LOST:
                            return cast(T, owned)
                continue  # another replica claimed it first (or took it over): look again
        except MemoryUnavailable as e:
            log.warning("decision job %s runs on this replica only: %s", key[:40], e)
            async with limit:
                return await work()
        if row.state == "done" and row.result is not None:
            return codec.decode(row.result)
        if row.state == "failed" and row.error_kind is not None and row.error is not None:
            raise decode_error(row.error_kind, row.error)
        await asyncio.sleep(poll)
        poll = min(poll * 1.5, 1.0)
    raise TimeoutError(f"no replica finished decision job {key[:40]} in {max_seconds:.0f} s")


_LOST = object()  # _own: another replica took the job over; read its result instead


class _Abandonable(Generic[T]):
    """An owner's work as a task the lease keeper can stop: a job taken over while its LLM
    call is in flight stops that call at once (its connection closes, so the LLM server
    stops generating an answer nobody would store) instead of keeping a server of the pool
    busy until it answers."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.task: asyncio.Future[T] | None = None
        self.abandoned = False

    def start(self, work: Awaitable[T]) -> asyncio.Future[T]:
        self.task = asyncio.ensure_future(work)
        return self.task

    def on_lost(self) -> None:  # from the keeper's thread
        self.loop.call_soon_threadsafe(self._abandon)

    def _abandon(self) -> None:
        if self.task is not None and not self.task.done():
            self.abandoned = True
            self.task.cancel()


async def _own(
    board: JobBoard,
    key: str,
    token: int,
    work: Callable[[], Awaitable[T]],
    codec: Codec[T],
    max_run_seconds: float,
) -> T | object:
    """Run `work` as the job's owner (claimed with `token`); _LOST if the job was taken over."""
    hashed = board.hashed(key)
    keeper = board.keeper
    running: _Abandonable[T] = _Abandonable(asyncio.get_running_loop())
    if keeper is not None:
        keeper.hold(hashed, token, max_run_seconds, running.on_lost)

    async def still_mine() -> bool:
        if keeper is not None and keeper.lost(hashed):
            return False
        try:
            return await board.renew(key, token)
        except MemoryUnavailable:
            return True  # cannot tell; nobody else can claim it without the database either

    try:
        with lease.holding(still_mine):
            async with asyncio.timeout(max_run_seconds) as budget:
                result = await running.start(work())  # the task inherits holding()
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if running.abandoned and (current is None or not current.cancelling()):
            log.warning("decision job %s was taken over by another replica; stopped", key[:40])
            return _LOST
        with contextlib.suppress(MemoryUnavailable, asyncio.CancelledError):
            await asyncio.shield(board.release(key, token))  # shutting down: hand it over
        raise
    except lease.LeaseLost:
        log.warning("decision job %s was taken over by another replica", key[:40])
        return _LOST
    except Exception as err:
        if isinstance(err, TimeoutError) and budget.expired():
            err = DecisionTimedOut(f"the decision took longer than {max_run_seconds:.0f} s")
        with contextlib.suppress(MemoryUnavailable):
            await board.fail(key, token, err)  # a bug or a known failure: the others answer it
        if isinstance(err, DecisionTimedOut):
            raise err from None
        raise
    finally:
        if keeper is not None:
            keeper.drop(hashed)
    # What every replica reads back: the owner renders from the same bytes as the others.
    payload = codec.encode(result)
    try:
        if await board.finish(key, token, payload):
            return codec.decode(payload)
    except MemoryUnavailable as e:
        log.warning("could not share decision job %s: %s", key[:40], e)
        return codec.decode(payload)
    log.warning("decision job %s was taken over by another replica; reading its result", key[:40])
    return _LOST


class JobBoards:
    """One JobBoard per database, opened on first use and reused; None without a database.

    A database that cannot be reached is not tried again for a few seconds; meanwhile
    decisions run per replica, as without a database.
    """

    def __init__(
        self,
        default_dsn: str | None = None,
        *,
        lease_seconds: float = 20.0,
        keep_seconds: float = 600.0,
        retry_after: float = 5.0,
        owner: str | None = None,
    ) -> None:
        self.default_dsn = default_dsn
        self.owner = owner or replica_id()
        self._lease = lease_seconds
        self._keep = keep_seconds
        self._retry = retry_after
        self._boards: dict[str, JobBoard] = {}
        self._failed_at: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def board(self, dsn: str | None, settings: MemorySettings) -> JobBoard | None:
        dsn = dsn or self.default_dsn
        if dsn is None:
            return None
        key = hashlib.sha256(dsn.encode("utf-8")).hexdigest()
        found = self._boards.get(key)
        if found is not None:
            return found
        loop = asyncio.get_running_loop()
        if loop.time() - self._failed_at.get(key, -1e9) < 5.0:
            return None
        async with self._lock:
            found = self._boards.get(key)
            if found is not None:
                return found
            # The pool's wait for a free connection is the board's own bound (5 s), not the
            # retrieval's 1 s: on a starved replica a short wait for one of the 4 connections
            # is local contention, not an unreachable database, and taking it for an outage
            # ran the job per replica (2 extra LLM calls for 200 inputs at load ~22).
            wait = max(settings.retrieve_timeout_seconds, 5.0)
            small = settings.model_copy(
                update={"pool_min_size": 1, "pool_max_size": 4, "retrieve_timeout_seconds": wait}
            )
            try:
                await run_migrations(dsn, small)
                pool = await open_pool(dsn, small)
            except MemoryUnavailable as e:
                self._failed_at[key] = loop.time()
                log.warning("decision jobs stay per replica: %s", e)
                return None
            log.info("decision jobs shared through %s", redact_dsn(dsn))
            keeper = LeaseKeeper(dsn, connection_kwargs(small), self.owner, self._lease)
            found = self._boards[key] = JobBoard(
                pool,
                keeper=keeper,
                owner=self.owner,
                lease_seconds=self._lease,
                keep_seconds=self._keep,
                retry_after=self._retry,
                timeout_seconds=wait,
            )
            return found

    async def close(self) -> None:
        for b in self._boards.values():
            await b.close()
        self._boards.clear()
