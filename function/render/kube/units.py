"""What every cluster's workload shares, whatever the cloud (pure).

EKS (render/aws/eks_app.py) and GKE/AKS (render/kube/app.py) run the same services the
same way; this module is the one place for:

- the services that run (`units`: the monorepo's services, or the one the decision
  describes) and their composition-resource names (`components`);
- when the workload's Objects may be composed (`workloads_composed`);
- the image a service keeps running while nothing newer can roll out (`kept_image`);
- a service's Deployment, autoscaler and disruption budget Objects (`run_objects`) and
  the readiness of its Deployment and public Service (`DEPLOYMENT_ROLLED_OUT`,
  `SERVICE_HAS_ADDRESS`);
- a service's status entry (`entry`) and the deployment's status.rollout/status.build from
  every service's entry (`rollout_status`, `build_status`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from function.messages import compact_images
from function.render.common import RenderContext, Resources
from function.render.immutable import whole
from function.render.kube import workload as kw
from function.render.kube.objects import app_namespace, dns_label, kube_object, observed_manifest
from function.render.kube.rollout import FAILED_IMAGE, Choice, choose, running_image
from function.render.kube.sizing import PodSize

Observed = dict[str, dict[str, Any]]
MESSAGE_LIMIT = 500  # status messages (the XR's status.message is cut there too)

OBJECT_KINDS = ("Object",)

# The readiness of a Deployment Object: the controller has seen the latest spec and every
# replica runs it and is available (what `kubectl rollout status` waits for).
DEPLOYMENT_ROLLED_OUT = (
    "object.?status.?observedGeneration.orValue(0) >= object.metadata.generation && "
    "object.?status.?updatedReplicas.orValue(0) >= object.?spec.?replicas.orValue(1) && "
    "object.?status.?availableReplicas.orValue(0) >= object.?spec.?replicas.orValue(1) && "
    "object.?status.?replicas.orValue(0) <= object.?status.?updatedReplicas.orValue(0)"
)
# A public Service is Ready once its load balancer has an address.
SERVICE_HAS_ADDRESS = "object.?status.?loadBalancer.?ingress.orValue([]).size() > 0"

# Per-service states (render/kube/rollout.py) as the rollout states of status.rollout
# (function/workload.py), worst first: the deployment reports its worst service.
ROLLOUT_STATE = {
    "build-failed": "BuildFailed",
    "rolled-back": "RolledBack",
    "rollout-failed": "Failed",
    "waiting-for-build": "Building",
    "building": "Building",
    "rolling-out": "RollingOut",
    "serving": "Running",
}
# An observed build Job's state (rollout.job_state) as status.build.state.
BUILD_STATE = {
    "none": "Waiting",
    "running": "Building",
    "complete": "Succeeded",
    "failed": "Failed",
}


def units(ctx: RenderContext) -> list[kw.Unit]:
    """The services that run: the monorepo's services, or the one the decision describes."""
    d = ctx.decision
    services = ctx.analysis.services
    if len(services) <= 1:
        return [
            kw.Unit(
                name=_unit_name(ctx.identity.deployment_name),
                port=d.port,
                health_path=d.health_check_path or "/",
                public=True,
            )
        ]
    out: list[kw.Unit] = []
    seen: set[str] = set()
    for i, s in enumerate(services):
        name = _unit_name(s.name)
        while name in seen:
            name = _unit_name(f"{s.name}-{i}")
        seen.add(name)
        out.append(
            kw.Unit(
                name=name,
                port=s.port or d.port,
                health_path=s.health_check_path or d.health_check_path or "/",
                public=i == 0,
            )
        )
    return out


def _unit_name(text: str) -> str:
    return dns_label(text, 40)


def components(unit: kw.Unit) -> dict[str, str]:
    """A service's composition-resource names: deployment, service, ingress (the public
    service behind an Ingress only), autoscaler, disruption-budget."""
    base = f"k8s-{unit.name}"
    return {
        "deployment": f"{base}-deployment",
        "service": f"{base}-service",
        "ingress": f"{base}-ingress",
        "autoscaler": f"{base}-autoscaler",
        "disruption-budget": f"{base}-disruption-budget",
    }


def workloads_composed(observed: Observed, ready: str) -> bool:
    """Whether the workload's Objects may be composed: the resource that publishes the
    cluster's credentials (`ready`: a ClusterAuth, or the cluster itself) is Ready, or
    Objects exist already (kept from then on, so nothing leaves the desired set when the
    credentials are being refreshed)."""
    if any(str(r.get("kind")) in OBJECT_KINDS for r in observed.values()):
        return True
    body = observed.get(ready) or {}
    return any(
        isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True"
        for c in (body.get("status") or {}).get("conditions") or []
    )


def spec_image(observed: Observed, component: str) -> str | None:
    """The image the observed Object last applied (its spec), when the cluster's copy is not
    observed (status lost): what runs is kept, never dropped."""
    body = observed.get(component)
    if body is None:
        return None
    manifest = ((whole(body).get("spec") or {}).get("forProvider") or {}).get("manifest") or {}
    containers = (((manifest.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
        "containers"
    ) or []
    image = containers[0].get("image") if containers and isinstance(containers[0], dict) else None
    return image if isinstance(image, str) and image else None


def kept_image(observed: Observed, component: str, seen: dict[str, Any]) -> str | None:
    """The image a Deployment keeps while nothing newer may roll out: the one the cluster
    reports running (`seen`, its observed manifest), else the one last applied."""
    return running_image(seen) or spec_image(observed, component)


def choose_image(
    ctx: RenderContext,
    observed: Observed,
    component: str,
    target: str | None,
    build_seen: dict[str, Any] | None,
    waiting: str,
    *,
    unbuildable: bool = False,
) -> Choice:
    """What the Deployment `component` runs (render/kube/rollout.py `choose`): `target`
    once its build (`build_seen`, the observed Job; None: no build) completed, else what it
    keeps running; `waiting` is the message while there is no target at all (`unbuildable`:
    the image can never be built from this pin, a failed build rather than one to wait for;
    what ran before keeps running)."""
    seen = observed_manifest(observed, component)
    kept = kept_image(observed, component, seen)
    if target is None:
        return Choice(kept, "", "build-failed" if unbuildable else "waiting-for-build", waiting)
    choice = choose(
        target,
        seen,
        build_seen,
        needs_build=build_seen is not None,
        deadline_seconds=ctx.settings.workload.progress_deadline_seconds,
    )
    if choice.image is None and kept is not None:
        choice = dataclasses.replace(choice, image=kept)
    return choice


def entry(unit: kw.Unit, choice: Choice, log: str | None) -> dict[str, Any]:
    """A service's status.workloads entry (`log`: where its containers' logs are)."""
    out: dict[str, Any] = {
        "name": unit.name,
        "state": choice.state,
        "message": choice.message[:500],
    }
    if log:
        out["logGroup"] = log
    if choice.image:
        out["image"] = choice.image
    if choice.target:
        out["targetImage"] = choice.target
    return out


def rollout_status(entries: list[dict[str, Any]], app_log: str | None) -> dict[str, Any]:
    """status.rollout: the worst service's state and message, pointing at the build log
    (a failed build) or the application log (a failed or rolled-back rollout); the pointer
    always fits in the message's MESSAGE_LIMIT characters."""
    order = list(ROLLOUT_STATE)
    worst = min(entries, key=lambda e: order.index(e["state"]))
    message = f"{worst['name']}: {worst['message']}" if len(entries) > 1 else worst["message"]
    where = ""
    if worst["state"] == "build-failed" and worst.get("buildLog"):
        where = f"; build log: {worst['buildLog']}"
    elif app_log and worst["state"] in ("rolled-back", "rollout-failed"):
        where = f"; application log: {app_log}"
    out: dict[str, Any] = {
        "state": ROLLOUT_STATE[worst["state"]],
        "message": bounded(message, where, MESSAGE_LIMIT),
    }
    if worst.get("image"):
        out["image"] = worst["image"]
    return out


def bounded(message: str, where: str, limit: int) -> str:
    """`message` then `where` (where the log is) in at most `limit` characters: the message
    is shortened first (its image references compacted, then cut), so the log's location is
    never cut off."""
    where = where[:limit]
    room = limit - len(where)
    if len(message) > room:
        message = compact_images(message)  # function/messages.py
    if len(message) > room:
        message = message[: room - 3] + "..." if room >= 3 else message[:room]
    return message + where


def build_status(
    entries: list[dict[str, Any]], commit: str, log: str, prefix: str
) -> dict[str, Any] | None:
    """status.build from the services whose entry has a build Job (`_job`: its observed
    state, `_jobName`): the worst one's; None without builds. `log` is where build logs
    are, `prefix` what leads the Job's name there (e.g. `scia-build/`)."""
    jobs = [e for e in entries if "_job" in e]
    if not jobs:
        return None
    order = list(ROLLOUT_STATE)
    first = min(jobs, key=lambda e: order.index(e["state"]))
    state = BUILD_STATE[first["_job"]]
    return {
        "state": state,
        "commit": commit,
        "message": f"{first['name']}: {first['message']}"[:500],
        "logGroup": log,
        "logStreamPrefix": f"{prefix}{first['_jobName']}",
    } | ({"image": first["targetImage"]} if state == "Succeeded" else {})


def public_entries(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """status.workloads: the entries without their private (`_`) keys."""
    return [{k: v for k, v in e.items() if not k.startswith("_")} for e in entries]


def run_objects(
    ctx: RenderContext,
    unit: kw.Unit,
    names: dict[str, str],
    size: PodSize,
    choice: Choice,
    service: Resources,
) -> Resources:
    """A service's Deployment, its Service Object(s) (`service`, composed by the caller),
    HorizontalPodAutoscaler and (highly available) PodDisruptionBudget; only `service`
    before it has an image to run."""
    if choice.image is None:
        return dict(service)
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
        **service,
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
