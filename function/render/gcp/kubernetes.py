"""kubernetes on GCP: a regional GKE Standard cluster with one node pool.

The cluster's control plane is regional (highly available); its default node pool is
removed and a node pool of the decided machine type runs in the zones of the function
input (`gcp.zones`, two by default, like AWS's two availability zones; one for a single
node), autoscaled between the decision's total minimum and maximum. GKE counts initial
nodes per zone: an odd number of nodes over two zones starts with one more. Pods and
services get the subnetwork's secondary ranges (VPC-native). The workload itself is not
composed here (as on AWS).
"""

from __future__ import annotations

import math

from function.render.common import RenderContext, Resources, select
from function.render.gcp.common import Observed, labels
from function.render.gcp.monitoring import kubernetes_alerts
from function.render.gcp.network import GcpNetworkRefs
from function.render.gcp.vm import ENABLE_MONITORING, zones


def render_gcp_kubernetes(
    ctx: RenderContext, refs: GcpNetworkRefs, observed: Observed
) -> Resources:
    d = ctx.decision
    assert d.kubernetes is not None, "kubernetes decision without kubernetes parameters"
    k = d.kubernetes
    lab = labels(ctx)
    # A pool of one node lives in one zone (a node count is per zone on GKE).
    zs = zones(ctx)[: max(1, min(len(zones(ctx)), k.desired_nodes))]
    out: Resources = {
        "gke-cluster": ctx.resource(
            "container",
            "Cluster",
            "gke-cluster",
            {
                "location": ctx.region,
                **refs.network,
                **refs.subnetwork,
                "networkingMode": "VPC_NATIVE",
                "ipAllocationPolicy": {
                    "clusterSecondaryRangeName": refs.pods_range,
                    "servicesSecondaryRangeName": refs.services_range,
                },
                "removeDefaultNodePool": True,
                "initialNodeCount": 1,
                "minMasterVersion": k.kubernetes_version,
                "releaseChannel": {"channel": "REGULAR"},
                "deletionProtection": False,
                "resourceLabels": lab,
                "description": f"cluster of {ctx.who}",
            },
        ),
        "node-pool": ctx.resource(
            "container",
            "NodePool",
            "node-pool",
            {
                "location": ctx.region,
                "clusterSelector": select("gke-cluster"),
                "nodeLocations": zs,
                "autoscaling": {
                    "totalMinNodeCount": k.min_nodes,
                    "totalMaxNodeCount": k.max_nodes,
                    "locationPolicy": "BALANCED",
                },
                "management": {"autoRepair": True, "autoUpgrade": True},
                "nodeConfig": {
                    "machineType": k.node_instance_type,
                    "diskSizeGb": k.disk_gb,
                    "diskType": "pd-balanced",
                    "imageType": "COS_CONTAINERD",
                    "oauthScopes": ["https://www.googleapis.com/auth/cloud-platform"],
                    "resourceLabels": lab,
                    "shieldedInstanceConfig": {
                        "enableSecureBoot": True,
                        "enableIntegrityMonitoring": True,
                    },
                    "metadata": {"disable-legacy-endpoints": "true"},
                },
            },
            # Per zone, set once at creation; the autoscaler owns the size afterwards.
            init_provider={"initialNodeCount": math.ceil(k.desired_nodes / len(zs))},
        ),
    }
    if ctx.has_policy(ENABLE_MONITORING):
        out |= kubernetes_alerts(ctx, observed)
    return out
