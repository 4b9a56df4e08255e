"""The Prometheus metrics source (function/decide/metrics_source.py) against a loopback
server speaking the Prometheus HTTP API, its answers and its error shapes."""

from __future__ import annotations

import socket

import pytest
from pydantic import ValidationError

from function.decide.metrics_source import PrometheusSettings, query_prometheus, render_query
from function.input import FunctionInput
from tests.support.fake_prometheus import error, fake_prometheus, scalar, vector

VALUES = {"namespace": "team-a", "name": "shop", "uid": "u-1", "revision": "3"}


def source(url: str, **queries: str) -> PrometheusSettings:
    return PrometheusSettings(url=url, queries=queries, timeout_seconds=30)


async def test_each_observation_is_one_sample_of_an_instant_query() -> None:
    answers = {
        "rps": vector("42.5"),
        "cpu": scalar("0.31"),
        "mem": vector("1.75", metric={"pod": "shop-1"}),
    }
    with fake_prometheus(lambda q: answers[q.split("|")[0]]) as prom:
        got, problems = await query_prometheus(
            source(
                prom.url,
                observedRps='rps|sum(rate(http_requests_total{namespace="{{namespace}}"}[15m]))',
                cpuUtilisation="cpu|{{name}}",
                memoryGiB="mem|{{uid}} {{revision}}",
            ),
            VALUES,
        )
    assert problems == []
    assert got == {"observedRps": 42.5, "cpuUtilisation": 0.31, "memoryGiB": 1.75}
    # Placeholders were replaced; PromQL's own braces were left alone.
    assert 'rps|sum(rate(http_requests_total{namespace="team-a"}[15m]))' in prom.queries
    assert "cpu|shop" in prom.queries and "mem|u-1 3" in prom.queries


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        (error(400, "bad_data", 'parse error: unexpected "}"'), "HTTP 400, bad_data: parse error"),
        (error(422, "execution", "query timed out"), "HTTP 422, execution: query timed out"),
        (error(503, "unavailable", "shutting down"), "HTTP 503, unavailable: shutting down"),
        (vector(), "no data (an empty vector)"),
        (vector("1", "2"), "2 series; the query must return one"),
        (vector("NaN"), "NaN is not a finite number"),
        (vector("+Inf"), "+Inf is not a finite number"),
        (vector("1.7"), "1.7 is outside 0..1"),
        (scalar("many"), "'many' is not a number"),
        ((200, {"status": "success", "data": {"resultType": "matrix", "result": []}}), "matrix"),
        ((502, "<html>bad gateway</html>"), "HTTP 502, the answer is not JSON"),
    ],
)
async def test_every_error_shape_is_named_per_observation_and_the_others_count(
    answer: tuple[int, object], named: str
) -> None:
    with fake_prometheus(lambda q: answer if q == "bad" else vector("12")) as prom:
        got, problems = await query_prometheus(
            source(prom.url, cpuUtilisation="bad", observedRps="good"), VALUES
        )
    assert got == {"observedRps": 12.0}
    (problem,) = problems
    assert problem.startswith("metricsSource.prometheus.queries.cpuUtilisation: "), problem
    assert named in problem, problem


async def test_a_server_that_cannot_be_reached_is_named() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    got, problems = await query_prometheus(
        source(f"http://127.0.0.1:{port}", p95Ms="histogram_quantile(0.95, x)"), VALUES
    )
    assert got == {}
    assert problems == [
        f"metricsSource.prometheus.queries.p95Ms: cannot reach http://127.0.0.1:{port} "
        "(ConnectError)"
    ]


def test_placeholders_are_escaped_as_promql_strings() -> None:
    q = render_query('up{job="{{name}}"}', {"name": 'a"b\\c'})
    assert q == 'up{job="a\\"b\\\\c"}'


def test_the_input_names_bad_settings() -> None:
    ok = FunctionInput.model_validate(
        {
            "metricsSource": {
                "prometheus": {"url": "http://prometheus:9090", "queries": {"p95Ms": "x"}}
            }
        }
    )
    assert ok.metrics_source.prometheus is not None
    for bad in (
        {"url": "ftp://x", "queries": {"p95Ms": "x"}},
        {"url": "http://x", "queries": {}},
        {"url": "http://x", "queries": {"latency": "x"}},
        {"url": "http://x", "queries": {"p95Ms": " "}},
        {"url": "http://x", "queries": {"p95Ms": "x"}, "intervalSeconds": 1},
    ):
        with pytest.raises(ValidationError):
            FunctionInput.model_validate({"metricsSource": {"prometheus": bad}})


async def test_scaling_activities_are_an_observation_of_prometheus() -> None:
    q = 'changes(kube_horizontalpodautoscaler_status_desired_replicas{namespace="{{namespace}}"}[1h])'
    with fake_prometheus(lambda _: vector("5")) as prom:
        got, problems = await query_prometheus(source(prom.url, scalingActivities=q), VALUES)
    assert problems == [] and got == {"scalingActivities": 5.0}
    assert prom.queries == [q.replace("{{namespace}}", "team-a")]
    with fake_prometheus(lambda _: vector("-1")) as prom:
        got, problems = await query_prometheus(source(prom.url, scalingActivities=q), VALUES)
    assert got == {} and "scalingActivities: -1 is outside 0..1e+06" in problems[0]
