"""A metrics source the platform configures in the function input: the Prometheus HTTP API.

`metricsSource.prometheus` names the server and one PromQL query per observation (the same
observations as the `scia.io/observed-*` annotations, observations.py). Placeholders in a
query are replaced with the deployment's own values, escaped as PromQL string literals:
`{{namespace}}` (the tenant's namespace), `{{name}}` (the claim's or the XR's name),
`{{uid}}` (the XR's uid) and `{{revision}}` (the pinned decision revision), e.g.

    cpuUtilisation: avg(rate(container_cpu_usage_seconds_total{namespace="{{namespace}}"}[15m]))

Queries run in a background task of the outcome recorder (outcomes.py), never on the
reconcile path: at most once per `intervalSeconds` per deployment revision, only for a
deployment that runs. Each query is an instant query, `GET /api/v1/query?query=...`
(https://prometheus.io/docs/prometheus/latest/querying/api/), whose answer must be one
sample: a `vector` of exactly one series or a `scalar`. The results are stored as the
performance metrics of the revision's memory record (merged key by key with what the
annotations report), which learning reads (learning.py).

What goes wrong is named per observation and the others still count: an error answer
(`{"status": "error", "errorType": ..., "error": ...}`, HTTP 400 bad_data, 422 execution,
503 unavailable), an empty vector, more than one series, a value that is not a finite
number or is outside the observation's range, an answer that is not JSON, a timeout or a
server that cannot be reached. Amazon CloudWatch: `metricsSource.cloudwatch` (cloudwatch.py).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.alias_generators import to_camel

from function.decide.cloudwatch import CloudWatchSettings
from function.decide.observations import RANGES

PromQl = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
MAX_ERROR_CHARS = 200


class PrometheusQueries(BaseModel):
    """One optional query per observation. A model with named fields, not a map with an enum
    of keys: a CRD's schema must be structural (no propertyNames), or the API server refuses
    the input CRD."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    observed_rps: PromQl | None = Field(default=None, alias="observedRps")
    cpu_utilisation: PromQl | None = Field(default=None, alias="cpuUtilisation")
    memory_gib: PromQl | None = Field(default=None, alias="memoryGiB")
    oom_kills: PromQl | None = Field(default=None, alias="oomKills")
    p95_ms: PromQl | None = Field(default=None, alias="p95Ms")
    error_rate_5xx: PromQl | None = Field(default=None, alias="errorRate5xx")
    duration_ms: PromQl | None = Field(default=None, alias="durationMs")
    throttles: PromQl | None = Field(default=None, alias="throttles")
    scaling_activities: PromQl | None = Field(
        default=None,
        alias="scalingActivities",
        description="scaling activities in the window, e.g. "
        "changes(kube_horizontalpodautoscaler_status_desired_replicas{...}[1h])",
    )

    @model_validator(mode="after")
    def _one_at_least(self) -> PrometheusQueries:
        if not self.items():
            raise ValueError("at least one query is needed")
        return self

    def items(self) -> list[tuple[str, str]]:
        """(observation, query) for each query given, by the observation's metrics key."""
        dumped = self.model_dump(by_alias=True, exclude_none=True)
        return [(k, str(v)) for k, v in dumped.items()]


class PrometheusSettings(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    url: str = Field(
        max_length=512,
        pattern=r"^https?://[^\s@]+$",
        description="the Prometheus server's base URL (…/api/v1/query is appended)",
    )
    queries: PrometheusQueries = Field(
        description="one PromQL instant query per observation (at least one); placeholders "
        "{{namespace}}, {{name}}, {{uid}}, {{revision}}",
    )
    interval_seconds: int = Field(
        default=300, ge=30, le=86400, description="query a deployment revision at most this often"
    )
    timeout_seconds: float = Field(default=10.0, gt=0, le=60, description="one query")


class MetricsSourceSettings(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    prometheus: PrometheusSettings | None = None
    cloudwatch: CloudWatchSettings | None = Field(
        default=None,
        description="Amazon CloudWatch GetMetricData with the function credential "
        "cloudwatch-credentials (read-only: cloudwatch:GetMetricData)",
    )

    @property
    def configured(self) -> bool:
        return self.prometheus is not None or self.cloudwatch is not None


def promql_string(value: str) -> str:
    """`value` as the inside of a double-quoted PromQL string literal."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_query(query: str, values: dict[str, str]) -> str:
    """The query with its placeholders replaced (only the known ones; braces of label
    matchers are left alone)."""
    for key, value in values.items():
        query = query.replace("{{" + key + "}}", promql_string(value))
    return query


def _sample(body: Any) -> tuple[float | None, str | None]:
    """The one sample of an instant query's answer, or why there is none."""
    if not isinstance(body, dict):
        return None, "the answer is not a JSON object"
    if body.get("status") != "success":
        error_type = str(body.get("errorType") or "error")[:40]
        return None, f"{error_type}: {str(body.get('error') or 'no error text')[:MAX_ERROR_CHARS]}"
    data = body.get("data")
    if not isinstance(data, dict):
        return None, "the answer has no data"
    kind, result = data.get("resultType"), data.get("result")
    raw: Any
    if kind == "scalar" and isinstance(result, list) and len(result) == 2:
        raw = result[1]
    elif kind == "vector" and isinstance(result, list):
        if not result:
            return None, "no data (an empty vector)"
        if len(result) > 1:
            return None, f"{len(result)} series; the query must return one (aggregate it)"
        value = result[0].get("value") if isinstance(result[0], dict) else None
        if not (isinstance(value, list) and len(value) == 2):
            return None, "a series without a value"
        raw = value[1]
    else:
        return None, f"result type {str(kind)[:20]!r}; an instant vector or scalar is needed"
    try:
        number = float(raw)
    except (TypeError, ValueError):
        return None, f"{str(raw)[:20]!r} is not a number"
    if not math.isfinite(number):
        return None, f"{raw} is not a finite number"
    return number, None


async def query_prometheus(
    source: PrometheusSettings,
    values: dict[str, str],
    client: httpx.AsyncClient | None = None,
) -> tuple[dict[str, float | bool], list[str]]:
    """(metrics, problems): each configured observation's value, and what went wrong with
    the others, each naming the observation."""
    metrics: dict[str, float | bool] = {}
    problems: list[str] = []
    url = source.url.rstrip("/") + "/api/v1/query"
    own = client is None
    http = client or httpx.AsyncClient(timeout=source.timeout_seconds)
    try:
        for name, template in source.queries.items():
            where = f"metricsSource.prometheus.queries.{name}"
            try:
                rsp = await http.get(url, params={"query": render_query(template, values)})
            except httpx.TimeoutException:
                problems.append(f"{where}: no answer within {source.timeout_seconds:g}s")
                continue
            except httpx.HTTPError as e:
                problems.append(f"{where}: cannot reach {source.url} ({type(e).__name__})")
                continue
            try:
                body = rsp.json()
            except ValueError:
                problems.append(f"{where}: HTTP {rsp.status_code}, the answer is not JSON")
                continue
            number, why = _sample(body)
            if number is None:
                problems.append(f"{where}: HTTP {rsp.status_code}, {why}")
                continue
            low, high = RANGES[name]
            if not low <= number <= high:
                problems.append(f"{where}: {number:g} is outside {low:g}..{high:g}")
                continue
            metrics[name] = number
    finally:
        if own:
            await http.aclose()
    return metrics, problems
