"""The `enable-monitoring` policy on GCP: Cloud Monitoring alert policies per strategy.

- vm: the instances' average CPU utilisation (instances found by their labels) and 5xx
  answers of the load balancer (by its URL map's name);
- kubernetes: the nodes' allocatable CPU utilisation (by the cluster's name);
- serverless: the Cloud Run service's 5xx answers (by the service's name).

Thresholds come from the function input (policy.monitoring.cpuPercent, errorCount).
Every policy notifies the platform's notification channels (`input.gcp.notificationChannels`,
existing channels: email, Slack, PagerDuty, Pub/Sub...); with none, incidents show in Cloud
Monitoring only.
"""

from __future__ import annotations

from typing import Any

from function.render.common import RenderContext, Resources
from function.render.gcp.common import Observed, labels
from function.render.names import gcp_external_name, gcp_label_key, gcp_label_value

PERIOD = "300s"


def _name(ctx: RenderContext, observed: Observed, kind: str, component: str) -> str:
    return gcp_external_name(
        kind,
        component,
        observed,
        tenant=ctx.identity.tenant,
        deployment=ctx.identity.deployment_name,
        uid=ctx.identity.uid,
    )


def alert(
    ctx: RenderContext,
    component: str,
    *,
    what: str,
    filter_: str,
    threshold: float,
    aligner: str,
) -> dict[str, Any]:
    title = f"{ctx.who}: {what}"[:512]
    return ctx.resource(
        "monitoring",
        "AlertPolicy",
        component,
        {
            "displayName": title,
            "combiner": "OR",
            "enabled": True,
            "severity": "WARNING",
            "conditions": [
                {
                    "displayName": what[:512],
                    "conditionThreshold": {
                        "filter": filter_,
                        "comparison": "COMPARISON_GT",
                        "thresholdValue": threshold,
                        "duration": PERIOD,
                        "aggregations": [{"alignmentPeriod": PERIOD, "perSeriesAligner": aligner}],
                        "trigger": {"count": 1},
                    },
                }
            ],
            "documentation": {
                "content": f"Composed by function-scia for {ctx.who}.",
                "mimeType": "text/markdown",
            },
            "userLabels": labels(ctx),
            **(
                {"notificationChannels": list(channels)}
                if (channels := ctx.settings.gcp.notification_channels)
                else {}
            ),
        },
    )


def _deployment_filter(ctx: RenderContext) -> str:
    key = gcp_label_key("scia.io/deployment")
    tenant = gcp_label_key("scia.io/tenant")
    return (
        f'metadata.user_labels."{key}" = "{gcp_label_value(ctx.identity.deployment_name)}" '
        f'AND metadata.user_labels."{tenant}" = "{gcp_label_value(ctx.identity.tenant)}"'
    )


def vm_alerts(ctx: RenderContext, observed: Observed) -> Resources:
    m = ctx.policy.monitoring
    url_map = _name(ctx, observed, "URLMap", "url-map")
    return {
        "alert-cpu": alert(
            ctx,
            "alert-cpu",
            what=f"instance CPU above {m.cpu_percent:g}%",
            filter_='resource.type = "gce_instance" AND '
            'metric.type = "compute.googleapis.com/instance/cpu/utilization" AND '
            + _deployment_filter(ctx),
            threshold=m.cpu_percent / 100,
            aligner="ALIGN_MEAN",
        ),
        "alert-5xx": alert(
            ctx,
            "alert-5xx",
            what=f"more than {m.error_count} 5xx answers from the load balancer in 5 minutes",
            filter_='resource.type = "https_lb_rule" AND '
            'metric.type = "loadbalancing.googleapis.com/https/request_count" AND '
            "metric.labels.response_code_class = 500 AND "
            f'resource.labels.url_map_name = "{url_map}"',
            threshold=float(m.error_count),
            aligner="ALIGN_SUM",
        ),
    }


def kubernetes_alerts(ctx: RenderContext, observed: Observed) -> Resources:
    m = ctx.policy.monitoring
    cluster = _name(ctx, observed, "Cluster", "gke-cluster")
    return {
        "alert-node-cpu": alert(
            ctx,
            "alert-node-cpu",
            what=f"node allocatable CPU above {m.cpu_percent:g}%",
            filter_='resource.type = "k8s_node" AND '
            'metric.type = "kubernetes.io/node/cpu/allocatable_utilization" AND '
            f'resource.labels.cluster_name = "{cluster}"',
            threshold=m.cpu_percent / 100,
            aligner="ALIGN_MEAN",
        )
    }


def serverless_alerts(ctx: RenderContext, observed: Observed) -> Resources:
    m = ctx.policy.monitoring
    service = _name(ctx, observed, "V2Service", "cloud-run-service")
    return {
        "alert-5xx": alert(
            ctx,
            "alert-5xx",
            what=f"more than {m.error_count} 5xx answers from Cloud Run in 5 minutes",
            filter_='resource.type = "cloud_run_revision" AND '
            'metric.type = "run.googleapis.com/request_count" AND '
            'metric.labels.response_code_class = "5xx" AND '
            f'resource.labels.service_name = "{service}"',
            threshold=float(m.error_count),
            aligner="ALIGN_SUM",
        )
    }
