"""The application on a composed GKE or AKS cluster, from `spec.image` (pure).

What render/aws/eks_app.py does on EKS, for the other clouds' clusters, with the same
Kubernetes objects (render/kube/workload.py), pod sizes (sizing.py), provider-kubernetes
Objects (objects.py) and rollout watch (rollout.py):

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

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from function.render.aws.eks_app import (
    _ROLLOUT_STATE,
    DEPLOYMENT_ROLLED_OUT,
    OBJECT_KINDS,
    SERVICE_HAS_ADDRESS,
    _components,
    _kept_image,
    units,
)
from function.render.common import RenderContext, Resources
from function.render.kube import workload as kw
from function.render.kube.objects import (
    app_namespace,
    kube_object,
    kubeconfig_secret,
    observed_manifest,
    provider_config,
)
from function.render.kube.rollout import FAILED_IMAGE, Choice, choose
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


def workloads_composed(observed: Observed, cluster: str) -> bool:
    """Whether the workload's Objects may be composed: the cluster is Ready (its connection
    secret is written), or Objects exist already (kept from then on)."""
    if any(str(r.get("kind")) in OBJECT_KINDS for r in observed.values()):
        return True
    body = observed.get(cluster) or {}
    return any(
        isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True"
        for c in (body.get("status") or {}).get("conditions") or []
    )


def render_cluster_app(ctx: RenderContext, observed: Observed, access: ClusterAccess) -> Resources:
    """The ProviderConfig, and once the cluster's credentials exist, the workload."""
    out: Resources = {PROVIDER_CONFIG: provider_config(ctx, PROVIDER_CONFIG, access.identity)}
    if not workloads_composed(observed, access.cluster):
        ctx.notes.append(
            "the application's Kubernetes objects are composed once the cluster's "
            f"credentials are published ({access.what} {access.cluster} Ready)"
        )
        return out
    ns = app_namespace(ctx)
    out["app-namespace"] = kube_object(ctx, "app-namespace", kw.namespace_manifest(ns, ns))
    all_units = units(ctx)
    assert ctx.decision.kubernetes is not None
    size = pod_size(ctx.decision.kubernetes, ctx.analysis.memory_gib, len(all_units))
    entries: list[dict[str, Any]] = []
    for unit in all_units:
        names = _components(unit)
        choice = _choice(ctx, observed, names["deployment"])
        entry: dict[str, Any] = {
            "name": unit.name,
            "state": choice.state,
            "message": choice.message[:500],
        }
        if access.logs:
            entry["logGroup"] = access.logs
        if choice.image:
            entry["image"] = choice.image
        if choice.target:
            entry["targetImage"] = choice.target
        entries.append(entry)
        out |= unit_objects(ctx, unit, names, size, choice, access.annotations(unit))
    if ctx.spec.image is None:
        ctx.notes.append(NO_IMAGE)
    ctx.report.update(report(entries, access.logs))
    return out


def _choice(ctx: RenderContext, observed: Observed, component: str) -> Choice:
    seen = observed_manifest(observed, component)
    kept = _kept_image(observed, component, seen)
    target = ctx.spec.image
    if target is None:
        message = NO_IMAGE + (f"; {kept} keeps running" if kept else "")
        return Choice(kept, "", "waiting-for-build", message)
    choice = choose(
        target,
        seen,
        None,
        needs_build=False,
        deadline_seconds=ctx.settings.workload.progress_deadline_seconds,
    )
    if choice.image is None and kept is not None:
        choice = dataclasses.replace(choice, image=kept)
    return choice


def report(entries: list[dict[str, Any]], logs: str | None) -> dict[str, Any]:
    """status.rollout (the worst service's), status.workloads, status.logs (when known)."""
    order = list(_ROLLOUT_STATE)
    worst = min(entries, key=lambda e: order.index(e["state"]))
    message = f"{worst['name']}: {worst['message']}" if len(entries) > 1 else worst["message"]
    if logs and worst["state"] in ("rolled-back", "rollout-failed"):
        message += f"; application log: {logs}"
    rollout: dict[str, Any] = {"state": _ROLLOUT_STATE[worst["state"]], "message": message[:500]}
    if worst.get("image"):
        rollout["image"] = worst["image"]
    out: dict[str, Any] = {"rollout": rollout, "workloads": entries}
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
    dep = kw.deployment(
        namespace=ns,
        instance=instance,
        unit=unit,
        image=choice.image,
        size=size,
        commit=ctx.commit,
        progress_deadline=ctx.settings.workload.progress_deadline_seconds,
        last_good=choice.last_good,
    )
    if choice.failed_image:
        dep["metadata"].setdefault("annotations", {})[FAILED_IMAGE] = choice.failed_image
    out: Resources = {
        names["deployment"]: kube_object(
            ctx, names["deployment"], dep, readiness=DEPLOYMENT_ROLLED_OUT
        ),
        names["service"]: kube_object(
            ctx,
            names["service"],
            kw.service(
                namespace=ns, instance=instance, unit=unit, tags={}, annotations=annotations
            ),
            readiness=SERVICE_HAS_ADDRESS if unit.public else None,
        ),
        names["autoscaler"]: kube_object(
            ctx,
            names["autoscaler"],
            kw.autoscaler(namespace=ns, instance=instance, unit=unit, size=size),
        ),
    }
    if size.highly_available:
        out[names["disruption-budget"]] = kube_object(
            ctx,
            names["disruption-budget"],
            kw.disruption_budget(namespace=ns, instance=instance, unit=unit),
        )
    return out
