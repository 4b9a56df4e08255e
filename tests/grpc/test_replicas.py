"""Three real function servers behind a round-robin gRPC client, one embedded PostgreSQL and
one LLM server: one decision per distinct input across the replicas, byte-identical desired
state whichever replica answers, and a replica killed mid-decision taken over by another."""

from __future__ import annotations

import contextlib
import copy
import os
import re
import signal
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import psycopg
import pytest
import yaml
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1

from examples import render as R
from tests.support.fake_ollama import FakeOllama, Reply, fake_ollama

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
XR = yaml.safe_load((ROOT / "examples" / "legacy" / "xr.yaml").read_text())
GOOD = {
    "strategy": "vm",
    "vm": {"instanceType": "t3.small", "minSize": 2, "maxSize": 3, "desiredCapacity": 2},
    "reason": "two small instances behind an ALB",
    "confidence": 0.8,
    "alternatives": [],
}
LEASE = 3.0
RETRY = 5


@dataclass
class Replica:
    proc: Any
    port: int
    metrics_port: int

    def metric(self, name: str, labels: str = "") -> float:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10
        ) as r:
            text = r.read().decode()
        pattern = re.escape(name + (f"{{{labels}}}" if labels else "")) + r" ([0-9.e+]+)"
        found = re.search(pattern, text)
        return float(found.group(1)) if found else 0.0


@contextlib.contextmanager
def replicas(
    dsn: str,
    logs: Path,
    n: int = 3,
    module: str = "function.main",
    env: dict[str, str] | None = None,
) -> Iterator[list[Replica]]:
    with contextlib.ExitStack() as stack:
        out = []
        for i in range(n):
            port, mport = R.free_port(), R.free_port()
            args = ("--memory", "off", "--memory-dsn", dsn, "--decision-lease-seconds", str(LEASE))
            args += ("--metrics-address", f"127.0.0.1:{mport}")
            server = R.function_server(
                port, env=env, log=logs / f"r{i}.log", args=args, module=module
            )
            out.append(Replica(stack.enter_context(server), port, mport))
        yield out


@contextlib.contextmanager
def direct(rep: Replica) -> Iterator[grpcv1.FunctionRunnerServiceStub]:
    """A client of one replica only (the balancer would also send calls to a frozen one)."""
    with grpc.insecure_channel(f"127.0.0.1:{rep.port}") as channel:
        grpc.channel_ready_future(channel).result(timeout=60)
        yield grpcv1.FunctionRunnerServiceStub(channel)


@contextlib.contextmanager
def round_robin(reps: list[Replica]) -> Iterator[grpcv1.FunctionRunnerServiceStub]:
    target = "ipv4:" + ",".join(f"127.0.0.1:{r.port}" for r in reps)
    options = [("grpc.lb_policy_name", "round_robin")]
    with grpc.insecure_channel(target, options=options) as channel:
        grpc.channel_ready_future(channel).result(timeout=60)
        yield grpcv1.FunctionRunnerServiceStub(channel)


def function_input(repos: Path, llm_url: str) -> dict[str, Any]:
    return {
        "apiVersion": "scia.fn.crossplane.io/v1alpha1",
        "kind": "Input",
        "urlRewrites": [{"prefix": R.MIRRORED_PREFIX, "replacement": f"file://{repos}/"}],
        "analysis": {"allowFileUrls": True},
        "decision": {"waitSeconds": 1, "retrySeconds": RETRY},
        "vm": {"allowedInstanceTypes": ["t3.micro", "t3.small", "t3.medium"], "maxInstances": 4},
        "llm": {"enabled": True, "host": llm_url, "timeoutSeconds": 30},
    }


def xr_named(i: int) -> dict[str, Any]:
    xr = copy.deepcopy(XR)
    xr["metadata"]["name"] = f"app-{i}"
    xr["metadata"]["uid"] = f"00000000-0000-4000-8000-{i:012d}"
    return xr


def call(stub: grpcv1.FunctionRunnerServiceStub, xr: dict[str, Any], inp: dict[str, Any]) -> Any:
    req = fnv1.RunFunctionRequest(meta=fnv1.RequestMeta(tag="t"))
    req.observed.composite.resource.CopyFrom(resource.dict_to_struct(xr))
    req.input.CopyFrom(resource.dict_to_struct(inp))
    for _ in range(5):
        try:
            return stub.RunFunction(req, timeout=60)
        except grpc.RpcError as e:  # a replica just died: the balancer moves on
            if e.code() != grpc.StatusCode.UNAVAILABLE:
                raise
            time.sleep(0.2)
    raise AssertionError("no replica answered")


def decided(resp: Any) -> bool:
    return len(resp.desired.resources) > 0


def desired_bytes(resp: Any) -> bytes:
    return bytes(resp.desired.SerializeToString(deterministic=True))


def jobs_table(dsn: str) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, row_factory=psycopg.rows.dict_row) as conn:
        return conn.execute("SELECT key, state, owner, attempts FROM scia_decision_jobs").fetchall()


@pytest.fixture
def llm() -> Iterator[FakeOllama]:
    with fake_ollama(Reply.json(GOOD)) as fake:
        yield fake


def test_one_xr_reconciled_100_times_is_decided_once(
    fresh_dsn: str, repos: Path, llm: FakeOllama, tmp_path: Path
) -> None:
    inp = function_input(repos, llm.url)
    with replicas(fresh_dsn, tmp_path) as reps, round_robin(reps) as stub:
        answers: list[Any] = []
        with ThreadPoolExecutor(10) as pool:
            deadline = time.monotonic() + 180
            while len(answers) < 100 and time.monotonic() < deadline:
                answers += pool.map(lambda _: call(stub, XR, inp), range(10))
        # Keep going until every replica has answered with the decision.
        more = [call(stub, XR, inp) for _ in range(9)]
        assert all(decided(a) for a in more)
        analyses = sum(
            r.metric("scia_decision_stage_seconds_count", 'stage="analysis"') for r in reps
        )
        served = [r.metric("scia_run_function_seconds_count") for r in reps]
    assert len(answers) == 100
    assert len(llm.chat_requests()) == 1
    assert analyses == 1
    assert all(n >= 30 for n in served), served  # round robin: every replica served
    forms = {desired_bytes(a) for a in answers + more if decided(a)}
    assert len(forms) == 1
    [row] = jobs_table(fresh_dsn)
    assert row["state"] == "done" and row["attempts"] == 1


def test_200_xrs_make_200_llm_calls_without_duplicates(
    fresh_dsn: str, repos: Path, llm: FakeOllama, tmp_path: Path
) -> None:
    inp = function_input(repos, llm.url)
    xrs = [xr_named(i) for i in range(200)]
    with replicas(fresh_dsn, tmp_path) as reps, round_robin(reps) as stub:
        pending = set(range(200))
        forms: dict[int, set[bytes]] = {i: set() for i in range(200)}
        with ThreadPoolExecutor(16) as pool:
            # Bounded by time, not rounds: on a loaded machine the background decisions
            # finish long after a few fast rounds of "still analysing" answers.
            deadline = time.monotonic() + 900
            while pending and time.monotonic() < deadline:
                todo = [i for i in sorted(pending) for _ in range(3)]  # 3 reconciles each
                answers = list(pool.map(lambda i: call(stub, xrs[i], inp), todo))
                before = len(pending)
                for i, resp in zip(todo, answers, strict=True):
                    if decided(resp):
                        forms[i].add(desired_bytes(resp))
                        pending.discard(i)
                if len(pending) == before:
                    time.sleep(1.0)  # nothing finished this round: let the jobs run
        analyses = sum(
            r.metric("scia_decision_stage_seconds_count", 'stage="analysis"') for r in reps
        )
    assert not pending
    assert len(llm.chat_requests()) == 200
    assert analyses == 200
    assert all(len(f) == 1 for f in forms.values())
    rows = jobs_table(fresh_dsn)
    assert len(rows) == 200 and {r["state"] for r in rows} == {"done"}
    assert {r["attempts"] for r in rows} == {1}
    assert len({r["owner"] for r in rows}) == 3  # the work spread over the replicas


def test_a_replica_killed_mid_decision_is_taken_over(
    fresh_dsn: str, repos: Path, tmp_path: Path
) -> None:
    slow = 4.0
    with fake_ollama(Reply.json(GOOD, delay=slow)) as llm:
        inp = function_input(repos, llm.url)
        with replicas(fresh_dsn, tmp_path) as reps, round_robin(reps) as stub:
            assert not decided(call(stub, XR, inp))  # the LLM takes 4 s: Analyzing
            owner = _wait_for_owner(fresh_dsn)
            for _ in range(300):  # kill it while its LLM call is in flight
                if llm.chat_requests():
                    break
                time.sleep(0.1)
            pid = int(owner.split(":")[1])
            [victim] = [r for r in reps if r.proc.pid == pid]
            os.kill(pid, signal.SIGKILL)
            victim.proc.wait(30)
            killed_at = time.monotonic()
            resp = None
            for _ in range(200):  # bounded; Crossplane would call every retrySeconds
                resp = call(stub, XR, inp)
                if decided(resp):
                    break
                time.sleep(0.25)
            took = time.monotonic() - killed_at
            others = [r for r in reps if r is not victim]
            forms = {desired_bytes(call(stub, XR, inp)) for _ in range(4)}
    assert resp is not None and decided(resp)
    # The lease lapses, another replica claims, runs the (slow) LLM call again, stores it.
    assert took <= LEASE + slow + RETRY + 10, took
    assert len(llm.chat_requests()) == 2
    [row] = jobs_table(fresh_dsn)
    assert row["state"] == "done" and row["attempts"] == 2 and row["owner"] != owner
    assert int(row["owner"].split(":")[1]) in {r.proc.pid for r in others}
    assert forms == {desired_bytes(resp)}


def _wait_for_owner(dsn: str) -> str:
    for _ in range(300):
        rows = [r for r in jobs_table(dsn) if r["state"] == "running"]
        if rows:
            return str(rows[0]["owner"])
        time.sleep(0.1)
    raise AssertionError("no replica claimed the decision")


def test_an_owner_stalled_past_its_lease_keeps_its_job(
    fresh_dsn: str, repos: Path, llm: FakeOllama, tmp_path: Path
) -> None:
    """Alive but slow is not dead: the owner's event loop blocks for four leases right
    before its LLM call (tests/support/stalling_replica.py), and still no other replica
    takes the job over: its leases are renewed by a thread of its own."""
    stall = 4 * LEASE
    inp = function_input(repos, llm.url)
    env = {"SCIA_TEST_STALL_SECONDS": str(stall)}
    module = "tests.support.stalling_replica"
    with (
        replicas(fresh_dsn, tmp_path, module=module, env=env) as reps,
        round_robin(reps) as stub,
    ):
        started = time.monotonic()
        resp = call(stub, XR, inp)
        deadline = time.monotonic() + 300
        while not decided(resp) and time.monotonic() < deadline:
            time.sleep(0.25)
            resp = call(stub, XR, inp)
        took = time.monotonic() - started
        forms = {desired_bytes(call(stub, XR, inp)) for _ in range(6)}
    assert decided(resp)
    assert took >= stall  # the stall did happen, and was longer than the lease
    assert len(llm.chat_requests()) == 1
    [row] = jobs_table(fresh_dsn)
    assert row["state"] == "done" and row["attempts"] == 1
    assert forms == {desired_bytes(resp)}


def test_a_frozen_owner_is_taken_over_and_its_late_result_is_not_stored(
    fresh_dsn: str, repos: Path, tmp_path: Path
) -> None:
    """A replica frozen (SIGSTOP) past its lease looks dead: another replica takes its
    job over. When it thaws with its LLM answer in hand, the fencing token keeps its late
    result out: the row is the new owner's, and the thawed replica renders that one too."""
    slow = 4.0
    with fake_ollama(Reply.json(GOOD, delay=slow)) as llm:
        inp = function_input(repos, llm.url)
        with replicas(fresh_dsn, tmp_path) as reps, round_robin(reps) as stub:
            assert not decided(call(stub, XR, inp))
            owner = _wait_for_owner(fresh_dsn)
            for _ in range(300):  # freeze it while its LLM call is in flight
                if llm.chat_requests():
                    break
                time.sleep(0.1)
            pid = int(owner.split(":")[1])
            [frozen] = [r for r in reps if r.proc.pid == pid]
            others = [r for r in reps if r is not frozen]
            os.kill(pid, signal.SIGSTOP)
            try:
                with direct(others[0]) as other:
                    for _ in range(600):  # bounded: until a live replica took the job over
                        call(other, XR, inp)
                        if any(r["attempts"] == 2 for r in jobs_table(fresh_dsn)):
                            break
                        time.sleep(0.2)
            finally:
                os.kill(pid, signal.SIGCONT)  # it resumes with its LLM answer arriving
            forms: set[bytes] = set()
            for rep in reps:
                with direct(rep) as one:
                    resp = call(one, XR, inp)
                    for _ in range(600):
                        if decided(resp):
                            break
                        time.sleep(0.2)
                        resp = call(one, XR, inp)
                    assert decided(resp), rep.port
                    forms.add(desired_bytes(resp))
    assert len(llm.chat_requests()) == 2  # the frozen owner's call and the new owner's
    [row] = jobs_table(fresh_dsn)
    assert row["state"] == "done" and row["attempts"] == 2 and row["owner"] != owner
    assert int(row["owner"].split(":")[1]) in {r.proc.pid for r in others}
    assert len(forms) == 1
