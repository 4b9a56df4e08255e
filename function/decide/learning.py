"""Learning the capacity model's coefficients from what deployments were observed doing.

Each stored deployment with observations (observations.py) gives:
- CPU per request = CPU utilisation x the vCPUs it ran on x 1000 / requests per second
  (vm: instances; kubernetes: nodes less the system share; not Lambda). The instances are
  those the group was observed running (`observedCapacity`, read from the composed auto
  scaling group or node group, composed.py) when known, else the decision's desired count;
- memory an instance needs = the observed peak x 1.1, or, after an out-of-memory kill, at
  least 1.5x the memory the instance had.

Every observation is compared with the prior of the app it observed (its own framework,
language and dependencies, capacity.cpu_prior / capacity.memory_prior): what is pooled is
the ratio observed / expected. So a Flask app running PyTorch (prior 90 ms) and a plain
Flask API (prior 15 ms) teach the same thing about Flask, "x0.6 of what we expected",
instead of one pulling the other's estimate towards its own.

CPU: the log-ratios are shrunk level by level, language <- framework <- app, towards the
prior (ratio 1): r = (k x r_parent + sum(ln ratio)) / (k + n). With k pseudo-observations
of the parent, one noisy deployment moves the next decision by at most 1/(k+1) of its
log-distance; an app's own history takes over as it grows. An observation of a saturated
deployment (CPU >= 95% on average, the group at its maximum size, or a group that kept
scaling out (`FREQUENT_SCALING` scale-outs or scaling activities) and reached its maximum
during the revision, `highestCapacity` from the store's count, composed.py) measured what it
could serve, not what it was asked: it is a lower bound on the app's CPU per request (a
floor), not a sample.

Memory, where a shortfall is an outage (out of memory) rather than a slower response:
- the app's own observations: the largest observed need; out-of-memory kills are floors;
- an app without its own: its framework's (else language's) observations, taken as the
  largest ratio seen among them (the hungriest app relative to its prior, a conservative
  reading), once `MIN_MEMORY_APPS` different apps were observed; never above the prior
  unless an out-of-memory kill or an observation says so.

Only the tenant's own records and records shared on purpose (scope shared) are read, as in
retrieval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from function.analysis.profile import AppProfile
from function.decide import capacity as cap
from function.decide.observations import FREQUENT_SCALING
from function.pricing.catalog import PriceCatalog, PricingError

K_LANGUAGE = 3.0
K_FRAMEWORK = 3.0
K_APP = 0.5
MEMORY_HEADROOM = 1.1
OOM_FACTOR = 1.5
MIN_RPS = 0.05  # below this, utilisation is noise (idle instances), not work per request
SATURATED = 0.95  # average CPU utilisation from which an observation is a lower bound
MIN_MEMORY_APPS = 2  # different apps of a framework before its memory ratio is used


@dataclass(frozen=True)
class Observation:
    """One deployment's observation. `cpu_prior_ms` / `memory_prior_gib`: what the capacity
    model expected of the app observed (None for records without their analysis: then the
    prior of the app being decided stands in)."""

    repository: str | None
    framework: str | None
    language: str | None
    cpu_ms: float | None = None
    memory_gib: float | None = None
    oom_floor_gib: float | None = None
    cpu_prior_ms: float | None = None
    memory_prior_gib: float | None = None
    cpu_floor_ms: float | None = None  # a saturated deployment: the need is at least this


@dataclass(frozen=True)
class Learned:
    """Learned coefficients for one application, with how many observations back them."""

    cpu_ms: float | None = None
    memory_gib: float | None = None
    app_n: int = 0
    framework_n: int = 0
    language_n: int = 0
    why: list[str] = field(default_factory=list)


def _count(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 1:
        return float(value)
    return None


def _vcpus(
    decision: Mapping[str, Any],
    region: str | None,
    catalog: PriceCatalog,
    running: float | None = None,
) -> float | None:
    """vCPUs the deployment ran on: `running` instances or nodes when observed, else the
    decision's desired count."""
    try:
        if vm := decision.get("vm"):
            p = catalog.instance(region or "us-east-1", str(vm["instanceType"]))
            return (running or float(vm["desiredCapacity"])) * p.vcpu
        if k8s := decision.get("kubernetes"):
            p = catalog.instance(region or "us-east-1", str(k8s["nodeInstanceType"]))
            nodes = running or float(k8s["desiredNodes"])
            return nodes * max(0.1, p.vcpu - cap.NODE_RESERVED_VCPU)
    except (PricingError, KeyError, TypeError, ValueError):
        return None
    return None


def _instance_memory(
    decision: Mapping[str, Any], region: str | None, catalog: PriceCatalog
) -> float | None:
    try:
        if vm := decision.get("vm"):
            return catalog.instance(region or "us-east-1", str(vm["instanceType"])).memory_gib
        if k8s := decision.get("kubernetes"):
            t = str(k8s["nodeInstanceType"])
            return catalog.instance(region or "us-east-1", t).memory_gib - cap.NODE_RESERVED_GIB
        if sl := decision.get("serverless"):
            return float(sl["memoryMb"]) / 1024.0
    except (PricingError, KeyError, TypeError, ValueError):
        return None
    return None


def _priors(row: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """What the capacity model expects of the app a stored record observed (its analysis)."""
    meta = row.get("metadata") or {}
    analysis = meta.get("analysis") if isinstance(meta, Mapping) else None
    if not isinstance(analysis, Mapping):
        return None, None
    framework = row.get("framework") or analysis.get("framework")
    language = row.get("language") or analysis.get("language")
    deps = analysis.get("dependencies") or row.get("dependencies") or []
    deps = [str(d) for d in deps] if isinstance(deps, list) else []
    static = analysis.get("staticSite") is True
    services: list[cap.ServicePart] = []
    for svc in analysis.get("services") or []:
        if isinstance(svc, Mapping):
            fw, lang = svc.get("framework"), svc.get("language")
            services.append(
                (
                    str(fw) if fw else None,
                    str(lang) if lang else None,
                    svc.get("staticSite") is True,
                )
            )
    cpu, _ = cap.cpu_prior(framework, language, deps, static, services)
    return cpu, cap.memory_prior(framework, language, deps, services)


def _bound(decision: Mapping[str, Any]) -> float | None:
    """The group's maximum in the decision (vm instances or kubernetes nodes)."""
    vm, k8s = decision.get("vm"), decision.get("kubernetes")
    top = (
        vm.get("maxSize")
        if isinstance(vm, Mapping)
        else k8s.get("maxNodes")
        if isinstance(k8s, Mapping)
        else None
    )
    return _count(top)


def pinned_at_max(metrics: Mapping[str, Any], decision: Mapping[str, Any]) -> bool:
    """Whether the group sat at its maximum: observed there (`atMaxSize`), or it kept scaling
    out (`FREQUENT_SCALING` scale-outs counted by the store, or scaling activities reported)
    and its highest observed size reached the decision's maximum."""
    if metrics.get("atMaxSize") is True:
        return True
    outs = max(
        _count(metrics.get("scaleOuts")) or 0.0, _count(metrics.get("scalingActivities")) or 0.0
    )
    top, highest = _bound(decision), _count(metrics.get("highestCapacity"))
    return outs >= FREQUENT_SCALING and top is not None and highest is not None and highest >= top


def observation_of(row: Mapping[str, Any], catalog: PriceCatalog) -> Observation | None:
    """The observation in one stored record (keys: repository, framework, language, region,
    metadata, metrics), or None when it carries none."""
    metrics = row.get("metrics") or {}
    meta = row.get("metadata") or {}
    decision = meta.get("decision") or {}
    region = row.get("region")
    cpu_ms = None
    saturated = False
    rps, util = metrics.get("observedRps"), metrics.get("cpuUtilisation")
    if isinstance(rps, int | float) and isinstance(util, int | float) and rps >= MIN_RPS:
        vcpus = _vcpus(decision, region, catalog, _count(metrics.get("observedCapacity")))
        if vcpus:
            cpu_ms = float(util) * vcpus * 1000.0 / float(rps)
            saturated = float(util) >= SATURATED or pinned_at_max(metrics, decision)
    memory = None
    if isinstance(m := metrics.get("memoryGiB"), int | float) and m > 0:
        memory = float(m) * MEMORY_HEADROOM
    oom = None
    if isinstance(k := metrics.get("oomKills"), int | float) and k > 0:
        had = _instance_memory(decision, region, catalog)
        if had:
            oom = had * OOM_FACTOR
    if cpu_ms is None and memory is None and oom is None:
        return None
    cpu_prior, memory_prior = _priors(row)
    measured = cpu_ms if cpu_ms and cpu_ms > 0 else None
    return Observation(
        repository=row.get("repository") or meta.get("repository"),
        framework=row.get("framework"),
        language=row.get("language"),
        cpu_ms=None if saturated else measured,
        memory_gib=memory,
        oom_floor_gib=oom,
        cpu_prior_ms=cpu_prior,
        memory_prior_gib=memory_prior,
        cpu_floor_ms=measured if saturated else None,
    )


def _shrink(parent: float, values: list[float], k: float) -> float:
    """The shrunk mean of log-ratios: (k x parent + sum) / (k + n)."""
    if not values:
        return parent
    return (k * parent + sum(values)) / (k + len(values))


def _ratio(value: float, prior: float | None, fallback: float) -> float:
    return math.log(value / (prior if prior and prior > 0 else fallback))


def _memory(
    app: list[Observation], same: list[Observation], prior: float
) -> tuple[float | None, list[str]]:
    """The memory one instance needs (GiB) from the app's own observations, else from its
    framework's or language's (`same`), relative to their priors; None: the prior stands."""
    why: list[str] = []
    app_mem = [o.memory_gib for o in app if o.memory_gib]
    floors = [o.oom_floor_gib for o in app if o.oom_floor_gib]
    memory = None
    if app_mem:
        memory = max(app_mem)
        why.append(f"memory learned from {len(app_mem)} observations of this app: {memory:.3g} GiB")
    elif same:
        ratios: dict[str, float] = {}
        for o in same:
            for value in (o.memory_gib, o.oom_floor_gib):
                if value:
                    r = value / (o.memory_prior_gib or prior)
                    key = o.repository or ""
                    ratios[key] = max(ratios.get(key, 0.0), r)
        if len(ratios) >= MIN_MEMORY_APPS:
            ratio = max(ratios.values())
            memory = prior * ratio
            why.append(
                f"memory learned from {len(ratios)} apps like it: x{ratio:.2g} of the prior "
                f"{prior:g} GiB = {memory:.3g} GiB"
            )
    if floors:
        memory = max(memory or 0.0, *floors)
        why.append(f"out-of-memory kills seen: needs >= {max(floors):.3g} GiB")
    return memory, why


def learn(
    observations: Iterable[Observation], profile: AppProfile, repository: str | None
) -> Learned:
    """The app's CPU per request and memory need: its prior times what observations of it,
    its framework and its language showed relative to their own priors, shrunk towards 1."""
    obs = list(observations)
    language = (profile.language or "").lower()
    framework = (profile.framework or "").lower()
    prior_cpu, _ = cap.cpu_ms_per_request(profile)
    prior_memory = cap.memory_prior(
        profile.framework, profile.language, profile.dependencies, cap.service_parts(profile)
    )

    def lr(o: Observation) -> float:
        assert o.cpu_ms is not None
        return _ratio(o.cpu_ms, o.cpu_prior_ms, prior_cpu)

    of_language = [o for o in obs if language and (o.language or "").lower() == language]
    of_framework = [o for o in obs if framework and (o.framework or "").lower() == framework]
    app = [o for o in obs if repository and o.repository == repository]
    lang_cpu = [lr(o) for o in of_language if o.cpu_ms]
    fw_cpu = [lr(o) for o in of_framework if o.cpu_ms]
    app_cpu = [lr(o) for o in app if o.cpu_ms]
    cpu_floors = [o.cpu_floor_ms for o in app if o.cpu_floor_ms]
    why: list[str] = []
    cpu = None
    if lang_cpu or fw_cpu or app_cpu:
        level = _shrink(0.0, lang_cpu, K_LANGUAGE)
        level = _shrink(level, fw_cpu, K_FRAMEWORK)
        level = _shrink(level, app_cpu, K_APP)
        cpu = prior_cpu * math.exp(level)
        why.append(
            f"CPU per request learned: {cpu:.3g} ms (prior {prior_cpu:.3g} ms x"
            f"{math.exp(level):.2g}; observed: {len(app_cpu)} of this app, {len(fw_cpu)} "
            f"{framework or '-'}, {len(lang_cpu)} {language or '-'}, each against its own prior)"
        )
    if cpu_floors and max(cpu_floors) > (cpu or prior_cpu):
        cpu = max(cpu_floors)
        why.append(f"saturated deployments of this app seen: needs >= {cpu:.3g} ms per request")
    same = of_framework if framework else of_language
    memory, memory_why = _memory(app, same, prior_memory)
    why.extend(memory_why)
    return Learned(
        cpu_ms=cpu,
        memory_gib=memory,
        app_n=len(app),
        framework_n=len(fw_cpu),
        language_n=len(lang_cpu),
        why=why,
    )
