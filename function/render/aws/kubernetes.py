"""The kubernetes strategy: an EKS cluster, a managed node group, their IAM roles, core
add-ons, and the application on it (eks_app.py).

Control-plane logging (api, audit, authenticator) is always on. The CloudWatch
Observability add-on (its agent runs with the node role, which gets
CloudWatchAgentServerPolicy) ships the containers' logs to the composed log group; it is
composed once that log group is Ready, so the agent never creates the group unmanaged.
The EKS Pod Identity agent add-on lets the build Job push with its own role, and the app
read its configuration with its own (eks_app.py).
enable-monitoring adds alarms (monitoring.py).
"""

from __future__ import annotations

from typing import Any

from function.policy.admission import ENABLE_MONITORING
from function.render.aws.arns import Observed, observed_arn
from function.render.aws.eks_app import LOG_GROUP, POD_IDENTITY_ADDON, Registry, render_app
from function.render.aws.iam import role_with_policies
from function.render.aws.monitoring import (
    CLOUDWATCH_ADDON,
    CLOUDWATCH_AGENT_POLICY,
    kubernetes_alarms,
)
from function.render.aws.network import NetworkRefs
from function.render.aws.registry import REPOSITORY, registry_resources, repository_url
from function.render.aws.scaling import SCALING_POLICY, cpu_target_tracking
from function.render.aws.secrets import AppConfig
from function.render.common import RenderContext, Resources, select

CLUSTER_POLICIES = ["AmazonEKSClusterPolicy"]
NODE_POLICIES = [
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
]


def node_group_asg(observed: Observed) -> str | None:
    """The name of the auto scaling group EKS made for the node group, once observed."""
    at = ((observed.get("node-group") or {}).get("status") or {}).get("atProvider") or {}
    for r in at.get("resources") or [] if isinstance(at, dict) else []:
        for g in (r or {}).get("autoscalingGroups") or []:
            if isinstance(g, dict) and isinstance(g.get("name"), str) and g["name"]:
                return str(g["name"])
    return None


def _kept_policy_group(observed: Observed) -> str | None:
    """The group an observed scaling policy names (the node group's status lost it)."""
    fp = ((observed.get(SCALING_POLICY) or {}).get("spec") or {}).get("forProvider") or {}
    name = fp.get("autoscalingGroupName") if isinstance(fp, dict) else None
    return str(name) if isinstance(name, str) and name else None


def render_kubernetes(
    ctx: RenderContext,
    network: NetworkRefs,
    observed: Observed | None = None,
    config: AppConfig | None = None,
) -> Resources:
    d = ctx.decision
    assert d.kubernetes is not None, "kubernetes decision without kubernetes parameters"
    k = d.kubernetes
    monitored = ctx.has_policy(ENABLE_MONITORING)
    observed = observed or {}
    node_policies = [*NODE_POLICIES, CLOUDWATCH_AGENT_POLICY]
    addons = list(ctx.settings.kubernetes.addons)
    configured = config is not None and not config.empty
    if POD_IDENTITY_ADDON not in addons and (ctx.spec.image is None or configured):
        addons.append(POD_IDENTITY_ADDON)
    if CLOUDWATCH_ADDON not in addons and (
        _ready(observed.get(LOG_GROUP)) or f"addon-{CLOUDWATCH_ADDON}" in observed
    ):
        addons.append(CLOUDWATCH_ADDON)
    who = ctx.who
    out: Resources = {}
    out |= role_with_policies(
        ctx, "cluster-role", "eks.amazonaws.com", CLUSTER_POLICIES, f"EKS control plane of {who}"
    )
    out |= role_with_policies(
        ctx, "node-role", "ec2.amazonaws.com", node_policies, f"EKS nodes of {who}"
    )
    out["eks-cluster"] = ctx.resource(
        "eks",
        "Cluster",
        "eks-cluster",
        {
            "version": k.kubernetes_version,
            "roleArnSelector": select("cluster-role"),
            "vpcConfig": {
                **network.subnets_field("subnetIds"),
                "endpointPublicAccess": True,
                "endpointPrivateAccess": True,
            },
            "accessConfig": {
                "authenticationMode": "API_AND_CONFIG_MAP",
                "bootstrapClusterCreatorAdminPermissions": True,
            },
            "enabledClusterLogTypes": ["api", "audit", "authenticator"],
            "tags": ctx.tags,
        },
    )
    out["node-group"] = ctx.resource(
        "eks",
        "NodeGroup",
        "node-group",
        {
            "clusterNameSelector": select("eks-cluster"),
            "nodeRoleArnSelector": select("node-role"),
            **network.subnets_field("subnetIds"),
            "instanceTypes": [k.node_instance_type],
            "amiType": "AL2023_ARM_64_STANDARD"
            if k.node_instance_type.split(".")[0].endswith("g")
            else "AL2023_x86_64_STANDARD",
            "capacityType": "ON_DEMAND",
            "diskSize": k.disk_gb,
            "scalingConfig": {"minSize": k.min_nodes, "maxSize": k.max_nodes},
            "updateConfig": {"maxUnavailable": 1},
            "tags": ctx.tags,
        },
        # Set at creation only: the scaling policy (or a cluster autoscaler) owns it after.
        init_provider={"scalingConfig": {"desiredSize": k.desired_nodes}},
    )
    if k.max_nodes > k.min_nodes:
        group = node_group_asg(observed or {}) or _kept_policy_group(observed or {})
        if group:
            out[SCALING_POLICY] = cpu_target_tracking(ctx, {"autoscalingGroupName": group})
        else:
            ctx.notes.append(
                "the node group's scaling policy is composed once its auto scaling group's "
                "name is observed (status.atProvider.resources)"
            )
    for addon in addons:
        name = f"addon-{addon}"
        out[name] = ctx.resource(
            "eks",
            "Addon",
            name,
            {
                "addonName": addon,
                "clusterNameSelector": select("eks-cluster"),
                "resolveConflictsOnCreate": "OVERWRITE",
                "tags": ctx.tags,
            },
        )
    if monitored:
        out |= kubernetes_alarms(ctx, observed)
    registry = None
    if ctx.spec.image is None:
        out |= registry_resources(ctx, observed, keep=ctx.settings.build.keep_images)
        registry = Registry(
            REPOSITORY, repository_url(observed), observed_arn(observed, REPOSITORY)
        )
    out |= render_app(ctx, observed, registry, config)
    return out


def _ready(resource: dict[str, Any] | None) -> bool:
    return any(
        isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True"
        for c in ((resource or {}).get("status") or {}).get("conditions") or []
    )
