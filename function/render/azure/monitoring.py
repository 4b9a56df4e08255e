"""The `enable-monitoring` policy on Azure: Azure Monitor metric alerts per strategy.

- vm: the scale set's average `Percentage CPU` and the load balancer's health probe
  status (`DipAvailability` below 100 %: a backend fails its probe); under require-https,
  where clients come through the Application Gateway (gateway.py), the gateway's instead:
  `UnhealthyHostCount` above 0 (a backend fails the gateway's probe) and its 5xx answers
  (`ResponseStatus` with `HttpStatusGroup` 5xx, >= policy.monitoring.errorCount in 5
  minutes), the load balancer then carrying only outbound traffic and the scale set's
  health probe;
- kubernetes: node CPU (`node_cpu_usage_percentage`) and failed pods
  (`kube_pod_status_phase` with phase Failed), AKS platform metrics;
- serverless: the container app's 5xx answers (`Requests`, statusCodeCategory 5xx) and
  its container restarts (`RestartCount`).

An alert names what it watches by Azure resource id (`scopes`), which exists only once the
watched resource does (read from its observed `status.atProvider.id`): an alert appears
on the reconcile after its resource is created. Alerts notify the input's action group
(`input.azure.actionGroupId`), if any. Metric names: "Supported metrics with Azure
Monitor" (https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/
metrics-index), per resource type.
"""

from __future__ import annotations

from typing import Any

from function.render.azure.base import Observed, observed_id, resource
from function.render.common import RenderContext, Resources

WINDOW = "PT10M"
FREQUENCY = "PT5M"


def alert(
    ctx: RenderContext,
    component: str,
    scope: str,
    *,
    namespace: str,
    metric: str,
    aggregation: str,
    operator: str,
    threshold: float,
    description: str,
    dimension: dict[str, Any] | None = None,
    window: str = WINDOW,
    severity: int = 2,
) -> dict[str, Any]:
    criteria: dict[str, Any] = {
        "metricNamespace": namespace,
        "metricName": metric,
        "aggregation": aggregation,
        "operator": operator,
        "threshold": threshold,
    }
    if dimension:
        criteria["dimension"] = [dimension]
    fp: dict[str, Any] = {
        "description": f"{ctx.who}: {description}"[:1024],
        "scopes": [scope],
        "criteria": [criteria],
        "frequency": FREQUENCY,
        "windowSize": window,
        "severity": severity,
        "autoMitigate": True,
        "enabled": True,
    }
    group = ctx.settings.azure.action_group_id
    if group:
        fp["action"] = [{"actionGroupId": group}]
    return resource(ctx, "insights", "MonitorMetricAlert", component, fp)


def vm_alerts(ctx: RenderContext, observed: Observed, *, gateway: bool = False) -> Resources:
    """`gateway`: clients come through the Application Gateway (require-https), whose
    metrics are watched instead of the load balancer's."""
    m = ctx.policy.monitoring
    out: Resources = {}
    if vmss := observed_id(observed, "vm-scale-set"):
        out["alert-cpu"] = alert(
            ctx,
            "alert-cpu",
            vmss,
            namespace="Microsoft.Compute/virtualMachineScaleSets",
            metric="Percentage CPU",
            aggregation="Average",
            operator="GreaterThanOrEqual",
            threshold=m.cpu_percent,
            description=f"average CPU of the instances >= {m.cpu_percent:g}% for 10 minutes",
        )
    if gateway:
        if agw := observed_id(observed, "app-gateway"):
            out |= _gateway_alerts(ctx, agw)
    elif lb := observed_id(observed, "load-balancer"):
        out["alert-unhealthy-backends"] = alert(
            ctx,
            "alert-unhealthy-backends",
            lb,
            namespace="Microsoft.Network/loadBalancers",
            metric="DipAvailability",
            aggregation="Average",
            operator="LessThan",
            threshold=100,
            window="PT5M",
            description="an instance fails the load balancer's health probe",
        )
    return out


def _gateway_alerts(ctx: RenderContext, gateway: str) -> Resources:
    m = ctx.policy.monitoring
    ns = "Microsoft.Network/applicationGateways"
    return {
        "alert-gateway-unhealthy": alert(
            ctx,
            "alert-gateway-unhealthy",
            gateway,
            namespace=ns,
            metric="UnhealthyHostCount",
            aggregation="Average",
            operator="GreaterThan",
            threshold=0,
            window="PT5M",
            description="an instance fails the Application Gateway's health probe",
        ),
        "alert-gateway-5xx": alert(
            ctx,
            "alert-gateway-5xx",
            gateway,
            namespace=ns,
            metric="ResponseStatus",
            aggregation="Total",
            operator="GreaterThanOrEqual",
            threshold=m.error_count,
            window="PT5M",
            dimension={"name": "HttpStatusGroup", "operator": "Include", "values": ["5xx"]},
            description=f"the Application Gateway answered >= {m.error_count} 5xx in 5 minutes",
        ),
    }


def kubernetes_alerts(ctx: RenderContext, observed: Observed) -> Resources:
    m = ctx.policy.monitoring
    aks = observed_id(observed, "aks-cluster")
    if not aks:
        return {}
    ns = "Microsoft.ContainerService/managedClusters"
    return {
        "alert-node-cpu": alert(
            ctx,
            "alert-node-cpu",
            aks,
            namespace=ns,
            metric="node_cpu_usage_percentage",
            aggregation="Average",
            operator="GreaterThanOrEqual",
            threshold=m.cpu_percent,
            description=f"average node CPU >= {m.cpu_percent:g}% for 10 minutes",
        ),
        "alert-failed-pods": alert(
            ctx,
            "alert-failed-pods",
            aks,
            namespace=ns,
            metric="kube_pod_status_phase",
            aggregation="Average",
            operator="GreaterThan",
            threshold=0,
            window="PT5M",
            dimension={"name": "phase", "operator": "Include", "values": ["Failed"]},
            description="a pod is in phase Failed",
        ),
    }


def serverless_alerts(ctx: RenderContext, observed: Observed) -> Resources:
    m = ctx.policy.monitoring
    app = observed_id(observed, "container-app")
    if not app:
        return {}
    ns = "Microsoft.App/containerApps"
    return {
        "alert-5xx": alert(
            ctx,
            "alert-5xx",
            app,
            namespace=ns,
            metric="Requests",
            aggregation="Total",
            operator="GreaterThanOrEqual",
            threshold=m.error_count,
            window="PT5M",
            dimension={"name": "statusCodeCategory", "operator": "Include", "values": ["5xx"]},
            description=f"the app answered >= {m.error_count} 5xx in 5 minutes",
        ),
        "alert-restarts": alert(
            ctx,
            "alert-restarts",
            app,
            namespace=ns,
            metric="RestartCount",
            aggregation="Total",
            operator="GreaterThan",
            threshold=0,
            window="PT5M",
            description="a container restarted",
        ),
    }
