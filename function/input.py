"""The function input: platform defaults carried by the Composition.

Its CRD lives in package/input/ (kind Input, group scia.fn.crossplane.io). Tenants never
write it: what is allowed (instance types, sizes, file:// repositories, network) is the
platform team's, so nothing in an XR can widen it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator
from pydantic.alias_generators import to_camel

from function.analysis.settings import AnalysisSettings
from function.clouds import CLOUDS, region_problem
from function.decide.llm_settings import LlmSettings
from function.decide.metrics_source import MetricsSourceSettings
from function.memory.settings import MemorySettings
from function.policy.settings import PolicySettings

INPUT_API_VERSION: Final = "scia.fn.crossplane.io/v1alpha1"
INPUT_KIND: Final = "Input"


class _Camel(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


class NetworkSettings(_Camel):
    """Where resources go. With vpcId and subnetIds set, no network is composed."""

    vpc_id: str | None = Field(default=None, pattern=r"^vpc-[0-9a-f]{8,17}$")
    subnet_ids: list[str] = Field(default_factory=list, max_length=6)
    vpc_cidr: str = Field(default="10.0.0.0/16", pattern=r"^\d{1,3}(\.\d{1,3}){3}/16$")
    availability_zones: list[str] = Field(
        default_factory=lambda: ["a", "b"], min_length=2, max_length=3
    )

    @model_validator(mode="after")
    def _both_or_none(self) -> NetworkSettings:
        if bool(self.vpc_id) != bool(self.subnet_ids):
            raise ValueError("network.vpcId and network.subnetIds must be given together")
        if self.subnet_ids and len(self.subnet_ids) < 2:
            raise ValueError("network.subnetIds needs subnets in at least two availability zones")
        for s in self.subnet_ids:
            if not s.startswith("subnet-"):
                raise ValueError(f"network.subnetIds: {s!r} is not a subnet id (subnet-...)")
        return self

    @property
    def existing(self) -> bool:
        return self.vpc_id is not None


class VmSettings(_Camel):
    allowed_instance_types: list[str] = Field(
        default_factory=lambda: [
            "t3.micro",
            "t3.small",
            "t3.medium",
            "t3.large",
            "t3.xlarge",
            "m6i.large",
            "m6i.xlarge",
            "m7i.large",
            "m7i.xlarge",
            "c6i.large",
            "c6i.xlarge",
            "c7i.large",
            "r6i.large",
        ],
        min_length=1,
    )
    max_instances: int = Field(default=10, ge=1, le=100)
    volume_gb: int = Field(default=20, ge=8, le=1024)
    image_id: str = Field(
        default="resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
        description="AMI id or an SSM parameter the launch template resolves",
    )


class KubernetesSettings(_Camel):
    allowed_node_types: list[str] = Field(
        default_factory=lambda: ["t3.medium", "t3.large", "m6i.large", "m6i.xlarge", "m7i.large"],
        min_length=1,
    )
    max_nodes: int = Field(default=10, ge=1, le=100)
    version: str = Field(default="1.33", pattern=r"^1\.\d{2}$")
    addons: list[str] = Field(default_factory=lambda: ["vpc-cni", "kube-proxy", "coredns"])


class GkeIdentity(_Camel):
    """The Google credential provider-kubernetes presents to a composed GKE cluster (GKE's
    kubeconfig carries none): `InjectedIdentity` (the provider's own, e.g. GKE Workload
    Identity or Application Default Credentials) or a service account key in a Secret. A
    deployment whose CloudProvider is of type gcp uses that CloudProvider's Secret instead."""

    source: Literal["InjectedIdentity", "Secret"] = "InjectedIdentity"
    secret_name: str | None = Field(default=None, min_length=1, max_length=253)
    secret_namespace: str = Field(
        default="crossplane-system",
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        max_length=63,
        description="legacy XRs only: namespaced XRs read the Secret in their own namespace",
    )
    secret_key: str = Field(default="credentials", min_length=1, max_length=253)

    @model_validator(mode="after")
    def _secret_named(self) -> GkeIdentity:
        if self.source == "Secret" and not self.secret_name:
            raise ValueError("workload.gkeIdentity: source Secret needs secretName")
        return self


class WorkloadSettings(_Camel):
    """How the kubernetes strategy runs the application on its cluster (not decision inputs:
    they never enter the inputs hash, so changing them re-renders pins, never re-decides)."""

    credentials_namespace: str = Field(
        default="crossplane-system",
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        max_length=63,
        description="legacy (cluster-scoped) XRs: the namespace of the cluster's kubeconfig "
        "Secret (the EKS ClusterAuth connection secret); namespaced XRs use their own namespace",
    )
    progress_deadline_seconds: int = Field(
        default=600,
        ge=60,
        le=3600,
        description="a rollout not progressing for this long is rolled back to the last good image",
    )
    builder_image: str = Field(
        default="moby/buildkit:v0.18.2-rootless",
        max_length=512,
        pattern=r"^[a-z0-9.\-/:@_]+$",
        description="the daemonless builder the build Job runs (BuildKit rootless)",
    )
    aws_cli_image: str = Field(
        default="public.ecr.aws/aws-cli/aws-cli:2.22.35",
        max_length=512,
        pattern=r"^[a-z0-9.\-/:@_]+$",
        description="the image that logs the build in to ECR with its EKS Pod Identity",
    )
    gcloud_cli_image: str = Field(
        default="gcr.io/google.com/cloudsdktool/google-cloud-cli:502.0.0-slim",
        max_length=512,
        pattern=r"^[a-z0-9.\-/:@_]+$",
        description="the image that logs a GKE build in to Artifact Registry with its "
        "Workload Identity (gcloud auth print-access-token)",
    )
    azure_cli_image: str = Field(
        default="mcr.microsoft.com/azure-cli:2.67.0",
        max_length=512,
        pattern=r"^[a-z0-9.\-/:@_]+$",
        description="the image that logs an AKS build in to Azure Container Registry with "
        "its workload identity (az login --federated-token, the registry's token exchange)",
    )
    gke_identity: GkeIdentity = Field(
        default_factory=GkeIdentity,
        description="how provider-kubernetes authenticates to a composed GKE cluster",
    )


class ServerlessSettings(_Camel):
    max_memory_mb: int = Field(default=3008, ge=128, le=10240)
    timeout_seconds: int = Field(default=30, ge=1, le=900)


class RdsSettings(_Camel):
    """A composed RDS engine's allowlist and defaults (PostgreSQL or MySQL)."""

    allowed_instance_classes: list[str] = Field(
        default_factory=lambda: ["db.t4g.micro", "db.t4g.small", "db.t4g.medium", "db.t4g.large"],
        min_length=1,
    )
    engine_version: str = Field(default="17", pattern=r"^\d+(\.\d+)?$")
    storage_gb: int = Field(default=20, ge=20, le=16384)
    max_storage_gb: int = Field(default=100, ge=20, le=65536)
    backup_retention_days: int = Field(default=7, ge=1, le=35)


class RedisSettings(_Camel):
    allowed_node_types: list[str] = Field(
        default_factory=lambda: ["cache.t4g.micro", "cache.t4g.small", "cache.t4g.medium"],
        min_length=1,
    )
    engine_version: str = Field(default="7.1", pattern=r"^\d+\.\d+$")


def _mysql() -> RdsSettings:
    return RdsSettings(engine_version="8.4")


class DataStoreSettings(_Camel):
    """Whether tenants may have data stores composed (spec.services.<kind> without secretRef),
    and within what. Off by default: a tenant then binds existing stores by secretRef."""

    compose: bool = False
    subnet_ids: list[str] = Field(
        default_factory=list,
        max_length=6,
        description="private subnets for composed stores with an existing network "
        "(default: network.subnetIds)",
    )
    postgres: RdsSettings = Field(default_factory=RdsSettings)
    mysql: RdsSettings = Field(default_factory=_mysql)
    redis: RedisSettings = Field(default_factory=RedisSettings)


def _cloud_sql_tiers() -> RdsSettings:
    return RdsSettings(
        allowed_instance_classes=[
            "db-f1-micro",
            "db-g1-small",
            "db-custom-1-3840",
            "db-custom-2-7680",
        ]
    )


def _cloud_sql_mysql() -> RdsSettings:
    return _cloud_sql_tiers().model_copy(update={"engine_version": "8.4"})


def _memorystore_sizes() -> RedisSettings:
    return RedisSettings(allowed_node_types=["M1-1GB", "M1-2GB", "M1-4GB"], engine_version="7.2")


class GcpDataStoreSettings(DataStoreSettings):
    """Composed data stores on GCP (function/render/gcp/datastores.py): Cloud SQL for
    PostgreSQL and MySQL (`allowedInstanceClasses` are Cloud SQL machine tiers, Enterprise
    edition; `engineVersion` "17" is POSTGRES_17, "8.4" MYSQL_8_4) and Memorystore for Redis
    (`allowedNodeTypes` are `M1-<n>GB`: n GB in the M1 capacity tier, 1-4 GB). `subnetIds`
    is not used on GCP: the stores take private IPs in the deployment's VPC network through
    private services access."""

    postgres: RdsSettings = Field(default_factory=_cloud_sql_tiers)
    mysql: RdsSettings = Field(default_factory=_cloud_sql_mysql)
    redis: RedisSettings = Field(default_factory=_memorystore_sizes)
    sql_proxy_image: str = Field(
        default="gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.3",
        max_length=512,
        pattern=r"^[a-z0-9.\-/:@_]+$",
        description="the Cloud SQL Auth Proxy image Cloud Run runs beside the app (a sidecar) "
        "to reach Cloud SQL with IAM database authentication",
    )
    sql_proxy_version: str = Field(
        default="2.14.3",
        pattern=r"^\d+\.\d+\.\d+$",
        description="the Cloud SQL Auth Proxy release vm instances install at boot "
        "(storage.googleapis.com/cloud-sql-connectors/cloud-sql-proxy/v<version>/)",
    )
    private_services_range: str = Field(
        default="10.100.0.0/16",
        pattern=r"^\d{1,3}(\.\d{1,3}){3}/(1[6-9]|2[0-4])$",
        description="the range reserved in the composed VPC network for Google's managed "
        "services (private services access); with an existing network, the platform's "
        "own private services access connection is used",
    )


_GCP_REGIONS = ["us-central1", "us-east1", "europe-west1"]
_GCP_SUBNETWORK = re.compile(
    r"^projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/regions/([a-z]+-[a-z]+\d{1,2})/subnetworks/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
)


class GcpNetworkSettings(_Camel):
    """Where GCP resources go. With `network` and `subnetworks` set, no network is composed;
    otherwise a minimal VPC network and one subnetwork in the deployment's region are (with a
    Cloud Router and Cloud NAT when instances get no public IP)."""

    network: str | None = Field(
        default=None,
        pattern=r"^projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/global/networks/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$",
        description="an existing VPC network: projects/<project>/global/networks/<name>",
    )
    subnetworks: list[str] = Field(
        default_factory=list,
        max_length=32,
        description="existing subnetworks, projects/<project>/regions/<region>/subnetworks/<name>; "
        "the one in the deployment's region is used",
    )
    subnet_cidr: str = Field(
        default="10.10.0.0/20", pattern=r"^\d{1,3}(\.\d{1,3}){3}/(1[6-9]|2[0-4])$"
    )
    pods_cidr: str = Field(
        default="10.64.0.0/14",
        pattern=r"^\d{1,3}(\.\d{1,3}){3}/(1[0-9]|2[0-1])$",
        description="GKE pods' secondary range of the composed subnetwork",
    )
    services_cidr: str = Field(
        default="10.68.0.0/20",
        pattern=r"^\d{1,3}(\.\d{1,3}){3}/(1[6-9]|2[0-4])$",
        description="GKE services' secondary range of the composed subnetwork",
    )
    pods_range_name: str | None = Field(
        default=None,
        max_length=63,
        description="secondary range of an existing subnetwork for pods",
    )
    services_range_name: str | None = Field(
        default=None,
        max_length=63,
        description="secondary range of an existing subnetwork for services",
    )
    public_ip: bool = Field(
        default=False,
        description="give instances an ephemeral public IP; without one, Cloud NAT is composed "
        "for their outbound traffic (the app is fetched from its repository at boot)",
    )

    @model_validator(mode="after")
    def _both_or_none(self) -> GcpNetworkSettings:
        if bool(self.network) != bool(self.subnetworks):
            raise ValueError(
                "gcp.network.network and gcp.network.subnetworks must be given together"
            )
        for s in self.subnetworks:
            if not _GCP_SUBNETWORK.match(s):
                raise ValueError(
                    f"gcp.network.subnetworks: {s!r} is not "
                    "projects/<project>/regions/<region>/subnetworks/<name>"
                )
        return self

    @property
    def existing(self) -> bool:
        return self.network is not None

    def subnetwork_in(self, region: str) -> str | None:
        """The existing subnetwork in `region`, or None."""
        for s in self.subnetworks:
            m = _GCP_SUBNETWORK.match(s)
            if m and m.group(1) == region:
                return s
        return None


class GcpVmSettings(VmSettings):
    """The vm strategy's allowlist and bounds on GCP (machine types, Debian 12 boot image)."""

    allowed_instance_types: list[str] = Field(
        default_factory=lambda: [
            "e2-small",
            "e2-medium",
            "e2-standard-2",
            "e2-standard-4",
            "n2-standard-2",
            "n2-standard-4",
            "n2d-standard-2",
            "n2d-standard-4",
        ],
        min_length=1,
    )
    image_id: str = Field(
        default="projects/debian-cloud/global/images/family/debian-12",
        description="boot image (or image family) of the instances: the startup script "
        "installs packages with apt",
    )


class GcpKubernetesSettings(KubernetesSettings):
    allowed_node_types: list[str] = Field(
        default_factory=lambda: ["e2-medium", "e2-standard-2", "e2-standard-4", "n2-standard-2"],
        min_length=1,
    )
    addons: list[str] = Field(default_factory=list, description="not used on GCP")


class GcpServerlessSettings(ServerlessSettings):
    """Cloud Run's bounds (it allows up to 32 GiB and 3600 s; a decision stays within these)."""

    max_memory_mb: int = Field(default=4096, ge=128, le=10240)
    timeout_seconds: int = Field(default=300, ge=1, le=900)


class CloudSettings(_Camel):
    """One cloud's allowlists and bounds besides AWS (whose fields are the input's top level).

    `FunctionInput.for_cloud` puts these in place of the AWS ones, so the decision engine,
    the LLM's options and the pin checks compare options within the chosen cloud."""

    regions: list[str] = Field(min_length=1, max_length=64, description="allowed regions")
    vm: VmSettings
    kubernetes: KubernetesSettings
    serverless: ServerlessSettings


class GcpSettings(CloudSettings):
    regions: list[str] = Field(
        default_factory=lambda: list(_GCP_REGIONS),
        min_length=1,
        max_length=64,
        description="allowed GCP regions (each needs prices in the catalog)",
    )
    project: str | None = Field(
        default=None,
        pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$",
        description="the project the GCP ProviderConfig deploys to: Artifact Registry images "
        "must come from it (any project if unset), and GKE's Workload Identity pool is "
        "<project>.svc.id.goog (builds on GKE need it)",
    )
    project_number: str | None = Field(
        default=None,
        pattern=r"^[1-9][0-9]{5,19}$",
        description="the number of gcp.project: the builder's Workload Identity principal "
        "and the nodes' default service account are named by it (builds on GKE need it)",
    )
    notification_channels: list[
        Annotated[
            str,
            Field(
                pattern=r"^projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/notificationChannels/[0-9]{1,20}$"
            ),
        ]
    ] = Field(
        default_factory=list,
        max_length=16,
        description="Cloud Monitoring notification channels the enable-monitoring alert "
        "policies notify: projects/<project>/notificationChannels/<id> (made by the platform; "
        "none: incidents show in Cloud Monitoring only)",
    )
    network: GcpNetworkSettings = Field(default_factory=GcpNetworkSettings)
    data_stores: GcpDataStoreSettings = Field(
        default_factory=GcpDataStoreSettings,
        description="composed data stores on GCP (Cloud SQL, Memorystore); off by default",
    )
    zones: list[str] = Field(
        default_factory=lambda: ["b", "c"],
        min_length=1,
        max_length=4,
        description="zone suffixes of the deployment's region for instance groups and node "
        "pools (b and c exist in every default region)",
    )
    vm: GcpVmSettings = Field(default_factory=GcpVmSettings)
    kubernetes: GcpKubernetesSettings = Field(default_factory=GcpKubernetesSettings)
    serverless: GcpServerlessSettings = Field(default_factory=GcpServerlessSettings)

    @model_validator(mode="after")
    def _regions(self) -> GcpSettings:
        for z in self.zones:
            if not re.fullmatch(r"[a-z]", z):
                raise ValueError(f"gcp.zones: {z!r} is not a zone suffix (a, b, c, ...)")
        for r in self.regions:
            if problem := region_problem("gcp", r):
                raise ValueError(f"gcp.regions: {problem}")
        return self


class SecretKeyRef(_Camel):
    """A key of a Kubernetes Secret. `namespace` is for cluster-scoped (legacy) managed
    resources; a namespaced managed resource reads Secrets in its own namespace only."""

    namespace: str | None = Field(default=None, max_length=63)
    name: str = Field(min_length=1, max_length=253)
    key: str = Field(default="token", min_length=1, max_length=253)


class BuildSettings(_Camel):
    """How images are built from the repository when spec.image is empty (docs/build.md)."""

    compute_type: Literal[
        "BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE"
    ] = "BUILD_GENERAL1_SMALL"
    image_x86_64: str = Field(
        default="aws/codebuild/amazonlinux-x86_64-standard:5.0", min_length=1, max_length=255
    )
    image_arm64: str = Field(
        default="aws/codebuild/amazonlinux-aarch64-standard:3.0", min_length=1, max_length=255
    )
    timeout_minutes: int = Field(default=30, ge=5, le=480)
    # How often the schedule starts the build while it is not observed done; a started
    # build whose outcome is already recorded ends at once (billed one minute).
    retry_minutes: int = Field(default=5, ge=1, le=60)
    keep_images: int = Field(default=10, ge=1, le=1000)
    log_retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 180, 365] = 30
    # A private repository's git token, never in plain text: an AWS Secrets Manager
    # secret the platform made (its whole secret string is the token), or a Kubernetes
    # Secret (the repository-credentials Secret) copied into a per-deployment secret.
    git_token_secret_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$"
    )
    repository_credentials_secret_ref: SecretKeyRef | None = None
    git_username: str | None = Field(default=None, max_length=255)


_AZURE_REGIONS = ["eastus", "westeurope"]
_AZURE_LOGIN_SERVER = r"^[a-z0-9]{5,50}\.azurecr\.io$"
_AZURE_REGISTRY_ID = (
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-A-Za-z0-9_.()]{1,90}/providers/"
    r"(?i:Microsoft\.ContainerRegistry)/registries/[A-Za-z0-9]{5,50}$"
)
_AZURE_IDENTITY_ID = (
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-A-Za-z0-9_.()]{1,90}/providers/"
    r"Microsoft\.ManagedIdentity/userAssignedIdentities/[A-Za-z0-9][-A-Za-z0-9_]{2,127}$"
)


class AzureNetworkSettings(_Camel):
    """The virtual network each Azure deployment gets (in its own resource group)."""

    vnet_cidr: str = Field(
        default="10.20.0.0/16",
        pattern=r"^\d{1,3}(\.\d{1,3}){3}/(1[6-9]|2[0-2])$",
        description="address space of the composed VNet; its first /20 (or the whole space "
        "when smaller) is the subnet",
    )
    service_cidr: str = Field(
        default="10.21.0.0/16",
        pattern=r"^\d{1,3}(\.\d{1,3}){3}/(1[6-9]|2[0-4])$",
        description="AKS service range (must not overlap the VNet); the DNS service is its .10",
    )


class AzureRegistry(_Camel):
    """A container registry Container Apps may pull from, and the identity that pulls."""

    login_server: str = Field(pattern=_AZURE_LOGIN_SERVER, description="<name>.azurecr.io")
    pull_identity_id: str = Field(
        pattern=_AZURE_IDENTITY_ID,
        description="resource id of a user-assigned managed identity with AcrPull on the "
        "registry (the platform's; tenants never name it)",
    )
    registry_id: str | None = Field(
        default=None,
        pattern=_AZURE_REGISTRY_ID,
        description="the registry's resource id: with it each deployment pulls with an "
        "identity of its own granted AcrPull there (a Container App's, an AKS cluster's "
        "kubelet), so no app carries the platform's shared pull identity; the provider's "
        "principal must be allowed to assign roles on the registry",
    )


class AzureVmSettings(VmSettings):
    """The vm strategy's allowlist and bounds on Azure (VM sizes, the Ubuntu 24.04 image)."""

    allowed_instance_types: list[str] = Field(
        default_factory=lambda: [
            "Standard_B1ms",
            "Standard_B2s",
            "Standard_B2ms",
            "Standard_B4ms",
            "Standard_D2s_v5",
            "Standard_D4s_v5",
            "Standard_D2as_v5",
            "Standard_F2s_v2",
            "Standard_E2s_v5",
        ],
        min_length=1,
    )
    volume_gb: int = Field(default=30, ge=8, le=1024)
    image_id: str = Field(
        default="Canonical:ubuntu-24_04-lts:server:latest",
        description="the scale set's image, publisher:offer:sku:version (the start-up script "
        "installs packages with apt)",
    )


class AzureKubernetesSettings(KubernetesSettings):
    allowed_node_types: list[str] = Field(
        default_factory=lambda: [
            "Standard_B2s",
            "Standard_B2ms",
            "Standard_D2s_v5",
            "Standard_D4s_v5",
        ],
        min_length=1,
    )
    addons: list[str] = Field(default_factory=list, description="not used on Azure")


class AzureServerlessSettings(ServerlessSettings):
    """Container Apps' bounds (Consumption: up to 8 GiB; requests end after 240 s)."""

    max_memory_mb: int = Field(default=4096, ge=128, le=8192)
    timeout_seconds: int = Field(default=240, ge=1, le=240)


# Azure Database for PostgreSQL flexible server storage sizes (GiB): storageMb takes these
# (provider-upjet-azure v2.7.0 FlexibleServer storageMb: 32768 ... 16777216).
AZURE_POSTGRES_STORAGE_GB = (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384)


class AzurePostgresSettings(RdsSettings):
    """A flexible server's allowlist (SKU names) and defaults."""

    allowed_instance_classes: list[str] = Field(
        default_factory=lambda: [
            "B_Standard_B1ms",
            "B_Standard_B2s",
            "GP_Standard_D2ds_v5",
            "GP_Standard_D4ds_v5",
        ],
        min_length=1,
    )
    storage_gb: int = Field(default=32, ge=32, le=16384)


class AzureDataStoreSettings(DataStoreSettings):
    """Composed data stores on Azure (function/render/azure/datastores.py): Azure Database
    for PostgreSQL flexible server. `postgres.allowedInstanceClasses` are its SKU names,
    tier + VM size (`B_Standard_B1ms`: Burstable, `GP_Standard_D2ds_v5`: General Purpose;
    high availability needs a non-burstable one), `engineVersion` its major version (11-18),
    `storageGb` one of 32, 64, 128 ... 16384 (storage grows on its own: `maxStorageGb` is
    not used), `backupRetentionDays` 7-35. MySQL and Redis are not composed on Azure (no
    password the provider generates, no database kind: docs/multicloud.md); `subnetIds` is
    not used (the server has a public endpoint behind its firewall rules)."""

    postgres: AzurePostgresSettings = Field(default_factory=AzurePostgresSettings)

    @model_validator(mode="after")
    def _azure_limits(self) -> AzureDataStoreSettings:
        pg = self.postgres
        if pg.storage_gb not in AZURE_POSTGRES_STORAGE_GB:
            raise ValueError(
                "azure.dataStores.postgres.storageGb: a flexible server's storage is one of "
                f"{', '.join(map(str, AZURE_POSTGRES_STORAGE_GB))} GiB, not {pg.storage_gb}"
            )
        if pg.backup_retention_days < 7:
            raise ValueError(
                "azure.dataStores.postgres.backupRetentionDays: a flexible server keeps "
                f"backups 7 to 35 days, not {pg.backup_retention_days}"
            )
        if not re.fullmatch(r"1[1-8]", pg.engine_version):
            raise ValueError(
                "azure.dataStores.postgres.engineVersion: a flexible server runs PostgreSQL "
                f"11 to 18 (a major version), not {pg.engine_version!r}"
            )
        for sku in pg.allowed_instance_classes:
            if not re.fullmatch(r"(B|GP|MO)_Standard_[A-Za-z0-9_]{2,40}", sku):
                raise ValueError(
                    "azure.dataStores.postgres.allowedInstanceClasses: "
                    f"{sku!r} is not a flexible server SKU (tier_Standard_size, like "
                    "B_Standard_B1ms or GP_Standard_D2ds_v5)"
                )
        return self


class AzureSettings(CloudSettings):
    """Azure's allowlists, bounds and platform facts (`input.azure`).

    `vm`, `kubernetes`, `serverless` are the Azure sizes the decision may choose from:
    VM sizes (`Standard_*`), the scale set image as `publisher:offer:sku:version`.
    """

    regions: list[str] = Field(
        default_factory=lambda: list(_AZURE_REGIONS),
        min_length=1,
        max_length=64,
        description="allowed Azure regions (each needs prices in the catalog)",
    )
    vm: AzureVmSettings = Field(default_factory=AzureVmSettings)
    kubernetes: AzureKubernetesSettings = Field(default_factory=AzureKubernetesSettings)
    serverless: AzureServerlessSettings = Field(default_factory=AzureServerlessSettings)
    network: AzureNetworkSettings = Field(default_factory=AzureNetworkSettings)
    data_stores: AzureDataStoreSettings = Field(
        default_factory=AzureDataStoreSettings,
        description="composed data stores on Azure (PostgreSQL flexible server); off by default",
    )
    admin_username: str = Field(
        default="scia", pattern=r"^[a-z_][a-z0-9_-]{0,31}$", description="scale set admin user"
    )
    admin_ssh_public_key: str | None = Field(
        default=None,
        max_length=16384,
        pattern=r"^(ssh-rsa|ssh-ed25519) [A-Za-z0-9+/=]+( [^\n]*)?$",
        description="the platform's SSH public key for the scale set's admin user (Azure "
        "requires one when password login is off); no rule opens SSH to it",
    )
    container_registries: list[AzureRegistry] = Field(
        default_factory=list,
        max_length=32,
        description="registries serverless images may come from, each with its pull identity",
    )
    kubernetes_sku_tier: Literal["Free", "Standard"] = Field(
        default="Free", description="AKS control-plane tier (Standard: uptime SLA, billed)"
    )
    action_group_id: str | None = Field(
        default=None,
        pattern=r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-A-Za-z0-9_.()]{1,90}/providers/"
        r"(?i:microsoft\.insights)/actionGroups/[^/]{1,260}$",
        description="an Azure Monitor action group the enable-monitoring alerts notify",
    )
    secrets_writer_object_id: str | None = Field(
        default=None,
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        description="object id of the principal provider-upjet-azure signs in as: it is "
        "granted Key Vault Secrets Officer on each deployment's Key Vault to write the "
        "copies of the app's secrets (render/azure/secrets.py); unset, the platform grants "
        "that role at a broader scope (the subscription)",
    )

    @model_validator(mode="after")
    def _regions(self) -> AzureSettings:
        for r in self.regions:
            if problem := region_problem("azure", r):
                raise ValueError(f"azure.regions: {problem}")
        return self

    def registry(self, login_server: str) -> AzureRegistry | None:
        for reg in self.container_registries:
            if reg.login_server == login_server:
                return reg
        return None


class DecisionSettings(_Camel):
    wait_seconds: float = Field(
        default=2.0,
        ge=0.0,
        le=60.0,
        description="seconds a reconcile waits for a decision before answering Analyzing",
    )
    retry_seconds: int = Field(
        default=10, ge=1, le=600, description="response TTL while a decision is in flight"
    )


class RightsizingSettings(_Camel):
    """Right-sizing from observations (function/decide/rightsizing.py)."""

    apply: bool = Field(
        default=False,
        description="make a new decision revision within the same strategy when the "
        "observations of the running revision (naming it in scia.io/observed-revision) show it "
        "over- or under-provisioned; off: the recommendation is only shown in "
        "status.rightsizing",
    )
    min_saving_percent: float = Field(
        default=15.0,
        ge=1.0,
        le=90.0,
        description="over-provisioned only when a configuration that carries the observed need "
        "costs at least this share less",
    )


class UrlRewrite(_Camel):
    """Fetch repositories under `prefix` from `replacement` (a mirror), like git's insteadOf."""

    prefix: str = Field(min_length=1, max_length=512)
    replacement: str = Field(min_length=1, max_length=512)


class FunctionInput(_Camel):
    api_version: Literal["scia.fn.crossplane.io/v1alpha1"] = Field(
        default=INPUT_API_VERSION, alias="apiVersion"
    )
    kind: Literal["Input"] = INPUT_KIND
    metadata: dict[str, Any] | None = None
    provider_config_name: str = Field(default="default", min_length=1, max_length=253)
    provider_config_kind: Literal["ProviderConfig", "ClusterProviderConfig"] = Field(
        default="ProviderConfig",
        description="for namespaced managed resources: which kind providerConfigRef names",
    )
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    vm: VmSettings = Field(default_factory=VmSettings)
    kubernetes: KubernetesSettings = Field(default_factory=KubernetesSettings)
    serverless: ServerlessSettings = Field(default_factory=ServerlessSettings)
    regions: list[str] | None = Field(
        default=None,
        max_length=64,
        description="allowed AWS regions; unset: every region the price catalog has",
    )
    gcp: GcpSettings = Field(default_factory=GcpSettings)
    azure: AzureSettings = Field(default_factory=AzureSettings)
    build: BuildSettings = Field(default_factory=BuildSettings)
    workload: WorkloadSettings = Field(default_factory=WorkloadSettings)
    decision: DecisionSettings = Field(default_factory=DecisionSettings)
    data_stores: DataStoreSettings = Field(default_factory=DataStoreSettings)
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings)
    memory: MemorySettings = Field(default_factory=MemorySettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    blocked_ports: list[int] = Field(
        default_factory=lambda: [22, 23, 2375, 2376, 3389, 5985, 5986],
        max_length=64,
        description="application ports the platform never exposes (remote shells, Docker API)",
    )
    url_rewrites: list[UrlRewrite] = Field(default_factory=list, max_length=32)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    rightsizing: RightsizingSettings = Field(default_factory=RightsizingSettings)
    metrics_source: MetricsSourceSettings = Field(
        default_factory=MetricsSourceSettings,
        description="where running deployments' performance metrics are queried (background)",
    )
    history_limit: int = Field(default=10, ge=1, le=100)
    ready_grace_seconds: int = Field(
        default=1800,
        ge=60,
        le=86400,
        description="a composed resource not Ready for this long makes the deployment Failed",
    )

    # The cloud the vm/kubernetes/serverless fields are for (for_cloud); not part of the input.
    _cloud: str = PrivateAttr(default="aws")

    @property
    def cloud(self) -> str:
        return self._cloud

    def cloud_settings(self, cloud: str) -> CloudSettings | None:
        """The settings block of a cloud other than AWS (None: the input has none for it)."""
        block = getattr(self, cloud, None) if cloud in CLOUDS and cloud != "aws" else None
        return block if isinstance(block, CloudSettings) else None

    def for_cloud(self, cloud: str) -> FunctionInput:
        """This input as the decision engine and the renderers see it for `cloud`: vm,
        kubernetes and serverless are that cloud's allowlists and bounds, `regions` its
        allowed regions. AWS: the input unchanged. Raises ValueError for a cloud the input
        (and so the product) has no settings for."""
        if cloud == "aws":
            return self
        block = self.cloud_settings(cloud)
        if block is None:
            raise ValueError(f"{cloud!r} is not supported yet")
        view = self.model_copy(
            update={
                "vm": block.vm,
                "kubernetes": block.kubernetes,
                "serverless": block.serverless,
                "regions": list(block.regions),
                # The cloud's own store allowlists; a cloud without them composes none.
                "data_stores": getattr(block, "data_stores", None) or DataStoreSettings(),
            }
        )
        view._cloud = cloud
        return view

    def field(self, path: str) -> str:
        """Where `path` of the cloud's view (`vm.allowedInstanceTypes`, `regions`) is written
        in the function input: `input.gcp.vm.allowedInstanceTypes` for gcp, `input.vm....`
        for AWS; other paths are the same on every cloud."""
        head = path.split(".", 1)[0]
        if self._cloud != "aws" and head in ("vm", "kubernetes", "serverless", "regions"):
            return f"input.{self._cloud}.{path}"
        return f"input.{path}"

    def rewrite_url(self, url: str) -> str:
        for rule in self.url_rewrites:
            if url.startswith(rule.prefix):
                return rule.replacement + url[len(rule.prefix) :]
        return url

    def decision_fingerprint(self) -> dict[str, Any]:
        """The parts of the input that change what is decided (they enter the inputs hash)."""
        if self._cloud != "aws":
            block = self.cloud_settings(self._cloud)
            assert block is not None  # for_cloud made this view
            # gcp.projectNumber and azure.secretsWriterObjectId name identities only
            # (builds on GKE, the Key Vault writer), gcp.notificationChannels where alerts
            # go: not decision inputs, and leaving them out keeps existing pins' inputs
            # hashes (tests/api/test_inputs_hash_stable.py).
            # A registry's id decides which identity pulls, not what is decided.
            dump = block.model_dump(
                mode="json",
                exclude={
                    "regions": True,
                    "project_number": True,
                    "secrets_writer_object_id": True,
                    "notification_channels": True,
                    "container_registries": {"__all__": {"registry_id"}},
                },
            )
            stores = getattr(block, "data_stores", None)
            if stores is not None and stores == type(stores)():
                # Entered only when set, so the inputs hash of existing pins does not move.
                dump.pop("data_stores", None)
            return {
                "cloud": self._cloud,
                self._cloud: dump,
                "providerConfig": [self.provider_config_kind, self.provider_config_name],
            } | ({"policy": fp} if (fp := self.policy.fingerprint()) else {})
        return (
            {
                "network": self.network.model_dump(mode="json"),
                "providerConfig": [self.provider_config_kind, self.provider_config_name],
                "vm": self.vm.model_dump(mode="json"),
                "kubernetes": self.kubernetes.model_dump(mode="json"),
                "serverless": self.serverless.model_dump(mode="json"),
            }
            | ({"policy": fp} if (fp := self.policy.fingerprint()) else {})
            | (
                # Entered only when set, so the inputs hash of existing pins does not move.
                {"dataStores": ds}
                if (ds := self.data_stores.model_dump(mode="json"))
                != DataStoreSettings().model_dump(mode="json")
                else {}
            )
        )
