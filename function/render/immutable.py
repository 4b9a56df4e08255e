"""Fields AWS cannot change in place, per managed-resource kind, with where we read it.

A change to one of these makes the provider (Terraform's ForceNew under upjet) delete the
resource and create it again under the same name, which fails or breaks traffic while
anything uses it (case 10: a target group's port). replace.py instead composes a new
resource beside the old one and retires the old one once nothing uses it.

Paths are forProvider paths (dots for nested objects). A reference field is listed with
its selector and ref forms, because we render the selector: a selector that names
another resource is, once resolved, the immutable id.

`region` is immutable for every regional kind: an external name identifies a resource in
one region, and the provider looks it up only in spec.forProvider.region.

Sources: terraform-provider-aws (the implementation provider-upjet-aws v2.6.0 wraps),
`internal/service/<svc>/<file>.go`, fields marked `ForceNew: true` (SDKv2) or with a
RequiresReplace plan modifier (plugin framework), and the CRD descriptions in
../shared/crds that say "Forces new resource". `read` marks entries whose source file we
read for this table; the others come from the same files as documented in the Terraform
registry's argument reference ("Forces new resource") and were not re-read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Immutable:
    fields: tuple[str, ...]
    source: str
    read: bool = False


def _ref(field: str) -> tuple[str, ...]:
    """A single-valued reference field with its selector and ref forms."""
    return (field, f"{field}Selector", f"{field}Ref")


def _refs(field: str) -> tuple[str, ...]:
    """A list reference field (subnetIds -> subnetIdSelector, subnetIdRefs)."""
    singular = field[:-1]
    return (field, f"{singular}Selector", f"{singular}Refs")


_TF = "terraform-provider-aws internal/service/"

# (API group service, kind) -> immutable forProvider paths.
IMMUTABLE: dict[tuple[str, str], Immutable] = {
    ("elbv2", "LBTargetGroup"): Immutable(
        (
            "name",
            "port",
            "protocol",
            "protocolVersion",
            "targetType",
            "ipAddressType",
            *_ref("vpcId"),
            "region",
        ),
        _TF + "elbv2/target_group.go (name, name_prefix, port, protocol, protocol_version, "
        "target_type, ip_address_type, vpc_id: ForceNew); CRD: port, protocol 'Forces new "
        "resource'",
        read=True,
    ),
    ("elbv2", "LB"): Immutable(
        ("name", "internal", "loadBalancerType", "customerOwnedIpv4Pool", "region"),
        _TF + "elbv2/load_balancer.go (name, name_prefix, internal, load_balancer_type, "
        "customer_owned_ipv4_pool: ForceNew)",
        read=True,
    ),
    ("elbv2", "LBListener"): Immutable(
        (*_ref("loadBalancerArn"), "region"),
        _TF + "elbv2/listener.go (load_balancer_arn: ForceNew)",
    ),
    ("eks", "NodeGroup"): Immutable(
        (
            "amiType",
            "capacityType",
            *_ref("clusterName"),
            "diskSize",
            "instanceTypes",
            *_ref("nodeRoleArn"),
            "remoteAccess",
            *_refs("subnetIds"),
            "region",
        ),
        _TF + "eks/node_group.go (ami_type, capacity_type, cluster_name, disk_size, "
        "instance_types, node_group_name, node_role_arn, remote_access, subnet_ids: ForceNew)",
        read=True,
    ),
    ("eks", "Cluster"): Immutable(
        (
            *_ref("roleArn"),
            "accessConfig.bootstrapClusterCreatorAdminPermissions",
            "bootstrapSelfManagedAddons",
            "kubernetesNetworkConfig",
            "region",
        ),
        _TF + "eks/cluster.go (name, role_arn, access_config.bootstrap_cluster_creator_admin_"
        "permissions, bootstrap_self_managed_addons, kubernetes_network_config: ForceNew); CRD: "
        "bootstrapSelfManagedAddons, kubernetesNetworkConfig 'can only be set at creation'",
    ),
    ("eks", "Addon"): Immutable(
        ("addonName", *_ref("clusterName"), "region"),
        _TF + "eks/addon.go (addon_name, cluster_name: ForceNew)",
    ),
    ("ec2", "SecurityGroup"): Immutable(
        ("name", "namePrefix", "description", *_ref("vpcId"), "region"),
        _TF + "ec2/vpc_security_group.go (name, name_prefix, description, vpc_id: ForceNew)",
    ),
    ("ec2", "SecurityGroupIngressRule"): Immutable(
        (*_ref("securityGroupId"), "region"),
        _TF + "ec2/vpc_security_group_ingress_rule.go (security_group_id: RequiresReplace; "
        "the other fields are updated with ModifySecurityGroupRules)",
    ),
    ("ec2", "SecurityGroupEgressRule"): Immutable(
        (*_ref("securityGroupId"), "region"),
        _TF + "ec2/vpc_security_group_egress_rule.go (as the ingress rule)",
    ),
    ("ec2", "LaunchTemplate"): Immutable(
        ("name", "namePrefix", "region"),
        _TF + "ec2/ec2_launch_template.go (name, name_prefix: ForceNew; every other change "
        "is a new template version)",
    ),
    ("autoscaling", "AutoscalingGroup"): Immutable(
        ("region",),
        _TF + "autoscaling/group.go (name, name_prefix: ForceNew; the name is the external "
        "name here, which replace.py changes only with a new generation)",
    ),
    ("autoscaling", "Policy"): Immutable(
        (*_ref("autoscalingGroupName"), "region"),
        _TF + "autoscaling/policy.go (name, autoscaling_group_name: ForceNew)",
    ),
    ("lambda", "Function"): Immutable(
        ("packageType", "region"),
        _TF + "lambda/function.go (function_name, package_type: ForceNew)",
    ),
    ("lambda", "FunctionURL"): Immutable(
        (*_ref("functionName"), "qualifier", "region"),
        _TF + "lambda/function_url.go (function_name, qualifier: ForceNew)",
    ),
    ("lambda", "Permission"): Immutable(
        (
            "action",
            "eventSourceToken",
            *_ref("functionName"),
            "functionUrlAuthType",
            "invokedViaFunctionUrl",
            "principal",
            "principalOrgId",
            *_ref("qualifier"),
            "sourceAccount",
            "sourceArn",
            "statementId",
            "statementIdPrefix",
            "region",
        ),
        _TF + "lambda/permission.go (no Update: every argument is ForceNew)",
        read=True,
    ),
    ("iam", "Role"): Immutable(
        ("path",),
        _TF + "iam/role.go (name, name_prefix, path: ForceNew; IAM is global)",
    ),
    ("iam", "RolePolicyAttachment"): Immutable(
        (*_ref("role"), "policyArn"),
        _TF + "iam/role_policy_attachment.go (role, policy_arn: ForceNew)",
    ),
    ("cloudwatch", "MetricAlarm"): Immutable(
        ("region",),
        _TF + "cloudwatch/metric_alarm.go (alarm_name: ForceNew; it is the external name)",
    ),
    ("acm", "Certificate"): Immutable(
        (
            "domainName",
            "subjectAlternativeNames",
            "validationMethod",
            "keyAlgorithm",
            "certificateAuthorityArn",
            "region",
        ),
        _TF + "acm/certificate.go (domain_name, subject_alternative_names, validation_method, "
        "key_algorithm, certificate_authority_arn: ForceNew)",
    ),
    ("ec2", "VPC"): Immutable(
        ("cidrBlock", "instanceTenancy", "region"),
        _TF + "ec2/vpc_.go (cidr_block, instance_tenancy narrowing: ForceNew)",
    ),
    ("ec2", "Subnet"): Immutable(
        ("availabilityZone", "availabilityZoneId", "cidrBlock", *_ref("vpcId"), "region"),
        _TF + "ec2/vpc_subnet.go (availability_zone, availability_zone_id, cidr_block, "
        "vpc_id: ForceNew)",
    ),
    ("ec2", "RouteTable"): Immutable(
        (*_ref("vpcId"), "region"),
        _TF + "ec2/vpc_route_table.go (vpc_id: ForceNew)",
    ),
    ("ec2", "Route"): Immutable(
        ("destinationCidrBlock", *_ref("routeTableId"), "region"),
        _TF + "ec2/vpc_route.go (destination_cidr_block, route_table_id: ForceNew)",
    ),
    ("ec2", "RouteTableAssociation"): Immutable(
        (*_ref("subnetId"), "region"),
        _TF + "ec2/vpc_route_table_association.go (subnet_id, gateway_id: ForceNew)",
    ),
    ("ec2", "InternetGateway"): Immutable(
        ("region",),
        _TF + "ec2/vpc_internet_gateway.go (vpc_id is updated by attach/detach)",
    ),
}

_TFG = "terraform-provider-google google/services/"

# GCP kinds (provider-upjet-gcp v3 wraps terraform-provider-google). Sources: the fields
# the Terraform registry's argument reference marks "Changing this forces a new
# resource" (not re-read here). `region`/`location` identify where the resource lives.
IMMUTABLE.update(
    {
        ("compute", "InstanceTemplate"): Immutable(
            (
                "name",
                "region",
                "machineType",
                "disk",
                "networkInterface",
                "metadataStartupScript",
                "metadata",
                "labels",
                "tags",
                "shieldedInstanceConfig",
                "scheduling",
                "serviceAccount",
                "description",
            ),
            _TFG + "compute/resource_compute_instance_template.go (no Update: every argument "
            "is ForceNew; a new template is a new generation the group moves to)",
        ),
        ("compute", "RegionInstanceGroupManager"): Immutable(
            ("name", "region", "baseInstanceName", "distributionPolicyZones"),
            _TFG + "compute/resource_compute_region_instance_group_manager.go (name, region, "
            "base_instance_name, distribution_policy_zones: ForceNew)",
        ),
        ("compute", "RegionAutoscaler"): Immutable(
            ("region",), _TFG + "compute/resource_compute_region_autoscaler.go (name, region)"
        ),
        ("compute", "BackendService"): Immutable(
            ("loadBalancingScheme",),
            _TFG + "compute/resource_compute_backend_service.go (name, load_balancing_scheme)",
        ),
        ("compute", "GlobalForwardingRule"): Immutable(
            (
                "ipAddress",
                *_ref("ipAddress")[1:],
                "ipProtocol",
                "ipVersion",
                "portRange",
                "loadBalancingScheme",
                *_ref("network"),
            ),
            _TFG + "compute/resource_compute_global_forwarding_rule.go (ip_address, "
            "ip_protocol, ip_version, port_range, load_balancing_scheme, network: ForceNew; "
            "target is updated with setTarget)",
        ),
        ("compute", "GlobalAddress"): Immutable(
            ("addressType", "ipVersion", "purpose", "prefixLength", "address", *_ref("network")),
            _TFG + "compute/resource_compute_global_address.go (address, address_type, "
            "ip_version, prefix_length, purpose, network: ForceNew)",
        ),
        ("compute", "ManagedSSLCertificate"): Immutable(
            ("managed", "type", "description"),
            _TFG + "compute/resource_compute_managed_ssl_certificate.go (no Update: managed."
            "domains, type, description ForceNew)",
        ),
        ("compute", "Firewall"): Immutable(
            (*_ref("network"), "direction"),
            _TFG + "compute/resource_compute_firewall.go (name, network, direction: ForceNew)",
        ),
        ("compute", "Router"): Immutable(
            ("region", *_ref("network")),
            _TFG + "compute/resource_compute_router.go (name, region, network: ForceNew)",
        ),
        ("compute", "RouterNAT"): Immutable(
            ("region", *_ref("router")),
            _TFG + "compute/resource_compute_router_nat.go (name, region, router: ForceNew)",
        ),
        ("container", "Cluster"): Immutable(
            (
                "location",
                *_ref("network"),
                *_ref("subnetwork"),
                "ipAllocationPolicy",
                "networkingMode",
            ),
            _TFG + "container/resource_container_cluster.go (name, location, network, "
            "subnetwork, ip_allocation_policy, networking_mode: ForceNew)",
        ),
        ("container", "NodePool"): Immutable(
            (
                "location",
                *_ref("cluster"),
                "nodeConfig.machineType",
                "nodeConfig.diskSizeGb",
                "nodeConfig.diskType",
                "nodeConfig.imageType",
                "nodeConfig.oauthScopes",
                "nodeConfig.serviceAccount",
            ),
            _TFG + "container/resource_container_node_pool.go (name, location, cluster; "
            "node_config fields that recreate the pool)",
        ),
        ("cloudrun", "V2Service"): Immutable(
            ("location",), _TFG + "cloudrunv2/resource_cloud_run_v2_service.go (name, location)"
        ),
    }
)

_AZ = "provider-upjet-azure v2.7.0 CRD: "
_AZ_FORCES = " 'Changing this forces a new resource to be created'"

# Azure kinds (provider-upjet-azure v2 wraps terraform-provider-azurerm). Source: the CRD
# field descriptions in ../shared/crds/azure that say "Changing this forces a new resource
# to be created" (read for this table; the fields we set). resourceGroupName is listed
# with its selector: a new resource group means new resources.
IMMUTABLE.update(
    {
        ("azure", "ResourceGroup"): Immutable(
            ("location",), _AZ + "azure ResourceGroup location" + _AZ_FORCES, read=True
        ),
        ("network", "VirtualNetwork"): Immutable(
            ("location", *_ref("resourceGroupName")),
            _AZ + "network VirtualNetwork location, resourceGroupName" + _AZ_FORCES,
            read=True,
        ),
        ("network", "Subnet"): Immutable(
            (*_ref("resourceGroupName"), *_ref("virtualNetworkName")),
            _AZ + "network Subnet resourceGroupName, virtualNetworkName" + _AZ_FORCES,
            read=True,
        ),
        ("network", "SecurityGroup"): Immutable(
            ("location", *_ref("resourceGroupName")),
            _AZ + "network SecurityGroup location, resourceGroupName" + _AZ_FORCES,
            read=True,
        ),
        ("network", "SecurityRule"): Immutable(
            (*_ref("networkSecurityGroupName"), *_ref("resourceGroupName")),
            _AZ + "network SecurityRule networkSecurityGroupName, resourceGroupName" + _AZ_FORCES,
            read=True,
        ),
        ("network", "SubnetNetworkSecurityGroupAssociation"): Immutable(
            (*_ref("networkSecurityGroupId"), *_ref("subnetId")),
            _AZ + "network SubnetNetworkSecurityGroupAssociation networkSecurityGroupId, "
            "subnetId" + _AZ_FORCES,
            read=True,
        ),
        ("network", "PublicIP"): Immutable(
            ("location", *_ref("resourceGroupName"), "sku", "skuTier", "ipVersion", "zones"),
            _AZ
            + "network PublicIP location, resourceGroupName, sku, skuTier, ipVersion, zones"
            + _AZ_FORCES,
            read=True,
        ),
        ("network", "LoadBalancer"): Immutable(
            ("location", *_ref("resourceGroupName"), "sku", "skuTier"),
            _AZ + "network LoadBalancer location, resourceGroupName, sku, skuTier" + _AZ_FORCES,
            read=True,
        ),
        ("network", "LoadBalancerBackendAddressPool"): Immutable(
            _ref("loadbalancerId"),
            _AZ + "network LoadBalancerBackendAddressPool loadbalancerId" + _AZ_FORCES,
            read=True,
        ),
        ("network", "LoadBalancerProbe"): Immutable(
            _ref("loadbalancerId"),
            _AZ + "network LoadBalancerProbe loadbalancerId" + _AZ_FORCES,
            read=True,
        ),
        ("network", "LoadBalancerRule"): Immutable(
            _ref("loadbalancerId"),
            _AZ + "network LoadBalancerRule loadbalancerId" + _AZ_FORCES,
            read=True,
        ),
        ("network", "ApplicationGateway"): Immutable(
            ("location", *_ref("resourceGroupName"), "zones"),
            _AZ + "network ApplicationGateway location, resourceGroupName, zones" + _AZ_FORCES,
            read=True,
        ),
        ("compute", "LinuxVirtualMachineScaleSet"): Immutable(
            (
                "location",
                *_ref("resourceGroupName"),
                "adminUsername",
                "computerNamePrefix",
                "osDisk.storageAccountType",
                "sourceImageReference.publisher",
                "sourceImageReference.offer",
                "upgradeMode",
                "rollingUpgradePolicy",
            ),
            _AZ + "compute LinuxVirtualMachineScaleSet location, resourceGroupName, "
            "adminUsername, computerNamePrefix, osDisk.storageAccountType, "
            "sourceImageReference.publisher/offer, upgradeMode, rollingUpgradePolicy"
            + _AZ_FORCES
            + " (networkInterface.name too; we never change it)",
            read=True,
        ),
        ("insights", "MonitorAutoscaleSetting"): Immutable(
            ("name", "location", *_ref("resourceGroupName"), *_ref("targetResourceId")),
            _AZ + "insights MonitorAutoscaleSetting name, location, resourceGroupName, "
            "targetResourceId" + _AZ_FORCES,
            read=True,
        ),
        ("insights", "MonitorMetricAlert"): Immutable(
            _ref("resourceGroupName"),
            _AZ
            + "insights MonitorMetricAlert resourceGroupName"
            + _AZ_FORCES
            + " (criteria.dimension.name too, inside a list: not compared)",
            read=True,
        ),
        ("containerservice", "KubernetesCluster"): Immutable(
            (
                "location",
                *_ref("resourceGroupName"),
                "roleBasedAccessControlEnabled",
                "networkProfile.serviceCidr",
                "networkProfile.dnsServiceIp",
                "networkProfile.loadBalancerSku",
            ),
            _AZ + "containerservice KubernetesCluster location, resourceGroupName, "
            "roleBasedAccessControlEnabled, networkProfile.serviceCidr/dnsServiceIp/"
            "loadBalancerSku" + _AZ_FORCES + " (dnsPrefix too: chosen once like a name and "
            "kept from the observed spec, function/render/azure/names.py)",
            read=True,
        ),
        ("containerapp", "Environment"): Immutable(
            ("location", *_ref("resourceGroupName")),
            _AZ + "containerapp Environment location, resourceGroupName" + _AZ_FORCES,
            read=True,
        ),
        ("containerapp", "ContainerApp"): Immutable(
            (*_ref("containerAppEnvironmentId"), *_ref("resourceGroupName")),
            _AZ
            + "containerapp ContainerApp containerAppEnvironmentId, resourceGroupName"
            + _AZ_FORCES,
            read=True,
        ),
        ("operationalinsights", "Workspace"): Immutable(
            ("location", *_ref("resourceGroupName")),
            _AZ + "operationalinsights Workspace location, resourceGroupName" + _AZ_FORCES,
            read=True,
        ),
        # Identity, configuration and builds (secrets.py, build.py, base.py).
        ("keyvault", "Vault"): Immutable(
            ("location", *_ref("resourceGroupName")),
            _AZ + "keyvault Vault location, resourceGroupName" + _AZ_FORCES,
            read=True,
        ),
        ("keyvault", "Secret"): Immutable(
            ("name", *_ref("keyVaultId")),
            _AZ + "keyvault Secret name, keyVaultId" + _AZ_FORCES,
            read=True,
        ),
        ("authorization", "RoleAssignment"): Immutable(
            (
                "name",
                "principalId",
                "principalType",
                "scope",
                "roleDefinitionName",
                *_ref("roleDefinitionId"),
                "condition",
                "conditionVersion",
                "description",
            ),
            _AZ + "authorization RoleAssignment name, principalId, principalType, scope, "
            "roleDefinitionName, roleDefinitionId, condition, conditionVersion, description"
            + _AZ_FORCES
            + " (every field: a new principal or scope is a new assignment beside the old "
            "one, so access never lapses)",
            read=True,
        ),
        ("managedidentity", "UserAssignedIdentity"): Immutable(
            ("name", "location", *_ref("resourceGroupName")),
            _AZ + "managedidentity UserAssignedIdentity name, location, resourceGroupName"
            " 'Changing this forces a new User Assigned Identity to be created'",
            read=True,
        ),
        ("managedidentity", "FederatedIdentityCredential"): Immutable(
            (*_ref("resourceGroupName"), *_ref("userAssignedIdentityId"), *_ref("parentId")),
            _AZ + "managedidentity FederatedIdentityCredential resourceGroupName, "
            "userAssignedIdentityId" + _AZ_FORCES + " (parentId, which we render, is the "
            "older name of the same parent identity in terraform-provider-azurerm)",
            read=True,
        ),
        ("containerregistry", "Registry"): Immutable(
            ("location", *_ref("resourceGroupName"), "zoneRedundancyEnabled"),
            _AZ + "containerregistry Registry location, resourceGroupName, "
            "zoneRedundancyEnabled" + _AZ_FORCES,
            read=True,
        ),
        # Composed PostgreSQL (render/azure/datastores.py). The server and its database hold
        # data: they are refused, never replaced (STATEFUL_KINDS); a firewall rule is
        # replaced beside the old one.
        ("dbforpostgresql", "FlexibleServer"): Immutable(
            ("location", *_ref("resourceGroupName"), "geoRedundantBackupEnabled"),
            _AZ + "dbforpostgresql FlexibleServer location, resourceGroupName, "
            "geoRedundantBackupEnabled" + _AZ_FORCES + " (also createMode's sources, "
            "customerManagedKey, delegatedSubnetId, cluster.defaultDatabaseName: not rendered)",
            read=True,
        ),
        ("dbforpostgresql", "FlexibleServerDatabase"): Immutable(
            ("charset", "collation", *_ref("serverId")),
            _AZ
            + "dbforpostgresql FlexibleServerDatabase charset, collation, serverId"
            + _AZ_FORCES,
            read=True,
        ),
        ("dbforpostgresql", "FlexibleServerFirewallRule"): Immutable(
            _ref("serverId"),
            _AZ + "dbforpostgresql FlexibleServerFirewallRule serverId" + _AZ_FORCES,
            read=True,
        ),
    }
)
# Kinds that hold the application's data: a new one beside the old would be empty, and
# retiring the old would delete the data, so a change to their immutable fields is refused
# naming the field (replace.py), never replaced.
STATEFUL_KINDS = {
    ("dbforpostgresql", "FlexibleServer"),
    ("dbforpostgresql", "FlexibleServerDatabase"),
}

# Kinds selected as a set by a shared label (subnets: scia.io/network): two generations
# side by side would both be selected, so a change here is refused, not replaced. GCP's
# network and subnetwork are referenced by every other network resource: refused too.
SHARED_SELECTION_KINDS = {
    ("ec2", "Subnet"),
    ("ec2", "VPC"),
    ("compute", "Network"),
    ("compute", "Subnetwork"),
    # Azure: the resource group, VNet and subnet hold (or carry) every other resource of
    # the deployment; replacing them side by side would replace everything, so a change
    # there (the region) is refused the same way.
    ("azure", "ResourceGroup"),
    ("network", "VirtualNetwork"),
    ("network", "Subnet"),
}
IMMUTABLE.update(
    {
        ("compute", "Network"): Immutable(
            ("autoCreateSubnetworks",),
            _TFG + "compute/resource_compute_network.go (name, auto_create_subnetworks: ForceNew)",
        ),
        ("compute", "Subnetwork"): Immutable(
            ("region", "ipCidrRange", *_ref("network")),
            _TFG + "compute/resource_compute_subnetwork.go (name, region, network: ForceNew; "
            "ip_cidr_range can only grow in place)",
        ),
    }
)


def kind_key(api_version: str, kind: str) -> tuple[str, str]:
    """('elbv2', 'LB') from 'elbv2.aws.upbound.io/v1beta2' and 'LB'."""
    return api_version.split(".", 1)[0], kind


# forProvider fields renderers read from observed resources besides the immutable ones:
# names, the group's launch template and traffic source, a policy's group, a GCP managed
# instance group's versions and base instance name (status.py, names.py); on Azure the
# ids a load-balancing rule names, the AKS workspace id, the DNS label and prefix kept.
_READ_TOO = (
    "name",
    "launchTemplate",
    "trafficSource",
    "autoscalingGroupName",
    # the Lambda rollout (render/aws/serverless.py): what runs, what serves, what was checked
    "imageUri",
    "functionVersion",
    "input",
    "version",
    "baseInstanceName",
    "backendAddressPoolIds",
    "probeId",
    "omsAgent",
    "domainNameLabel",
    "dnsPrefix",
    # a data store's ingress rule keeps the EKS cluster group it admits (aws/datastores.py)
    "referencedSecurityGroupId",
    # require-https on an Azure vm (azure/gateway.py, vm.py): the identity an Application
    # Gateway was given, the gateway pool a scale set joined, kept while ids are not observed
    "identity",
    "networkInterface",
)


def observed_spec_fields(key: tuple[str, str] | None = None) -> frozenset[str]:
    """Top-level forProvider fields the renderers read from an observed resource of the
    kind `key` (kind_key), or of any kind.

    The gRPC layer converts only these on every reconcile; the whole spec is converted
    on demand (ObservedResource.whole) while a replacement is in progress.
    """
    kinds = IMMUTABLE.values() if key is None else [IMMUTABLE[key]] if key in IMMUTABLE else []
    return frozenset({p.split(".", 1)[0] for imm in kinds for p in imm.fields} | set(_READ_TOO))


class ObservedResource(dict):  # type: ignore[type-arg]
    """An observed composed resource, reduced; `whole()` converts all of it on demand."""

    def __init__(self, data: dict[str, Any], whole: Any = None) -> None:
        super().__init__(data)
        self._whole = whole

    def whole(self) -> dict[str, Any]:
        if callable(self._whole):
            full = self._whole()
            if isinstance(full, dict):
                return full
        return dict(self)


def whole(resource: dict[str, Any]) -> dict[str, Any]:
    """All of an observed resource (converted on demand when the gRPC layer reduced it)."""
    return resource.whole() if isinstance(resource, ObservedResource) else resource


def full_spec(resource: dict[str, Any]) -> dict[str, Any]:
    spec = whole(resource).get("spec")
    return spec if isinstance(spec, dict) else {}
