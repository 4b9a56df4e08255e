"""The Azure kubernetes strategy: an AKS cluster whose system node pool runs the workload.

The cluster's default ("system") node pool is the node pool: provider-upjet-azure's
separate `KubernetesClusterNodePool` kind is not among the CRDs this product validates
against (../shared/crds/azure), so no user pool is composed. The pool sits in the
deployment's subnet (Azure CNI overlay: pods get addresses from an overlay range, not the
subnet), scales between the decision's min and max with the cluster autoscaler when
min < max (the node count is set once, at creation, in spec.initProvider: the autoscaler
owns it), and its OS disk is the decision's size, at least AKS's 30 GB (clouds.py).

The cluster: system-assigned identity, Kubernetes RBAC, OIDC issuer and workload identity
on, patch-level automatic upgrades and node-image OS upgrades, the input's control-plane
tier (Free by default). Its API server is public (AKS's default); its node pool has no
public IPs. `enable-monitoring` adds a Log Analytics workspace with Container Insights
(`omsAgent`) and metric alerts (monitoring.py).

The application runs on the cluster as on EKS (render/kube/app.py): the cluster writes its
connection secret (key `kubeconfig`: `kube_config_raw`, the cluster user's client
certificate, an administrator on a cluster without Entra ID integration), a
provider-kubernetes ProviderConfig reads it, and the same Deployment, Service,
HorizontalPodAutoscaler and PodDisruptionBudget Objects follow. The public Service is a
rule on the cluster's Standard load balancer (cloud-provider-azure, run by AKS) with an
HTTP health probe on the app's health path and the deployment's tags on its public IP;
the subnet's security group lets internet clients reach its port (`service_rules`).
The containers' logs are in the Log Analytics workspace when Container Insights is on
(enable-monitoring); otherwise they are only on the nodes (`kubectl logs`).
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable
from typing import Any

from function.clouds import node_disk_gb
from function.decide.capacity import ingress_controller_share
from function.policy.admission import ENABLE_MONITORING
from function.render.azure import approuting
from function.render.azure.base import (
    Observed,
    at_provider,
    observed_field,
    observed_id,
    resource,
    role_assignment,
    select,
    tags,
)
from function.render.azure.build import (
    AUDIENCE,
    CLIENT_ID,
    USE,
    kubelet_object_id,
    render_build,
)
from function.render.azure.monitoring import kubernetes_alerts
from function.render.azure.names import azure_name
from function.render.azure.network import (
    SUBNET,
    deny_blocked_ports,
    render_network,
    security_rule,
)
from function.render.azure.secrets import APP_IDENTITY, AzureConfig, launch_json
from function.render.common import RenderContext, Resources
from function.render.kube import build as kbuild
from function.render.kube import ingress as king
from function.render.kube import units as ku
from function.render.kube import workload as kw
from function.render.kube.app import (
    APP_ACCOUNT,
    AppIdentity,
    ClusterAccess,
    IngressFront,
    connection_secret_ref,
    render_cluster_app,
)
from function.render.kube.objects import app_namespace
from function.status import is_ready

AKS = "aks-cluster"
APP_FEDERATION = "app-federation"
IMAGE_PULL = "kubelet-image-pull"  # AcrPull on a platform registry (spec.image)
WORKSPACE = "log-workspace"
NODE_POOL = "system"
POD_CIDR = "10.244.0.0/16"
# cloud-provider-azure Service annotations (kubernetes-sigs/cloud-provider-azure,
# docs "Azure LoadBalancer": per-port health probe protocol and path, public IP tags).
_PROBE = f"service.beta.kubernetes.io/port_{kw.PUBLIC_PORT}_health-probe_"
PROBE_PROTOCOL = _PROBE + "protocol"
PROBE_PATH = _PROBE + "request-path"
PIP_TAGS = "service.beta.kubernetes.io/azure-pip-tags"
ALLOW_SERVICE = "nsg-allow-public-service"


def aks_annotations(ctx: RenderContext) -> Callable[[kw.Unit], dict[str, str]]:
    """The public Service's annotations on AKS: an HTTP probe of the app's health path,
    the deployment's tags (Azure's rules, base.tags) on the public IP it creates."""
    pip_tags = ",".join(
        f"{k}={v}" for k, v in sorted(tags(ctx).items()) if not set(",=") & set(k + v)
    )

    def annotations(unit: kw.Unit) -> dict[str, str]:
        return {PROBE_PROTOCOL: "http", PROBE_PATH: unit.health_path, PIP_TAGS: pip_tags}

    return annotations


def aks_logs(ctx: RenderContext, observed: Observed, namespace: str | None = None) -> str | None:
    """Where the app's container logs (or `namespace`'s) are: the workspace, with
    Container Insights on."""
    if not ctx.has_policy(ENABLE_MONITORING):
        return None
    ident = ctx.identity
    name = azure_name(
        "Workspace",
        WORKSPACE,
        observed,
        tenant=ident.tenant,
        deployment=ident.deployment_name,
        uid=ident.uid,
    )
    return (
        f"Log Analytics workspace {name}: ContainerLogV2 | where PodNamespace == "
        f'"{namespace or app_namespace(ctx)}"'
    )


def service_rules(ctx: RenderContext, https: bool = False) -> Resources:
    """The subnet security group's rules for the public Service: internet clients to the
    Service's port (TCP), and the platform's blocked ports denied, as on vm. With `https`
    (require-https, approuting.py) the public Service is the application routing add-on's
    NGINX: internet clients reach its 443 (TLS) and 80 (answered with a redirect to
    HTTPS), and the app's own Service is ClusterIP, out of the internet's reach.

    AKS manages the security group of the nodes' NICs in its node resource group, adding a
    rule per LoadBalancer Service there, but it neither applies nor modifies a security
    group on a subnet the customer brings (this deployment's, network.py): without a rule
    here the default DenyAllInBound drops every internet client (Azure/AKS issue 674, "any
    upstream NSGs must also be modified"; AKS docs, "Network concepts": "AKS doesn't apply
    network security groups to its subnet and doesn't modify any of the network security
    groups associated with that subnet"). The load balancer's rules keep floating IP on
    (cloud-provider-azure's default), so a client's packet reaches the node addressed to
    the Service's public IP and port, before kube-proxy forwards it to a pod: the rule's
    destination is any address (the IP is the provider's, not known here) on that port
    only. Health probes come from `AzureLoadBalancer`, which Azure's default rules allow.
    The port is the Service's (render/kube/workload.py `PUBLIC_PORT`: plain HTTP), or
    NGINX's 80 and 443 with `https`."""
    if https:
        ports = [approuting.HTTP_PORT, approuting.HTTPS_PORT]
        rule = security_rule(
            ctx,
            ALLOW_SERVICE,
            110,
            "Allow",
            sourceAddressPrefix="Internet",
            destinationAddressPrefix="*",
            destinationPortRanges=[str(p) for p in ports],
            description="HTTPS clients (HTTP only to be redirected) of the application "
            "routing add-on's NGINX through the cluster's load balancer",
        )
        return {ALLOW_SERVICE: rule} | deny_blocked_ports(ctx, *ports)
    port = kw.PUBLIC_PORT
    return {
        ALLOW_SERVICE: security_rule(
            ctx,
            ALLOW_SERVICE,
            110,
            "Allow",
            sourceAddressPrefix="Internet",
            destinationAddressPrefix="*",
            destinationPortRange=str(port),
            description="clients of the public Service through the cluster's load balancer",
        )
    } | deny_blocked_ports(ctx, port)


def log_workspace(ctx: RenderContext) -> Resources:
    """A Log Analytics workspace (pay per GB ingested, 30 days' retention)."""
    return {
        WORKSPACE: resource(
            ctx,
            "operationalinsights",
            "Workspace",
            WORKSPACE,
            {"sku": "PerGB2018", "retentionInDays": 30},
        )
    }


def render_kubernetes(
    ctx: RenderContext, observed: Observed, config: AzureConfig | None = None
) -> Resources:
    """The cluster, its build route and the workload; with `config` (render/azure/secrets.py)
    the app's pods run as the ServiceAccount `scia-app`, federated with the app's managed
    identity by AKS workload identity (`app-federation`: the cluster's issuer, that account
    only), and the launcher in the image reads their configuration with its token."""
    config = config or AzureConfig()
    d = ctx.decision
    assert d.kubernetes is not None, "kubernetes decision without kubernetes parameters"
    k = d.kubernetes
    az = ctx.settings.azure
    https = approuting.aks_https(ctx)  # require-https: the application routing add-on
    out = render_network(ctx) | service_rules(ctx, https is not None)
    autoscale = k.max_nodes > k.min_nodes
    pool: dict[str, object] = {
        "name": NODE_POOL,
        "vmSize": k.node_instance_type,
        "osDiskSizeGb": node_disk_gb("azure", k.disk_gb),
        "osSku": "Ubuntu",
        "vnetSubnetIdSelector": select(SUBNET),
        "nodePublicIpEnabled": False,
        "orchestratorVersion": k.kubernetes_version,
        "temporaryNameForRotation": "rotation",
        "upgradeSettings": {"maxSurge": "33%"},
        "autoScalingEnabled": autoscale,
    }
    if autoscale:
        pool |= {"minCount": k.min_nodes, "maxCount": k.max_nodes}
    service = ipaddress.ip_network(az.network.service_cidr, strict=False)
    cluster: dict[str, object] = {
        "dnsPrefix": "",  # names.py picks it (and keeps the observed one)
        "kubernetesVersion": k.kubernetes_version,
        "skuTier": az.kubernetes_sku_tier,
        "defaultNodePool": pool,
        "identity": {"type": "SystemAssigned"},
        "roleBasedAccessControlEnabled": True,
        "oidcIssuerEnabled": True,
        "workloadIdentityEnabled": True,
        "automaticUpgradeChannel": "patch",
        "nodeOsUpgradeChannel": "NodeImage",
        "networkProfile": {
            "networkPlugin": "azure",
            "networkPluginMode": "overlay",
            "podCidr": POD_CIDR,
            "serviceCidr": str(service),
            "dnsServiceIp": str(service.network_address + 10),
            "loadBalancerSku": "standard",
            "outboundType": "loadBalancer",
        },
    }
    if https is not None:
        cluster |= approuting.cluster_fields()
    monitored = ctx.has_policy(ENABLE_MONITORING)
    if monitored:
        out |= log_workspace(ctx)
        # omsAgent names the workspace by id only (no reference field): from observed state.
        ws = observed_id(observed, WORKSPACE) or observed_field(
            observed, AKS, "omsAgent.logAnalyticsWorkspaceId"
        )
        if ws:
            cluster["omsAgent"] = {
                "logAnalyticsWorkspaceId": ws,
                "msiAuthForMonitoringEnabled": True,
            }
        else:
            ctx.notes.append(
                "Container Insights (omsAgent) is turned on once the Log Analytics "
                "workspace's id is observed"
            )
    out[AKS] = resource(
        ctx,
        "containerservice",
        "KubernetesCluster",
        AKS,
        cluster,
        init_provider={"defaultNodePool": {"nodeCount": k.desired_nodes}},
    )
    # The kubeconfig provider-kubernetes reads (provider-upjet-azure config/containerservice).
    out[AKS]["spec"]["writeConnectionSecretToRef"] = connection_secret_ref(ctx)
    if monitored:
        out |= kubernetes_alerts(ctx, observed)
    public = None
    if https is not None:
        out |= approuting.addon_grant(ctx, observed, AKS, https)
        public = _public_ingress(ctx, observed, https)
    build = None
    if ctx.spec.image is not None:
        out |= _image_pull(ctx, observed, ctx.spec.image)
    if ctx.spec.image is None:
        registry, build = render_build(ctx, observed, AKS)
        out |= registry
        logs = aks_logs(ctx, observed, kbuild.BUILD_NAMESPACE)
        build = dataclasses.replace(build, log=logs)
    app, waiting = None, None
    if config.waiting or not config.empty:
        out |= _app_federation(ctx, observed)
    if config.waiting:
        waiting = f"the app identity's ids ({APP_IDENTITY}) and its Key Vault's URI"
    elif not config.empty:
        launch = launch_json(ctx, config)
        if config.client_id and launch:
            app = AppIdentity(launch, {CLIENT_ID: config.client_id}, {USE: "true"})
    access = ClusterAccess(
        cluster=AKS,
        what="the AKS cluster",
        annotations=aks_annotations(ctx),
        logs=aks_logs(ctx, observed),
        build=build,
        app=app,
        app_waiting=waiting,
        ingress=public,
        # The add-on's NGINX replicas share the nodes (decide/capacity.py sizes them in).
        node_overhead=ingress_controller_share(k.min_nodes) if public else (0.0, 0.0),
    )
    return out | render_cluster_app(ctx, observed, access)


def _public_ingress(
    ctx: RenderContext, observed: Observed, https: approuting.AksHttps
) -> IngressFront:
    """The public service behind the add-on's NGINX (approuting.py): its Ingress waits
    until the add-on may read the certificate (the grant Ready; one that exists is kept),
    and a note names the DNS record the host needs."""
    public = [u for u in ku.units(ctx) if u.public]
    composed = any(ku.components(u)["ingress"] in observed for u in public)
    for unit in public:
        address = approuting.ingress_address(observed, ku.components(unit)["ingress"])
        ctx.notes.append(approuting.https_note(https.host, address))
    if not (composed or is_ready(observed.get(approuting.ADDON_GRANT) or {})):
        ctx.notes.append(
            f"the Ingress waits for {approuting.ADDON_GRANT} Ready (the application routing "
            "add-on's read access to the certificate)"
        )
        return IngressFront(service_annotations={}, manifest=None)

    def manifest(namespace: str, unit: kw.Unit) -> dict[str, Any]:
        return king.ingress(
            namespace=namespace,
            instance=namespace,
            unit=unit,
            ingress_class_name=approuting.INGRESS_CLASS,
            annotations=approuting.ingress_annotations(https),
            host=https.host,
            tls=king.IngressTls((https.host,), approuting.tls_secret_name(unit.name)),
        )

    return IngressFront(service_annotations={}, manifest=manifest)


def _app_federation(ctx: RenderContext, observed: Observed) -> Resources:
    """The app identity's federated credential for the app's ServiceAccount, once the
    cluster's OIDC issuer is observed."""
    issuer = at_provider(observed, AKS).get("oidcIssuerUrl")
    if not isinstance(issuer, str) or not issuer:
        return {}
    return {
        APP_FEDERATION: resource(
            ctx,
            "managedidentity",
            "FederatedIdentityCredential",
            APP_FEDERATION,
            {
                "audience": [AUDIENCE],
                "issuer": issuer,
                "parentIdSelector": select(APP_IDENTITY),
                "subject": f"system:serviceaccount:{app_namespace(ctx)}:{APP_ACCOUNT}",
            },
        )
    }


def _image_pull(ctx: RenderContext, observed: Observed, image: str) -> Resources:
    """AcrPull for the kubelet identity on the platform registry `image` is in, when the
    input names that registry's resource id (`kubelet-image-pull`, once the kubelet's
    object id is observed); otherwise a note of the grant the platform must make."""
    server = image.split("/", 1)[0].lower()
    registry = ctx.settings.azure.registry(server)
    kubelet = kubelet_object_id(observed, AKS)
    if registry is not None and registry.registry_id:
        if kubelet:
            grant = role_assignment(ctx, IMAGE_PULL, registry.registry_id, "AcrPull", kubelet)
            return {IMAGE_PULL: grant}
        ctx.notes.append(
            f"{IMAGE_PULL} (AcrPull on {server} for the kubelet identity) is composed once "
            "the cluster's kubelet identity is observed"
        )
        return {}
    note = registry_pull_note(image, kubelet)
    if note:
        ctx.notes.append(note)
    return {}


def registry_pull_note(image: str, kubelet: str | None) -> str | None:
    """What the platform must grant before AKS can pull `image` from Azure Container
    Registry (`<name>.azurecr.io/...`), or None for an image from elsewhere.

    The nodes pull with the cluster's kubelet identity, created with the cluster, so no
    grant can exist beforehand, and none is composed: the input names a platform
    registry's login server, not its resource id (a role assignment's scope). `kubelet`
    is the identity's observed object id (None until the cluster is observed).
    """
    server = image.split("/", 1)[0].lower()
    if not server.endswith(".azurecr.io"):
        return None
    who = (
        f"the kubelet identity (object id {kubelet})"
        if kubelet
        else ("the cluster's kubelet identity (its object id is observed once the cluster exists)")
    )
    return (
        f"spec.image is in {server}: {who} needs AcrPull on that registry, and no role "
        "assignment is composed for a registry the deployment does not own; until the "
        "platform grants it (az role assignment create --role AcrPull --assignee-object-id "
        "<kubelet object id> --assignee-principal-type ServicePrincipal --scope <registry "
        "resource id>), the pods cannot pull the image (ImagePullBackOff); with the "
        "registry's resource id in input.azure.containerRegistries[].registryId the grant "
        "is composed"
    )
