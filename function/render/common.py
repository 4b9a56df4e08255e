"""What every composed resource shares: API versions by scope, names, labels, tags, references.

The one place that knows provider API versions, per cloud. Legacy (claim-backed,
cluster-scoped) XRs compose `<svc>.<cloud>.upbound.io` at each kind's storage version (the
only version provider-upjet-gcp v3 still serves for kinds that have a v1beta2); Crossplane
v2 namespaced XRs compose `<svc>.<cloud>.m.upbound.io/v1beta1` in their own namespace. Both
share the same forProvider shape (see ../shared/crds and FACTS.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from function.input import FunctionInput
from function.model import Decision
from function.pinning import AnalysisSummary
from function.policy.settings import PolicySettings
from function.xr import AppSpec, XrIdentity

# Storage version of each cluster-scoped kind in provider-upjet-aws v2.6.0.
_LEGACY_VERSIONS: dict[tuple[str, str], str] = {
    ("ec2", "VPC"): "v1beta1",
    ("ec2", "Subnet"): "v1beta1",
    ("ec2", "InternetGateway"): "v1beta1",
    ("ec2", "RouteTable"): "v1beta1",
    ("ec2", "Route"): "v1beta2",
    ("ec2", "RouteTableAssociation"): "v1beta1",
    ("ec2", "EIP"): "v1beta1",
    ("ec2", "NATGateway"): "v1beta1",
    ("ec2", "SecurityGroup"): "v1beta1",
    ("ec2", "SecurityGroupIngressRule"): "v1beta1",
    ("ec2", "SecurityGroupEgressRule"): "v1beta1",
    ("ec2", "LaunchTemplate"): "v1beta2",
    ("autoscaling", "AutoscalingGroup"): "v1beta3",
    ("autoscaling", "Policy"): "v1beta2",
    ("elbv2", "LB"): "v1beta2",
    ("elbv2", "LBListener"): "v1beta2",
    ("elbv2", "LBTargetGroup"): "v1beta2",
    ("eks", "Cluster"): "v1beta2",
    ("eks", "NodeGroup"): "v1beta2",
    ("eks", "Addon"): "v1beta1",
    ("iam", "Role"): "v1beta1",
    ("iam", "RolePolicyAttachment"): "v1beta1",
    ("iam", "InstanceProfile"): "v1beta1",
    ("lambda", "Function"): "v1beta2",
    ("lambda", "FunctionURL"): "v1beta2",
    ("lambda", "Permission"): "v1beta1",
    ("cloudwatch", "MetricAlarm"): "v1beta2",
    ("acm", "Certificate"): "v1beta2",
    ("iam", "RolePolicy"): "v1beta1",
    ("secretsmanager", "Secret"): "v1beta1",
    ("secretsmanager", "SecretVersion"): "v1beta1",
    ("ssm", "Parameter"): "v1beta1",
    ("rds", "Instance"): "v1beta3",
    ("rds", "SubnetGroup"): "v1beta1",
    ("elasticache", "ReplicationGroup"): "v1beta2",
    ("elasticache", "SubnetGroup"): "v1beta1",
    ("ecr", "Repository"): "v1beta2",
    ("ecr", "LifecyclePolicy"): "v1beta1",
    ("cloudwatchlogs", "Group"): "v1beta1",
    ("codebuild", "Project"): "v1beta1",
    ("scheduler", "Schedule"): "v1beta2",
    ("lambda", "Alias"): "v1beta2",
    ("lambda", "Invocation"): "v1beta1",
    ("eks", "ClusterAuth"): "v1beta1",
    ("eks", "PodIdentityAssociation"): "v1beta1",
}
# Storage (and, in v3.0.0, only served) version of each cluster-scoped kind in
# provider-upjet-gcp v3.0.0 (../shared/crds/SOURCES.md; tests check each against the CRD).
_GCP_LEGACY_VERSIONS: dict[tuple[str, str], str] = {
    ("compute", "Network"): "v1beta1",
    ("compute", "Subnetwork"): "v1beta2",
    ("compute", "Router"): "v1beta2",
    ("compute", "RouterNAT"): "v1beta2",
    ("compute", "Firewall"): "v1beta2",
    ("compute", "InstanceTemplate"): "v1beta2",
    ("compute", "RegionInstanceGroupManager"): "v1beta2",
    ("compute", "RegionAutoscaler"): "v1beta2",
    ("compute", "HealthCheck"): "v1beta2",
    ("compute", "BackendService"): "v1beta2",
    ("compute", "URLMap"): "v1beta2",
    ("compute", "TargetHTTPProxy"): "v1beta1",
    ("compute", "TargetHTTPSProxy"): "v1beta1",
    ("compute", "GlobalForwardingRule"): "v1beta2",
    ("compute", "GlobalAddress"): "v1beta1",
    ("compute", "ManagedSSLCertificate"): "v1beta2",
    ("container", "Cluster"): "v1beta2",
    ("container", "NodePool"): "v1beta2",
    ("cloudrun", "V2Service"): "v1beta2",
    ("monitoring", "AlertPolicy"): "v1beta2",
    ("secretmanager", "Secret"): "v1beta2",
    ("secretmanager", "SecretVersion"): "v1beta1",
    ("cloudplatform", "ServiceAccount"): "v1beta1",
    ("cloudplatform", "ProjectIAMMember"): "v1beta2",
    ("artifact", "RegistryRepository"): "v1beta2",
    ("artifact", "RegistryRepositoryIAMMember"): "v1beta2",
    ("servicenetworking", "Connection"): "v1beta1",
    ("sql", "DatabaseInstance"): "v1beta2",
    ("sql", "Database"): "v1beta1",
    ("sql", "User"): "v1beta2",
    ("redis", "Instance"): "v1beta2",
}
# cloud -> (service, kind) -> version of the cluster-scoped kind.
# provider-upjet-azure v2.7.0 (function/render/azure/base.py makes the API versions: the
# resource group's group is azure.upbound.io itself, service "azure").
AZURE_LEGACY_VERSIONS: dict[tuple[str, str], str] = {
    ("azure", "ResourceGroup"): "v1beta1",
    ("network", "VirtualNetwork"): "v1beta2",
    ("network", "Subnet"): "v1beta2",
    ("network", "SecurityGroup"): "v1beta1",
    ("network", "SecurityRule"): "v1beta1",
    ("network", "SubnetNetworkSecurityGroupAssociation"): "v1beta1",
    ("network", "PublicIP"): "v1beta1",
    ("network", "LoadBalancer"): "v1beta1",
    ("network", "LoadBalancerBackendAddressPool"): "v1beta1",
    ("network", "LoadBalancerProbe"): "v1beta1",
    ("network", "LoadBalancerRule"): "v1beta1",
    ("network", "ApplicationGateway"): "v1beta2",  # require-https on vm (azure/gateway.py)
    ("compute", "LinuxVirtualMachineScaleSet"): "v1beta2",
    ("insights", "MonitorAutoscaleSetting"): "v1beta2",
    ("insights", "MonitorMetricAlert"): "v1beta2",
    ("containerservice", "KubernetesCluster"): "v1beta2",
    ("containerapp", "Environment"): "v1beta1",
    ("containerapp", "ContainerApp"): "v1beta2",
    ("operationalinsights", "Workspace"): "v1beta2",
    ("containerregistry", "Registry"): "v1beta2",
    ("authorization", "RoleAssignment"): "v1beta1",
    ("managedidentity", "UserAssignedIdentity"): "v1beta1",
    ("managedidentity", "FederatedIdentityCredential"): "v1beta1",
    ("keyvault", "Vault"): "v1beta2",
    ("keyvault", "Secret"): "v1beta1",
    # composed PostgreSQL (render/azure/datastores.py)
    ("dbforpostgresql", "FlexibleServer"): "v1beta2",
    ("dbforpostgresql", "FlexibleServerDatabase"): "v1beta1",
    ("dbforpostgresql", "FlexibleServerFirewallRule"): "v1beta1",
}
LEGACY_VERSIONS: dict[str, dict[tuple[str, str], str]] = {
    "aws": _LEGACY_VERSIONS,
    "gcp": _GCP_LEGACY_VERSIONS,
    "azure": AZURE_LEGACY_VERSIONS,
}
# IAM is global: its kinds take no region.
_GLOBAL_SERVICES = {"iam"}

COMPONENT_LABEL = "scia.io/component"
# status.atProvider fields the renderers read (besides arn): a resource's id (replace.py),
# a launch template's latestVersion (vm.py), a node group's auto scaling group (kubernetes.py),
# a secret version's versionId (aws/secrets.py: a new value rolls out),
# provider-kubernetes Objects: the object last read from the cluster (render/kube/).
# GCP: selfLink (references), a regional instance group manager's instanceGroup, and its
# `status` (status.py: stable, version target reached).
RENDER_AT_PROVIDER = (
    "id",
    "latestVersion",
    "resources",
    "versionId",
    # the image build and the Lambda rollout (render/aws/build.py, serverless.py)
    "insecureValue",
    "version",
    "result",
    "functionVersion",
    "imageUri",
    "manifest",
    "selfLink",
    "instanceGroup",
    "status",
    # an EKS cluster's security group, which composed data stores admit (aws/datastores.py)
    "vpcConfig",
    # the launch template version AWS reports on the auto scaling group: the vm rollout and
    # its rollback (aws/vm_rollout.py), and status.rollout_pending
    "launchTemplate",
    # a container app's outbound addresses, which its composed PostgreSQL's firewall admits
    # (azure/datastores.py)
    "outboundIpAddresses",
)


class UnsupportedTarget(Exception):
    """The decision cannot be rendered as asked; the message names the field and the reason."""


MANAGED_BY = "scia"
_LABEL_VALUE = re.compile(r"[^A-Za-z0-9_.-]")


def label_value(v: str) -> str:
    """A string made safe as a Kubernetes label value (<= 63 chars, alphanumeric ends)."""
    s = _LABEL_VALUE.sub("-", v)[:63].strip("-_.")
    return s or "none"


def api_version(service: str, kind: str, namespaced: bool, cloud: str = "aws") -> str:
    if namespaced:
        return f"{service}.{cloud}.m.upbound.io/v1beta1"
    return f"{service}.{cloud}.upbound.io/{LEGACY_VERSIONS[cloud][(service, kind)]}"


def managed(
    ctx: RenderContext,
    api_version: str,
    kind: str,
    component: str,
    for_provider: dict[str, Any],
    init_provider: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A managed resource of `api_version`/`kind` with `for_provider` as is (the caller fills
    in the cloud's region, location, tags), `init_provider` when given, the
    providerConfigRef of the input's settings (with its kind in the namespaced scope) and
    the component, managed-by, tenant and deployment labels."""
    spec: dict[str, Any] = {"forProvider": for_provider}
    if init_provider:
        spec["initProvider"] = dict(init_provider)
    if ctx.identity.namespaced:
        spec["providerConfigRef"] = {
            "kind": ctx.settings.provider_config_kind,
            "name": ctx.settings.provider_config_name,
        }
    else:
        spec["providerConfigRef"] = {"name": ctx.settings.provider_config_name}
    metadata: dict[str, Any] = {
        "labels": {
            COMPONENT_LABEL: component,
            "app.kubernetes.io/managed-by": MANAGED_BY,
            "scia.io/tenant": label_value(ctx.identity.tenant),
            "scia.io/deployment": label_value(ctx.identity.deployment_name),
        }
    }
    if ctx.identity.namespaced:
        metadata["namespace"] = ctx.identity.tenant
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec}


@dataclass(frozen=True)
class RenderContext:
    identity: XrIdentity
    spec: AppSpec
    settings: FunctionInput
    decision: Decision
    commit: str
    analysis: AnalysisSummary = field(default_factory=AnalysisSummary)
    policy: PolicySettings = field(default_factory=PolicySettings)
    # Tags of the tenant's CloudProvider; the scia tags below win on a clash.
    extra_tags: dict[str, str] = field(default_factory=dict)
    # The commits of status.history's revisions, oldest first (the image registry keeps
    # their images: render/aws/registry.py).
    history_commits: tuple[str, ...] = ()
    # The tenant's CloudProvider credentials Secret ({namespace, name, key}; empty without
    # one): what provider-kubernetes presents to a GKE cluster in the tenant's project.
    tenant_credentials: dict[str, str] = field(default_factory=dict)
    # The XR's observed status.rollout (what the last reconcile reported): the vm rollout
    # remembers the launch template version it saw applied and one AWS rolled back
    # (render/aws/vm_rollout.py).
    previous_rollout: dict[str, Any] = field(default_factory=dict)
    # What the render tells the user (a resource waiting for an observed value, ...):
    # filled by the renderers, reported as results by the reconcile.
    notes: list[str] = field(default_factory=list, compare=False)
    # What the render found about the workload's image build and rollout, for the XR
    # status (status.build, status.rollout, status.logs) and the phase (function/workload.py);
    # filled by the renderers that build images.
    report: dict[str, Any] = field(default_factory=dict, compare=False)
    # Observed resources the renderer leaves out on purpose (name -> why): the reconcile
    # lets them go (function/keep.py `planned`), like replace.py's retired generations. A
    # composed store's firewall rule for an address the workload no longer reports.
    retiring: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def region(self) -> str:
        return self.spec.region

    @property
    def cloud(self) -> str:
        return self.spec.cloud_provider

    def has_policy(self, name: str) -> bool:
        return name in self.spec.policies

    @property
    def own_tags(self) -> dict[str, str]:
        """The product's tags: who manages the resource, its tenant, deployment, strategy."""
        return {
            "managed-by": MANAGED_BY,
            "scia.io/tenant": self.identity.tenant,
            "scia.io/deployment": self.identity.deployment_name,
            "scia.io/strategy": self.decision.strategy.value,
        }

    @property
    def tenant_tags(self) -> dict[str, str]:
        """The CloudProvider's tags that do not clash with the product's: a key equal to
        one of theirs but for case (`SCIA.IO/TENANT`) is dropped (IAM and Azure compare tag
        keys without case; the product's tag must be the only one of its name)."""
        own = {k.lower() for k in self.own_tags}
        return {k: v for k, v in self.extra_tags.items() if k.lower() not in own}

    @property
    def tags(self) -> dict[str, str]:
        """The CloudProvider's tags, then the product's (which win)."""
        return {**self.tenant_tags, **self.own_tags}

    @property
    def who(self) -> str:
        """<tenant>/<deployment>, for descriptions (callers bound the text per kind)."""
        return f"{self.identity.tenant}/{self.identity.deployment_name}"

    @property
    def name_prefix(self) -> str:
        """A short, stable, AWS-safe prefix for cloud-side names (max 20 chars)."""
        base = re.sub(
            r"[^a-z0-9-]", "-", f"{self.identity.tenant}-{self.identity.deployment_name}".lower()
        )
        return base[:20].strip("-") or "scia"

    def resource(
        self,
        service: str,
        kind: str,
        component: str,
        for_provider: dict[str, Any],
        init_provider: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A managed resource with labels, region, tags and providerConfigRef filled in.

        `init_provider` holds values set only at creation (spec.initProvider): the
        provider never reverts them, so another controller (an autoscaler) may own them.
        """
        fp = dict(for_provider)
        # AWS kinds take the region (IAM none); other clouds' renderers say where (region,
        # location, zone, or nothing for global kinds).
        if self.cloud == "aws" and service not in _GLOBAL_SERVICES:
            fp.setdefault("region", self.region)
        return managed(
            self,
            api_version(service, kind, self.identity.namespaced, self.cloud),
            kind,
            component,
            fp,
            init_provider,
        )


def select(component: str) -> dict[str, Any]:
    """A selector for a resource composed by the same XR, by its component label."""
    return {"matchControllerRef": True, "matchLabels": {COMPONENT_LABEL: component}}


Resources = dict[str, dict[str, Any]]
