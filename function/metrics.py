"""Prometheus metrics of function-scia and the HTTP endpoint that serves them.

Every metric lives in prometheus_client's default registry (with the process and
Python collectors), so one scrape of `--metrics-address` shows all of them. The helpers
below are the only way the rest of the code touches metrics: they keep label names and
values in one place, and they never raise into a reconcile.

Names (see docs/operations.md for the PromQL that uses them):
  scia_run_function_seconds                      histogram, one RunFunction call
  scia_decision_stage_seconds{stage}             histogram, analysis|retrieval|llm|render
  scia_retrieval_seconds                         histogram, one similar-deployment query
  scia_decision_confidence                       histogram, 0..1, one per new decision
  scia_deployment_seconds{strategy}              histogram, decision to running (or failed)
  scia_deployments_total{strategy,framework,outcome}  counter
  scia_llm_fallbacks_total{reason}               counter, LLM answer replaced by the rules
  scia_cache_requests_total{cache,result}        counter, result = hit|miss
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Literal, ParamSpec, TypeVar

from prometheus_client import Counter, Histogram, start_http_server

log = logging.getLogger(__name__)

_P = ParamSpec("_P")
_R = TypeVar("_R")

Stage = Literal["analysis", "retrieval", "llm", "render"]
STAGES: tuple[Stage, ...] = ("analysis", "retrieval", "llm", "render")

# 2.0 is the reconcile answer's SLO (docs/operations/scaling.md): `le="2.0"` counts the calls
# answered within it.
_LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 120.0,
)  # fmt: skip
_RETRIEVAL_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)

RUN_FUNCTION_SECONDS = Histogram(
    "scia_run_function_seconds",
    "Time to answer one RunFunction call, including a decision when one was made inline.",
    buckets=_LATENCY_BUCKETS,
)
DECISION_STAGE_SECONDS = Histogram(
    "scia_decision_stage_seconds",
    "Time spent in one stage of a decision (analysis, retrieval, llm, render).",
    ["stage"],
    buckets=_LATENCY_BUCKETS,
)
RETRIEVAL_SECONDS = Histogram(
    "scia_retrieval_seconds",
    "Time to retrieve similar past deployments from memory (embedding and query).",
    buckets=_RETRIEVAL_BUCKETS,
)
DECISION_CONFIDENCE = Histogram(
    "scia_decision_confidence",
    "Confidence (0..1) of each new decision.",
    buckets=_CONFIDENCE_BUCKETS,
)
DEPLOYMENT_SECONDS = Histogram(
    "scia_deployment_seconds",
    "Time from a decision until its deployment reached an outcome (running or failed).",
    ["strategy"],
    buckets=(30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1200.0, 1800.0, 2700.0, 3600.0, 7200.0),
)
DEPLOYMENTS_TOTAL = Counter(
    "scia_deployments_total",
    "Deployments by chosen strategy, detected framework and outcome.",
    ["strategy", "framework", "outcome"],
)
LLM_FALLBACKS_TOTAL = Counter(
    "scia_llm_fallbacks_total",
    "Decisions where the LLM answer was not used and the rules engine decided instead.",
    ["reason"],
)
CACHE_REQUESTS_TOTAL = Counter(
    "scia_cache_requests_total",
    "Cache look-ups by cache and result (hit or miss).",
    ["cache", "result"],
)

# Children exist from the start, so dashboards and alerts see 0 instead of no series.
for _stage in STAGES:
    DECISION_STAGE_SECONDS.labels(stage=_stage)


def observe_run_function(seconds: float) -> None:
    RUN_FUNCTION_SECONDS.observe(seconds)


def timed_run_function(handler: Callable[_P, Awaitable[_R]]) -> Callable[_P, Awaitable[_R]]:
    """Decorate the async RunFunction handler: its whole duration goes to
    scia_run_function_seconds, whether it returns or raises."""

    @functools.wraps(handler)
    async def timed(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        start = time.perf_counter()
        try:
            return await handler(*args, **kwargs)
        finally:
            observe_run_function(time.perf_counter() - start)

    return timed


def observe_stage(stage: Stage, seconds: float) -> None:
    DECISION_STAGE_SECONDS.labels(stage=stage).observe(seconds)


@contextlib.contextmanager
def stage_timer(stage: Stage) -> Iterator[None]:
    """Time the block as one `stage` of a decision; the time is recorded even if it raises."""
    start = time.perf_counter()
    try:
        yield
    finally:
        observe_stage(stage, time.perf_counter() - start)


def observe_retrieval(seconds: float) -> None:
    RETRIEVAL_SECONDS.observe(seconds)


def observe_confidence(confidence: float) -> None:
    """Record a decision's confidence, clamped to [0, 1]."""
    DECISION_CONFIDENCE.observe(min(1.0, max(0.0, confidence)))


def count_deployment(strategy: str, framework: str, outcome: str) -> None:
    """One deployment reaching `outcome` (the memory's Outcome: success, failed, degraded;
    pending is not an outcome to count) with `strategy` and the detected `framework`."""
    DEPLOYMENTS_TOTAL.labels(
        strategy=strategy or "unknown", framework=framework or "unknown", outcome=outcome
    ).inc()


def observe_deployment_time(strategy: str, seconds: float) -> None:
    """How long a deployment took from its decision to its outcome."""
    DEPLOYMENT_SECONDS.labels(strategy=strategy or "unknown").observe(max(0.0, seconds))


def count_llm_fallback(reason: str) -> None:
    """The LLM's answer was not used (e.g. timeout, unavailable, invalid) and the rules decided."""
    LLM_FALLBACKS_TOTAL.labels(reason=reason).inc()


def count_cache(cache: str, hit: bool) -> None:
    CACHE_REQUESTS_TOTAL.labels(cache=cache, result="hit" if hit else "miss").inc()


def parse_address(address: str) -> tuple[str, int]:
    """`host:port`, `[v6]:port` or `:port` (all interfaces) -> (host, port)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"metrics address {address!r} is not host:port")
    host = host.removeprefix("[").removesuffix("]") or "0.0.0.0"  # noqa: S104 - pods are reached by IP
    return host, int(port)


def start_metrics_server(address: str) -> int:
    """Serve /metrics over HTTP on `address` from a daemon thread; returns the bound port.

    The server runs outside the grpc.aio event loop, so a scrape never delays a RunFunction.
    """
    host, port = parse_address(address)
    server, _ = start_http_server(port, addr=host)
    bound = int(server.server_address[1])
    log.info("serving metrics", extra={"address": f"{host}:{bound}"})
    return bound


__all__ = [
    "STAGES",
    "Stage",
    "count_cache",
    "count_deployment",
    "count_llm_fallback",
    "observe_confidence",
    "observe_deployment_time",
    "observe_retrieval",
    "observe_run_function",
    "observe_stage",
    "parse_address",
    "stage_timer",
    "start_metrics_server",
    "timed_run_function",
]
