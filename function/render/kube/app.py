"""The application on a composed GKE or AKS cluster, from `spec.image` (pure).

What render/aws/eks_app.py does on EKS, for the other clouds' clusters, with the same
Kubernetes objects (render/kube/workload.py), pod sizes (sizing.py), provider-kubernetes
Objects (objects.py), rollout watch (rollout.py) and per-service helpers (units.py):

- access: the cluster managed resource writes its connection secret (key `kubeconfig`) to
  `objects.kubeconfig_secret` (`connection_secret_ref`), and a provider-kubernetes
  ProviderConfig reads it, with the cloud's `identity` when the kubeconfig carries no
  credential of its own (GKE);
- the workload, once the cluster is Ready (its connection secret is written) or Objects
  exist already (kept from then on, so nothing leaves the desired set by accident): the
  app's namespace, and per service a Deployment, a Service (the primary one public, a
  load balancer with the cloud's annotations), a HorizontalPodAutoscaler, and a
  PodDisruptionBudget when highly available;
- the image is `spec.image`: a new image rolls out and is rolled back by itself when it
  does not progress (rollout.py), exactly as on EKS. Images are built from the repository
  on EKS only: without `spec.image` no Deployment is composed and status.rollout says why.

Fills `ctx.report` like eks_app.py: status.rollout (the worst service's), status.workloads
(every service), status.logs when the cluster's container logs have a known place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from function.render.common import RenderContext, Resources
from function.render.kube import units as ku
from function.render.kube import workload as kw
from function.render.kube.objects import (
    app_namespace,
    kube_object,
    kubeconfig_secret,
    observed_manifest,
    provider_config,
)
from function.render.kube.rollout import Choice
from function.render.kube.sizing import PodSize, pod_size

Observed = dict[str, dict[str, Any]]

PROVIDER_CONFIG = "kubernetes-provider-config"
NO_IMAGE = (
    "no image: images are built from the repository on EKS only so far; set spec.image to run one"
)


@dataclass(frozen=True)
class ClusterAccess:
    """How the workload reaches a composed cluster, and what the cloud adds to it."""

    cluster: str  # composition-resource name of the cluster (it writes the kubeconfig)
    what: str  # "the GKE cluster", for results
    annotations: Callable[[kw.Unit], dict[str, str]]  # a public Service's, per cloud
    identity: dict[str, Any] | None = None  # the ProviderConfig's spec.identity
    logs: str | None = None  # where the containers' logs can be read, when known


def connection_secret_ref(ctx: RenderContext) -> dict[str, str]:
    """The cluster's `writeConnectionSecretToRef`: where the ProviderConfig reads the
    kubeconfig (a namespaced managed resource writes in its own namespace only)."""
    secret = kubeconfig_secret(ctx)
    return {"name": secret["name"]} if ctx.identity.namespaced else dict(secret)


def render_cluster_app(ctx: RenderContext, observed: Observed, access: ClusterAccess) -> Resources:
    """The ProviderConfig, and once the cluster's credentials exist, the workload."""
    out: Resources = {PROVIDER_CONFIG: provider_config(ctx, PROVIDER_CONFIG, access.identity)}
    if not ku.workloads_composed(observed, access.cluster):
        ctx.notes.append(
            "the application's Kubernetes objects are composed once the cluster's "
            f"credentials are published ({access.what} {access.cluster} Ready)"
        )
        return out
    ns = app_namespace(ctx)
    out["app-namespace"] = kube_object(ctx, "app-namespace", kw.namespace_manifest(ns, ns))
    all_units = ku.units(ctx)
    assert ctx.decision.kubernetes is not None
    size = pod_size(ctx.decision.kubernetes, ctx.analysis.memory_gib, len(all_units))
    entries: list[dict[str, Any]] = []
    for unit in all_units:
        names = ku.components(unit)
        choice = _choice(ctx, observed, names["deployment"])
        entries.append(ku.entry(unit, choice, access.logs))
        out |= unit_objects(ctx, unit, names, size, choice, access.annotations(unit))
    if ctx.spec.image is None:
        ctx.notes.append(NO_IMAGE)
    ctx.report.update(report(entries, access.logs))
    return out


def _choice(ctx: RenderContext, observed: Observed, component: str) -> Choice:
    kept = ku.kept_image(observed, component, observed_manifest(observed, component))
    waiting = NO_IMAGE + (f"; {kept} keeps running" if kept else "")
    return ku.choose_image(ctx, observed, component, ctx.spec.image, None, waiting)


def report(entries: list[dict[str, Any]], logs: str | None) -> dict[str, Any]:
    """status.rollout (the worst service's), status.workloads, status.logs (when known)."""
    out: dict[str, Any] = {"rollout": ku.rollout_status(entries, logs), "workloads": entries}
    if logs:
        out["logs"] = {"application": logs}
    return out


def unit_objects(
    ctx: RenderContext,
    unit: kw.Unit,
    names: dict[str, str],
    size: PodSize,
    choice: Choice,
    annotations: dict[str, str],
) -> Resources:
    """One service's Objects: nothing before it has an image to run."""
    if choice.image is None:
        return {}
    ns = instance = app_namespace(ctx)
    service = {
        names["service"]: kube_object(
            ctx,
            names["service"],
            kw.service(
                namespace=ns, instance=instance, unit=unit, tags={}, annotations=annotations
            ),
            readiness=ku.SERVICE_HAS_ADDRESS if unit.public else None,
        )
    }
    return ku.run_objects(ctx, unit, names, size, choice, service)
