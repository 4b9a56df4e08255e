"""Answers given again (function/answers.py): an unchanged request of a Running, pinned XR
is answered with the same bytes without reconciling again; anything that could change the
answer (the request, the commit the ref names, the clock, an outcome not yet stored)
reconciles again. Every strategy, both XRD scopes."""

from __future__ import annotations

import asyncio
import copy
import datetime
from pathlib import Path
from typing import Any

import pytest
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from examples import render as R
from function.analysis.credentials import RepoCredentials
from function.answers import AnswerCache, request_key
from function.decide.engine import DecisionEngine
from function.decide.jobs import DecisionJobs
from function.fn import FunctionRunner
from function.input import FunctionInput
from function.memorylink import MemoryLink
from function.outcomes import OutcomeRecorder
from function.reconcile import Reconciler, ReconcileRequest, ReconcileResult
from tests.support import inproc as P
from tests.support.strategies import XRS, xr_for


class MovableRef(DecisionEngine):
    """The real engine, except that the ref can be moved to another commit."""

    moved_to: str | None = None

    async def resolve(
        self, settings: FunctionInput, url: str, ref: str, creds: RepoCredentials | None
    ) -> str:
        if self.moved_to is not None:
            return self.moved_to
        return await super().resolve(settings, url, ref, creds)


class Counting(Reconciler):
    calls = 0

    async def reconcile(self, req: ReconcileRequest) -> ReconcileResult:
        self.calls += 1
        return await super().reconcile(req)


class HeldWrites(OutcomeRecorder):
    """The real recorder, its memory writes held until `release` is set (and counted)."""

    def __init__(self, engine: DecisionEngine) -> None:
        super().__init__(engine)
        self.release = asyncio.Event()
        self.attempts = 0

    async def _write(self, *args: Any) -> None:
        self.attempts += 1
        await self.release.wait()
        await super()._write(*args)


class ZeroEmbedder:
    dimensions = 384

    async def embed(self, texts: list[str]) -> list[list[float]]:
        return [[0.0] * 384 for _ in texts]


def runner(
    cache_bytes: int = 8 * 1024 * 1024,
    outcomes: type[OutcomeRecorder] | None = None,
    memory: MemoryLink | None = None,
) -> tuple[FunctionRunner, Counting, MovableRef]:
    engine = MovableRef(memory=memory)
    rec = Counting(engine, DecisionJobs(workers=2), outcomes(engine) if outcomes else None)
    return FunctionRunner(rec, answer_cache_bytes=cache_bytes), rec, engine


def request(
    xr: dict[str, Any], observed: dict[str, Any], inp: dict[str, Any]
) -> fnv1.RunFunctionRequest:
    req = fnv1.RunFunctionRequest(meta=fnv1.RequestMeta(tag="t"))
    req.observed.composite.resource.CopyFrom(resource.dict_to_struct(xr))
    req.input.CopyFrom(resource.dict_to_struct(inp))
    for name, body in observed.items():
        req.observed.resources[name].resource.CopyFrom(resource.dict_to_struct(body))
    return req


async def running(key: str, repos: Path, **over: Any) -> fnv1.RunFunctionRequest:
    xr = xr_for(key)
    inp = P.function_input(P.scope_of(xr), repos, **over)
    _, xr_running, observed = await P.converge(xr, inp)
    assert xr_running["status"]["phase"] == "Running"
    return request(xr_running, observed, inp)


def fatal(rsp: fnv1.RunFunctionResponse) -> list[str]:
    return [r.message for r in rsp.results if r.severity == fnv1.SEVERITY_FATAL]


@pytest.mark.parametrize("key", sorted(XRS))
async def test_an_unchanged_request_is_answered_again_byte_for_byte(key: str, repos: Path) -> None:
    req = await running(key, repos)
    fn, rec, _ = runner()
    first = await fn.RunFunction(req)
    assert not fatal(first) and rec.calls == 1
    # Through the gRPC layer too (fn.py converts only the observed fields something reads),
    # a deployment that converged in-process is Running: rolled out, nothing pending.
    status = resource.struct_to_dict(first.desired.composite.resource)["status"]
    assert status["phase"] == "Running", status["message"]
    assert len(fn.answers) == 1
    again = await fn.RunFunction(req)
    assert rec.calls == 1, "an unchanged request of a Running pinned XR reconciled again"
    assert again.SerializeToString(deterministic=True) == first.SerializeToString(
        deterministic=True
    )
    # The same answer a function without the cache gives.
    plain, plain_rec, _ = runner(cache_bytes=0)
    uncached = await plain.RunFunction(req)
    assert len(plain.answers) == 0 and plain_rec.calls == 1
    assert uncached.SerializeToString(deterministic=True) == again.SerializeToString(
        deterministic=True
    )
    # A copy each time: changing one answer changes no later answer.
    again.desired.resources.clear()
    third = await fn.RunFunction(req)
    assert len(third.desired.resources) == len(first.desired.resources)


async def test_any_change_to_the_request_reconciles_again(repos: Path) -> None:
    req = await running("legacy-vm", repos)
    fn, rec, _ = runner()
    first = await fn.RunFunction(req)
    changed = fnv1.RunFunctionRequest()
    changed.CopyFrom(req)
    name = sorted(changed.observed.resources)[0]
    body = resource.struct_to_dict(changed.observed.resources[name].resource)
    body["status"]["conditions"] = [
        {**c, "status": "False", "reason": "Unavailable"} if c["type"] == "Ready" else c
        for c in body["status"]["conditions"]
    ]
    changed.observed.resources[name].resource.CopyFrom(resource.dict_to_struct(body))
    out = await fn.RunFunction(changed)
    assert rec.calls == 2
    status = resource.struct_to_dict(out.desired.composite.resource)["status"]
    assert status["phase"] != "Running"
    assert out.desired.composite.ready != first.desired.composite.ready
    # Another tag (another request id) for the same content is a new request too.
    retagged = fnv1.RunFunctionRequest()
    retagged.CopyFrom(req)
    retagged.meta.tag = "other"
    again = await fn.RunFunction(retagged)
    assert rec.calls == 3 and again.meta.tag == "other"


async def test_a_moved_ref_is_never_answered_from_the_cache(repos: Path) -> None:
    req = await running("namespaced-vm", repos)
    fn, rec, engine = runner()
    first = await fn.RunFunction(req)
    assert rec.calls == 1 and len(fn.answers) == 1
    engine.moved_to = "f" * 40  # a new commit on the ref
    out = await fn.RunFunction(req)
    assert rec.calls == 2, "the ref moved but the cached answer was given"
    assert out.SerializeToString(deterministic=True) != first.SerializeToString(deterministic=True)
    assert len(fn.answers) == 0


async def test_a_provisioning_answer_depends_on_the_clock_and_is_not_kept(repos: Path) -> None:
    xr = xr_for("legacy-serverless")
    inp = P.function_input("legacy", repos)
    up, xr_now, _ = await P.converge(xr, inp, ready=False)
    observed = P.observed_from(up.desired, ready=False, since=datetime.timedelta(seconds=5))
    req = request(xr_now, observed, inp)
    fn, rec, _ = runner()
    for _ in range(2):
        rsp = await fn.RunFunction(req)
        status = resource.struct_to_dict(rsp.desired.composite.resource)["status"]
        assert status["phase"] == "Provisioning"
    assert rec.calls == 2 and len(fn.answers) == 0


async def test_an_outcome_write_that_failed_is_written_again_not_skipped(repos: Path) -> None:
    """While this replica is writing the outcome, the answer is given again (no second
    write); once the write failed (the database is down), the next identical request
    reconciles again, which writes the outcome again."""
    req = await running("legacy-kubernetes", repos)
    down = MemoryLink(ZeroEmbedder(), f"postgresql://scia@127.0.0.1:{R.free_port()}/none")
    fn, rec, _ = runner(outcomes=HeldWrites, memory=down)
    outcomes = rec.outcomes
    assert isinstance(outcomes, HeldWrites)
    first = await fn.RunFunction(req)
    await asyncio.sleep(0.1)  # the write starts (and waits)
    assert not fatal(first) and rec.calls == 1 and outcomes.attempts == 1
    again = await fn.RunFunction(req)  # the write is in flight: answered again
    await asyncio.sleep(0.1)
    assert rec.calls == 1 and outcomes.attempts == 1
    assert again.SerializeToString(deterministic=True) == first.SerializeToString(
        deterministic=True
    )
    outcomes.release.set()
    assert await outcomes.drain(timeout=60) == 0  # the write failed: database unreachable
    await fn.RunFunction(req)
    await asyncio.sleep(0.1)
    assert rec.calls == 2, "a failed outcome write was skipped by a cached answer"
    assert outcomes.attempts == 2


async def test_a_warning_is_never_answered_from_the_cache(repos: Path) -> None:
    req = await running("legacy-vm", repos)
    xr = resource.struct_to_dict(req.observed.composite.resource)
    xr["metadata"].setdefault("annotations", {})["scia.io/feedback"] = "great"
    bad = fnv1.RunFunctionRequest()
    bad.CopyFrom(req)
    bad.observed.composite.resource.CopyFrom(resource.dict_to_struct(xr))
    fn, rec, _ = runner()
    for _ in range(2):
        rsp = await fn.RunFunction(bad)
        assert any(r.severity == fnv1.SEVERITY_WARNING for r in rsp.results)
    assert rec.calls == 2 and len(fn.answers) == 0


def test_the_cache_holds_at_most_its_bytes_least_recently_used_out_first() -> None:
    def answer(n: int) -> fnv1.RunFunctionResponse:
        rsp = fnv1.RunFunctionResponse()
        rsp.desired.composite.resource.update({"status": {"n": n, "pad": "x" * 3000 * n}})
        return rsp

    cache: AnswerCache[str] = AnswerCache(max_bytes=2000)
    for n in range(1, 40):
        cache.put(bytes([n]) * 32, answer(n), f"r{n}")
        assert cache.size_bytes <= 2000
    assert 0 < len(cache) < 39
    assert cache.get(bytes([1]) * 32) is None  # the oldest went first
    found = cache.get(bytes([39]) * 32)
    assert found is not None and found[1] == "r39"
    assert resource.struct_to_dict(found[0].desired.composite.resource)["status"]["n"] == 39
    cache.drop(bytes([39]) * 32)
    assert cache.get(bytes([39]) * 32) is None
    off: AnswerCache[str] = AnswerCache(0)
    off.put(b"k" * 32, answer(1), "r")
    assert not off.enabled and len(off) == 0
    with pytest.raises(ValueError):
        AnswerCache(-1)


def test_the_key_covers_every_part_of_the_request() -> None:
    base = fnv1.RunFunctionRequest(meta=fnv1.RequestMeta(tag="a"))
    keys = {request_key(base)}
    for change in (
        lambda r: setattr(r.meta, "tag", "b"),
        lambda r: r.observed.composite.resource.update({"spec": {"x": 1}}),
        lambda r: r.observed.resources["a"].resource.update({"x": 1}),
        lambda r: r.desired.resources["a"].resource.update({"x": 1}),
        lambda r: r.input.update({"x": 1}),
        lambda r: r.context.update({"x": 1}),
        lambda r: r.credentials["c"].credential_data.data.update({"k": b"v"}),
        lambda r: r.required_resources["q"].items.add(),
    ):
        req = copy.deepcopy(base)
        change(req)
        keys.add(request_key(req))
    assert len(keys) == 9
