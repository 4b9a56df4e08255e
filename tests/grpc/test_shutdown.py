"""Clean shutdown of a real server process: SIGTERM lets in-flight RunFunction calls,
background decisions and memory writes finish, then the process exits 0 without
"Event loop is closed" / "Task was destroyed" tracebacks."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
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
from tests.grpc.test_server import function_input, request
from tests.support.fake_ollama import Reply, fake_ollama

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
LEGACY = yaml.safe_load((ROOT / "examples" / "legacy" / "xr.yaml").read_text())
NAMESPACED = yaml.safe_load((ROOT / "examples" / "namespaced" / "xr.yaml").read_text())
UNCLEAN = ("Event loop is closed", "Task was destroyed", "Traceback", "was never awaited")


def start(port: int, log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "function.main",
                "--insecure",
                "--address",
                f"127.0.0.1:{port}",
                *args,
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        grpc.channel_ready_future(ch).result(timeout=180)  # the model may load first
    return proc


def exited_cleanly(proc: subprocess.Popen[bytes], log: Path) -> str:
    """Wait for the process to exit (after SIGTERM); its log, checked for unclean exits."""
    code = proc.wait(120)
    text = log.read_text(errors="replace")
    assert code == 0, text[-3000:]
    for marker in UNCLEAN:
        assert marker not in text, text[-3000:]
    return text


def killed(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(30)


def wait_for(condition: Any, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_sigterm_lets_in_flight_calls_and_decisions_finish(tmp_path: Path, repos: Path) -> None:
    port = R.free_port()
    log = tmp_path / "function.log"
    with fake_ollama(Reply.json(_GOOD, delay=3)) as fake:
        llm = {"llm": {"enabled": True, "host": fake.url, "timeoutSeconds": 30}}
        proc = start(port, log, "--memory", "off")
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
                stub = grpcv1.FunctionRunnerServiceStub(ch)
                # One call waits for its decision; another answers Analyzing at once and
                # leaves its decision running in the background.
                waiting = stub.RunFunction.future(
                    request(LEGACY, function_input(repos, **llm)), timeout=120
                )
                background = function_input(repos, **llm)
                background["decision"] = {"waitSeconds": 0}
                analyzing = stub.RunFunction(request(NAMESPACED, background), timeout=120)
                wait_for(lambda: len(fake.chat_requests()) >= 2)  # both at the model
                proc.send_signal(signal.SIGTERM)
                rsp = waiting.result(timeout=120)
            text = exited_cleanly(proc, log)
        finally:
            killed(proc)
    status = resource.struct_to_dict(rsp.desired.composite.resource)["status"]
    assert status["decision"]["decidedBy"] == "llm"  # finished, not cut off
    assert "launch-template" in rsp.desired.resources
    phase = resource.struct_to_dict(analyzing.desired.composite.resource)["status"]["phase"]
    assert phase == "Analyzing"
    assert "shutting down" in text and "stopped" in text
    assert "did not finish in time" not in text  # the background decision was drained


def test_sigterm_drains_background_memory_writes(
    tmp_path: Path, repos: Path, fresh_dsn: str
) -> None:
    port = R.free_port()
    log = tmp_path / "function.log"
    proc = start(port, log, "--memory", "on", "--memory-dsn", fresh_dsn)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            stub = grpcv1.FunctionRunnerServiceStub(ch)
            rsp = stub.RunFunction(request(LEGACY, function_input(repos)), timeout=180)
        assert not [r for r in rsp.results if r.severity == fnv1.SEVERITY_FATAL], rsp.results
        # The outcome write was scheduled in the background as the call returned.
        proc.send_signal(signal.SIGTERM)
        text = exited_cleanly(proc, log)
    finally:
        killed(proc)
    uid = LEGACY["metadata"]["uid"]
    with psycopg.connect(fresh_dsn) as conn:
        row = conn.execute(
            "SELECT revision, outcome FROM deployment_embeddings WHERE xr_uid = %s", (uid,)
        ).fetchone()
    assert row == (1, "pending"), text[-3000:]


_GOOD = {
    "strategy": "vm",
    "vm": {"instanceType": "t3.small", "minSize": 1, "maxSize": 2, "desiredCapacity": 1},
    "reason": "one small instance",
    "confidence": 0.8,
    "alternatives": [],
}
