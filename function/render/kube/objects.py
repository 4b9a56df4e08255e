"""provider-kubernetes resources by XR scope: the ProviderConfig for the composed cluster
and the Object that carries one Kubernetes manifest into it.

Legacy (claim-backed, cluster-scoped) XRs compose the cluster-scoped
`kubernetes.crossplane.io` kinds (Object v1alpha2, ProviderConfig v1alpha1); Crossplane v2
namespaced XRs compose the namespaced `kubernetes.m.crossplane.io/v1alpha1` kinds in their
own namespace (schemas: ../shared/crds/kubernetes, provider-kubernetes v1.2.1).

The ProviderConfig reads the kubeconfig from the EKS ClusterAuth's connection secret
(provider-upjet-aws `internal/controller/cluster/eks/clusterauth`: key `kubeconfig`, a
token of the AWS ProviderConfig's identity refreshed every `refreshPeriod`, at most 10 min),
from the GKE Cluster's (provider-upjet-gcp `config/container`: key `kubeconfig`, the
endpoint and CA; GKE issues no client certificate, so `spec.identity` adds a Google
credential) or from the AKS KubernetesCluster's (provider-upjet-azure
`config/containerservice`: key `kubeconfig`, `kube_config_raw`: the cluster user's client
certificate, an administrator on a cluster without Entra ID integration).
An Object's `references[].patchesFrom` is read by provider-kubernetes from the control
plane's own API server (its `localClient`), never from the workload cluster.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from function.render.common import COMPONENT_LABEL, MANAGED_BY, RenderContext, label_value

KUBECONFIG_KEY = "kubeconfig"  # crossplane-runtime ResourceCredentialsSecretKubeconfigKey

# Readiness policies of provider-kubernetes (Object spec.readiness.policy).
SUCCESSFUL_CREATE = "SuccessfulCreate"
DERIVE_FROM_CEL = "DeriveFromCelQuery"


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:8]


def dns_label(text: str, limit: int = 63) -> str:
    """`text` as an RFC 1123 label (lower case, digits, '-', alphanumeric ends)."""
    s = re.sub(r"[^a-z0-9-]+", "-", text.lower())
    s = re.sub("-{2,}", "-", s).strip("-")[:limit].rstrip("-")
    return s or "app"


def provider_config_name(ctx: RenderContext) -> str:
    """The ProviderConfig's name: unique per XR (legacy ProviderConfigs are cluster-wide)."""
    ident = ctx.identity
    h = _digest(ident.uid, "kubernetes")
    return f"scia-{dns_label(ident.deployment_name, 40)}-{h}"


def kubeconfig_secret(ctx: RenderContext) -> dict[str, str]:
    """Where the ClusterAuth writes the kubeconfig: legacy XRs in the platform's namespace
    (tenants never read it), namespaced XRs in their own (a namespaced managed resource can
    only write there; tenants' roles cannot read Secrets: examples/tenancy)."""
    name = f"{provider_config_name(ctx)}-kubeconfig"
    if ctx.identity.namespaced:
        return {"name": name, "namespace": ctx.identity.tenant}
    return {"name": name, "namespace": ctx.settings.workload.credentials_namespace}


def app_namespace(ctx: RenderContext) -> str:
    """The namespace the application runs in inside its own cluster."""
    return dns_label(ctx.identity.deployment_name)


def _metadata(ctx: RenderContext, component: str) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "labels": {
            COMPONENT_LABEL: component,
            "app.kubernetes.io/managed-by": MANAGED_BY,
            "scia.io/tenant": label_value(ctx.identity.tenant),
            "scia.io/deployment": label_value(ctx.identity.deployment_name),
        }
    }
    if ctx.identity.namespaced:
        meta["namespace"] = ctx.identity.tenant
    return meta


def provider_config(
    ctx: RenderContext,
    component: str = "kubernetes-provider-config",
    identity: dict[str, Any] | None = None,
) -> Any:
    """The provider-kubernetes ProviderConfig for the composed cluster (named, not generated:
    every Object names it). `identity`: its `spec.identity`, the cloud credentials that
    authenticate to the cluster when the kubeconfig carries none (GKE)."""
    secret = kubeconfig_secret(ctx)
    meta = _metadata(ctx, component)
    meta["name"] = provider_config_name(ctx)
    group = "kubernetes.m.crossplane.io" if ctx.identity.namespaced else "kubernetes.crossplane.io"
    spec: dict[str, Any] = {
        "credentials": {
            "source": "Secret",
            "secretRef": {**secret, "key": KUBECONFIG_KEY},
        }
    }
    if identity is not None:
        spec["identity"] = identity
    return {
        "apiVersion": f"{group}/v1alpha1",
        "kind": "ProviderConfig",
        "metadata": meta,
        "spec": spec,
    }


def kube_object(
    ctx: RenderContext,
    component: str,
    manifest: dict[str, Any],
    *,
    readiness: str | None = None,
    references: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A provider-kubernetes Object applying `manifest` to the composed cluster.

    `readiness`: a CEL query over the observed object (`object`), for policy
    DeriveFromCelQuery; None is SuccessfulCreate (Ready once applied).
    """
    spec: dict[str, Any] = {"forProvider": {"manifest": manifest}}
    if readiness is None:
        spec["readiness"] = {"policy": SUCCESSFUL_CREATE}
    else:
        spec["readiness"] = {"policy": DERIVE_FROM_CEL, "celQuery": readiness}
    if references:
        spec["references"] = references
    if ctx.identity.namespaced:
        spec["providerConfigRef"] = {"kind": "ProviderConfig", "name": provider_config_name(ctx)}
        api = "kubernetes.m.crossplane.io/v1alpha1"
    else:
        spec["providerConfigRef"] = {"name": provider_config_name(ctx)}
        api = "kubernetes.crossplane.io/v1alpha2"
    return {
        "apiVersion": api,
        "kind": "Object",
        "metadata": _metadata(ctx, component),
        "spec": spec,
    }


def observed_manifest(observed: dict[str, dict[str, Any]], component: str) -> dict[str, Any]:
    """The object provider-kubernetes last read from the cluster (status.atProvider.manifest)."""
    at = ((observed.get(component) or {}).get("status") or {}).get("atProvider") or {}
    m = at.get("manifest") if isinstance(at, dict) else None
    return m if isinstance(m, dict) else {}
