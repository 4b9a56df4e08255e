"""Composed data stores: RDS (PostgreSQL, MySQL) and ElastiCache Redis, private to the app.

Per store (decision.data_stores, sized by the knowledge base within the input's allowlists):

- in private subnets: with the product's own network, two subnets (one per zone) with no
  route to the internet gateway (the VPC's main route table: local only); with an existing
  network, the input's `dataStores.subnetIds` (else `network.subnetIds`);
- a security group that admits the store's port from the app only: the app's security
  group (vm), or the EKS cluster security group EKS gives the managed node group's nodes
  and so their pods (kubernetes);
- RDS: storage encrypted (gp3, autoscaling up to the input's maximum), not publicly
  accessible, the master password managed by RDS in Secrets Manager
  (`manageMasterUserPassword`: no password in any manifest), automated backups
  (`backupRetentionPeriod` from the input), Multi-AZ when the team asked for high
  availability; production stores get deletion protection and a final snapshot, others
  are deleted without one;
- Redis: encryption in transit (TLS) and at rest, one node or a replica with automatic
  failover across zones (high availability); production: daily snapshots kept 7 days and a
  final snapshot. AUTH: the provider generates the token (`autoGenerateAuthToken`) into a
  Kubernetes Secret of the tenant's namespace (`authTokenSecretRef`), and a Secrets
  Manager copy of it (a SecretVersion's `secretStringSecretRef`, like spec.envFrom) is what
  the app's role reads: the token is in no manifest and never passes through the function.

The launcher assembles each store's URL at start (render/aws/secrets.py StoreSource):
`postgresql://` / `mysql://` from DescribeDBInstances and the RDS-managed secret,
`rediss://:<token>@host:port/0` from DescribeReplicationGroups and the token's copy. The
app's role may describe exactly these and
read the RDS-managed secret of exactly this instance (Secrets Manager's tag
`aws:rds:primaryDBInstanceArn`, which RDS sets on the secrets it manages: RDS User Guide,
"Password management with Amazon RDS and AWS Secrets Manager").
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from typing import Any

from function.model import DataStoreParams
from function.render.aws.network import NetworkRefs
from function.render.aws.secrets import StoreSource, config_prefix, secret_copy
from function.render.common import RenderContext, Resources, select
from function.render.names import EXTERNAL_NAME

Observed = dict[str, dict[str, Any]]

PORTS = {"postgres": 5432, "mysql": 3306, "redis": 6379}
ENGINES = {"postgres": "postgres", "mysql": "mysql"}
MASTER_USER = "app_admin"
DATABASE = "app"
PRIVATE_LABEL = "scia.io/network"
RDS_SECRET_TAG = "secretsmanager:ResourceTag/aws:rds:primaryDBInstanceArn"  # noqa: S105
REDIS_AUTH_KEY = "token"  # the key of the generated token in its Secret


def _ident(ctx: RenderContext, component: str, limit: int) -> str:
    """An RDS / ElastiCache identifier: lowercase letters, digits and single hyphens,
    starting with a letter, not ending with a hyphen, unique per XR and component."""
    h = hashlib.sha256(f"{ctx.identity.uid}/{component}".encode()).hexdigest()[:8]
    slug = re.sub(r"[^a-z0-9]+", "-", f"{ctx.identity.tenant}-{ctx.identity.deployment_name}")
    slug = slug.strip("-")
    room = limit - len(h) - 3  # "s" + "-" + slug + "-" + hash
    slug = slug[:room].strip("-")
    return re.sub("-{2,}", "-", f"s-{slug}-{h}" if slug else f"s-{h}")


def _private_subnets(ctx: RenderContext) -> Resources:
    net = ctx.settings.network
    zones = net.availability_zones
    all_cidrs = list(ipaddress.ip_network(net.vpc_cidr).subnets(new_prefix=20))
    out: Resources = {}
    for zone, cidr in zip(zones, all_cidrs[len(zones) : 2 * len(zones)], strict=True):
        name = f"private-subnet-{zone}"
        body = ctx.resource(
            "ec2",
            "Subnet",
            name,
            {
                "availabilityZone": f"{ctx.region}{zone}",
                "cidrBlock": str(cidr),
                "mapPublicIpOnLaunch": False,
                "vpcIdSelector": select("vpc"),
                "tags": {**ctx.tags, "Name": f"{ctx.name_prefix}-private-{zone}"},
            },
        )
        body["metadata"]["labels"][PRIVATE_LABEL] = "private"
        out[name] = body
    return out


def _subnets(ctx: RenderContext, field: str) -> dict[str, Any]:
    """The private subnets as the subnet groups' list field (ids) or selector."""
    if ctx.settings.network.existing:
        ids = ctx.settings.data_stores.subnet_ids or ctx.settings.network.subnet_ids
        return {field: list(ids)}
    return {
        f"{field[:-1]}Selector": {
            "matchControllerRef": True,
            "matchLabels": {PRIVATE_LABEL: "private"},
        }
    }


def app_group_source(component: str) -> dict[str, Any]:
    """The app's security group, a composed one (vm, serverless): its selector."""
    return {"referencedSecurityGroupIdSelector": select(component)}


def cluster_group_source(observed: Observed) -> dict[str, Any] | None:
    """kubernetes: the EKS cluster security group, which EKS gives every node of a managed
    node group (and so every pod on the node's network), from the cluster's observed
    `vpcConfig.clusterSecurityGroupId`; else the id an observed ingress rule already
    admits (kept when the cluster's status is momentarily lost); None before either."""
    at = ((observed.get("eks-cluster") or {}).get("status") or {}).get("atProvider") or {}
    vpc = at.get("vpcConfig") if isinstance(at, dict) else None
    if isinstance(vpc, list):
        vpc = vpc[0] if vpc and isinstance(vpc[0], dict) else None
    group = vpc.get("clusterSecurityGroupId") if isinstance(vpc, dict) else None
    if isinstance(group, str) and group:
        return {"referencedSecurityGroupId": group}
    for name, body in sorted(observed.items()):
        if name.endswith("-ingress-from-app") and body.get("kind") == "SecurityGroupIngressRule":
            fp = ((body.get("spec") or {}).get("forProvider")) or {}
            kept = fp.get("referencedSecurityGroupId") if isinstance(fp, dict) else None
            if isinstance(kept, str) and kept:
                return {"referencedSecurityGroupId": kept}
    return None


def _fence(
    ctx: RenderContext,
    network: NetworkRefs,
    name: str,
    kind: str,
    admit: dict[str, Any] | None,
) -> Resources:
    port = PORTS[kind]
    sg = f"{name}-security-group"
    out: Resources = {
        sg: ctx.resource(
            "ec2",
            "SecurityGroup",
            sg,
            {
                "description": f"{kind} of {ctx.who}"[:255],
                **network.vpc_field(),
                "tags": ctx.tags,
            },
        )
    }
    if admit is None:
        ctx.notes.append(
            f"the {kind} store admits the cluster's nodes once the EKS cluster's security "
            "group is observed (status.atProvider.vpcConfig.clusterSecurityGroupId)"
        )
        return out
    out[f"{name}-ingress-from-app"] = ctx.resource(
        "ec2",
        "SecurityGroupIngressRule",
        f"{name}-ingress-from-app",
        {
            "securityGroupIdSelector": select(sg),
            **admit,
            "ipProtocol": "tcp",
            "fromPort": port,
            "toPort": port,
            "description": f"{kind} from the application only",
            "tags": ctx.tags,
        },
    )
    return out


def _rds(ctx: RenderContext, store: DataStoreParams, name: str) -> tuple[Resources, StoreSource]:
    ident = _ident(ctx, name, 63)
    fp: dict[str, Any] = {
        "identifier": ident,
        "engine": ENGINES[store.kind],
        "engineVersion": store.engine_version,
        "instanceClass": store.size,
        "allocatedStorage": store.storage_gb or 20,
        "maxAllocatedStorage": store.max_storage_gb or store.storage_gb or 20,
        "storageType": "gp3",
        "storageEncrypted": True,
        "username": MASTER_USER,
        "manageMasterUserPassword": True,
        "dbName": DATABASE,
        "port": PORTS[store.kind],
        "publiclyAccessible": False,
        "multiAz": store.multi_az,
        "backupRetentionPeriod": store.backup_retention_days or 1,
        "copyTagsToSnapshot": True,
        "autoMinorVersionUpgrade": True,
        "deletionProtection": store.production,
        "skipFinalSnapshot": not store.production,
        "dbSubnetGroupNameSelector": select("db-subnet-group"),
        "vpcSecurityGroupIdSelector": select(f"{name}-security-group"),
        "tags": ctx.tags,
    }
    if store.production:
        fp["finalSnapshotIdentifier"] = f"{ident}-final"
    out = {name: ctx.resource("rds", "Instance", name, fp)}
    db_arn = f"arn:aws:rds:{ctx.region}:*:db:{ident}"
    source = StoreSource(
        env_name=store.env_name,
        kind="rds",
        id=ident,
        engine=store.kind,
        database=DATABASE,
        statements=(
            {
                "Sid": f"Describe{store.kind.capitalize()}",
                "Effect": "Allow",
                "Action": ["rds:DescribeDBInstances"],
                "Resource": [db_arn],
            },
            {
                "Sid": f"Read{store.kind.capitalize()}Password",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": [f"arn:aws:secretsmanager:{ctx.region}:*:secret:rds!db-*"],
                "Condition": {
                    "StringLike": {
                        "secretsmanager:ResourceTag/aws:rds:primaryDBInstanceArn": db_arn
                    }
                },
            },
        ),
    )
    return out, source


def _redis(ctx: RenderContext, store: DataStoreParams, name: str) -> tuple[Resources, StoreSource]:
    ident = _ident(ctx, name, 40)
    nodes = 2 if store.multi_az else 1
    fp: dict[str, Any] = {
        "description": f"redis of {ctx.who}"[:255],
        "engine": "redis",
        "engineVersion": store.engine_version,
        "nodeType": store.size,
        "numCacheClusters": nodes,
        "automaticFailoverEnabled": nodes > 1,
        "multiAzEnabled": nodes > 1,
        "port": PORTS["redis"],
        "transitEncryptionEnabled": True,
        "atRestEncryptionEnabled": "true",
        "autoMinorVersionUpgrade": "true",
        "snapshotRetentionLimit": store.backup_retention_days if store.production else 0,
        "subnetGroupNameSelector": select("cache-subnet-group"),
        "securityGroupIdSelector": select(f"{name}-security-group"),
        "tags": ctx.tags,
    }
    if store.production:
        fp["finalSnapshotIdentifier"] = f"{ident}-final"
    # The AUTH token: generated by the provider into a Secret of the tenant's namespace
    # (legacy MRs name it; namespaced ones use their own), copied to Secrets Manager.
    token_secret = f"{ident}-auth"
    ref: dict[str, str] = {"name": token_secret, "key": REDIS_AUTH_KEY}
    if not ctx.identity.namespaced:
        ref["namespace"] = ctx.identity.tenant
    fp |= {"autoGenerateAuthToken": True, "authTokenSecretRef": ref}
    body = ctx.resource("elasticache", "ReplicationGroup", name, fp)
    body["metadata"]["annotations"] = {EXTERNAL_NAME: ident}
    auth_name = f"{config_prefix(ctx)}/redis-auth"
    out: Resources = {name: body}
    out |= secret_copy(
        ctx, f"{name}-auth", auth_name, token_secret, REDIS_AUTH_KEY, "redis AUTH token"
    )
    source = StoreSource(
        env_name=store.env_name,
        kind="redis",
        id=ident,
        engine="redis",
        auth=auth_name,
        statements=(
            {
                "Sid": "DescribeRedis",
                "Effect": "Allow",
                "Action": ["elasticache:DescribeReplicationGroups"],
                "Resource": [f"arn:aws:elasticache:{ctx.region}:*:replicationgroup:{ident}"],
            },
            {
                "Sid": "ReadRedisAuth",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": [f"arn:aws:secretsmanager:{ctx.region}:*:secret:{auth_name}-??????"],
            },
        ),
    )
    return out, source


def _subnet_group(ctx: RenderContext, service: str, component: str) -> Resources:
    body = ctx.resource(
        service,
        "SubnetGroup",
        component,
        {
            "description": f"private subnets of {ctx.who}"[:255],
            **_subnets(ctx, "subnetIds"),
            "tags": ctx.tags,
        },
    )
    body["metadata"]["annotations"] = {EXTERNAL_NAME: _ident(ctx, component, 63)}
    return {component: body}


def render_datastores(
    ctx: RenderContext, network: NetworkRefs, admit: dict[str, Any] | None
) -> tuple[Resources, list[StoreSource]]:
    """The composed stores of the decision and what the launcher needs to reach them.

    `admit`: the ingress rules' source, the app's security group (`app_group_source`) or
    the EKS cluster's (`cluster_group_source`); None (not observed yet): no rule yet.
    """
    stores = ctx.decision.data_stores or []
    if not stores:
        return {}, []
    out: Resources = {} if ctx.settings.network.existing else _private_subnets(ctx)
    sources: list[StoreSource] = []
    if any(s.kind != "redis" for s in stores):
        out |= _subnet_group(ctx, "rds", "db-subnet-group")
    if any(s.kind == "redis" for s in stores):
        out |= _subnet_group(ctx, "elasticache", "cache-subnet-group")
    for store in stores:
        name = "cache" if store.kind == "redis" else f"db-{store.kind}"
        out |= _fence(ctx, network, name, store.kind, admit)
        made, source = _redis(ctx, store, name) if store.kind == "redis" else _rds(ctx, store, name)
        out |= made
        sources.append(source)
    return out, sources
