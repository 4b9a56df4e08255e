"""serverless with composed data stores: the function in the VPC's private subnets (pure).

A Lambda function reaches RDS and ElastiCache only from inside their VPC, and a function in
a VPC has no internet access of its own (AWS Lambda developer guide, "Giving Lambda
functions access to resources in an Amazon VPC"): the launcher's calls to SSM, Secrets
Manager, RDS and ElastiCache, and whatever the app itself calls, need a route out. With
the product's own network this composes:

- the function's security group (`lambda-security-group`), all egress, no ingress: the
  stores' security groups admit it (render/aws/datastores.py);
- one NAT gateway with an Elastic IP in the first public subnet, and a route table for
  the private subnets whose default route goes through it. One NAT gateway, not one per
  zone: it is the cheaper half of the two ways out (one NAT gateway is ~$36/month; the
  four interface endpoints the launcher needs, ssm, secretsmanager, rds and elasticache,
  in two zones are ~$58/month), and it keeps the app's own outbound calls working. The
  cost is in the estimate (pricing/datastores.yaml `network`). A zone outage of the NAT's
  zone cuts the function's egress until it is back; the stores themselves stay reachable.

The function gets `vpcConfig` (the private subnets, this security group) and its role the
managed policy AWSLambdaVPCAccessExecutionRole (the network interfaces Lambda creates).
With an existing network, the function goes in `dataStores.subnetIds` (else
`network.subnetIds`): their route out (NAT or VPC endpoints) is the platform's, and
nothing is composed for it.
"""

from __future__ import annotations

from typing import Any

from function.render.aws.network import NetworkRefs
from function.render.common import RenderContext, Resources, select

SECURITY_GROUP = "lambda-security-group"
VPC_ACCESS_POLICY = "service-role/AWSLambdaVPCAccessExecutionRole"
PRIVATE_LABEL = "scia.io/network"


def private_subnets_field(ctx: RenderContext) -> dict[str, Any]:
    """The function's subnets (vpcConfig): the stores' private subnets."""
    if ctx.settings.network.existing:
        ids = ctx.settings.data_stores.subnet_ids or ctx.settings.network.subnet_ids
        return {"subnetIds": list(ids)}
    return {
        "subnetIdSelector": {"matchControllerRef": True, "matchLabels": {PRIVATE_LABEL: "private"}}
    }


def vpc_config(ctx: RenderContext) -> dict[str, Any]:
    """The Lambda function's `vpcConfig`."""
    return {**private_subnets_field(ctx), "securityGroupIdSelector": select(SECURITY_GROUP)}


def render_lambda_vpc(ctx: RenderContext, network: NetworkRefs) -> Resources:
    """The function's security group and, with the product's own network, its way out."""
    out: Resources = {
        SECURITY_GROUP: ctx.resource(
            "ec2",
            "SecurityGroup",
            SECURITY_GROUP,
            {
                "description": f"the Lambda function of {ctx.who}"[:255],
                **network.vpc_field(),
                "tags": ctx.tags,
            },
        ),
        "lambda-egress-all": ctx.resource(
            "ec2",
            "SecurityGroupEgressRule",
            "lambda-egress-all",
            {
                "securityGroupIdSelector": select(SECURITY_GROUP),
                "ipProtocol": "-1",
                "cidrIpv4": "0.0.0.0/0",
                "description": "AWS APIs and the app's own calls, through the NAT gateway",
                "tags": ctx.tags,
            },
        ),
    }
    if ctx.settings.network.existing:
        ctx.notes.append(
            "the function runs in the platform's subnets (dataStores.subnetIds or "
            "network.subnetIds): they need a route to AWS APIs (a NAT gateway or VPC "
            "endpoints for SSM, Secrets Manager, RDS and ElastiCache)"
        )
        return out
    net = ctx.settings.network
    first = net.availability_zones[0]
    out["nat-ip"] = ctx.resource("ec2", "EIP", "nat-ip", {"domain": "vpc", "tags": ctx.tags})
    out["nat-gateway"] = ctx.resource(
        "ec2",
        "NATGateway",
        "nat-gateway",
        {
            "connectivityType": "public",
            "allocationIdSelector": select("nat-ip"),
            "subnetIdSelector": select(f"subnet-{first}"),
            "tags": {**ctx.tags, "Name": f"{ctx.name_prefix}-nat"},
        },
    )
    out["private-route-table"] = ctx.resource(
        "ec2",
        "RouteTable",
        "private-route-table",
        {"vpcIdSelector": select("vpc"), "tags": ctx.tags},
    )
    out["private-route-default"] = ctx.resource(
        "ec2",
        "Route",
        "private-route-default",
        {
            "destinationCidrBlock": "0.0.0.0/0",
            "routeTableIdSelector": select("private-route-table"),
            "natGatewayIdSelector": select("nat-gateway"),
        },
    )
    for zone in net.availability_zones:
        name = f"private-route-table-association-{zone}"
        out[name] = ctx.resource(
            "ec2",
            "RouteTableAssociation",
            name,
            {
                "routeTableIdSelector": select("private-route-table"),
                "subnetIdSelector": select(f"private-subnet-{zone}"),
            },
        )
    return out
