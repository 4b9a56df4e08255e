"""Readiness, endpoints and phase, from observed composed resources (pure)."""

from __future__ import annotations

import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from function.lastknown import AT_PROVIDER_FIELDS
from function.render.common import COMPONENT_LABEL
from function.transient import classify

Observed = dict[str, dict[str, Any]]

if TYPE_CHECKING:
    from function.pinning import PinnedDecision

# The only status.atProvider fields anything reads (function/lastknown.py says where).
OBSERVED_AT_PROVIDER = AT_PROVIDER_FIELDS


class Phase(StrEnum):
    PENDING = "Pending"
    ANALYZING = "Analyzing"
    PROVISIONING = "Provisioning"
    RUNNING = "Running"
    FAILED = "Failed"


def condition(resource: dict[str, Any], typ: str) -> dict[str, Any] | None:
    for c in (resource.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == typ:
            return c
    return None


# Composed kinds that are not managed resources and report no Ready condition: observed
# means ready (provider-kubernetes' ProviderConfig, render/kube/objects.py).
EXIST_IS_READY = {("kubernetes.crossplane.io", "ProviderConfig"),
                  ("kubernetes.m.crossplane.io", "ProviderConfig")}  # fmt: skip


def is_ready(resource: dict[str, Any]) -> bool:
    group = str(resource.get("apiVersion", "")).split("/")[0]
    if (group, resource.get("kind")) in EXIST_IS_READY:
        return True
    c = condition(resource, "Ready")
    return bool(c and c.get("status") == "True")


def sync_error(resource: dict[str, Any]) -> str | None:
    """The message of a terminal Synced=False condition (see function/transient.py)."""
    state = classify(condition(resource, "Synced"))
    return state.message if state.kind == "terminal" else None


def waiting_on(resource: dict[str, Any]) -> str | None:
    """The message of a transient Synced=False condition: the provider is waiting."""
    state = classify(condition(resource, "Synced"))
    return state.message if state.kind == "transient" else None


SSL_CERT_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-ssl-cert"


def _serves(observed: Observed, service: str) -> bool:
    """Whether a cluster Service's (or Ingress's) workload answers: its Deployment (the
    Object named like the Service, render/kube/units.py `components`) as last read from
    the cluster has an available replica. A load balancer's address exists before the
    first image is built and rolled out; nothing answers there yet."""
    suffix = next((s for s in ("-service", "-ingress") if service.endswith(s)), None)
    if suffix is None:
        return True  # not one of the function's workloads
    manifest = _at_provider(observed, service.removesuffix(suffix) + "-deployment").get("manifest")
    status = (manifest.get("status") if isinstance(manifest, dict) else None) or {}
    available = status.get("availableReplicas") if isinstance(status, dict) else None
    return isinstance(available, int) and available > 0


def endpoints(observed: Observed, https_host: str | None = None) -> list[dict[str, str]]:
    """Where the application (or cluster) answers, from observed provider status.

    A cluster's public Service is listed once its load balancer has an address and its
    Deployment has an available replica (`_serves`): not while the first image builds.
    `https_host`: the host a GCP load balancer's (a vm's, or a GKE Ingress's,
    render/gcp/kubernetes.py) or an Azure Application Gateway's certificate is for
    (require-https, render/gcp/vm.py, render/azure/gateway.py): the endpoint is
    https://<host>, not its address, which no certificate names. An Ingress without it is
    https://<its TLS host> when it has a TLS block, else http://<address>."""
    out = _cluster_entries(observed, https_host)
    lb = _at_provider(observed, "load-balancer")
    if lb.get("dnsName"):
        scheme = "https" if "listener-https" in observed else "http"
        out.append({"name": "load-balancer", "type": "http", "url": f"{scheme}://{lb['dnsName']}"})
    url = _at_provider(observed, "function-url").get("functionUrl")
    if url:
        out.append({"name": "function-url", "type": "http", "url": str(url)})
    eks = _at_provider(observed, "eks-cluster").get("endpoint")
    if eks:
        out.append({"name": "eks-cluster", "type": "kubernetes-api", "url": str(eks)})
    # GCP: the load balancer's reserved address (answering once a forwarding rule exists),
    # the Cloud Run service's URL, the GKE control plane.
    address = _at_provider(observed, "lb-address").get("address")
    if address and any(n.startswith("forwarding-rule-") for n in observed):
        scheme = "https" if "forwarding-rule-https" in observed else "http"
        url = f"https://{https_host}" if https_host else f"{scheme}://{address}"
        out.append({"name": "load-balancer", "type": "http", "url": url})
    run = _at_provider(observed, "cloud-run-service").get("uri")
    if run:
        out.append({"name": "cloud-run-service", "type": "http", "url": str(run)})
    gke = _at_provider(observed, "gke-cluster").get("endpoint")
    if gke:
        url = str(gke) if str(gke).startswith("https://") else f"https://{gke}"
        out.append({"name": "gke-cluster", "type": "kubernetes-api", "url": url})
    out += _azure_endpoints(observed, https_host)
    return out


def _azure_endpoints(observed: Observed, https_host: str | None) -> list[dict[str, str]]:
    """Azure: the public IP's DNS name (vm), the container app's ingress (serverless: HTTPS
    only, HTTP redirects), the AKS API server. Under require-https a vm's clients come
    through the Application Gateway (render/azure/gateway.py): https://<host> (the
    certificate's host, else the gateway IP's name), and the load balancer, which then
    carries outbound traffic only, is no endpoint."""
    out: list[dict[str, str]] = []
    gip = _at_provider(observed, "gateway-public-ip")
    gateway_host = https_host or gip.get("fqdn") or gip.get("ipAddress")
    if "app-gateway" in observed and gateway_host:
        out.append({"name": "app-gateway", "type": "http", "url": f"https://{gateway_host}"})
    pip = _at_provider(observed, "public-ip")
    if (pip.get("fqdn") or pip.get("ipAddress")) and "gateway-public-ip" not in observed:
        host = pip.get("fqdn") or pip.get("ipAddress")
        out.append({"name": "load-balancer", "type": "http", "url": f"http://{host}"})
    app = _at_provider(observed, "container-app")
    ingress = app.get("ingress") if isinstance(app.get("ingress"), dict) else {}
    fqdn = (ingress or {}).get("fqdn") or app.get("latestRevisionFqdn")
    if fqdn:
        out.append({"name": "container-app", "type": "http", "url": f"https://{fqdn}"})
    aks = _at_provider(observed, "aks-cluster").get("fqdn")
    if aks:
        out.append({"name": "aks-cluster", "type": "kubernetes-api", "url": f"https://{aks}"})
    return out


def _cluster_entries(observed: Observed, https_host: str | None) -> list[dict[str, str]]:
    """The application on a cluster: public Services' load balancer addresses
    (provider-kubernetes Objects, the Service as last read from the cluster), and the
    addresses of Ingresses in front of ClusterIP Services (`endpoints`)."""
    out: list[dict[str, str]] = []
    for name in sorted(observed):
        manifest = _at_provider(observed, name).get("manifest")
        if not isinstance(manifest, dict) or manifest.get("kind") not in ("Service", "Ingress"):
            continue
        if not _serves(observed, name):
            continue
        ingress = ((manifest.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        first = ingress[0] if ingress and isinstance(ingress[0], dict) else {}
        host = first.get("hostname") or first.get("ip")
        if isinstance(host, str) and host and manifest.get("kind") == "Ingress":
            meta = manifest.get("metadata") or {}
            blocks = [t for t in (manifest.get("spec") or {}).get("tls") or [] if t.get("hosts")]
            named = https_host or (str(blocks[0]["hosts"][0]) if blocks else None)
            url = f"https://{named}" if named else f"http://{host}"
            out.append({"name": str(meta.get("name") or name), "type": "http", "url": url})
        elif isinstance(host, str) and host:
            meta = manifest.get("metadata") or {}
            svc = str(meta.get("name") or name)
            # require-https: the NLB terminates TLS on 443 (render/kube/workload.py).
            tls = SSL_CERT_ANNOTATION in (meta.get("annotations") or {})
            out.append(
                {"name": svc, "type": "http", "url": f"{'https' if tls else 'http'}://{host}"}
            )
    return out


def _at_provider(observed: Observed, name: str) -> dict[str, Any]:
    r = observed.get(name) or {}
    ap = (r.get("status") or {}).get("atProvider") or {}
    return ap if isinstance(ap, dict) else {}


def _parse_time(value: object) -> datetime.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def not_ready_for(name: str, observed: Observed, now: datetime.datetime) -> float | None:
    """Seconds `name` has been not Ready: since its Ready condition last changed (or, with
    no Ready condition yet, since its Synced condition did). None when that cannot be known:
    no condition yet, or not observed at all. Crossplane creates every desired resource
    right after the answer, so an unobserved one is being created now (a deleted resource
    recreated, or one composed once another's status is observed), however old the
    decision; a resource Crossplane cannot create is reported on the XR's Synced condition.
    """
    r = observed.get(name)
    if r is None:
        return None
    c = condition(r, "Ready") or condition(r, "Synced")
    since = _parse_time(c.get("lastTransitionTime")) if c else None
    return None if since is None else max(0.0, (now - since).total_seconds())


# What a running workload runs, per managed kind (API group, kind): paths under
# spec.forProvider whose desired value must be what the resource observably has before a
# deployment counts as rolled out. A new commit changes these (docs/status.md).
ROLLOUT_FIELDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("autoscaling.aws.upbound.io", "AutoscalingGroup"): ("launchTemplate.version",),
    ("lambda.aws.upbound.io", "Function"): ("imageUri",),
    ("eks.aws.upbound.io", "NodeGroup"): ("version", "releaseVersion", "launchTemplate.version"),
    ("cloudrun.gcp.upbound.io", "V2Service"): ("template.containers.image",),
    ("cloudrun.gcp.m.upbound.io", "V2Service"): ("template.containers.image",),
    ("containerapp.azure.upbound.io", "ContainerApp"): ("template.container.image",),
    ("compute.azure.upbound.io", "LinuxVirtualMachineScaleSet"): ("extension.forceUpdateTag",),
}


def _path(obj: Any, path: str) -> Any:
    cur = obj
    for part in path.split("."):
        if isinstance(cur, list) and len(cur) == 1:  # v1beta1 wraps objects in a list
            cur = cur[0]
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def rollout_paths(api_version: str, kind: str) -> tuple[str, ...]:
    """ROLLOUT_FIELDS of a kind in either scope (a namespaced `.m.` group reads as its
    cluster-scoped one: the shapes are the same)."""
    group = api_version.split("/", 1)[0].replace(".m.upbound.io", ".upbound.io")
    return ROLLOUT_FIELDS.get((group, kind), ())


def rollout_pending(name: str, desired: dict[str, Any], observed: dict[str, Any]) -> str | None:
    """Why `observed` does not run what `desired` asks yet, or None when it does.

    For each ROLLOUT_FIELDS path the desired body sets, the observed spec (what Crossplane
    applied) and the observed status.atProvider (what the provider last read from AWS,
    when it reports the field) must both hold the desired value. A path the observed spec
    lacks is not rolled out (fail closed).
    """
    paths = rollout_paths(str(desired.get("apiVersion", "")), str(desired.get("kind")))
    want_fp = (desired.get("spec") or {}).get("forProvider") or {}
    spec_fp = (observed.get("spec") or {}).get("forProvider") or {}
    at = (observed.get("status") or {}).get("atProvider") or {}
    for path in paths:
        want = _path(want_fp, path)
        if want is None or isinstance(want, dict | list):
            continue
        have_spec, have_at = _path(spec_fp, path), _path(at, path)
        for have, where in ((have_spec, "spec"), (have_at, "atProvider")):
            if where == "atProvider" and have is None:
                continue  # not reported by the provider: the spec decides
            if have is None or str(have) != str(want):
                return f"{name} {path} is {have!s} ({where}), rolling out {want!s}"
    return None


def group_rollout_pending(name: str, desired: dict[str, Any], observed: Observed) -> str | None:
    """Why a GCP managed instance group does not run its desired instance template on
    every instance yet, or None.

    The group must name (in its observed spec) the template generation its desired selector
    picks, and the provider must not report it unstable or short of its version target
    (`status.atProvider.status[0].isStable`, `versionTarget[0].isReached`; not reported:
    the spec decides)."""
    if desired.get("kind") != "RegionInstanceGroupManager":
        return None
    versions = ((desired.get("spec") or {}).get("forProvider") or {}).get("version") or [{}]
    selector = (versions[0] or {}).get("instanceTemplateSelector") or {}
    component = (selector.get("matchLabels") or {}).get(COMPONENT_LABEL)
    template = observed.get(str(component)) if component else None
    want = ((template or {}).get("spec") or {}).get("forProvider", {}).get("name")
    body = observed.get(name) or {}
    have_versions = ((body.get("spec") or {}).get("forProvider") or {}).get("version") or [{}]
    have = (have_versions[0] or {}).get("instanceTemplate")
    if want and (not isinstance(have, str) or not (have == want or have.endswith(f"/{want}"))):
        return f"{name} runs instance template {have!s}, rolling out {want}"
    at = (body.get("status") or {}).get("atProvider") or {}
    states = at.get("status") if isinstance(at, dict) else None
    state = states[0] if isinstance(states, list) and states else {}
    if isinstance(state, dict):
        target = (state.get("versionTarget") or [{}])[0] or {}
        if state.get("isStable") is False or target.get("isReached") is False:
            return f"{name} is replacing its instances with instance template {want or have!s}"
    return None


def resource_phase(
    desired: set[str],
    observed: Observed,
    grace: float = float("inf"),
    now: datetime.datetime | None = None,
    bodies: dict[str, dict[str, Any]] | None = None,
) -> tuple[Phase, str]:
    """Provisioning, Running or Failed, with a short message.

    Failed when a resource reports a terminal Synced=False, or stays not Ready longer
    than `grace` seconds. A transient Synced=False (an unresolved reference, throttling:
    function/transient.py) is waiting, not failing: Provisioning until the grace period
    ends. A Running deployment that just lost readiness is Provisioning again first.
    With the desired `bodies`, all ready is Running only once each has rolled out
    (`rollout_pending`): a new launch template version reached the group, a new image
    the function.
    """
    errors = {n: e for n in desired if n in observed and (e := sync_error(observed[n]))}
    if errors:
        name, msg = sorted(errors.items())[0]
        return Phase.FAILED, f"{name}: {msg}"[:500]
    ready = {n for n in desired if n in observed and is_ready(observed[n])}
    waiting = {n: w for n in desired - ready if n in observed and (w := waiting_on(observed[n]))}
    rolling = [
        why
        for n in sorted(desired)
        if n in observed and n in (bodies or {})
        if (
            why := rollout_pending(n, (bodies or {})[n], observed[n])
            or group_rollout_pending(n, (bodies or {})[n], observed)
        )
    ]
    if desired and ready == desired and not rolling:
        return Phase.RUNNING, f"all {len(desired)} resources are ready"
    if desired and ready == desired:
        return Phase.PROVISIONING, f"all {len(desired)} resources are ready; {rolling[0]}"[:500]
    now = now or datetime.datetime.now(datetime.UTC)
    stuck = sorted(
        n
        for n in desired - ready
        if (age := not_ready_for(n, observed, now)) is not None and age > grace
    )
    if stuck:
        waited = [n for n in stuck if n in waiting]
        why = f"; {waited[0]} still waiting: {waiting[waited[0]]}" if waited else ""
        return Phase.FAILED, (
            f"not ready after the {int(grace // 60)} min grace period: {', '.join(stuck[:5])}" + why
        )[:500]
    message = f"{len(ready)} of {len(desired)} resources ready"
    if waiting:
        name, why = sorted(waiting.items())[0]
        message += f"; waiting: {name} ({why})"
    return Phase.PROVISIONING, message[:500]


def xr_status(
    pin: PinnedDecision,
    phase: Phase,
    message: str,
    observed: dict[str, dict[str, Any]],
    https_host: str | None = None,
) -> dict[str, Any]:
    d = pin.parameters
    status: dict[str, Any] = {
        "phase": phase.value,
        "message": message,
        "strategy": d.strategy.value,
        "reason": d.reason,
        "confidence": d.confidence,
        "alternativeStrategies": [
            a.model_dump(mode="json", by_alias=True, exclude_none=True) for a in d.alternatives
        ],
        "endpoints": endpoints(observed, https_host),
        "decision": pin.to_status(),
    }
    if pin.estimated_monthly_cost is not None:
        status["cost"] = {
            "estimatedMonthly": pin.estimated_monthly_cost,
            "currency": "USD",
            "breakdown": pin.cost_breakdown,
        }
    return status
