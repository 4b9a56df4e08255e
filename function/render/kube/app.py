"""The application on a composed GKE or AKS cluster: built, rolled out, rolled back (pure).

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
  load balancer with the cloud's annotations, or ClusterIP behind an Ingress when the
  cloud's renderer gives an `IngressFront`: GKE under require-https), a
  HorizontalPodAutoscaler, and a PodDisruptionBudget when highly available;
- the image: `spec.image`, or, without one, the image built from the repository at the
  pinned commit by a BuildKit Job per service (render/kube/build.py) through the cloud's
  `BuildRoute` (render/gcp/build.py: Artifact Registry with Workload Identity;
  render/azure/build.py: Azure Container Registry with workload identity). The Deployment
  takes the built image only once its Job is observed `Complete`, keeps what it runs
  while a build runs or after one failed, and a new image that does not progress is
  rolled back by itself (rollout.py), exactly as on EKS. A private repository is built
  where the cloud's route reads its token (`BuildRoute.git_token_secret`: GKE's Secret
  Manager copy, AKS's Key Vault copy).

Fills `ctx.report` like eks_app.py: status.rollout (the worst service's), status.workloads
(every service), status.build (with builds), status.logs when the cluster's container logs
have a known place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from function.render.common import RenderContext, Resources
from function.render.kube import build as kbuild
from function.render.kube import ingress as ki
from function.render.kube import units as ku
from function.render.kube import workload as kw
from function.render.kube.objects import (
    app_namespace,
    kube_object,
    kubeconfig_secret,
    observed_manifest,
    provider_config,
)
from function.render.kube.recipe import Unbuildable, build_name, build_spec
from function.render.kube.rollout import Choice, job_state
from function.render.kube.sizing import PodSize, pod_size

Observed = dict[str, dict[str, Any]]

PROVIDER_CONFIG = "kubernetes-provider-config"
APP_ACCOUNT = "scia-app"  # the app's ServiceAccount when it has configuration to read
LAUNCH_ENV = "SCIA_LAUNCH_CONFIG"
NO_IMAGE = "no image: set spec.image to run one"


@dataclass(frozen=True)
class BuildRoute:
    """How images are built from the repository on this cluster (spec.image empty): the
    cloud's registry and push identity (composed by the cloud's renderer), and what the
    build Job needs of them. `problem`: why builds cannot run here (the fields to set);
    `registry_url`: the repository images are pushed to, once observed."""

    registry_url: str | None
    waiting_for: str  # what the build waits for while registry_url is None
    login: Callable[[kbuild.BuildSpec], kbuild.Login]
    account: str = kbuild.BUILDER_ACCOUNT
    account_annotations: dict[str, str] = field(default_factory=dict)
    pod_labels: dict[str, str] = field(default_factory=dict)
    log: str | None = None  # where the build pods' logs are
    problem: str | None = None
    # A private repository: where the build pod reads its token (the cloud's secret id),
    # or None when this cloud cannot read one (the build is then refused with a note).
    git_token_secret: str | None = None


@dataclass(frozen=True)
class AppIdentity:
    """How the app's pods read their configuration: the launcher's configuration (names,
    ids and versions, never a value; it goes in `SCIA_LAUNCH_CONFIG`), and the cloud's
    annotations on the ServiceAccount `account` they run as and labels on the pods
    (AKS workload identity's client id and `azure.workload.identity/use`; none on GKE,
    whose Workload Identity grants the account's principal itself, and whose account
    name is unique per deployment: render/gcp/secrets.py `gke_account`)."""

    launch: str
    account_annotations: dict[str, str] = field(default_factory=dict)
    pod_labels: dict[str, str] = field(default_factory=dict)
    account: str = APP_ACCOUNT


@dataclass(frozen=True)
class IngressFront:
    """The public service reached through an Ingress instead of a load-balancer Service
    (require-https where the cloud terminates TLS at an Ingress: GKE). The public Service
    is then ClusterIP with `service_annotations` (workload.service `behind_ingress`), and
    `manifest(namespace, unit)` is its Ingress (render/kube/ingress.py), Ready once the
    controller published an address (`ingress.INGRESS_HAS_ADDRESS`). `manifest` None: the
    Ingress waits for what it names (the cloud's renderer notes what)."""

    service_annotations: dict[str, str]
    manifest: Callable[[str, kw.Unit], dict[str, Any]] | None


@dataclass(frozen=True)
class ClusterAccess:
    """How the workload reaches a composed cluster, and what the cloud adds to it."""

    cluster: str  # composition-resource name of the cluster (it writes the kubeconfig)
    what: str  # "the GKE cluster", for results
    annotations: Callable[[kw.Unit], dict[str, str]]  # a public Service's, per cloud
    identity: dict[str, Any] | None = None  # the ProviderConfig's spec.identity
    logs: str | None = None  # where the containers' logs can be read, when known
    build: BuildRoute | None = None  # builds from the repository (None: spec.image only)
    app: AppIdentity | None = None  # the app's configuration and identity (None: none)
    app_waiting: str | None = None  # what a first workload waits for (its identity)
    ingress: IngressFront | None = None  # the public service behind an Ingress (None: a LB)
    # (vCPU, GiB) the cluster's own ingress controller requests on each node (AKS's NGINX)
    node_overhead: tuple[float, float] = (0.0, 0.0)


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
    if access.app_waiting and "app-namespace" not in observed:
        ctx.notes.append(f"the application's Kubernetes objects wait for {access.app_waiting}")
        return out
    ns = app_namespace(ctx)
    out["app-namespace"] = kube_object(ctx, "app-namespace", kw.namespace_manifest(ns, ns))
    route = _route(ctx, access)
    if route is not None:
        out |= {
            "build-namespace": kube_object(ctx, "build-namespace", kbuild.build_namespace()),
            "builder-account": kube_object(
                ctx,
                "builder-account",
                kbuild.builder_account(route.account, route.account_annotations),
            ),
        }
    all_units = ku.units(ctx)
    if access.app is not None:
        app = access.app
        account = kw.service_account(ns, app.account, app.account_annotations)
        out["app-account"] = kube_object(ctx, "app-account", account)
        launch = [{"name": LAUNCH_ENV, "value": app.launch}]
        all_units = [
            dataclasses.replace(
                u, env=[*u.env, *launch], service_account=app.account, pod_labels=app.pod_labels
            )
            for u in all_units
        ]
    assert ctx.decision.kubernetes is not None
    size = pod_size(
        ctx.decision.kubernetes, ctx.analysis.memory_gib, len(all_units), access.node_overhead
    )
    entries: list[dict[str, Any]] = []
    for index, unit in enumerate(all_units):
        names = ku.components(unit)
        target, build_seen, note = ctx.spec.image, None, None
        cannot_build = False
        job_name = build_name(ctx.commit, unit)
        if ctx.spec.image is None:
            built = _build(ctx, access, route, unit, index, len(all_units) == 1)
            if isinstance(built, Unbuildable):
                note, cannot_build = built.note, True
            elif isinstance(built, str):
                note = built
            else:
                target, objects = built
                out |= objects
                build_seen = observed_manifest(observed, job_name)
        if note:
            ctx.notes.append(note)
        dep = names["deployment"]
        kept = ku.kept_image(observed, dep, observed_manifest(observed, dep))
        waiting = (note or NO_IMAGE) + (f"; {kept} keeps running" if kept else "")
        choice = ku.choose_image(
            ctx, observed, dep, target, build_seen, waiting, unbuildable=cannot_build
        )
        entry = ku.entry(unit, choice, access.logs)
        if build_seen is not None and route is not None:
            log = route.log or "the build pod's log"
            entry["buildLog"] = f"{log}, pod of job {kbuild.BUILD_NAMESPACE}/{job_name}"
            entry["_job"] = job_state(build_seen)[0]
            entry["_jobName"] = job_name
        entries.append(entry)
        out |= unit_objects(
            ctx, unit, names, size, choice, access.annotations(unit), access.ingress
        )
    ctx.report.update(report(ctx, entries, access.logs, route))
    return out


def _route(ctx: RenderContext, access: ClusterAccess) -> BuildRoute | None:
    """The build route when this render builds (spec.image empty, the cloud can build)."""
    if ctx.spec.image is not None or access.build is None or access.build.problem:
        return None
    return access.build


def _private_repository(ctx: RenderContext) -> bool:
    b = ctx.settings.build
    return b.repository_credentials_secret_ref is not None or bool(b.git_token_secret_arn)


def _build(
    ctx: RenderContext,
    access: ClusterAccess,
    route: BuildRoute | None,
    unit: kw.Unit,
    index: int,
    single: bool,
) -> tuple[str, Resources] | Unbuildable | str:
    """One service's build Job (and generated Dockerfile), with the image it pushes; or why
    it can never be built from this pin (`Unbuildable`), or why there is none yet (a note
    naming what to set or what is awaited)."""
    if access.build is None:
        return f"{unit.name}: {NO_IMAGE}"
    if route is None:
        return f"{unit.name}: no image: {access.build.problem}"
    private = _private_repository(ctx)
    if private and route.git_token_secret is None:
        return (
            f"{unit.name}: no image: a private repository's token for a GKE or AKS build "
            "comes from input build.repositoryCredentialsSecretRef (build.gitTokenSecretArn "
            "serves EKS only); set it, or set spec.image"
        )
    if route.registry_url is None:
        return f"{unit.name}: the build waits for {route.waiting_for}"
    token = route.git_token_secret if private else None
    spec = build_spec(ctx, unit, index, route.registry_url, single, token)
    if isinstance(spec, Unbuildable):
        return spec
    objects: Resources = {}
    if spec.dockerfile is not None or spec.wrapper is not None:
        objects[f"{spec.name}-dockerfile"] = kube_object(
            ctx, f"{spec.name}-dockerfile", kbuild.config_map(spec)
        )
    job = kbuild.job(
        spec,
        builder_image=ctx.settings.workload.builder_image,
        cli_image="",
        login=route.login(spec),
        account=route.account,
        pod_labels=route.pod_labels,
    )
    objects[spec.name] = kube_object(ctx, spec.name, job, readiness=kbuild.JOB_COMPLETE)
    return spec.image, objects


def report(
    ctx: RenderContext,
    entries: list[dict[str, Any]],
    logs: str | None,
    route: BuildRoute | None,
) -> dict[str, Any]:
    """status.rollout (the worst service's), status.workloads, status.logs (when known),
    status.build (when this render builds)."""
    out: dict[str, Any] = {
        "rollout": ku.rollout_status(entries, logs),
        "workloads": ku.public_entries(entries),
    }
    if logs:
        out["logs"] = {"application": logs}
    if route is not None:
        if route.log:
            out.setdefault("logs", {})["build"] = route.log
        log = route.log or "the build pod's log"
        build = ku.build_status(entries, ctx.commit, log, f"{kbuild.BUILD_NAMESPACE}/")
        if build is not None:
            out["build"] = build
    return out


def unit_objects(
    ctx: RenderContext,
    unit: kw.Unit,
    names: dict[str, str],
    size: PodSize,
    choice: Choice,
    annotations: dict[str, str],
    front: IngressFront | None = None,
) -> Resources:
    """One service's Objects: nothing before it has an image to run. With `front` the
    public service is a ClusterIP Service behind its Ingress (composed once `front` has
    its manifest)."""
    if choice.image is None:
        return {}
    ns = instance = app_namespace(ctx)
    if unit.public and front is not None:
        service = {
            names["service"]: kube_object(
                ctx,
                names["service"],
                kw.service(
                    namespace=ns,
                    instance=instance,
                    unit=unit,
                    tags={},
                    annotations=front.service_annotations,
                    behind_ingress=True,
                ),
            )
        }
        if front.manifest is not None:
            service[names["ingress"]] = kube_object(
                ctx,
                names["ingress"],
                front.manifest(ns, unit),
                readiness=ki.INGRESS_HAS_ADDRESS,
            )
        return ku.run_objects(ctx, unit, names, size, choice, service)
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
