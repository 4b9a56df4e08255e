"""The GCP network of a vm or kubernetes deployment.

With `gcp.network.network` and `gcp.network.subnetworks` in the function input the
platform's VPC is used (the subnetwork in the deployment's region); otherwise a minimal
custom-mode VPC network and one subnetwork in the region are composed (Private Google
Access on; for kubernetes with secondary ranges for pods and services), and for vm
instances without public IPs a Cloud Router with Cloud NAT, so instances can fetch the
repository at boot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from function.model import Strategy
from function.render.common import RenderContext, Resources, UnsupportedTarget, select

PODS_RANGE = "pods"
SERVICES_RANGE = "services"


@dataclass(frozen=True)
class GcpNetworkRefs:
    """How other resources name the network and subnetwork: a selector or a self link."""

    network: dict[str, Any] = field(default_factory=dict)  # {"network": ...} or selector
    subnetwork: dict[str, Any] = field(default_factory=dict)
    pods_range: str | None = None
    services_range: str | None = None


def render_gcp_network(ctx: RenderContext) -> tuple[Resources, GcpNetworkRefs]:
    net = ctx.settings.gcp.network
    k8s = ctx.decision.strategy is Strategy.KUBERNETES
    if net.existing:
        sub = net.subnetwork_in(ctx.region)
        if sub is None:
            raise UnsupportedTarget(
                f"spec.region: input gcp.network.subnetworks has no subnetwork in {ctx.region}"
            )
        if k8s and not (net.pods_range_name and net.services_range_name):
            raise UnsupportedTarget(
                "spec.strategy: kubernetes on an existing GCP network needs input "
                "gcp.network.podsRangeName and servicesRangeName (secondary ranges of "
                f"{sub})"
            )
        return {}, GcpNetworkRefs(
            network={"network": net.network},
            subnetwork={"subnetwork": sub},
            pods_range=net.pods_range_name,
            services_range=net.services_range_name,
        )
    out: Resources = {
        "network": ctx.resource(
            "compute",
            "Network",
            "network",
            {
                "autoCreateSubnetworks": False,
                "routingMode": "REGIONAL",
                "description": f"network of {ctx.who}"[:2048],
            },
        )
    }
    sub_fp: dict[str, Any] = {
        "region": ctx.region,
        "ipCidrRange": net.subnet_cidr,
        "networkSelector": select("network"),
        "privateIpGoogleAccess": True,
        "description": f"subnetwork of {ctx.who}"[:2048],
    }
    if k8s:
        sub_fp["secondaryIpRange"] = [
            {"rangeName": PODS_RANGE, "ipCidrRange": net.pods_cidr},
            {"rangeName": SERVICES_RANGE, "ipCidrRange": net.services_cidr},
        ]
    out["subnetwork"] = ctx.resource("compute", "Subnetwork", "subnetwork", sub_fp)
    if ctx.decision.strategy is Strategy.VM and not net.public_ip:
        out["router"] = ctx.resource(
            "compute",
            "Router",
            "router",
            {"region": ctx.region, "networkSelector": select("network")},
        )
        out["router-nat"] = ctx.resource(
            "compute",
            "RouterNAT",
            "router-nat",
            {
                "region": ctx.region,
                "routerSelector": select("router"),
                "natIpAllocateOption": "AUTO_ONLY",
                "sourceSubnetworkIpRangesToNat": "ALL_SUBNETWORKS_ALL_IP_RANGES",
                "logConfig": {"enable": True, "filter": "ERRORS_ONLY"},
            },
        )
    return out, GcpNetworkRefs(
        network={"networkSelector": select("network")},
        subnetwork={"subnetworkSelector": select("subnetwork")},
        pods_range=PODS_RANGE if k8s else None,
        services_range=SERVICES_RANGE if k8s else None,
    )
