"""The Azure network of a vm or kubernetes deployment: its resource group, a VNet, one subnet
and a network security group on that subnet.

Every deployment gets its own resource group (every other resource names it by selector),
so a tenant's resources are together and deleting the group's members leaves nothing
behind. The security group is associated with the subnet and holds the deployment's rules
(vm.py and kubernetes.py add them): Azure's default rules (priority 65000-65500) already
deny inbound from the internet and allow the VNet and the `AzureLoadBalancer` tag.

Serverless (Container Apps) needs only the resource group: the Consumption environment
brings its own network.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from function.render.azure.base import RESOURCE_GROUP, resource, select
from function.render.common import RenderContext, Resources

VNET = "vnet"
SUBNET = "subnet"
NSG = "network-security-group"


def resource_group(ctx: RenderContext) -> Resources:
    return {RESOURCE_GROUP: resource(ctx, "azure", "ResourceGroup", RESOURCE_GROUP, {})}


def subnet_cidr(vnet_cidr: str) -> str:
    """The subnet: the VNet's first /20, or the whole VNet when it is smaller."""
    net = ipaddress.ip_network(vnet_cidr, strict=False)
    if net.prefixlen >= 20:
        return str(net)
    return str(next(net.subnets(new_prefix=20)))


def render_network(ctx: RenderContext) -> Resources:
    """Resource group, VNet, subnet, network security group and its association."""
    net = ctx.settings.azure.network
    out = resource_group(ctx)
    out[VNET] = resource(ctx, "network", "VirtualNetwork", VNET, {"addressSpace": [net.vnet_cidr]})
    out[SUBNET] = resource(
        ctx,
        "network",
        "Subnet",
        SUBNET,
        {
            "addressPrefixes": [subnet_cidr(net.vnet_cidr)],
            "virtualNetworkNameSelector": select(VNET),
        },
    )
    out[NSG] = resource(ctx, "network", "SecurityGroup", NSG, {})
    out["subnet-nsg-association"] = resource(
        ctx,
        "network",
        "SubnetNetworkSecurityGroupAssociation",
        "subnet-nsg-association",
        {"subnetIdSelector": select(SUBNET), "networkSecurityGroupIdSelector": select(NSG)},
    )
    return out


def security_rule(
    ctx: RenderContext, component: str, priority: int, access: str, **fields: Any
) -> dict[str, Any]:
    """An inbound TCP rule of the deployment's security group (`fields`: its sources,
    destinations, ports and description)."""
    return resource(
        ctx,
        "network",
        "SecurityRule",
        component,
        {
            "networkSecurityGroupNameSelector": select(NSG),
            "priority": priority,
            "direction": "Inbound",
            "access": access,
            "protocol": "Tcp",
            "sourcePortRange": "*",
            **fields,
        },
    )


def deny_blocked_ports(ctx: RenderContext, open_port: int, *more_open: int) -> Resources:
    """`nsg-deny-blocked-ports`: the platform's blocked ports (input.blockedPorts: remote
    shells, Docker API) denied from anywhere, except `open_port` (and `more_open`), the
    ones the deployment serves; none when nothing is left to deny."""
    serving = {open_port, *more_open}
    blocked = sorted({p for p in ctx.settings.blocked_ports if p not in serving})
    if not blocked:
        return {}
    return {
        "nsg-deny-blocked-ports": security_rule(
            ctx,
            "nsg-deny-blocked-ports",
            4000,
            "Deny",
            sourceAddressPrefix="*",
            destinationAddressPrefix="*",
            destinationPortRanges=[str(p) for p in blocked],
            description="ports the platform never exposes (remote shells, Docker API)",
        )
    }
