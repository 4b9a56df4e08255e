"""Learning the capacity model's coefficients from what deployments were observed doing.

Each stored deployment with observations (observations.py) gives:
- CPU per request = CPU utilisation x the vCPUs it ran on x 1000 / requests per second
  (vm: desired instances; kubernetes: nodes less the system share; not Lambda);
- memory an instance needs = the observed peak x 1.2, or, after an out-of-memory kill, at
  least 1.5x the memory the instance had.

Estimates are shrunk level by level, app <- framework <- language <- prior (capacity.py), on
a log scale: estimate = exp((k x ln(parent) + sum ln(obs)) / (k + n)). With k pseudo-
observations of the parent, one noisy deployment moves the next decision by at most 1/(k+1)
of its log-distance; an app's own history takes over as it grows. Out-of-memory kills are
lower bounds: the memory estimate never goes below the largest one seen for the same app.
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
from function.pricing.catalog import PriceCatalog, PricingError

K_LANGUAGE = 3.0
K_FRAMEWORK = 3.0
K_APP = 0.5
K_MEMORY = 1.0
MEMORY_HEADROOM = 1.1
OOM_FACTOR = 1.5
MIN_RPS = 0.05  # below this, utilisation is noise (idle instances), not work per request


@dataclass(frozen=True)
class Observation:
    repository: str | None
    framework: str | None
    language: str | None
    cpu_ms: float | None = None
    memory_gib: float | None = None
    oom_floor_gib: float | None = None


@dataclass(frozen=True)
class Learned:
    """Learned coefficients for one application, with how many observations back them."""

    cpu_ms: float | None = None
    memory_gib: float | None = None
    app_n: int = 0
    framework_n: int = 0
    language_n: int = 0
    why: list[str] = field(default_factory=list)


def _vcpus(decision: Mapping[str, Any], region: str | None, catalog: PriceCatalog) -> float | None:
    try:
        if vm := decision.get("vm"):
            p = catalog.instance(region or "us-east-1", str(vm["instanceType"]))
            return float(vm["desiredCapacity"]) * p.vcpu
        if k8s := decision.get("kubernetes"):
            p = catalog.instance(region or "us-east-1", str(k8s["nodeInstanceType"]))
            return float(k8s["desiredNodes"]) * max(0.1, p.vcpu - cap.NODE_RESERVED_VCPU)
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


def observation_of(row: Mapping[str, Any], catalog: PriceCatalog) -> Observation | None:
    """The observation in one stored record (keys: repository, framework, language, region,
    metadata, metrics), or None when it carries none."""
    metrics = row.get("metrics") or {}
    meta = row.get("metadata") or {}
    decision = meta.get("decision") or {}
    region = row.get("region")
    cpu_ms = None
    rps, util = metrics.get("observedRps"), metrics.get("cpuUtilisation")
    if isinstance(rps, int | float) and isinstance(util, int | float) and rps >= MIN_RPS:
        vcpus = _vcpus(decision, region, catalog)
        if vcpus:
            cpu_ms = float(util) * vcpus * 1000.0 / float(rps)
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
    return Observation(
        repository=row.get("repository") or meta.get("repository"),
        framework=row.get("framework"),
        language=row.get("language"),
        cpu_ms=cpu_ms if cpu_ms and cpu_ms > 0 else None,
        memory_gib=memory,
        oom_floor_gib=oom,
    )


def _shrink(parent: float, values: list[float], k: float) -> float:
    if not values:
        return parent
    total = k * math.log(parent) + sum(math.log(v) for v in values)
    return math.exp(total / (k + len(values)))


def learn(
    observations: Iterable[Observation], profile: AppProfile, repository: str | None
) -> Learned:
    """The app's CPU per request and memory need, shrunk from its own observations towards its
    framework's, its language's and the prior."""
    obs = list(observations)
    language = (profile.language or "").lower()
    framework = (profile.framework or "").lower()
    prior_cpu, _ = cap.cpu_ms_per_request(profile)
    lang_cpu = [o.cpu_ms for o in obs if o.cpu_ms and (o.language or "").lower() == language]
    fw_cpu = [
        o.cpu_ms for o in obs if o.cpu_ms and framework and (o.framework or "").lower() == framework
    ]
    app = [o for o in obs if repository and o.repository == repository]
    app_cpu = [o.cpu_ms for o in app if o.cpu_ms]
    why: list[str] = []
    cpu = None
    if lang_cpu or fw_cpu or app_cpu:
        level = _shrink(prior_cpu, lang_cpu, K_LANGUAGE) if language else prior_cpu
        if framework:
            level = _shrink(level, fw_cpu, K_FRAMEWORK)
        cpu = _shrink(level, app_cpu, K_APP)
        why.append(
            f"CPU per request learned: {cpu:.3g} ms (prior {prior_cpu:.3g} ms; observed: "
            f"{len(app_cpu)} of this app, {len(fw_cpu)} {framework or '-'}, "
            f"{len(lang_cpu)} {language or '-'})"
        )
    memory = None
    app_mem = [o.memory_gib for o in app if o.memory_gib]
    floors = [o.oom_floor_gib for o in app if o.oom_floor_gib]
    if app_mem:
        memory = max(app_mem)
        why.append(f"memory learned from {len(app_mem)} observations of this app: {memory:.3g} GiB")
    if floors:
        memory = max(memory or 0.0, *floors)
        why.append(f"out-of-memory kills seen: needs >= {max(floors):.3g} GiB")
    return Learned(
        cpu_ms=cpu,
        memory_gib=memory,
        app_n=len(app),
        framework_n=len(fw_cpu),
        language_n=len(lang_cpu),
        why=why,
    )
