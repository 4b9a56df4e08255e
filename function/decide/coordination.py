"""Decision jobs shared by every replica through the PostgreSQL the memory already uses.

Crossplane load-balances function calls over the replicas behind the function's Service,
so the reconciles of one XR land on all of them. Without coordination each replica would
analyse, retrieve and call the LLM for the same input. With a database, the table
`scia_decision_jobs` (migration 3) holds one row per decision key:

- **claim**: one atomic upsert (`INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE` the row
  is claimable) makes the caller the owner, or changes nothing. PostgreSQL locks the
  conflicting row and re-checks the WHERE on its newest version, so of any number of
  replicas claiming at once exactly one wins. A row is claimable when it is new, when the
  owner's lease ran out (the replica died or stalled), when it failed more than
  `retry_after` seconds ago, or when its result is older than `keep_seconds`.
- **lease**: the owner renews `lease_until` every third of the lease while it works; a
  killed replica stops renewing and another replica takes the job over once it lapses.
  Times are the database's (`now()`), never the replicas' clocks.
- **result**: the owner stores the outcome (JSON) and every replica serving a later
  reconcile of the same input reads it: all of them render the same pin, byte for byte.
  The first stored result wins; an owner that lost its lease adopts it.
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
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from psycopg_pool import AsyncConnectionPool
from pydantic import TypeAdapter

from function.analysis.errors import AnalysisError
from function.decide.engine import DecidedOutcome
from function.decide.rules import DecisionError
from function.memory.db import open_pool, redact_dsn
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

_RENEW = """
UPDATE scia_decision_jobs SET lease_until = now() + make_interval(secs => %(lease)s)
WHERE key = %(key)s AND owner = %(owner)s AND state = 'running'
RETURNING key
"""

_FINISH = """
UPDATE scia_decision_jobs SET state = %(state)s, owner = %(owner)s, result = %(result)s,
    error_kind = %(error_kind)s, error = %(error)s, updated_at = now()
WHERE key = %(key)s AND state = 'running'
RETURNING key
"""

_RELEASE = """
UPDATE scia_decision_jobs SET lease_until = now()
WHERE key = %(key)s AND owner = %(owner)s AND state = 'running'
RETURNING key
"""

_PURGE = """
DELETE FROM scia_decision_jobs
WHERE updated_at < now() - make_interval(secs => %(keep)s)
  AND (state <> 'running' OR lease_until < now() - make_interval(secs => %(keep)s))
"""


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
    ) -> None:
        self._pool = pool
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.keep_seconds = keep_seconds
        self.retry_after = retry_after
        self._timeout = timeout_seconds
        self._purged_at = -1e9

    def _params(self, key: str) -> dict[str, Any]:
        return {
            "key": hashlib.sha256(key.encode("utf-8")).hexdigest(),
            "owner": self.owner,
            "lease": self.lease_seconds,
            "retry": self.retry_after,
            "keep": self.keep_seconds,
        }

    async def _one(self, sql: str, params: dict[str, Any]) -> dict[str, Any] | None:
        async with bounded("decision job board", self._timeout), self._pool.connection() as c:
            row: dict[str, Any] | None = await (await c.execute(sql, params)).fetchone()
            return row

    async def claim(self, key: str) -> bool:
        """Become the owner of `key` if nobody holds it; True when this replica now does."""
        await self._purge()
        return await self._one(_CLAIM, self._params(key)) is not None

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

    async def renew(self, key: str) -> bool:
        """Extend this replica's lease; False when it no longer owns the job."""
        return await self._one(_RENEW, self._params(key)) is not None

    async def release(self, key: str) -> None:
        """Give the job up now (this replica stops): another replica may claim it at once."""
        await self._one(_RELEASE, self._params(key))

    async def finish(self, key: str, payload: str) -> bool:
        """Store the result; False when another replica's result was stored first."""
        params = {**self._params(key), "state": "done", "result": payload}
        params |= {"error_kind": None, "error": None}
        return await self._one(_FINISH, params) is not None

    async def fail(self, key: str, err: BaseException) -> None:
        kind, detail = encode_error(err)
        params = {**self._params(key), "state": "failed", "result": None}
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
        await self._pool.close(timeout=5.0)


async def run_coordinated(
    board: JobBoard,
    key: str,
    work: Callable[[], Awaitable[T]],
    codec: Codec[T],
    limit: asyncio.Semaphore,
    *,
    max_seconds: float = 3600.0,
) -> T:
    """The result for `key`: computed here when this replica wins the claim, else read.

    A replica claims only once it has a free worker (`limit`), so queued jobs go to the
    replicas with room. It polls the row while another replica owns it, and takes the job
    over when the owner's lease lapses. When the database cannot be reached the job runs
    here, as it would without a database. Gives up (TimeoutError) after `max_seconds`.
    """
    poll = 0.1
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_seconds
    while loop.time() < deadline:
        try:
            row = await board.look(key)
            if row is None or row.claimable:
                async with limit:
                    if await board.claim(key):
                        return await _own(board, key, work, codec)
                continue  # another replica claimed it first: look again
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


async def _own(board: JobBoard, key: str, work: Callable[[], Awaitable[T]], codec: Codec[T]) -> T:
    heartbeat = asyncio.get_running_loop().create_task(_renew_until_done(board, key))
    try:
        result = await work()
    except asyncio.CancelledError:
        heartbeat.cancel()
        with contextlib.suppress(MemoryUnavailable, asyncio.CancelledError):
            await asyncio.shield(board.release(key))  # shutting down: hand the job over
        raise
    except Exception as err:
        heartbeat.cancel()
        with contextlib.suppress(MemoryUnavailable):
            await board.fail(key, err)  # a bug or a known failure: the others answer it too
        raise
    finally:
        heartbeat.cancel()
    # What every replica reads back: the owner renders from the same bytes as the others.
    payload = codec.encode(result)
    try:
        if await board.finish(key, payload):
            return codec.decode(payload)
        row = await board.look(key)
    except MemoryUnavailable as e:
        log.warning("could not share decision job %s: %s", key[:40], e)
        return codec.decode(payload)
    if row is not None and row.state == "done" and row.result is not None:
        return codec.decode(row.result)  # our lease lapsed and another replica finished
    return codec.decode(payload)


async def _renew_until_done(board: JobBoard, key: str) -> None:
    every = max(board.lease_seconds / 3.0, 0.2)
    while True:
        await asyncio.sleep(every)
        try:
            if not await board.renew(key):
                log.warning("lost the lease of decision job %s to another replica", key[:40])
                return
        except MemoryUnavailable:
            continue  # the database may come back before the lease runs out


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
            small = settings.model_copy(update={"pool_min_size": 1, "pool_max_size": 4})
            try:
                await run_migrations(dsn, small)
                pool = await open_pool(dsn, small)
            except MemoryUnavailable as e:
                self._failed_at[key] = loop.time()
                log.warning("decision jobs stay per replica: %s", e)
                return None
            log.info("decision jobs shared through %s", redact_dsn(dsn))
            found = self._boards[key] = JobBoard(
                pool,
                owner=self.owner,
                lease_seconds=self._lease,
                keep_seconds=self._keep,
                retry_after=self._retry,
                timeout_seconds=max(small.retrieve_timeout_seconds, 5.0),
            )
            return found

    async def close(self) -> None:
        for b in self._boards.values():
            await b.close()
        self._boards.clear()
