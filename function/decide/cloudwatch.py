"""A metrics source the platform configures in the function input: Amazon CloudWatch.

`metricsSource.cloudwatch` names the region (and optionally the endpoint, e.g. a VPC
endpoint) and one expression per observation (the same observations as the
`scia.io/observed-*` annotations, observations.py): a CloudWatch Metrics Insights query
(`SELECT AVG(CPUUtilization) FROM SCHEMA("AWS/EC2", AutoScalingGroupName) WHERE
AutoScalingGroupName = '{{autoScalingGroup}}'`) or a metric math expression, with a `scale`
to the observation's unit (CPUUtilization is a percentage: 0.01; a Sum of RequestCount per
period: 1/period for requests per second). Placeholders: `{{namespace}}`, `{{name}}`,
`{{uid}}`, `{{revision}}` as for Prometheus, and `{{autoScalingGroup}}`: the name of the
deployment's auto scaling group (vm: the composed group's observed id; kubernetes: the group
EKS made for the node group) once observed. A value with a character outside
`[A-Za-z0-9._:/-]` is refused rather than escaped (the two expression languages quote
differently), naming the placeholder.

One signed `GetMetricData` call per poll (the AWS Query protocol: a form-encoded POST,
`Action=GetMetricData&Version=2010-08-01`, an XML answer;
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html),
over the last `2 x periodSeconds` (or `activityWindowSeconds` when `scalingActivities` is
asked), newest first; each observation's value is its newest datapoint times `scale`, except
`scalingActivities`: the query gives the group's desired capacity (`AWS/AutoScaling`
`GroupDesiredCapacity`, which the composed group publishes once monitoring is on: its
`enabledMetrics`, render/aws/vm.py), and the value is how many times it changed over the
window, each change one scaling activity. The call is signed with Signature Version 4 by
botocore's signer (`botocore.auth.SigV4Auth`, service `monitoring`) with the function credential
`cloudwatch-credentials` (a Secret with `accessKeyId`, `secretAccessKey` and optionally
`sessionToken`; it needs only `cloudwatch:GetMetricData`). botocore is imported off the
event loop at first use; the call itself is made with httpx.

Queries run in a background task of the outcome recorder (outcomes.py), never on the
reconcile path, as for Prometheus. What goes wrong is named per observation and the others
still count: an error answer (`ErrorResponse` with its `Code` and `Message`, e.g. HTTP 400
`InvalidParameterValue`, 403 `AccessDenied` or `SignatureDoesNotMatch`), a result whose
`StatusCode` is `Forbidden` or `InternalError` (with its messages), no datapoint, a value
outside the observation's range, an answer that is not the expected XML, a timeout or an
endpoint that cannot be reached. Secrets never appear in what is logged.
"""

from __future__ import annotations

import asyncio
import datetime
import itertools
import math
import re
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.alias_generators import to_camel

from function.decide.observations import RANGES

Expression = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
SERVICE = "monitoring"
API_VERSION = "2010-08-01"
MAX_ANSWER_BYTES = 1_000_000
MAX_ERROR_CHARS = 200
SAFE_VALUE = re.compile(r"^[A-Za-z0-9._:/-]{1,255}$")
_PLACEHOLDER = re.compile(r"\{\{([A-Za-z]+)\}\}")
PLACEHOLDERS = ("namespace", "name", "uid", "revision", "autoScalingGroup")


@dataclass(frozen=True)
class AwsCredentials:
    """An access key of the function credential `cloudwatch-credentials` (never printed)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_secret_data(cls, data: dict[str, bytes]) -> AwsCredentials | None:
        """From the Secret's keys (`accessKeyId`/`secretAccessKey`/`sessionToken`, or the
        AWS_* environment names); None when the key pair is not complete."""

        def get(*names: str) -> str | None:
            for n in names:
                if data.get(n):
                    return data[n].decode().strip() or None
            return None

        key = get("accessKeyId", "aws_access_key_id", "AWS_ACCESS_KEY_ID")
        secret = get("secretAccessKey", "aws_secret_access_key", "AWS_SECRET_ACCESS_KEY")
        token = get("sessionToken", "aws_session_token", "AWS_SESSION_TOKEN")
        if not key or not secret:
            return None
        return cls(key, secret, token)


class CloudWatchQuery(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    expression: Expression = Field(
        description="a CloudWatch Metrics Insights query or metric math expression giving one "
        "series; placeholders {{namespace}}, {{name}}, {{uid}}, {{revision}}, "
        "{{autoScalingGroup}}"
    )
    scale: float = Field(
        default=1.0,
        gt=0,
        le=1e6,
        description="multiplies the value into the observation's unit (a percentage: 0.01)",
    )

    @model_validator(mode="after")
    def _known_placeholders(self) -> CloudWatchQuery:
        unknown = sorted(set(_PLACEHOLDER.findall(self.expression)) - set(PLACEHOLDERS))
        if unknown:
            raise ValueError(
                f"unknown placeholder {{{{{unknown[0]}}}}}; known: "
                + ", ".join("{{" + p + "}}" for p in PLACEHOLDERS)
            )
        return self


class CloudWatchQueries(BaseModel):
    """One optional expression per observation (named fields: a CRD schema stays structural)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    observed_rps: CloudWatchQuery | None = Field(default=None, alias="observedRps")
    cpu_utilisation: CloudWatchQuery | None = Field(default=None, alias="cpuUtilisation")
    memory_gib: CloudWatchQuery | None = Field(default=None, alias="memoryGiB")
    oom_kills: CloudWatchQuery | None = Field(default=None, alias="oomKills")
    p95_ms: CloudWatchQuery | None = Field(default=None, alias="p95Ms")
    error_rate_5xx: CloudWatchQuery | None = Field(default=None, alias="errorRate5xx")
    duration_ms: CloudWatchQuery | None = Field(default=None, alias="durationMs")
    throttles: CloudWatchQuery | None = Field(default=None, alias="throttles")
    scaling_activities: CloudWatchQuery | None = Field(
        default=None,
        alias="scalingActivities",
        description="the group's desired capacity (AWS/AutoScaling GroupDesiredCapacity, "
        "published while the group's metrics collection is on): the value is how many times "
        "it changed over activityWindowSeconds, each change one scaling activity",
    )

    @model_validator(mode="after")
    def _one_at_least(self) -> CloudWatchQueries:
        if not self.items():
            raise ValueError("at least one query is needed")
        return self

    def items(self) -> list[tuple[str, CloudWatchQuery]]:
        """(observation, query) for each query given, by the observation's metrics key."""
        out = []
        for name, info in type(self).model_fields.items():
            q = getattr(self, name)
            if q is not None:
                out.append((str(info.alias), q))
        return out


class CloudWatchSettings(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", description="e.g. us-east-1")
    endpoint: str | None = Field(
        default=None,
        max_length=512,
        pattern=r"^https?://[^\s@/]+/?$",
        description="default https://monitoring.<region>.amazonaws.com/ (a VPC endpoint here)",
    )
    queries: CloudWatchQueries = Field(description="one expression per observation (at least one)")
    period_seconds: int = Field(
        default=300, ge=60, le=86400, multiple_of=60, description="the datapoints' period"
    )
    interval_seconds: int = Field(
        default=300, ge=30, le=86400, description="query a deployment revision at most this often"
    )
    timeout_seconds: float = Field(default=10.0, gt=0, le=60, description="one call")
    activity_window_seconds: int = Field(
        default=3600,
        ge=120,
        le=86400,
        description="the window over which scalingActivities counts the changes of the "
        "desired capacity (the other observations take their newest datapoint)",
    )

    def window_seconds(self) -> int:
        """How far back the call reads: two periods, or the activity window when
        scalingActivities is asked for."""
        window = 2 * self.period_seconds
        if self.queries.scaling_activities is not None:
            window = max(window, self.activity_window_seconds)
        return window

    def url(self) -> str:
        return (self.endpoint or f"https://{SERVICE}.{self.region}.amazonaws.com").rstrip("/") + "/"


def render_expression(expression: str, values: dict[str, str]) -> tuple[str | None, str | None]:
    """(expression, None) with the placeholders replaced, or (None, why) when a placeholder
    has no value or an unsafe one."""
    problem: list[str] = []

    def sub(m: re.Match[str]) -> str:
        value = values.get(m.group(1))
        if value is None:
            problem.append(f"{{{{{m.group(1)}}}}} is not known yet")
            return ""
        if not SAFE_VALUE.match(value):
            problem.append(f"{{{{{m.group(1)}}}}} has a character outside [A-Za-z0-9._:/-]")
            return ""
        return value

    out = _PLACEHOLDER.sub(sub, expression)
    return (None, problem[0]) if problem else (out, None)


def request_body(
    queries: list[tuple[str, str]], period: int, now: datetime.datetime, window: int | None = None
) -> bytes:
    """The Query protocol form of GetMetricData for (id, expression) pairs, over the last
    `window` seconds (default two periods)."""
    start = now - datetime.timedelta(seconds=window or 2 * period)
    form: list[tuple[str, str]] = [
        ("Action", "GetMetricData"),
        ("Version", API_VERSION),
        ("StartTime", start.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("EndTime", now.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("ScanBy", "TimestampDescending"),
    ]
    for i, (qid, expression) in enumerate(queries, start=1):
        member = f"MetricDataQueries.member.{i}"
        form += [
            (f"{member}.Id", qid),
            (f"{member}.Expression", expression),
            (f"{member}.Period", str(period)),
            (f"{member}.ReturnData", "true"),
        ]
    return urllib.parse.urlencode(form, quote_via=urllib.parse.quote).encode()


_signer_module: Any = None


async def _botocore() -> Any:
    """botocore's auth module, imported once off the event loop (it takes ~0.2 s)."""
    global _signer_module  # noqa: PLW0603
    if _signer_module is None:

        def load() -> Any:
            import botocore.auth
            import botocore.awsrequest
            import botocore.credentials

            return botocore

        _signer_module = await asyncio.to_thread(load)
    return _signer_module


async def signed_headers(
    url: str, region: str, body: bytes, creds: AwsCredentials
) -> dict[str, str]:
    """The headers of a SigV4-signed POST of `body` to `url` (botocore's signer, at the
    current time: X-Amz-Date)."""
    bc = await _botocore()
    request = bc.awsrequest.AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    credentials = bc.credentials.Credentials(
        creds.access_key_id, creds.secret_access_key, creds.session_token
    )
    signer = bc.auth.SigV4Auth(credentials, SERVICE, region)
    signer.add_auth(request)
    return {k: str(v) for k, v in request.headers.items()}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(node: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in node if _local(c.tag) == name), None)


def _text(node: ET.Element | None, name: str) -> str:
    found = _child(node, name) if node is not None else None
    return (found.text or "").strip() if found is not None else ""


def _parse(raw: bytes) -> ET.Element:
    """The answer's XML. The standard library's expat (>= 2.4.1, as every supported Python
    ships) neither fetches external entities nor expands entity bombs, and the size is
    capped before parsing."""
    if len(raw) > MAX_ANSWER_BYTES:
        raise ValueError(f"the answer is over {MAX_ANSWER_BYTES} bytes")
    return ET.fromstring(raw)  # noqa: S314


def _error_of(root: ET.Element) -> str:
    err = _child(root, "Error")
    code = _text(err, "Code") or "error"
    message = _text(err, "Message") or "no message"
    return f"{code[:60]}: {message[:MAX_ERROR_CHARS]}"


@dataclass(frozen=True)
class _Result:
    status: str
    values: list[float]
    messages: list[str]


def _results(root: ET.Element) -> dict[str, _Result]:
    """GetMetricDataResponse/GetMetricDataResult/MetricDataResults/member by Id."""
    result = _child(root, "GetMetricDataResult")
    members = _child(result, "MetricDataResults") if result is not None else None
    if members is None:
        raise ValueError("no MetricDataResults in the answer")
    out: dict[str, _Result] = {}
    for m in members:
        values_node = _child(m, "Values")
        values = []
        for v in values_node if values_node is not None else []:
            try:
                values.append(float((v.text or "").strip()))
            except ValueError:
                values.append(math.nan)
        messages_node = _child(m, "Messages")
        messages = [
            f"{_text(x, 'Code')}: {_text(x, 'Value')}".strip(": ")
            for x in (messages_node if messages_node is not None else [])
        ]
        out[_text(m, "Id")] = _Result(_text(m, "StatusCode"), values, messages)
    return out


def changes(values: list[float]) -> int:
    """How many times a series of desired capacities changed between datapoints (each change
    is one scaling activity; a datapoint that is not a number is skipped)."""
    seen = [v for v in values if math.isfinite(v)]
    return sum(1 for a, b in itertools.pairwise(seen) if abs(a - b) >= 0.5)


def _read(
    source: CloudWatchSettings, by_id: dict[str, tuple[str, CloudWatchQuery]], results: Any
) -> tuple[dict[str, float | bool], list[str]]:
    """Each observation's newest datapoint, scaled, or why there is none."""
    metrics: dict[str, float | bool] = {}
    problems: list[str] = []
    for qid, (name, q) in by_id.items():
        label = f"metricsSource.cloudwatch.queries.{name}"
        got = results.get(qid)
        if got is None:
            problems.append(f"{label}: no result in the answer")
            continue
        if got.status in ("Forbidden", "InternalError"):
            said = "; ".join(got.messages)[:MAX_ERROR_CHARS] or "no message"
            problems.append(f"{label}: {got.status}: {said}")
            continue
        if not got.values:
            problems.append(f"{label}: no datapoint in the last {source.window_seconds()}s")
            continue
        if name == "scalingActivities":
            value = float(changes(got.values))
        else:
            value = got.values[0] * q.scale  # newest first (ScanBy TimestampDescending)
        low, high = RANGES[name]
        if not math.isfinite(value) or not low <= value <= high:
            problems.append(f"{label}: {value:g} is outside {low:g}..{high:g}")
            continue
        metrics[name] = value
    return metrics, problems


async def _call(
    source: CloudWatchSettings,
    body: bytes,
    creds: AwsCredentials,
    client: httpx.AsyncClient | None,
) -> tuple[dict[str, _Result] | None, str | None]:
    """(results by Id, None) of one signed call, or (None, why not)."""
    url = source.url()
    headers = await signed_headers(url, source.region, body, creds)
    own = client is None
    http = client or httpx.AsyncClient(timeout=source.timeout_seconds)
    try:
        rsp = await http.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        return None, f"no answer within {source.timeout_seconds:g}s"
    except httpx.HTTPError as e:
        return None, f"cannot reach {url} ({type(e).__name__})"
    finally:
        if own:
            await http.aclose()
    try:
        root = _parse(rsp.content)
    except (ET.ParseError, ValueError) as e:
        return None, f"HTTP {rsp.status_code}, not the XML of GetMetricData ({str(e)[:80]})"
    if rsp.status_code != 200 or _local(root.tag) == "ErrorResponse":
        return None, f"HTTP {rsp.status_code}, {_error_of(root)}"
    try:
        return _results(root), None
    except ValueError as e:
        return None, f"HTTP {rsp.status_code}, {e}"


async def query_cloudwatch(
    source: CloudWatchSettings,
    values: dict[str, str],
    creds: AwsCredentials | None,
    client: httpx.AsyncClient | None = None,
    now: datetime.datetime | None = None,
) -> tuple[dict[str, float | bool], list[str]]:
    """(metrics, problems): each configured observation's newest value (scaled), and what
    went wrong with the others, each naming the observation. `values`: the placeholders'."""
    where = "metricsSource.cloudwatch"
    if creds is None:
        return {}, [
            f"{where}: no function credential cloudwatch-credentials with accessKeyId and "
            "secretAccessKey"
        ]
    problems: list[str] = []
    asked: list[tuple[str, str]] = []
    by_id: dict[str, tuple[str, CloudWatchQuery]] = {}
    for i, (name, q) in enumerate(source.queries.items()):
        expression, why = render_expression(q.expression, values)
        if expression is None:
            problems.append(f"{where}.queries.{name}: {why}")
            continue
        asked.append((f"q{i}", expression))
        by_id[f"q{i}"] = (name, q)
    if not asked:
        return {}, problems
    body = request_body(
        asked,
        source.period_seconds,
        now or datetime.datetime.now(datetime.UTC),
        source.window_seconds(),
    )
    results, failure = await _call(source, body, creds, client)
    if results is None:
        names = ", ".join(f"{where}.queries.{n}" for n, _ in by_id.values())
        return {}, [*problems, f"{names}: {failure}"]
    metrics, more = _read(source, by_id, results)
    return metrics, problems + more
