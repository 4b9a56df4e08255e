"""The CloudWatch metrics source against a loopback server speaking GetMetricData (Query
protocol, SigV4 checked independently): values, scaling, every error shape, placeholders."""

from __future__ import annotations

import datetime
import urllib.parse
from typing import Any

import pytest
from pydantic import ValidationError

from function.decide.cloudwatch import (
    AwsCredentials,
    CloudWatchSettings,
    query_cloudwatch,
    render_expression,
    request_body,
)
from function.decide.metrics_source import MetricsSourceSettings
from tests.support.fake_cloudwatch import ACCESS_KEY, SECRET_KEY, TOKEN, Series, fake_cloudwatch

CREDS = AwsCredentials(ACCESS_KEY, SECRET_KEY, TOKEN)
CPU = "SELECT AVG(CPUUtilization) FROM SCHEMA(\"AWS/EC2\", AutoScalingGroupName) WHERE AutoScalingGroupName = '{{autoScalingGroup}}'"
RPS = "SELECT SUM(RequestCount) FROM SCHEMA(\"AWS/ApplicationELB\", LoadBalancer) WHERE LoadBalancer = 'app/{{name}}/x'"
VALUES = {"namespace": "team-a", "name": "shop", "uid": "u-1", "revision": "2",
          "autoScalingGroup": "scia-shop-asg"}  # fmt: skip


def source(url: str, region: str = "us-east-1", **queries: Any) -> CloudWatchSettings:
    return CloudWatchSettings.model_validate(
        {"region": region, "endpoint": url, "queries": queries, "timeoutSeconds": 5}
    )


def cpu_q(s: str) -> str:
    return s.replace("{{autoScalingGroup}}", VALUES["autoScalingGroup"])


async def test_each_observation_is_the_newest_datapoint_scaled_to_its_unit() -> None:
    with fake_cloudwatch() as cw:
        cw.series[cpu_q(CPU)] = Series((63.0, 40.0, 20.0))  # percent, newest first
        cw.series[RPS.replace("{{name}}", "shop")] = Series((6000.0,))  # a Sum per 300 s
        cw.series["m_mem"] = Series((0.7,))
        src = source(
            cw.url,
            cpuUtilisation={"expression": CPU, "scale": 0.01},
            observedRps={"expression": RPS, "scale": 1 / 300},
            memoryGiB={"expression": "m_mem"},
        )
        now = datetime.datetime(2026, 11, 29, 12, 7, tzinfo=datetime.UTC)
        metrics, problems = await query_cloudwatch(src, VALUES, CREDS, now=now)
    assert problems == []
    assert metrics == pytest.approx({"cpuUtilisation": 0.63, "observedRps": 20.0, "memoryGiB": 0.7})
    assert cw.bad_signatures == 0 and len(cw.calls) == 1  # one signed call for all of them
    form = cw.calls[0]
    assert form["StartTime"] == ["2026-11-29T11:57:00Z"] and form["EndTime"] == [
        "2026-11-29T12:07:00Z"
    ]
    assert form["ScanBy"] == ["TimestampDescending"]
    assert form["MetricDataQueries.member.1.Period"] == ["300"]
    assert sorted(cw.expressions()) == sorted(
        [cpu_q(CPU), RPS.replace("{{name}}", "shop"), "m_mem"]
    )


async def test_a_lambdas_duration_and_throttles_are_observations() -> None:
    duration = "SELECT AVG(Duration) FROM SCHEMA(\"AWS/Lambda\", FunctionName) WHERE FunctionName = '{{name}}'"
    throttles = "SELECT SUM(Throttles) FROM SCHEMA(\"AWS/Lambda\", FunctionName) WHERE FunctionName = '{{name}}'"
    with fake_cloudwatch() as cw:
        cw.series[duration.replace("{{name}}", "shop")] = Series((182.5,))  # ms
        cw.series[throttles.replace("{{name}}", "shop")] = Series((4.0,))
        src = source(
            cw.url, durationMs={"expression": duration}, throttles={"expression": throttles}
        )
        metrics, problems = await query_cloudwatch(src, VALUES, CREDS)
    assert problems == []
    assert metrics == pytest.approx({"durationMs": 182.5, "throttles": 4.0})


async def test_every_error_shape_is_named_per_observation_and_the_others_count() -> None:
    with fake_cloudwatch() as cw:
        cw.series["good"] = Series((12.0,))
        cw.series["denied"] = Series(
            status="Forbidden", messages=(("Forbidden", "no access to AWS/Lambda"),)
        )
        cw.series["broken"] = Series(status="InternalError")
        cw.series["big"] = Series((2.0,))  # a utilisation of 2 is out of range
        src = source(
            cw.url,
            observedRps={"expression": "good"},
            p95Ms={"expression": "denied"},
            errorRate5xx={"expression": "broken"},
            cpuUtilisation={"expression": "big"},
            memoryGiB={"expression": "empty"},
        )
        metrics, problems = await query_cloudwatch(src, VALUES, CREDS)
    assert metrics == {"observedRps": 12.0}
    said = "\n".join(problems)
    assert "queries.p95Ms: Forbidden: Forbidden: no access to AWS/Lambda" in said
    assert "queries.errorRate5xx: InternalError: no message" in said
    assert "queries.cpuUtilisation: 2 is outside 0..1" in said
    assert "queries.memoryGiB: no datapoint in the last 600s" in said


async def test_error_answers_bad_signatures_and_garbage_are_named() -> None:
    with fake_cloudwatch() as cw:
        src = source(cw.url, cpuUtilisation={"expression": "x"}, observedRps={"expression": "y"})
        cw.error = (400, "InvalidParameterValue", "The expression x is not valid")
        _, problems = await query_cloudwatch(src, VALUES, CREDS)
        assert problems == [
            "metricsSource.cloudwatch.queries.observedRps, metricsSource.cloudwatch.queries."
            "cpuUtilisation: HTTP 400, InvalidParameterValue: The expression x is not valid"
        ]
        cw.error = None
        wrong = AwsCredentials(ACCESS_KEY, "not-the-secret", TOKEN)
        _, problems = await query_cloudwatch(src, VALUES, wrong)
        assert cw.bad_signatures == 1 and "HTTP 403, SignatureDoesNotMatch" in problems[0]
        assert "not-the-secret" not in problems[0]
        cw.raw = b"<html>proxy error</html"
        _, problems = await query_cloudwatch(src, VALUES, CREDS)
        assert "not the XML of GetMetricData" in problems[0]
        cw.raw = b"<GetMetricDataResponse/>"
        _, problems = await query_cloudwatch(src, VALUES, CREDS)
        assert "no MetricDataResults" in problems[0]
    # The region signs the call: a server in another region refuses it.
    with fake_cloudwatch(region="eu-west-1") as cw:
        _, problems = await query_cloudwatch(source(cw.url, cpuUtilisation={"expression": "x"}),
                                             VALUES, CREDS)  # fmt: skip
        assert "SignatureDoesNotMatch" in problems[0]


async def test_an_endpoint_that_cannot_be_reached_or_no_credential_is_named() -> None:
    with fake_cloudwatch() as cw:
        url = cw.url
    _, problems = await query_cloudwatch(source(url, cpuUtilisation={"expression": "x"}),
                                         VALUES, CREDS)  # fmt: skip
    assert "cannot reach" in problems[0] and "queries.cpuUtilisation" in problems[0]
    _, problems = await query_cloudwatch(source(url, cpuUtilisation={"expression": "x"}),
                                         VALUES, None)  # fmt: skip
    assert "cloudwatch-credentials" in problems[0]


def test_placeholders_take_only_safe_values_and_must_be_known() -> None:
    assert render_expression("'{{name}}' {{revision}}", VALUES) == ("'shop' 2", None)
    bad = render_expression("'{{name}}'", VALUES | {"name": "x' OR '1'='1"})
    assert bad[0] is None and "{{name}} has a character outside" in str(bad[1])
    missing = render_expression("{{autoScalingGroup}}", {"name": "x"})
    assert missing == (None, "{{autoScalingGroup}} is not known yet")
    with pytest.raises(ValidationError, match=r"unknown placeholder \{\{colour\}\}"):
        CloudWatchSettings.model_validate(
            {"region": "us-east-1", "queries": {"observedRps": {"expression": "{{colour}}"}}}
        )


def test_the_input_names_bad_settings() -> None:
    ok = {"region": "us-east-1", "queries": {"observedRps": {"expression": "m1"}}}
    assert (
        CloudWatchSettings.model_validate(ok).url() == "https://monitoring.us-east-1.amazonaws.com/"
    )
    for bad, where in (
        ({**ok, "region": "mars"}, "region"),
        ({**ok, "queries": {}}, "at least one query"),
        ({**ok, "queries": {"rps": {"expression": "m1"}}}, "rps"),
        ({**ok, "periodSeconds": 90}, "periodSeconds"),
        ({**ok, "endpoint": "https://user@evil/"}, "endpoint"),
        ({**ok, "queries": {"observedRps": {"expression": "m1", "scale": 0}}}, "scale"),
    ):
        with pytest.raises(ValidationError, match=where):
            MetricsSourceSettings.model_validate({"cloudwatch": bad})


def test_the_credential_comes_from_the_secret_keys() -> None:
    got = AwsCredentials.from_secret_data(
        {"accessKeyId": b"AKIA1", "secretAccessKey": b"s3cr3t\n", "sessionToken": b""}
    )
    assert got == AwsCredentials("AKIA1", "s3cr3t", None)
    assert "s3cr3t" not in repr(got)
    assert AwsCredentials.from_secret_data({"AWS_ACCESS_KEY_ID": b"AKIA1"}) is None


def test_the_request_is_the_query_protocol_form() -> None:
    now = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.UTC)
    body = request_body([("q0", "SELECT 1 = 'a b'")], 60, now).decode()
    form = urllib.parse.parse_qs(body)
    assert form["Action"] == ["GetMetricData"] and form["Version"] == ["2010-08-01"]
    assert form["MetricDataQueries.member.1.Expression"] == ["SELECT 1 = 'a b'"]
    assert form["StartTime"] == ["2026-11-29T11:58:00Z"]
    assert "+" not in body  # spaces percent-encoded, as SigV4's canonical form wants


DESIRED = "SELECT AVG(GroupDesiredCapacity) FROM SCHEMA(\"AWS/AutoScaling\", AutoScalingGroupName) WHERE AutoScalingGroupName = '{{autoScalingGroup}}'"


async def test_scaling_activities_count_the_changes_of_the_groups_desired_capacity() -> None:
    """AWS/AutoScaling GroupDesiredCapacity over the activity window (an hour by default):
    each change between datapoints is one scaling activity; the call reads back that far,
    and the other observations still take their newest datapoint."""
    with fake_cloudwatch() as cw:
        # newest first: 3 <- 4 <- 4 <- 3 <- 2 <- 2 (a missing datapoint is skipped)
        cw.series[cpu_q(DESIRED)] = Series((3.0, 4.0, 4.0, float("nan"), 3.0, 2.0, 2.0))
        cw.series[cpu_q(CPU)] = Series((55.0, 90.0))
        src = source(
            cw.url,
            scalingActivities={"expression": DESIRED},
            cpuUtilisation={"expression": CPU, "scale": 0.01},
        )
        now = datetime.datetime(2026, 11, 29, 12, 7, tzinfo=datetime.UTC)
        metrics, problems = await query_cloudwatch(src, VALUES, CREDS, now=now)
        assert problems == []
        assert metrics == pytest.approx({"scalingActivities": 3.0, "cpuUtilisation": 0.55})
        assert cw.calls[0]["StartTime"] == ["2026-11-29T11:07:00Z"]
        # A group that never scaled: 0 activities (it is an observation, not a gap).
        cw.series[cpu_q(DESIRED)] = Series((2.0, 2.0, 2.0))
        metrics, problems = await query_cloudwatch(
            source(cw.url, scalingActivities={"expression": DESIRED}), VALUES, CREDS
        )
        assert problems == [] and metrics == {"scalingActivities": 0.0}
        # No datapoint in the window (group metrics collection off) is named.
        cw.series.pop(cpu_q(DESIRED))
        metrics, problems = await query_cloudwatch(
            source(cw.url, scalingActivities={"expression": DESIRED}), VALUES, CREDS
        )
        assert metrics == {}
        assert problems == [
            "metricsSource.cloudwatch.queries.scalingActivities: no datapoint in the last 3600s"
        ]
    # Without scalingActivities the window stays two periods.
    assert source("http://x", cpuUtilisation={"expression": CPU}).window_seconds() == 600
    wide = CloudWatchSettings.model_validate(
        {"region": "us-east-1", "queries": {"scalingActivities": {"expression": DESIRED}},
         "activityWindowSeconds": 7200})  # fmt: skip
    assert wide.window_seconds() == 7200
