"""kubernetes on GCP: a regional GKE Standard cluster with one node pool.

The cluster's control plane is regional (highly available); its default node pool is
removed and a node pool of the decided machine type runs in the zones of the function
input (`gcp.zones`, two by default, like AWS's two availability zones; one for a single
node), autoscaled between the decision's total minimum and maximum. GKE counts initial
nodes per zone: an odd number of nodes over two zones starts with one more. Pods and
services get the subnetwork's secondary ranges (VPC-native).

The application runs on the cluster as on EKS (render/kube/app.py): the cluster writes its
connection secret (key `kubeconfig`: endpoint and CA), a provider-kubernetes ProviderConfig
reads it with a Google credential (`identity`: GKE issues no client certificate), and the
same Deployment, Service, HorizontalPodAutoscaler and PodDisruptionBudget Objects follow.
The public Service is a backend service-based external passthrough Network Load Balancer
(`cloud.google.com/l4-rbs`); the containers' logs are in Cloud Logging (GKE's default
system and workload logging).

`require-https` (`gke_https`): the public entry point is a GKE Ingress instead, which GKE's
Ingress controller (the HttpLoadBalancing add-on, on by default and never disabled here)
turns into a global external Application Load Balancer terminating TLS:

- composed here: a global static IPv4 address (`ingress-address`, compute GlobalAddress)
  and a Google-managed certificate for <deployment>.<tenant>.<domain>
  (`ingress-certificate`, compute ManagedSSLCertificate; `input.policy.https.domain`), as
  on a GCP vm (render/gcp/vm.py);
- in the cluster: the public Service is ClusterIP with container-native load balancing
  (`cloud.google.com/neg: {"ingress": true}`: network endpoint groups of the pods, which
  needs this VPC-native cluster), and an Ingress (render/kube/ingress.py) of class `gce`
  (the `kubernetes.io/ingress.class` annotation: GKE's controller ignores
  `spec.ingressClassName`) for the certificate's host, naming the address
  (`kubernetes.io/ingress.global-static-ip-name`) and the certificate
  (`ingress.gcp.kubernetes.io/pre-shared-cert`) by their GCP names, with
  `kubernetes.io/ingress.allow-http: "false"`: no plain-HTTP endpoint at all (a redirect
  would need a FrontendConfig, a GKE CRD that is not among the schemas this product
  validates against, ../shared/crds). The Ingress is composed once the address is
  reserved and the certificate exists, and is Ready once the controller published its
  address;
- the load balancer's health check is the pods' readiness probe (an HTTP GET of the
  decision's health path on the container port the Service targets: GKE derives it from
  such a probe when it creates the backend service), and the controller opens its own
  firewall rule from Google's load-balancer ranges to the pods; nothing composed here
  blocks it (no deny rule is composed; render/gcp/network.py);
- status: the endpoint is https://<host>, and the deployment stays Provisioning until
  Google issued the certificate, which needs the DNS A record <host> -> the address
  (`https_report`, shared with the vm).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from function.clouds import node_disk_gb
from function.policy.admission import certificate_domain
from function.render.common import RenderContext, Resources, UnsupportedTarget, select
from function.render.gcp.build import render_build, workload_pool
from function.render.gcp.common import Observed, at_provider, labels, self_link, waiting
from function.render.gcp.monitoring import kubernetes_alerts
from function.render.gcp.network import GcpNetworkRefs
from function.render.gcp.nodes import NODE_POOL, node_identity
from function.render.gcp.secrets import GcpConfig, gke_account, launch_json
from function.render.gcp.vm import ENABLE_MONITORING, REQUIRE_HTTPS, https_report, zones
from function.render.kube import build as kbuild
from function.render.kube import ingress as ki
from function.render.kube import workload as kw
from function.render.kube.app import (
    AppIdentity,
    ClusterAccess,
    IngressFront,
    connection_secret_ref,
    render_cluster_app,
)
from function.render.kube.objects import app_namespace
from function.render.names import gcp_external_name

GKE = "gke-cluster"
# A LoadBalancer Service on GKE as a backend service-based external passthrough Network Load
# Balancer (GKE docs "Backend service-based external passthrough Network Load Balancer").
L4_RBS = "cloud.google.com/l4-rbs"
GOOGLE_CREDENTIALS = "GoogleApplicationCredentials"
# GKE Ingress (GKE docs "Configuring Ingress for external Application Load Balancers",
# "Container-native load balancing through Ingress"): the controller's class, the static
# address and pre-shared certificate it attaches by name, no HTTP forwarding rule, and the
# Service annotation for network endpoint groups.
GCE_CLASS = "gce"
STATIC_IP = "kubernetes.io/ingress.global-static-ip-name"
PRE_SHARED_CERT = "ingress.gcp.kubernetes.io/pre-shared-cert"
ALLOW_HTTP = "kubernetes.io/ingress.allow-http"
NEG = "cloud.google.com/neg"
NEG_INGRESS = '{"ingress": true}'
# Not the vm's `lb-address`/`certificate`: a vm replaced by GKE keeps serving on its own
# address until the GKE deployment is Ready (function/keep.py).
ADDRESS = "ingress-address"
CERTIFICATE = "ingress-certificate"


def gke_annotations(unit: kw.Unit) -> dict[str, str]:
    """The public Service's annotations on GKE (its health checks are GKE's own: the
    nodes' kube-proxy health port; the pods' readiness probes gate the endpoints)."""
    return {L4_RBS: "enabled"}


def gke_identity(ctx: RenderContext) -> dict[str, Any]:
    """provider-kubernetes' `spec.identity` for the cluster: the tenant's CloudProvider
    key when there is one, else the input's `workload.gkeIdentity`."""
    if ctx.tenant_credentials:
        return {"type": GOOGLE_CREDENTIALS, "source": "Secret",
                "secretRef": dict(ctx.tenant_credentials)}  # fmt: skip
    ident = ctx.settings.workload.gke_identity
    if ident.source == "InjectedIdentity":
        return {"type": GOOGLE_CREDENTIALS, "source": "InjectedIdentity"}
    assert ident.secret_name is not None  # the input's validator
    namespace = ctx.identity.tenant if ctx.identity.namespaced else ident.secret_namespace
    return {
        "type": GOOGLE_CREDENTIALS,
        "source": "Secret",
        "secretRef": {"namespace": namespace, "name": ident.secret_name, "key": ident.secret_key},
    }


def _gcp_name(ctx: RenderContext, kind: str, component: str, observed: Observed) -> str:
    ident = ctx.identity
    return gcp_external_name(
        kind,
        component,
        observed,
        tenant=ident.tenant,
        deployment=ident.deployment_name,
        uid=ident.uid,
    )


def gke_https(ctx: RenderContext, observed: Observed) -> tuple[Resources, IngressFront]:
    """require-https on GKE: the global address and the Google-managed certificate, the
    report (`https_report`: endpoint https://<host>, Provisioning until issued), and the
    public service's Ingress front (its manifest once both are observed).

    Raises UnsupportedTarget without `input.policy.https.domain` (admission and the
    decision refuse it first; policy/https.py)."""
    domain = ctx.policy.https.domain
    if domain is None:
        raise UnsupportedTarget(
            "spec.policies: require-https on gcp needs input policy.https.domain (a "
            "Google-managed certificate is composed for <deployment>.<tenant>.<domain>)"
        )
    host = certificate_domain(ctx.identity, domain)
    out: Resources = {
        ADDRESS: ctx.resource(
            "compute",
            "GlobalAddress",
            ADDRESS,
            {
                "addressType": "EXTERNAL",
                "ipVersion": "IPV4",
                "labels": labels(ctx),
                "description": f"HTTPS address of {ctx.who} (GKE Ingress)",
            },
        ),
        CERTIFICATE: ctx.resource(
            "compute",
            "ManagedSSLCertificate",
            CERTIFICATE,
            {
                "type": "MANAGED",
                "managed": {"domains": [host]},
                "description": f"certificate of {ctx.who}",
            },
        ),
    }
    ctx.report["https"] = https_report(host, observed, ADDRESS, CERTIFICATE)
    if not ctx.report["https"]["issued"]:
        ctx.notes.append(ctx.report["https"]["message"])
    front = IngressFront(service_annotations={NEG: NEG_INGRESS}, manifest=None)
    if not (at_provider(observed, ADDRESS, "address") and self_link(observed, CERTIFICATE)):
        waiting(
            ctx,
            "the Ingress",
            f"{ADDRESS}'s status.atProvider.address and {CERTIFICATE}'s status.atProvider.selfLink",
        )
        return out, front
    annotations = {
        STATIC_IP: _gcp_name(ctx, "GlobalAddress", ADDRESS, observed),
        PRE_SHARED_CERT: _gcp_name(ctx, "ManagedSSLCertificate", CERTIFICATE, observed),
        ALLOW_HTTP: "false",
    }

    def manifest(namespace: str, unit: kw.Unit) -> dict[str, Any]:
        return ki.ingress(
            namespace=namespace,
            instance=namespace,
            unit=unit,
            class_annotation=GCE_CLASS,
            annotations=annotations,
            host=host,
        )

    return out, dataclasses.replace(front, manifest=manifest)


def gke_logs(ctx: RenderContext, observed: Observed) -> str:
    """Where the app's container logs are: a Cloud Logging query."""
    cluster = gcp_external_name(
        "Cluster",
        GKE,
        observed,
        tenant=ctx.identity.tenant,
        deployment=ctx.identity.deployment_name,
        uid=ctx.identity.uid,
    )
    return (
        f'Cloud Logging: resource.type="k8s_container" resource.labels.cluster_name="{cluster}" '
        f'resource.labels.namespace_name="{app_namespace(ctx)}"'
    )


def gke_build_logs(ctx: RenderContext, observed: Observed) -> str:
    """Where the build pods' logs are: a Cloud Logging query of the build namespace."""
    app = gke_logs(ctx, observed)
    return app.replace(f'"{app_namespace(ctx)}"', f'"{kbuild.BUILD_NAMESPACE}"')


def render_gcp_kubernetes(
    ctx: RenderContext,
    refs: GcpNetworkRefs,
    observed: Observed,
    config: GcpConfig | None = None,
) -> Resources:
    """The cluster, its node pool, the build route and the workload. With `config`
    (render/gcp/secrets.py, composed for the app's Kubernetes ServiceAccount's principal),
    the pods run as that account (`gke_account`) and carry SCIA_LAUNCH_CONFIG (ids and
    versions, never a value): the launcher in the image reads Secret Manager with the
    account's federated token from the GKE metadata server, as EKS pods read Secrets
    Manager with Pod Identity. No Kubernetes Secret anywhere."""
    d = ctx.decision
    assert d.kubernetes is not None, "kubernetes decision without kubernetes parameters"
    k = d.kubernetes
    lab = labels(ctx)
    # A pool of one node lives in one zone (a node count is per zone on GKE).
    zs = zones(ctx)[: max(1, min(len(zones(ctx)), k.desired_nodes))]
    nodes = node_identity(ctx, observed)
    out: Resources = {
        "gke-cluster": ctx.resource(
            "container",
            "Cluster",
            "gke-cluster",
            {
                "location": ctx.region,
                **refs.network,
                **refs.subnetwork,
                "networkingMode": "VPC_NATIVE",
                "ipAllocationPolicy": {
                    "clusterSecondaryRangeName": refs.pods_range,
                    "servicesSecondaryRangeName": refs.services_range,
                },
                "removeDefaultNodePool": True,
                "initialNodeCount": 1,
                "minMasterVersion": k.kubernetes_version,
                "releaseChannel": {"channel": "REGULAR"},
                "deletionProtection": False,
                "resourceLabels": lab,
                "description": f"cluster of {ctx.who}",
            },
        ),
        "node-pool": ctx.resource(
            "container",
            "NodePool",
            "node-pool",
            {
                "location": ctx.region,
                "clusterSelector": select("gke-cluster"),
                "nodeLocations": zs,
                "autoscaling": {
                    "totalMinNodeCount": k.min_nodes,
                    "totalMaxNodeCount": k.max_nodes,
                    "locationPolicy": "BALANCED",
                },
                "management": {"autoRepair": True, "autoUpgrade": True},
                "nodeConfig": {
                    "machineType": k.node_instance_type,
                    "diskSizeGb": node_disk_gb("gcp", k.disk_gb),
                    "diskType": "pd-balanced",
                    "imageType": "COS_CONTAINERD",
                    "oauthScopes": ["https://www.googleapis.com/auth/cloud-platform"],
                    "resourceLabels": lab,
                    "shieldedInstanceConfig": {
                        "enableSecureBoot": True,
                        "enableIntegrityMonitoring": True,
                    },
                    "metadata": {"disable-legacy-endpoints": "true"},
                },
            },
            # Per zone, set once at creation; the autoscaler owns the size afterwards.
            init_provider={"initialNodeCount": math.ceil(k.desired_nodes / len(zs))},
        ),
    }
    if nodes.email is not None:
        out[NODE_POOL]["spec"]["forProvider"]["nodeConfig"]["serviceAccount"] = nodes.email
    if not nodes.ready:
        del out[NODE_POOL]  # never observed (node_identity): composed once its account is
    out |= nodes.resources
    # The kubeconfig provider-kubernetes reads (provider-upjet-gcp config/container).
    out[GKE]["spec"]["writeConnectionSecretToRef"] = connection_secret_ref(ctx)
    pool = workload_pool(ctx)
    if pool:
        # Workload Identity Federation for GKE (the builds' push identity, build.py): the
        # project's pool, and the GKE metadata server on the nodes.
        out[GKE]["spec"]["forProvider"]["workloadIdentityConfig"] = {"workloadPool": pool}
        if NODE_POOL in out:
            node_config = out[NODE_POOL]["spec"]["forProvider"]["nodeConfig"]
            node_config["workloadMetadataConfig"] = {"mode": "GKE_METADATA"}
    build = None
    if ctx.spec.image is None:
        registry, build = render_build(ctx, observed, nodes.member)
        out |= registry
    if ctx.has_policy(ENABLE_MONITORING):
        out |= kubernetes_alerts(ctx, observed)
    front = None
    if ctx.has_policy(REQUIRE_HTTPS):
        https, front = gke_https(ctx, observed)
        out |= https
    app = None
    launch = launch_json(ctx, config) if config is not None else None
    if launch:
        app = AppIdentity(launch, account=gke_account(ctx))
    access = ClusterAccess(
        cluster=GKE,
        what="the GKE cluster",
        annotations=gke_annotations,
        identity=gke_identity(ctx),
        logs=gke_logs(ctx, observed),
        build=build
        if build is None
        else dataclasses.replace(build, log=gke_build_logs(ctx, observed)),
        app=app,
        ingress=front,
    )
    return out | render_cluster_app(ctx, observed, access)
