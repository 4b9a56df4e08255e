"""The Azure kubernetes strategy: an AKS cluster whose system node pool runs the workload.

The cluster's default ("system") node pool is the node pool: provider-upjet-azure's
separate `KubernetesClusterNodePool` kind is not among the CRDs this product validates
against (../shared/crds/azure), so no user pool is composed. The pool sits in the
deployment's subnet (Azure CNI overlay: pods get addresses from an overlay range, not the
subnet), scales between the decision's min and max with the cluster autoscaler when
min < max (the node count is set once, at creation, in spec.initProvider: the autoscaler
owns it), and its OS disk is the decision's size.

The cluster: system-assigned identity, Kubernetes RBAC, OIDC issuer and workload identity
on, patch-level automatic upgrades and node-image OS upgrades, the input's control-plane
tier (Free by default). Its API server is public (AKS's default); its node pool has no
public IPs. `enable-monitoring` adds a Log Analytics workspace with Container Insights
(`omsAgent`) and metric alerts (monitoring.py). The workload on the cluster is not
composed here (as on AWS).
"""

from __future__ import annotations

import ipaddress

from function.policy.admission import ENABLE_MONITORING
from function.render.azure.base import Observed, observed_field, observed_id, resource, select
from function.render.azure.monitoring import kubernetes_alerts
from function.render.azure.network import SUBNET, render_network
from function.render.common import RenderContext, Resources

AKS = "aks-cluster"
WORKSPACE = "log-workspace"
NODE_POOL = "system"
POD_CIDR = "10.244.0.0/16"


def log_workspace(ctx: RenderContext) -> Resources:
    """A Log Analytics workspace (pay per GB ingested, 30 days' retention)."""
    return {
        WORKSPACE: resource(
            ctx,
            "operationalinsights",
            "Workspace",
            WORKSPACE,
            {"sku": "PerGB2018", "retentionInDays": 30},
        )
    }


def render_kubernetes(ctx: RenderContext, observed: Observed) -> Resources:
    d = ctx.decision
    assert d.kubernetes is not None, "kubernetes decision without kubernetes parameters"
    k = d.kubernetes
    az = ctx.settings.azure
    out = render_network(ctx)
    autoscale = k.max_nodes > k.min_nodes
    pool: dict[str, object] = {
        "name": NODE_POOL,
        "vmSize": k.node_instance_type,
        "osDiskSizeGb": k.disk_gb,
        "osSku": "Ubuntu",
        "vnetSubnetIdSelector": select(SUBNET),
        "nodePublicIpEnabled": False,
        "orchestratorVersion": k.kubernetes_version,
        "temporaryNameForRotation": "rotation",
        "upgradeSettings": {"maxSurge": "33%"},
        "autoScalingEnabled": autoscale,
    }
    if autoscale:
        pool |= {"minCount": k.min_nodes, "maxCount": k.max_nodes}
    service = ipaddress.ip_network(az.network.service_cidr, strict=False)
    cluster: dict[str, object] = {
        "dnsPrefix": "",  # names.py picks it (and keeps the observed one)
        "kubernetesVersion": k.kubernetes_version,
        "skuTier": az.kubernetes_sku_tier,
        "defaultNodePool": pool,
        "identity": {"type": "SystemAssigned"},
        "roleBasedAccessControlEnabled": True,
        "oidcIssuerEnabled": True,
        "workloadIdentityEnabled": True,
        "automaticUpgradeChannel": "patch",
        "nodeOsUpgradeChannel": "NodeImage",
        "networkProfile": {
            "networkPlugin": "azure",
            "networkPluginMode": "overlay",
            "podCidr": POD_CIDR,
            "serviceCidr": str(service),
            "dnsServiceIp": str(service.network_address + 10),
            "loadBalancerSku": "standard",
            "outboundType": "loadBalancer",
        },
    }
    monitored = ctx.has_policy(ENABLE_MONITORING)
    if monitored:
        out |= log_workspace(ctx)
        # omsAgent names the workspace by id only (no reference field): from observed state.
        ws = observed_id(observed, WORKSPACE) or observed_field(
            observed, AKS, "omsAgent.logAnalyticsWorkspaceId"
        )
        if ws:
            cluster["omsAgent"] = {
                "logAnalyticsWorkspaceId": ws,
                "msiAuthForMonitoringEnabled": True,
            }
        else:
            ctx.notes.append(
                "Container Insights (omsAgent) is turned on once the Log Analytics "
                "workspace's id is observed"
            )
    out[AKS] = resource(
        ctx,
        "containerservice",
        "KubernetesCluster",
        AKS,
        cluster,
        init_provider={"defaultNodePool": {"nodeCount": k.desired_nodes}},
    )
    if monitored:
        out |= kubernetes_alerts(ctx, observed)
    return out
