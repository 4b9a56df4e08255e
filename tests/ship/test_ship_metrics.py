"""Prometheus metrics: the helpers, and the endpoint of the real server after real calls."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from examples import render as R
from function import metrics
from function.main import JsonFormatter

ROOT = Path(__file__).resolve().parents[2]


FAMILIES = {
    "scia_run_function_seconds": "histogram",
    "scia_decision_stage_seconds": "histogram",
    "scia_retrieval_seconds": "histogram",
    "scia_decision_confidence": "histogram",
    "scia_deployment_seconds": "histogram",
    "scia_deployments": "counter",
    "scia_llm_fallbacks": "counter",
    "scia_cache_requests": "counter",
}


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- helpers, in process -------------------------------------------------------------


def test_stage_timer_records_even_when_the_stage_raises() -> None:
    before = value("scia_decision_stage_seconds_count", stage="llm")
    with pytest.raises(RuntimeError), metrics.stage_timer("llm"):
        raise RuntimeError("model went away")
    with metrics.stage_timer("llm"):
        pass
    assert value("scia_decision_stage_seconds_count", stage="llm") == before + 2


def test_every_stage_has_a_series_before_any_decision() -> None:
    for stage in metrics.STAGES:
        assert (
            REGISTRY.get_sample_value("scia_decision_stage_seconds_count", {"stage": stage})
            is not None
        )


def test_counters_carry_their_labels() -> None:
    labels = {"strategy": "vm", "framework": "flask", "outcome": "success"}
    before = value("scia_deployments_total", **labels)
    metrics.count_deployment("vm", "flask", "success")
    metrics.count_deployment("", "", "failed")
    assert value("scia_deployments_total", **labels) == before + 1
    unknown = {"strategy": "unknown", "framework": "unknown", "outcome": "failed"}
    assert value("scia_deployments_total", **unknown) >= 1

    hits = value("scia_cache_requests_total", cache="profile", result="hit")
    misses = value("scia_cache_requests_total", cache="profile", result="miss")
    metrics.count_cache("profile", hit=True)
    metrics.count_cache("profile", hit=False)
    metrics.count_cache("profile", hit=False)
    assert value("scia_cache_requests_total", cache="profile", result="hit") == hits + 1
    assert value("scia_cache_requests_total", cache="profile", result="miss") == misses + 2

    fallbacks = value("scia_llm_fallbacks_total", reason="timeout")
    metrics.count_llm_fallback("timeout")
    assert value("scia_llm_fallbacks_total", reason="timeout") == fallbacks + 1


def test_deployment_time_by_strategy() -> None:
    before = value("scia_deployment_seconds_count", strategy="kubernetes")
    quick = value("scia_deployment_seconds_bucket", strategy="kubernetes", le="600.0")
    metrics.observe_deployment_time("kubernetes", 540.0)
    metrics.observe_deployment_time("kubernetes", 1500.0)
    assert value("scia_deployment_seconds_count", strategy="kubernetes") == before + 2
    assert value("scia_deployment_seconds_bucket", strategy="kubernetes", le="600.0") == quick + 1


def test_confidence_is_clamped_into_zero_one() -> None:
    low = value("scia_decision_confidence_bucket", le="0.1")
    top = value("scia_decision_confidence_bucket", le="1.0")
    total = value("scia_decision_confidence_sum")
    metrics.observe_confidence(-3)
    metrics.observe_confidence(7)
    assert value("scia_decision_confidence_bucket", le="0.1") == low + 1
    assert value("scia_decision_confidence_bucket", le="1.0") == top + 2
    assert value("scia_decision_confidence_sum") == pytest.approx(total + 1.0)


def test_retrieval_histogram_buckets_sub_millisecond_queries() -> None:
    fast = value("scia_retrieval_seconds_bucket", le="0.001")
    metrics.observe_retrieval(0.0007)
    metrics.observe_retrieval(0.3)
    assert value("scia_retrieval_seconds_bucket", le="0.001") == fast + 1


async def test_timed_run_function_counts_returns_and_raises() -> None:
    @metrics.timed_run_function
    async def handler(fail: bool) -> str:
        await asyncio.sleep(0)
        if fail:
            raise ValueError("boom")
        return "ok"

    before = value("scia_run_function_seconds_count")
    assert await handler(False) == "ok"
    with pytest.raises(ValueError, match="boom"):
        await handler(True)
    assert value("scia_run_function_seconds_count") == before + 2


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("0.0.0.0:8080", ("0.0.0.0", 8080)),
        (":9090", ("0.0.0.0", 9090)),
        ("[::1]:8080", ("::1", 8080)),
        ("127.0.0.1:0", ("127.0.0.1", 0)),
    ],
)
def test_parse_address(address: str, expected: tuple[str, int]) -> None:
    assert metrics.parse_address(address) == expected


@pytest.mark.parametrize("address", ["8080", "host:", "host:http", "host:70000", ""])
def test_parse_address_rejects_garbage(address: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        metrics.parse_address(address)


def test_json_log_lines_carry_the_xr() -> None:
    record = logging.makeLogRecord(
        {
            "name": "function.fn",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "reconciled",
            "xr": "flask-app-7xk2p",
            "namespace": "team-a",
            "uid": "5d1c2a43",
        }
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "reconciled"
    assert (line["xr"], line["namespace"], line["uid"]) == ("flask-app-7xk2p", "team-a", "5d1c2a43")
    assert line["level"] == "info"


# --- the real server ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int, Path]]:
    """function-scia on loopback with --metrics-address set through its environment variable."""
    grpc_port, metrics_port = R.free_port(), R.free_port()
    work = tmp_path_factory.mktemp("ship-server")
    repos = work / "repos"
    repos.mkdir()
    R.build_repositories(repos)
    env = {"SCIA_METRICS_ADDRESS": f"127.0.0.1:{metrics_port}"}
    with R.function_server(grpc_port, env=env, log=work / "function.log"):
        yield grpc_port, metrics_port, repos


def scrape(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as rsp:
        assert rsp.status == 200
        assert rsp.headers["Content-Type"].startswith("text/plain")
        text = rsp.read().decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def run_request(repos: Path, xr: dict[str, Any]) -> fnv1.RunFunctionRequest:
    req = fnv1.RunFunctionRequest(meta=fnv1.RequestMeta(tag="ship"))
    req.observed.composite.resource.CopyFrom(resource.dict_to_struct(xr))
    inp = {
        "apiVersion": "scia.fn.crossplane.io/v1alpha1",
        "kind": "Input",
        "urlRewrites": [{"prefix": R.MIRRORED_PREFIX, "replacement": f"file://{repos}/"}],
        "analysis": {"allowFileUrls": True},
        "decision": {"waitSeconds": 30},
    }
    req.input.CopyFrom(resource.dict_to_struct(inp))
    return req


@pytest.mark.integration
def test_metrics_endpoint_after_real_run_function_calls(server: tuple[int, int, Path]) -> None:
    grpc_port, metrics_port, repos = server
    before = scrape(metrics_port)
    for name, kind in FAMILIES.items():
        assert before[name].type == kind, name
    assert "process_resident_memory_bytes" in before  # the default collectors are there too

    def count(families: dict[str, Any]) -> float:
        fam = families["scia_run_function_seconds"]
        return next(s.value for s in fam.samples if s.name == "scia_run_function_seconds_count")

    xr = yaml.safe_load((ROOT / "examples" / "legacy" / "xr.yaml").read_text())
    broken = {"apiVersion": "scia.io/v1alpha1", "kind": "XAppDeployment", "spec": {}}
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        stub = grpcv1.FunctionRunnerServiceStub(channel)
        decided = stub.RunFunction(run_request(repos, xr), timeout=90)
        again = stub.RunFunction(run_request(repos, xr), timeout=90)
        refused = stub.RunFunction(run_request(repos, broken), timeout=90)
    assert decided.desired.resources, decided.results
    assert again.desired.resources, again.results
    assert any(r.severity == fnv1.SEVERITY_FATAL for r in refused.results)

    after = scrape(metrics_port)
    assert count(after) == count(before) + 3
    samples = {
        (s.name, s.labels.get("le")): s.value for s in after["scia_run_function_seconds"].samples
    }
    # Cumulative buckets: +Inf holds every call, and no bucket holds more than the next one.
    assert samples[("scia_run_function_seconds_bucket", "+Inf")] == count(after)
    bounds = sorted(
        (float(le), v)
        for (name, le), v in samples.items()
        if name == "scia_run_function_seconds_bucket" and le not in (None, "+Inf")
    )
    assert all(a[1] <= b[1] for a, b in itertools.pairwise(bounds))
    assert samples[("scia_run_function_seconds_sum", None)] > 0
    stages = {
        s.labels["stage"]
        for s in after["scia_decision_stage_seconds"].samples
        if s.name.endswith("_count")
    }
    assert stages == set(metrics.STAGES)


@pytest.mark.integration
def test_server_logs_are_json_lines(tmp_path: Path) -> None:
    log = tmp_path / "function.log"
    port = R.free_port()
    with R.function_server(port, env={"SCIA_METRICS_ADDRESS": "127.0.0.1:0"}, log=log):
        pass
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    started = [x for x in lines if x["msg"] == "serving metrics"]
    assert started and started[0]["level"] == "info"
    assert started[0]["address"].startswith("127.0.0.1:")
    assert not started[0]["address"].endswith(":0")
