"""Decision jobs on the shared board (a real PostgreSQL): one owner per key, results and
failures shared, a lapsed lease taken over, per-replica work when the database is out."""

from __future__ import annotations

import asyncio
import copy
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from examples import render as R
from function.analysis.errors import AnalysisError
from function.decide.coordination import (
    OUTCOME_CODEC,
    Codec,
    DecisionTimedOut,
    JobBoard,
    JobBoards,
    RemoteJobError,
    run_coordinated,
)
from function.decide.engine import DecidedOutcome, DecisionEngine, Secrets
from function.decide.jobs import DecisionJobs, JobPending
from function.decide.lease import LeaseLost, confirm_lease, holding
from function.decide.rules import DecisionError
from function.input import FunctionInput
from function.memory.settings import MemorySettings
from function.xr import parse_xr

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
TEXT: Codec[str] = Codec(lambda s: s, lambda s: s)
SETTINGS = MemorySettings()


async def _boards(dsn: str, n: int, lease: float = 20.0, retry: float = 5.0) -> list[JobBoard]:
    out = []
    for i in range(n):
        boards = JobBoards(dsn, lease_seconds=lease, retry_after=retry, owner=f"replica-{i}")
        board = await boards.board(None, SETTINGS)
        assert board is not None
        out.append(board)
    return out


async def _close(boards: list[JobBoard]) -> None:
    for b in boards:
        await b.close()


async def test_of_many_replicas_claiming_at_once_exactly_one_owns_the_job(fresh_dsn: str) -> None:
    boards = await _boards(fresh_dsn, 8)
    try:
        for round_ in range(5):
            won = await asyncio.gather(
                *(b.claim(f"key-{round_}") for b in boards for _ in range(3))
            )
            assert sum(token is not None for token in won) == 1
    finally:
        await _close(boards)


async def test_one_replica_works_the_others_read_its_result(fresh_dsn: str) -> None:
    boards = await _boards(fresh_dsn, 3)
    calls: list[int] = []

    async def work(i: int) -> str:
        calls.append(i)
        await asyncio.sleep(0.5)
        return f"result of replica {i}"

    try:
        got = await asyncio.gather(
            *(
                run_coordinated(b, "same", lambda i=i: work(i), TEXT, asyncio.Semaphore(1))
                for i, b in enumerate(boards)
            )
        )
        assert len(calls) == 1
        assert got == [f"result of replica {calls[0]}"] * 3
    finally:
        await _close(boards)


async def test_a_lapsed_lease_is_taken_over(fresh_dsn: str) -> None:
    dead, alive = await _boards(fresh_dsn, 2, lease=1.0)
    try:
        assert await dead.claim("k") == 1  # and never renews: the replica died
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        got = await asyncio.wait_for(
            run_coordinated(alive, "k", _const("taken over"), TEXT, asyncio.Semaphore(1)), 30
        )
        assert got == "taken over"
        assert loop.time() - t0 >= 0.5  # it waited for the lease, it did not steal the job
        row = await alive.look("k")
        assert row is not None and row.state == "done" and row.mine
    finally:
        await _close([dead, alive])


async def test_a_working_owner_keeps_its_lease(fresh_dsn: str) -> None:
    # A lease of 4 s is renewed every 1.3 s: generous for a loaded machine's thread.
    owner, other = await _boards(fresh_dsn, 2, lease=4.0)
    other_ran: list[bool] = []

    async def slow() -> str:
        await asyncio.sleep(12.0)  # three leases long: the heartbeat must renew it
        return "owner"

    async def steal() -> str:
        other_ran.append(True)
        return "thief"

    try:
        first = asyncio.create_task(run_coordinated(owner, "k", slow, TEXT, asyncio.Semaphore(1)))
        await asyncio.sleep(0.3)
        second = await run_coordinated(other, "k", steal, TEXT, asyncio.Semaphore(1))
        assert await first == "owner" and second == "owner" and not other_ran
    finally:
        await _close([owner, other])


async def test_an_owner_whose_event_loop_is_blocked_keeps_its_job(fresh_dsn: str) -> None:
    """The lease is renewed from the keeper's thread, not the event loop: an owner whose
    loop is blocked for three leases (a stall, not a death) is not taken over."""
    owner, other = await _boards(fresh_dsn, 2, lease=4.0)
    other_ran: list[bool] = []

    async def stalls() -> str:
        time.sleep(12.0)  # noqa: ASYNC251 (blocks the loop on purpose: three leases)
        await asyncio.sleep(0)
        return "owner"

    async def steal() -> str:
        other_ran.append(True)
        return "thief"

    try:
        # The other replica runs in its own thread and event loop, like another process.
        second = asyncio.create_task(asyncio.to_thread(asyncio.run, _second(fresh_dsn, steal)))
        first = asyncio.create_task(run_coordinated(owner, "k", stalls, TEXT, asyncio.Semaphore(1)))
        assert await first == "owner"
        assert await second == "owner" and not other_ran
        with psycopg.connect(fresh_dsn) as conn:
            [(attempts, who)] = conn.execute(
                "SELECT attempts, owner FROM scia_decision_jobs"
            ).fetchall()
        assert (attempts, who) == (1, "replica-0")
    finally:
        await _close([owner, other])


async def _second(dsn: str, work: Any) -> str:
    """Another replica: once the job is claimed, it asks for the result (it would take the
    job over if the owner's lease lapsed while the owner's loop is blocked)."""
    boards = JobBoards(dsn, lease_seconds=2.0, owner="replica-1")
    board = await boards.board(None, SETTINGS)
    assert board is not None
    try:
        for _ in range(600):
            if await board.look("k") is not None:
                break
            await asyncio.sleep(0.02)
        return await run_coordinated(board, "k", work, TEXT, asyncio.Semaphore(1))
    finally:
        await board.close()


async def test_a_late_result_of_a_replaced_owner_is_not_stored(fresh_dsn: str) -> None:
    """Fencing: an owner frozen past its lease loses the job; its late result is not
    stored over the new owner's, and it answers with the new owner's result."""
    late, new = await _boards(fresh_dsn, 2, lease=2.0)
    took_over = asyncio.Event()
    llm_calls: list[str] = []

    async def frozen_owner() -> str:
        assert late.keeper is not None
        late.keeper.close()  # frozen: nothing renews its lease any more
        await took_over.wait()
        return "late result"

    async def new_owner() -> str:
        took_over.set()
        await asyncio.sleep(1.0)
        return "new result"

    async def calls_llm() -> str:
        await confirm_lease()  # the engine's check before its LLM call
        llm_calls.append("late")
        return "late result after its LLM call"

    try:
        first = asyncio.create_task(
            run_coordinated(late, "k", frozen_owner, TEXT, asyncio.Semaphore(1))
        )
        for _ in range(600):  # the frozen replica owns the job first
            if (row := await new.look("k")) is not None and row.state == "running":
                break
            await asyncio.sleep(0.02)
        second = await asyncio.wait_for(
            run_coordinated(new, "k", new_owner, TEXT, asyncio.Semaphore(1)), 60
        )
        assert second == "new result"
        assert await asyncio.wait_for(first, 60) == "new result"
        with psycopg.connect(fresh_dsn) as conn:
            [(result, attempts, owner)] = conn.execute(
                "SELECT result, attempts, owner FROM scia_decision_jobs"
            ).fetchall()
        assert (result, attempts, owner) == ("new result", 2, "replica-1")
        # A replaced owner that resumes before its LLM call does not make the call.
        assert await late.claim("other") == 1
        with psycopg.connect(fresh_dsn) as conn:
            conn.execute("UPDATE scia_decision_jobs SET owner = 'replica-1' WHERE result IS NULL")
        with pytest.raises(LeaseLost):
            with holding(lambda: late.renew("other", 1)):
                await calls_llm()
        assert not llm_calls
    finally:
        await _close([late, new])


async def test_an_owner_whose_job_is_taken_over_stops_its_work_at_once(fresh_dsn: str) -> None:
    """The keeper finds the job taken over while the owner's LLM call is in flight: the call
    is cancelled then (its connection closes, so the LLM server stops generating), not left
    to occupy a server of the pool until it answers; the replica then reads the job as
    another replica's and, once that lease lapses, decides it itself."""
    [board] = await _boards(fresh_dsn, 1, lease=2.0)
    calls: list[str] = []
    stopped = asyncio.Event()

    async def work() -> str:
        calls.append("call")
        if len(calls) == 1:
            try:
                await asyncio.sleep(600)  # an LLM call in flight
            except asyncio.CancelledError:
                stopped.set()
                raise
        return "decided"

    try:
        task = asyncio.create_task(run_coordinated(board, "k", work, TEXT, asyncio.Semaphore(1)))
        for _ in range(600):
            if calls:
                break
            await asyncio.sleep(0.02)
        with psycopg.connect(fresh_dsn) as conn:  # another replica takes the job over
            conn.execute("UPDATE scia_decision_jobs SET owner = 'replica-9', attempts = 2")
        await asyncio.wait_for(stopped.wait(), 60)
        assert not task.done()  # it waits for the other owner now
        assert await asyncio.wait_for(task, 120) == "decided"
        assert calls == ["call", "call"]
    finally:
        await _close([board])


async def test_a_job_past_its_budget_is_stopped_and_stored_as_failed(fresh_dsn: str) -> None:
    [board] = await _boards(fresh_dsn, 1, retry=600)

    async def hangs() -> str:
        await asyncio.sleep(3600)
        return "never"

    try:
        with pytest.raises(DecisionTimedOut):
            await run_coordinated(
                board, "k", hangs, TEXT, asyncio.Semaphore(1), max_run_seconds=1.0
            )
        row = await board.look("k")
        assert row is not None and row.state == "failed"
        with pytest.raises(RemoteJobError, match="longer than 1 s"):
            await run_coordinated(board, "k", _const("x"), TEXT, asyncio.Semaphore(1))
    finally:
        await _close([board])


async def test_a_replica_shutting_down_hands_its_job_over_at_once(fresh_dsn: str) -> None:
    stopping, other = await _boards(fresh_dsn, 2, lease=60.0)

    async def forever() -> str:
        await asyncio.sleep(3600)
        return "never"

    try:
        task = asyncio.create_task(
            run_coordinated(stopping, "k", forever, TEXT, asyncio.Semaphore(1))
        )
        for _ in range(100):
            row = await other.look("k")
            if row is not None and row.state == "running":
                break
            await asyncio.sleep(0.05)
        task.cancel()  # what DecisionJobs.drain does at SIGTERM
        with pytest.raises(asyncio.CancelledError):
            await task
        # Far sooner than the 60 s lease: the stopping replica released it.
        got = await asyncio.wait_for(
            run_coordinated(other, "k", _const("taken over"), TEXT, asyncio.Semaphore(1)), 10
        )
        assert got == "taken over"
    finally:
        await _close([stopping, other])


@pytest.mark.parametrize(
    "error",
    [
        AnalysisError("https://github.com/acme/x", "main", "repository not found"),
        DecisionError("nothing fits the budget"),
    ],
)
async def test_known_failures_are_answered_by_every_replica(
    fresh_dsn: str, error: Exception
) -> None:
    a, b = await _boards(fresh_dsn, 2, retry=600)

    async def fails() -> str:
        raise error

    try:
        with pytest.raises(type(error)) as first:
            await run_coordinated(a, "k", fails, TEXT, asyncio.Semaphore(1))
        with pytest.raises(type(error)) as second:
            await run_coordinated(b, "k", _const("never"), TEXT, asyncio.Semaphore(1))
        assert str(first.value) == str(second.value) == str(error)
    finally:
        await _close([a, b])


async def test_a_bug_on_one_replica_is_reported_by_the_others_then_retried(
    fresh_dsn: str,
) -> None:
    a, b = await _boards(fresh_dsn, 2, retry=0.5)

    async def bug() -> str:
        raise KeyError("oops")

    try:
        with pytest.raises(KeyError):
            await run_coordinated(a, "k", bug, TEXT, asyncio.Semaphore(1))
        with pytest.raises(RemoteJobError, match="KeyError"):
            await run_coordinated(b, "k", _const("x"), TEXT, asyncio.Semaphore(1))
        await asyncio.sleep(0.8)
        assert await run_coordinated(b, "k", _const("fixed"), TEXT, asyncio.Semaphore(1)) == (
            "fixed"
        )
    finally:
        await _close([a, b])


async def test_a_replica_waiting_for_its_busy_pool_does_not_take_it_for_an_outage(
    fresh_dsn: str,
) -> None:
    """All 4 of the board's connections busy for 2 s (a starved replica) is local
    contention: the claim waits for a connection instead of running the job per replica
    (which would call the LLM again for an input another replica decides)."""
    [board] = await _boards(fresh_dsn, 1)
    pool = board._pool
    holding: list[int] = []
    release = asyncio.Event()

    async def hold() -> None:
        async with pool.connection(timeout=60):
            holding.append(1)
            await release.wait()

    async def release_later() -> None:
        await asyncio.sleep(2.0)
        release.set()

    try:
        holders = [asyncio.create_task(hold()) for _ in range(4)]
        for _ in range(600):
            if len(holding) == 4:
                break
            await asyncio.sleep(0.05)
        assert len(holding) == 4
        holders.append(asyncio.create_task(release_later()))
        assert await board.claim("k") == 1  # waited, then claimed: not MemoryUnavailable
        await asyncio.gather(*holders)
    finally:
        await _close([board])


async def test_without_a_reachable_database_jobs_run_per_replica() -> None:
    boards = JobBoards("postgresql://scia:pw@127.0.0.1:9/scia")
    settings = MemorySettings(connect_timeout_seconds=1.0)
    assert await boards.board(None, settings) is None
    assert await JobBoards(None).board(None, settings) is None
    jobs: DecisionJobs[str] = DecisionJobs(boards=boards, codec=TEXT)
    assert await jobs.wait("k", _const("local"), 10, await jobs.board(None, settings)) == "local"


async def test_the_board_outliving_a_database_outage_falls_back_to_local_work(
    fresh_dsn: str,
) -> None:
    [board] = await _boards(fresh_dsn, 1)
    await board.close()  # the pool is gone: every call raises MemoryUnavailable
    got = await run_coordinated(board, "k", _const("local"), TEXT, asyncio.Semaphore(1))
    assert got == "local"


async def test_decision_jobs_share_a_real_decision_across_replicas(
    fresh_dsn: str, repos: Path
) -> None:
    """Two DecisionJobs (two replicas) and a real DecisionEngine: one decision, read back equal."""
    xr_doc = yaml.safe_load((ROOT / "examples" / "legacy" / "xr.yaml").read_text())
    settings = FunctionInput.model_validate(
        {
            "urlRewrites": [{"prefix": R.MIRRORED_PREFIX, "replacement": f"file://{repos}/"}],
            "analysis": {"allowFileUrls": True},
        }
    )
    xr = parse_xr(copy.deepcopy(xr_doc))
    url = settings.rewrite_url(xr.spec.repository.url)
    engines = [DecisionEngine(), DecisionEngine()]
    replicas = [
        DecisionJobs[DecidedOutcome](
            boards=JobBoards(fresh_dsn, owner=f"r{i}"), codec=OUTCOME_CODEC
        )
        for i in range(2)
    ]
    decided: list[DecidedOutcome] = []
    for jobs, engine in zip(replicas, engines, strict=True):
        board = await jobs.board(None, settings.memory)
        assert board is not None

        def work(engine: DecisionEngine = engine) -> Any:
            return engine.decide(settings, xr, url, Secrets())

        for _ in range(200):
            try:
                decided.append(await jobs.wait("xr-key", work, 1.0, board))
                break
            except JobPending:
                continue
    first, second = decided
    assert first == second
    assert OUTCOME_CODEC.encode(first) == OUTCOME_CODEC.encode(second)
    assert first.profile is not None and first.profile.framework == "flask"
    with psycopg.connect(fresh_dsn) as conn:
        [(rows, owners)] = conn.execute(
            "SELECT count(*), count(DISTINCT owner) FROM scia_decision_jobs WHERE state = 'done'"
        ).fetchall()
    assert (rows, owners) == (1, 1)


def _const(value: str) -> Any:
    async def work() -> str:
        return value

    return work
