"""Policies change what is composed: require-https and enable-monitoring, per strategy and scope."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import pytest

from function.model import Strategy
from function.policy.settings import PolicySettings
from function.render.aws.arns import (
    autoscaling_group_name,
    eks_cluster_name,
    lambda_function_name,
    load_balancer_dimension,
)
from function.render.aws.https import HttpsNotConfigured
from function.render.aws.kubernetes import render_kubernetes
from function.render.aws.network import render_network
from function.render.aws.serverless import render_serverless
from function.render.common import RenderContext, Resources
from function.render.dispatch import render
from tests.render.test_render_aws import ctx
from tests.support.crdcheck import assert_all_valid

ASG_ARN = (
    "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:"
    "11111111-2222-3333-4444-555555555555:autoScalingGroupName/flask-app-x1-abcde"
)
LB_ARN = (
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:"
    "loadbalancer/app/team-a-flask-lb/50dc6c495c0c9188"
)
CERT_ARN = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
PLATFORM_CERT = (
    "arn:aws:acm:eu-west-1:123456789012:certificate/aaaaaaaa-1234-1234-1234-123456789012"
)
LAMBDA_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:flask-app-x1-abcde"
EKS_ARN = "arn:aws:eks:eu-west-1:123456789012:cluster/flask-app-x1-abcde"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:platform-alarms"
OBSERVED = {
    name: {"status": {"atProvider": {"arn": arn}}}
    for name, arn in {
        "autoscaling-group": ASG_ARN,
        "load-balancer": LB_ARN,
        "certificate": CERT_ARN,
        "lambda-function": LAMBDA_ARN,
        "eks-cluster": EKS_ARN,
    }.items()
}
# The auto scaling group is composed once its launch template's version is observed.
LT_ONLY = {"launch-template": {"status": {"atProvider": {"latestVersion": 3}}}}
OBSERVED |= LT_ONLY


def with_policies(
    strategy: Strategy, namespaced: bool, policies: list[str], settings: dict[str, Any]
) -> RenderContext:
    c = ctx(strategy, namespaced)
    return dataclasses.replace(
        c,
        spec=c.spec.model_copy(update={"policies": policies}),
        policy=PolicySettings.model_validate(settings),
    )


def render_all(c: RenderContext, observed: dict[str, dict[str, Any]]) -> Resources:
    """Every strategy with the observed state (the kubernetes/serverless renderers take it)."""
    if c.decision.strategy is Strategy.SERVERLESS:
        return render_serverless(c, observed)
    if c.decision.strategy is Strategy.KUBERNETES:
        net, refs = render_network(c)
        return net | render_kubernetes(c, refs, observed)
    return render(c, observed)


def named(out: Resources) -> list[dict[str, Any]]:
    return [{**b, "metadata": {**b["metadata"], "name": f"x-{n}"}} for n, b in out.items()]


BOTH = ["enable-monitoring", "require-https"]
DOMAIN = {"https": {"domain": "apps.example.com"}, "monitoring": {"alarmTopicArn": TOPIC}}


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
@pytest.mark.parametrize("strategy", list(Strategy))
@pytest.mark.parametrize("observed", [{}, OBSERVED], ids=["new", "observed"])
def test_policy_resources_validate_against_provider_crds(
    strategy: Strategy, namespaced: bool, observed: dict[str, Any]
) -> None:
    out = render_all(with_policies(strategy, namespaced, BOTH, DOMAIN), observed)
    assert_all_valid(named(out))


def test_require_https_vm_redirects_http_and_serves_tls_with_a_composed_certificate() -> None:
    c = with_policies(Strategy.VM, False, ["require-https"], DOMAIN)
    fresh = render(c, {})
    # Before the certificate exists: no TLS listener yet, but HTTP already only redirects.
    assert "listener-https" not in fresh
    http = fresh["listener-http"]["spec"]["forProvider"]
    assert http["defaultAction"] == [
        {
            "type": "redirect",
            "redirect": {"port": "443", "protocol": "HTTPS", "statusCode": "HTTP_301"},
        }
    ]
    cert = fresh["certificate"]
    assert cert["apiVersion"] == "acm.aws.upbound.io/v1beta2"
    assert cert["spec"]["forProvider"]["domainName"] == "flask-app.team-a.apps.example.com"
    assert cert["spec"]["forProvider"]["validationMethod"] == "DNS"
    ingress = fresh["lb-ingress-https"]["spec"]["forProvider"]
    assert (ingress["fromPort"], ingress["toPort"], ingress["cidrIpv4"]) == (443, 443, "0.0.0.0/0")
    assert ingress["securityGroupIdSelector"]["matchLabels"] == {
        "scia.io/component": "lb-security-group"
    }

    out = render(c, OBSERVED)
    tls = out["listener-https"]["spec"]["forProvider"]
    assert tls["port"] == 443 and tls["protocol"] == "HTTPS"
    assert tls["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert tls["certificateArn"] == CERT_ARN
    assert tls["defaultAction"][0]["type"] == "forward"
    # No listener forwards plain HTTP to the application.
    plain = [
        b["spec"]["forProvider"]
        for b in out.values()
        if b["kind"] == "LBListener" and b["spec"]["forProvider"]["protocol"] == "HTTP"
    ]
    assert plain and all(a["type"] == "redirect" for p in plain for a in p["defaultAction"])


def test_require_https_with_platform_certificate_composes_no_certificate() -> None:
    c = with_policies(
        Strategy.VM, True, ["require-https"], {"https": {"certificateArn": PLATFORM_CERT}}
    )
    out = render(c, {})
    assert "certificate" not in out
    assert out["listener-https"]["spec"]["forProvider"]["certificateArn"] == PLATFORM_CERT
    assert out["listener-https"]["apiVersion"] == "elbv2.aws.m.upbound.io/v1beta1"


def test_require_https_without_certificate_source_refuses_to_render() -> None:
    with pytest.raises(HttpsNotConfigured, match=r"policy.https.domain"):
        render(with_policies(Strategy.VM, False, ["require-https"], {}), {})


def test_without_policies_http_forwards_and_nothing_is_added() -> None:
    out = render(with_policies(Strategy.VM, False, [], DOMAIN), OBSERVED)
    assert not {"certificate", "listener-https", "lb-ingress-https"} & set(out)
    assert not [n for n in out if n.startswith("alarm-")]
    assert out["listener-http"]["spec"]["forProvider"]["defaultAction"][0]["type"] == "forward"
    assert out["launch-template"]["spec"]["forProvider"]["monitoring"] == {"enabled": False}
    assert "enabledMetrics" not in out["autoscaling-group"]["spec"]["forProvider"]


def test_enable_monitoring_vm_alarms_use_observed_dimensions_and_the_topic() -> None:
    c = with_policies(Strategy.VM, False, ["enable-monitoring"], DOMAIN)
    fresh = render(c, LT_ONLY)
    assert fresh["launch-template"]["spec"]["forProvider"]["monitoring"] == {"enabled": True}
    assert fresh["autoscaling-group"]["spec"]["forProvider"]["metricsGranularity"] == "1Minute"
    # Alarms wait for the resources they watch.
    assert not [n for n in fresh if n.startswith("alarm-")]

    out = render(c, OBSERVED)
    cpu = out["alarm-cpu"]["spec"]["forProvider"]
    assert cpu["namespace"] == "AWS/EC2" and cpu["metricName"] == "CPUUtilization"
    assert cpu["dimensions"] == {"AutoScalingGroupName": "flask-app-x1-abcde"}
    assert cpu["alarmActions"] == [TOPIC] and cpu["okActions"] == [TOPIC]
    assert cpu["actionsEnabled"] is True
    for name, metric in (
        ("alarm-lb-5xx", "HTTPCode_ELB_5XX_Count"),
        ("alarm-target-5xx", "HTTPCode_Target_5XX_Count"),
    ):
        fp = out[name]["spec"]["forProvider"]
        assert fp["namespace"] == "AWS/ApplicationELB" and fp["metricName"] == metric
        assert fp["dimensions"] == {"LoadBalancer": "app/team-a-flask-lb/50dc6c495c0c9188"}
        assert fp["statistic"] == "Sum"
    assert out["alarm-cpu"]["apiVersion"] == "cloudwatch.aws.upbound.io/v1beta2"
    # The user data does not change with monitoring (no instance replacement for alarms).
    plain = render(with_policies(Strategy.VM, False, [], DOMAIN), OBSERVED)
    assert base64.b64decode(
        out["launch-template"]["spec"]["forProvider"]["userData"]
    ) == base64.b64decode(plain["launch-template"]["spec"]["forProvider"]["userData"])


def test_alarms_without_topic_have_no_actions() -> None:
    out = render(with_policies(Strategy.VM, False, ["enable-monitoring"], {}), OBSERVED)
    cpu = out["alarm-cpu"]["spec"]["forProvider"]
    assert cpu["actionsEnabled"] is False and "alarmActions" not in cpu


def test_enable_monitoring_serverless_alarms_on_errors_and_throttles() -> None:
    c = with_policies(Strategy.SERVERLESS, True, BOTH, DOMAIN)
    assert not [n for n in render_serverless(c, {}) if n.startswith("alarm-")]
    out = render_serverless(c, OBSERVED)
    metrics = {
        out[n]["spec"]["forProvider"]["metricName"]: out[n]["spec"]["forProvider"]["dimensions"]
        for n in ("alarm-errors", "alarm-throttles")
    }
    assert metrics == {
        "Errors": {"FunctionName": "flask-app-x1-abcde"},
        "Throttles": {"FunctionName": "flask-app-x1-abcde"},
    }
    # require-https adds nothing: a Function URL is HTTPS only.
    assert not {"certificate", "listener-https"} & set(out)
    assert out["function-url"]["kind"] == "FunctionURL"


def test_enable_monitoring_kubernetes_installs_container_insights() -> None:
    c = with_policies(Strategy.KUBERNETES, False, ["enable-monitoring"], DOMAIN)
    ready = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    # The add-on (container logs and Container Insights) comes once its log group is Ready,
    # with or without the policy: the application's logs always go to CloudWatch.
    assert "addon-amazon-cloudwatch-observability" not in render_all(c, OBSERVED)
    out = render_all(c, OBSERVED | {"app-log-group": ready})
    assert "addon-amazon-cloudwatch-observability" in out
    assert "node-role-cloudwatchagentserverpolicy" in out
    assert out["alarm-node-cpu"]["spec"]["forProvider"]["dimensions"] == {
        "ClusterName": "flask-app-x1-abcde"
    }
    assert out["eks-cluster"]["spec"]["forProvider"]["enabledClusterLogTypes"]
    plain = render_all(
        with_policies(Strategy.KUBERNETES, False, [], DOMAIN), OBSERVED | {"app-log-group": ready}
    )
    assert "addon-amazon-cloudwatch-observability" in plain
    assert not [n for n in plain if n.startswith("alarm-")]


def test_dimension_parsers_reject_other_arns() -> None:
    assert autoscaling_group_name(LB_ARN) is None
    assert load_balancer_dimension(ASG_ARN) is None
    assert lambda_function_name(f"{LAMBDA_ARN}:live") == "flask-app-x1-abcde"
    assert eks_cluster_name(None) is None


def test_tenant_tags_are_added_but_never_override_scia_tags() -> None:
    c = dataclasses.replace(
        ctx(Strategy.VM, False),
        extra_tags={"cost-center": "cc-1", "managed-by": "someone-else"},
    )
    tags = render(c, {})["vpc"]["spec"]["forProvider"]["tags"]
    assert tags["cost-center"] == "cc-1" and tags["managed-by"] == "scia"
