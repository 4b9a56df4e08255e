"""The clouds the product composes for, and what differs between them in words and shapes.

One place that says, per cloud: how its regions are spelled, its default region, and the
words a decision's reason uses for each strategy (so a GCP decision never says "Lambda").
The renderers, names and price catalog of each cloud are registered in their own modules
(function/render/dispatch.py, function/render/names.py, function/pricing/catalog*.yaml).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal, get_args

Cloud = Literal["aws", "gcp", "azure"]
CLOUDS: Final[tuple[str, ...]] = get_args(Cloud)


@dataclass(frozen=True)
class CloudTerms:
    """How a cloud names what each strategy composes (for reasons, summaries, prompts)."""

    name: str  # "AWS", "Google Cloud"
    vm: str  # what "vm" composes, one phrase
    kubernetes: str
    serverless: str
    load_balancer: str  # "an ALB"
    kubernetes_short: str  # "EKS"
    serverless_short: str  # "Lambda"
    region_pattern: str  # a regex a region name of this cloud matches
    region_example: str
    default_region: str
    # what `highly available` means in the strategies composed for this cloud
    high_availability: str = "highly available across two zones"


TERMS: Final[dict[str, CloudTerms]] = {
    "aws": CloudTerms(
        name="AWS",
        vm="EC2 auto scaling group behind an application load balancer",
        kubernetes="an EKS cluster with a managed node group",
        serverless="AWS Lambda from a container image behind a Function URL",
        load_balancer="an ALB",
        kubernetes_short="EKS",
        serverless_short="Lambda",
        region_pattern=r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$",
        region_example="us-east-1",
        default_region="us-east-1",
    ),
    "gcp": CloudTerms(
        name="Google Cloud",
        vm="a regional managed instance group behind a global external HTTP(S) load balancer",
        kubernetes="a GKE cluster with a node pool",
        serverless="a Cloud Run service from a container image in Artifact Registry",
        load_balancer="a global HTTP(S) load balancer",
        kubernetes_short="GKE",
        serverless_short="Cloud Run",
        # us-central1, europe-west1, northamerica-northeast1, me-central2
        region_pattern=r"^[a-z]+-[a-z]+\d{1,2}$",
        region_example="us-central1",
        default_region="us-central1",
    ),
    "azure": CloudTerms(
        name="Azure",
        vm="a Linux VM scale set behind a load balancer",
        kubernetes="an AKS cluster",
        serverless="an Azure Container App from a container image",
        load_balancer="a load balancer",
        kubernetes_short="AKS",
        serverless_short="Container Apps",
        # eastus, westeurope, eastus2, southcentralus
        region_pattern=r"^[a-z]+[a-z0-9]*$",
        region_example="eastus",
        default_region="eastus",
        # no `zones` is set on the scale set, the AKS node pool or the Container Apps
        # environment (docs/azure-rendering.md): spread over fault domains, not zones
        high_availability="highly available within one region (vm and kubernetes keep two "
        "or more instances over fault domains; no availability zones are set)",
    ),
}


def terms(cloud: str) -> CloudTerms:
    """The words of `cloud`; AWS's for an unknown name (callers validated it already)."""
    return TERMS.get(cloud, TERMS["aws"])


def region_problem(cloud: str, region: str) -> str | None:
    """Why `region` is not spelled like a region of `cloud`, or None."""
    t = terms(cloud)
    if re.fullmatch(t.region_pattern, region):
        return None
    shown = region[:40]
    hint = ""
    # Azure's portal shows display names ("West Europe"); the API's name is "westeurope".
    name = re.sub(r"[^a-z0-9]", "", region.lower())
    if cloud == "azure" and name and re.fullmatch(t.region_pattern, name):
        hint = f"; the region's name, not its display name: {name!r}"
    return f"{shown!r} is not spelled like a region of {cloud} (like {t.region_example}){hint}"


# The smallest OS disk a cluster node accepts on GCP and Azure, GB (KubernetesParams.disk_gb
# defaults to 20; EKS renders it as it is). AKS refuses a Linux node OS disk under 30 GB, the size
# of its Ubuntu node image (AKS's limits, as mirrored by Azure/karpenter-provider-azure
# pull 1146 "matching the limits for osDiskSizeGB to AKS's limits": 30-2048 GB;
# Azure/application-gateway-kubernetes-ingress issue 78: "the AKS cluster doesn't support
# [an OS disk] under 30 GB"). GKE's node boot disk is at least 12 GB, 15 GB from GKE
# 1.36.3-gke.1480000 (container/v1 NodeConfig.diskSizeGb).
MIN_NODE_DISK_GB: Final[dict[str, int]] = {"gcp": 15, "azure": 30}
DEFAULT_NODE_DISK_GB: Final = 20  # model.KubernetesParams.disk_gb's default


def node_disk_gb(cloud: str, disk_gb: int) -> int:
    """The OS disk a cluster node gets on `cloud`: the decision's size, raised to the
    cloud's minimum (what is rendered and what is priced)."""
    return max(disk_gb, MIN_NODE_DISK_GB.get(cloud, 0))


# An Azure Application Gateway v2 (require-https on the vm, render/azure/gateway.py):
# at most 125 instances; each instance of the autoscale minimum reserves 10 capacity
# units, billed whether used or not (https://learn.microsoft.com/azure/application-gateway/
# understanding-pricing, "Capacity units related to instance count").
GATEWAY_MAX_CAPACITY: Final = 125
GATEWAY_RESERVED_CAPACITY_UNITS: Final = 10


def gateway_capacity(min_size: int, max_size: int) -> tuple[int, int]:
    """An Azure Application Gateway's autoscale bounds (instances) from the decision's
    scale set bounds: one warm instance, two when the app keeps two instances or more
    (high availability); at most as many as the app's instances but at least one more than
    the minimum, at most 125. What is rendered and what is priced."""
    low = 2 if min_size >= 2 else 1
    high = min(GATEWAY_MAX_CAPACITY, max(low + 1, max_size))
    return low, high
