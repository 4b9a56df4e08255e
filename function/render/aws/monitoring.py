"""The `enable-monitoring` policy: CloudWatch alarms per strategy.

- vm: detailed (1-minute) instance monitoring and group metrics (set by vm.py), alarms on
  the group's average CPU and on 5xx answers of the load balancer and of its targets;
- serverless: alarms on the function's Errors and Throttles;
- kubernetes: control-plane logging is always on (kubernetes.py); the Amazon CloudWatch
  Observability add-on (Container Insights) is installed, with alarms on node CPU and
  failed nodes.

Alarms name what they watch by dimension values that exist only once the watched resource
does (read from its observed ARN), so an alarm appears on the reconcile after its
resource is created. Alarm actions go to the function input's SNS topic, if any.
"""

from __future__ import annotations

from typing import Any

from function.render.aws.arns import (
    Observed,
    autoscaling_group_name,
    eks_cluster_name,
    lambda_function_name,
    load_balancer_dimension,
    observed_arn,
)
from function.render.common import RenderContext, Resources

PERIOD_SECONDS = 300
CLOUDWATCH_ADDON = "amazon-cloudwatch-observability"
CLOUDWATCH_AGENT_POLICY = "CloudWatchAgentServerPolicy"


def alarm(
    ctx: RenderContext,
    component: str,
    *,
    namespace: str,
    metric: str,
    dimensions: dict[str, str],
    statistic: str,
    threshold: float,
    description: str,
    comparison: str = "GreaterThanOrEqualToThreshold",
    evaluation_periods: int = 2,
) -> dict[str, Any]:
    topic = ctx.policy.monitoring.alarm_topic_arn
    fp: dict[str, Any] = {
        "alarmDescription": f"{ctx.identity.tenant}/{ctx.identity.deployment_name}: {description}",
        "namespace": namespace,
        "metricName": metric,
        "dimensions": dimensions,
        "statistic": statistic,
        "period": PERIOD_SECONDS,
        "evaluationPeriods": evaluation_periods,
        "threshold": threshold,
        "comparisonOperator": comparison,
        "treatMissingData": "notBreaching",
        "actionsEnabled": topic is not None,
        "tags": ctx.tags,
    }
    if topic:
        fp["alarmActions"] = [topic]
        fp["okActions"] = [topic]
    return ctx.resource("cloudwatch", "MetricAlarm", component, fp)


def vm_alarms(ctx: RenderContext, observed: Observed) -> Resources:
    m = ctx.policy.monitoring
    out: Resources = {}
    asg = autoscaling_group_name(observed_arn(observed, "autoscaling-group"))
    if asg:
        out["alarm-cpu"] = alarm(
            ctx,
            "alarm-cpu",
            namespace="AWS/EC2",
            metric="CPUUtilization",
            dimensions={"AutoScalingGroupName": asg},
            statistic="Average",
            threshold=m.cpu_percent,
            description=f"average CPU of the instances >= {m.cpu_percent:g}% for 10 minutes",
        )
    lb = load_balancer_dimension(observed_arn(observed, "load-balancer"))
    if lb:
        for component, metric, who in (
            ("alarm-lb-5xx", "HTTPCode_ELB_5XX_Count", "the load balancer"),
            ("alarm-target-5xx", "HTTPCode_Target_5XX_Count", "the application"),
        ):
            out[component] = alarm(
                ctx,
                component,
                namespace="AWS/ApplicationELB",
                metric=metric,
                dimensions={"LoadBalancer": lb},
                statistic="Sum",
                threshold=m.error_count,
                evaluation_periods=1,
                description=f"{who} answered >= {m.error_count} 5xx in 5 minutes",
            )
    return out


def serverless_alarms(ctx: RenderContext, observed: Observed) -> Resources:
    m = ctx.policy.monitoring
    name = lambda_function_name(observed_arn(observed, "lambda-function"))
    if not name:
        return {}
    return {
        "alarm-errors": alarm(
            ctx,
            "alarm-errors",
            namespace="AWS/Lambda",
            metric="Errors",
            dimensions={"FunctionName": name},
            statistic="Sum",
            threshold=m.error_count,
            evaluation_periods=1,
            description=f">= {m.error_count} invocation errors in 5 minutes",
        ),
        "alarm-throttles": alarm(
            ctx,
            "alarm-throttles",
            namespace="AWS/Lambda",
            metric="Throttles",
            dimensions={"FunctionName": name},
            statistic="Sum",
            threshold=1,
            evaluation_periods=1,
            description="invocations were throttled",
        ),
    }


def kubernetes_alarms(ctx: RenderContext, observed: Observed) -> Resources:
    """Container Insights alarms (metrics come from the CloudWatch Observability add-on)."""
    m = ctx.policy.monitoring
    name = eks_cluster_name(observed_arn(observed, "eks-cluster"))
    if not name:
        return {}
    return {
        "alarm-node-cpu": alarm(
            ctx,
            "alarm-node-cpu",
            namespace="ContainerInsights",
            metric="node_cpu_utilization",
            dimensions={"ClusterName": name},
            statistic="Average",
            threshold=m.cpu_percent,
            description=f"average node CPU >= {m.cpu_percent:g}% for 10 minutes",
        ),
        "alarm-failed-nodes": alarm(
            ctx,
            "alarm-failed-nodes",
            namespace="ContainerInsights",
            metric="cluster_failed_node_count",
            dimensions={"ClusterName": name},
            statistic="Maximum",
            threshold=1,
            evaluation_periods=1,
            description="a node is failing",
        ),
    }
