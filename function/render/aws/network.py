"""The network: existing VPC/subnets from the function input, or a minimal public VPC."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from function.render.common import RenderContext, Resources, select


@dataclass(frozen=True)
class NetworkRefs:
    """How other resources point at the VPC and its subnets (ids or selectors)."""

    vpc: dict[str, Any]
    subnets: dict[str, Any]

    def vpc_field(self, name: str = "vpcId") -> dict[str, Any]:
        if "id" in self.vpc:
            return {name: self.vpc["id"]}
        return {f"{name}Selector": self.vpc["selector"]}

    def subnets_field(self, name: str) -> dict[str, Any]:
        """`name` is the list field (subnetIds, vpcZoneIdentifier, subnets)."""
        if "ids" in self.subnets:
            return {name: list(self.subnets["ids"])}
        singular = name[:-1] if name.endswith("s") else name
        return {f"{singular}Selector": self.subnets["selector"]}


def _subnet_cidrs(vpc_cidr: str, count: int) -> list[str]:
    net = ipaddress.ip_network(vpc_cidr)
    return [str(s) for s in list(net.subnets(new_prefix=20))[:count]]


def render_network(ctx: RenderContext) -> tuple[Resources, NetworkRefs]:
    net = ctx.settings.network
    if net.existing:
        return {}, NetworkRefs(vpc={"id": net.vpc_id}, subnets={"ids": net.subnet_ids})

    tags = ctx.tags
    out: Resources = {
        "vpc": ctx.resource(
            "ec2",
            "VPC",
            "vpc",
            {
                "cidrBlock": net.vpc_cidr,
                "enableDnsHostnames": True,
                "enableDnsSupport": True,
                "tags": {**tags, "Name": f"{ctx.name_prefix}-vpc"},
            },
        ),
        "internet-gateway": ctx.resource(
            "ec2",
            "InternetGateway",
            "internet-gateway",
            {"vpcIdSelector": select("vpc"), "tags": tags},
        ),
        "route-table": ctx.resource(
            "ec2", "RouteTable", "route-table", {"vpcIdSelector": select("vpc"), "tags": tags}
        ),
        "route-default": ctx.resource(
            "ec2",
            "Route",
            "route-default",
            {
                "destinationCidrBlock": "0.0.0.0/0",
                "routeTableIdSelector": select("route-table"),
                "gatewayIdSelector": select("internet-gateway"),
            },
        ),
    }
    cidrs = _subnet_cidrs(net.vpc_cidr, len(net.availability_zones))
    for zone, cidr in zip(net.availability_zones, cidrs, strict=True):
        name = f"subnet-{zone}"
        subnet = ctx.resource(
            "ec2",
            "Subnet",
            name,
            {
                "availabilityZone": f"{ctx.region}{zone}",
                "cidrBlock": cidr,
                "mapPublicIpOnLaunch": True,
                "vpcIdSelector": select("vpc"),
                "tags": {**tags, "Name": f"{ctx.name_prefix}-{zone}"},
            },
        )
        # A shared label lets list selectors pick every subnet of this XR.
        subnet["metadata"]["labels"]["scia.io/network"] = "public"
        out[name] = subnet
        out[f"route-table-association-{zone}"] = ctx.resource(
            "ec2",
            "RouteTableAssociation",
            f"route-table-association-{zone}",
            {"routeTableIdSelector": select("route-table"), "subnetIdSelector": select(name)},
        )
    subnets_selector = {"matchControllerRef": True, "matchLabels": {"scia.io/network": "public"}}
    return out, NetworkRefs(vpc={"selector": select("vpc")}, subnets={"selector": subnets_selector})
