"""Known-good provider-upjet-aws v2.6 managed resources, in both flavours.

A reference for renderers and a corpus for validator tests: every object here
passes `crdcheck` and `crossplane beta validate`. References between resources use
selectors with `matchControllerRef: true` plus labels, the way a composition wires
resources whose names it does not know (`generateName`).

- cluster-scoped (`*.aws.upbound.io`, storage versions): `deletionPolicy`,
  `providerConfigRef: {name}`;
- namespaced (`*.aws.m.upbound.io`, all v1beta1): `metadata.namespace`, no
  `deletionPolicy`, `providerConfigRef: {kind, name}`.
"""

from __future__ import annotations

import json
from typing import Any

JsonDict = dict[str, Any]

REGION = "eu-west-1"

# Cluster-scoped storage version per kind; every namespaced `.m.` kind is v1beta1.
CLUSTER_VERSIONS: dict[tuple[str, str], str] = {
    ("ec2", "VPC"): "v1beta1",
    ("ec2", "Subnet"): "v1beta1",
    ("ec2", "InternetGateway"): "v1beta1",
    ("ec2", "RouteTable"): "v1beta1",
    ("ec2", "Route"): "v1beta2",
    ("ec2", "RouteTableAssociation"): "v1beta1",
    ("ec2", "SecurityGroup"): "v1beta1",
    ("ec2", "SecurityGroupIngressRule"): "v1beta1",
    ("ec2", "SecurityGroupEgressRule"): "v1beta1",
    ("ec2", "LaunchTemplate"): "v1beta2",
    ("ec2", "Instance"): "v1beta2",
    ("autoscaling", "AutoscalingGroup"): "v1beta3",
    ("elbv2", "LB"): "v1beta2",
    ("elbv2", "LBListener"): "v1beta2",
    ("elbv2", "LBTargetGroup"): "v1beta2",
    ("eks", "Cluster"): "v1beta2",
    ("eks", "NodeGroup"): "v1beta2",
    ("iam", "Role"): "v1beta1",
    ("iam", "RolePolicyAttachment"): "v1beta1",
    ("iam", "InstanceProfile"): "v1beta1",
    ("lambda", "Function"): "v1beta2",
    ("lambda", "FunctionURL"): "v1beta2",
    ("lambda", "Permission"): "v1beta1",
}


def api_version(service: str, kind: str, *, namespaced: bool) -> str:
    if namespaced:
        return f"{service}.aws.m.upbound.io/v1beta1"
    return f"{service}.aws.upbound.io/{CLUSTER_VERSIONS[(service, kind)]}"


def selector(role: str) -> JsonDict:
    """Select the resource of this XR labelled `scia.io/role: <role>`."""
    return {"matchControllerRef": True, "matchLabels": {"scia.io/role": role}}


def managed(
    service: str,
    kind: str,
    name: str,
    role: str,
    for_provider: JsonDict,
    *,
    namespaced: bool,
    namespace: str = "team-a",
) -> JsonDict:
    metadata: JsonDict = {"name": name, "labels": {"scia.io/role": role}}
    # IAM is global: its kinds have no `region` (it would be an unknown field).
    regional = {} if service == "iam" else {"region": REGION}
    spec: JsonDict = {"forProvider": {**regional, **for_provider}}
    if namespaced:
        metadata["namespace"] = namespace
        spec["providerConfigRef"] = {"kind": "ClusterProviderConfig", "name": "default"}
    else:
        spec["deletionPolicy"] = "Delete"
        spec["providerConfigRef"] = {"name": "default"}
    return {
        "apiVersion": api_version(service, kind, namespaced=namespaced),
        "kind": kind,
        "metadata": metadata,
        "spec": spec,
    }


def _assume_role(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def network(*, namespaced: bool) -> list[JsonDict]:
    ns = namespaced
    return [
        managed(
            "ec2",
            "VPC",
            "net-vpc",
            "vpc",
            {
                "cidrBlock": "10.0.0.0/16",
                "enableDnsHostnames": True,
                "enableDnsSupport": True,
                "tags": {"Name": "shop"},
            },
            namespaced=ns,
        ),
        managed(
            "ec2",
            "Subnet",
            "net-public-a",
            "subnet-public",
            {
                "availabilityZone": "eu-west-1a",
                "cidrBlock": "10.0.0.0/24",
                "mapPublicIpOnLaunch": True,
                "vpcIdSelector": selector("vpc"),
            },
            namespaced=ns,
        ),
        managed(
            "ec2",
            "InternetGateway",
            "net-igw",
            "igw",
            {
                "vpcIdSelector": selector("vpc"),
            },
            namespaced=ns,
        ),
        managed(
            "ec2",
            "RouteTable",
            "net-rt",
            "rt-public",
            {
                "vpcIdSelector": selector("vpc"),
            },
            namespaced=ns,
        ),
        managed(
            "ec2",
            "Route",
            "net-default-route",
            "route-default",
            {
                "destinationCidrBlock": "0.0.0.0/0",
                "gatewayIdSelector": selector("igw"),
                "routeTableIdSelector": selector("rt-public"),
            },
            namespaced=ns,
        ),
        managed(
            "ec2",
            "RouteTableAssociation",
            "net-rta-a",
            "rta",
            {
                "routeTableIdSelector": selector("rt-public"),
                "subnetIdSelector": selector("subnet-public"),
            },
            namespaced=ns,
        ),
        managed(
            "ec2",
            "SecurityGroup",
            "net-sg",
            "sg",
            {
                "description": "shop web tier",
                "name": "shop-web",
                "vpcIdSelector": selector("vpc"),
            },
            namespaced=ns,
        ),
        managed(
            "ec2",
            "SecurityGroupIngressRule",
            "net-sg-http",
            "sg-in",
            {
                "ipProtocol": "tcp",
                "fromPort": 8080,
                "toPort": 8080,
                "cidrIpv4": "10.0.0.0/16",
                "securityGroupIdSelector": selector("sg"),
            },
            namespaced=ns,
        ),
        managed(
            "ec2",
            "SecurityGroupEgressRule",
            "net-sg-all-out",
            "sg-out",
            {
                "ipProtocol": "-1",
                "cidrIpv4": "0.0.0.0/0",
                "securityGroupIdSelector": selector("sg"),
            },
            namespaced=ns,
        ),
    ]


def vm(*, namespaced: bool) -> list[JsonDict]:
    ns = namespaced
    return [
        managed(
            "iam",
            "Role",
            "vm-role",
            "vm-role",
            {
                "assumeRolePolicy": _assume_role("ec2.amazonaws.com"),
            },
            namespaced=ns,
        ),
        managed(
            "iam",
            "RolePolicyAttachment",
            "vm-ssm",
            "vm-ssm",
            {
                "policyArn": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
                "roleSelector": selector("vm-role"),
            },
            namespaced=ns,
        ),
        managed(
            "iam",
            "InstanceProfile",
            "vm-profile",
            "vm-profile",
            {
                "roleSelector": selector("vm-role"),
            },
            namespaced=ns,
        ),
        managed(
            "ec2",
            "LaunchTemplate",
            "vm-lt",
            "lt",
            {
                "imageId": "ami-0123456789abcdef0",
                "instanceType": "t3.small",
                "iamInstanceProfile": {"nameSelector": selector("vm-profile")},
                "vpcSecurityGroupIdSelector": selector("sg"),
                "metadataOptions": {"httpTokens": "required", "httpEndpoint": "enabled"},
                "blockDeviceMappings": [
                    {
                        "deviceName": "/dev/xvda",
                        "ebs": {"volumeSize": 20, "volumeType": "gp3", "encrypted": "true"},
                    },
                ],
                "userData": "IyEvYmluL3NoCmVjaG8gaGk=",
                "tagSpecifications": [{"resourceType": "instance", "tags": {"Name": "shop"}}],
            },
            namespaced=ns,
        ),
        managed(
            "autoscaling",
            "AutoscalingGroup",
            "vm-asg",
            "asg",
            {
                "minSize": 1,
                "maxSize": 3,
                "desiredCapacity": 2,
                "launchTemplate": {"idSelector": selector("lt"), "version": "$Latest"},
                "vpcZoneIdentifierSelector": selector("subnet-public"),
                # No reference field attaches a target group: trafficSource takes the ARN,
                # read from the observed LBTargetGroup's status.atProvider.arn.
                "trafficSource": [
                    {
                        "identifier": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:"
                        "targetgroup/shop-web/0123456789abcdef",
                        "type": "elbv2",
                    }
                ],
                "healthCheckType": "ELB",
                "healthCheckGracePeriod": 120,
                "tag": [{"key": "Name", "value": "shop", "propagateAtLaunch": True}],
            },
            namespaced=ns,
        ),
        managed(
            "elbv2",
            "LB",
            "vm-lb",
            "lb",
            {
                "loadBalancerType": "application",
                "internal": False,
                "securityGroupSelector": selector("sg"),
                "subnetSelector": selector("subnet-public"),
            },
            namespaced=ns,
        ),
        managed(
            "elbv2",
            "LBTargetGroup",
            "vm-tg",
            "tg",
            {
                "name": "shop-web",
                "port": 8080,
                "protocol": "HTTP",
                "targetType": "instance",
                "vpcIdSelector": selector("vpc"),
                "healthCheck": {
                    "path": "/healthz",
                    "matcher": "200-399",
                    "interval": 15,
                    "healthyThreshold": 2,
                    "unhealthyThreshold": 3,
                },
            },
            namespaced=ns,
        ),
        managed(
            "elbv2",
            "LBListener",
            "vm-listener",
            "listener",
            {
                "port": 80,
                "protocol": "HTTP",
                "loadBalancerArnSelector": selector("lb"),
                "defaultAction": [{"type": "forward", "targetGroupArnSelector": selector("tg")}],
            },
            namespaced=ns,
        ),
    ]


def kubernetes(*, namespaced: bool) -> list[JsonDict]:
    ns = namespaced
    return [
        managed(
            "iam",
            "Role",
            "eks-cluster-role",
            "eks-role",
            {
                "assumeRolePolicy": _assume_role("eks.amazonaws.com"),
            },
            namespaced=ns,
        ),
        managed(
            "eks",
            "Cluster",
            "eks",
            "eks",
            {
                "version": "1.33",
                "roleArnSelector": selector("eks-role"),
                "vpcConfig": {
                    "subnetIdSelector": selector("subnet-public"),
                    "endpointPublicAccess": True,
                    "endpointPrivateAccess": True,
                },
                "accessConfig": {"authenticationMode": "API"},
            },
            namespaced=ns,
        ),
        managed(
            "eks",
            "NodeGroup",
            "eks-nodes",
            "nodes",
            {
                "clusterNameSelector": selector("eks"),
                "nodeRoleArnSelector": selector("vm-role"),
                "subnetIdSelector": selector("subnet-public"),
                "instanceTypes": ["t3.medium"],
                "scalingConfig": {"minSize": 1, "maxSize": 3, "desiredSize": 2},
                "updateConfig": {"maxUnavailable": 1},
            },
            namespaced=ns,
        ),
    ]


def serverless(*, namespaced: bool) -> list[JsonDict]:
    ns = namespaced
    return [
        managed(
            "iam",
            "Role",
            "fn-role",
            "fn-role",
            {
                "assumeRolePolicy": _assume_role("lambda.amazonaws.com"),
            },
            namespaced=ns,
        ),
        managed(
            "lambda",
            "Function",
            "fn",
            "fn",
            {
                "packageType": "Image",
                "imageUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:1.2.3",
                "memorySize": 512,
                "timeout": 30,
                "architectures": ["arm64"],
                "roleSelector": selector("fn-role"),
                "environment": {"variables": {"PORT": "8080"}},
            },
            namespaced=ns,
        ),
        managed(
            "lambda",
            "FunctionURL",
            "fn-url",
            "fn-url",
            {
                "authorizationType": "NONE",
                "functionNameSelector": selector("fn"),
                "cors": {"allowOrigins": ["*"], "allowMethods": ["GET", "POST"]},
            },
            namespaced=ns,
        ),
        managed(
            "lambda",
            "Permission",
            "fn-url-public",
            "fn-perm",
            {
                "action": "lambda:InvokeFunctionUrl",
                "principal": "*",
                "functionUrlAuthType": "NONE",
                "functionNameSelector": selector("fn"),
            },
            namespaced=ns,
        ),
    ]


def all_examples(*, namespaced: bool) -> list[JsonDict]:
    return (
        network(namespaced=namespaced)
        + vm(namespaced=namespaced)
        + kubernetes(namespaced=namespaced)
        + serverless(namespaced=namespaced)
    )
