"""The capacity model: vCPU and memory an application needs for the traffic its team states.

`need_of(profile, intent)` -> `Need`: CPU seconds per request, average and peak vCPU, memory
per instance, the utilisation target the latency SLO allows, and each figure's reason.
`size_vm` / `size_nodes` / `size_lambda` turn a need into instance counts, node counts and
Lambda memory for one allowed type; the knowledge base prices those and takes the cheapest
that fits the budget and policy (rules.py).

Priors (documented; they are deliberately conservative and stand until observations of real
deployments replace them):

CPU per request (`CPU_MS`, milliseconds of one vCPU for a typical request of a small web app:
routing, a template or JSON body, one or two database round trips). Relative order from the
TechEmpower Web Framework Benchmarks (round 22, 2023: the "Fortunes" and "Multiple queries"
tests, which include a database), derated about 20x from those peak figures because a
benchmark handler is trivial and a real request does more work; the absolute level is
anchored on the Gunicorn documentation's sizing rule ((2 x cores) + 1 sync workers, each
serving one request at a time) and the common observation that a Python/Ruby sync worker
serves roughly 50-100 simple requests per second.

Memory (`memory_prior`, `MEMORY_GIB`): runtime floors per framework/language (JVM services
~1-2 GiB resident with default heap sizing: the JVM takes 1/4 of RAM for the heap by default,
Oracle's "Java SE HotSpot ergonomics"; Node.js ~100-300 MB per process; CPython workers
~50-150 MB each) rounded up to the instance sizes AWS sells, raised by memory-hungry
dependencies (PyTorch/TensorFlow model runtimes, pandas, headless Chromium: Puppeteer's
troubleshooting guide recommends >= 1-2 GiB for Chrome). Process-per-worker runtimes
(Python, Ruby, PHP) run (2 x vCPU) + 1 workers per instance; the floors cover the workers of
the instance sizes that carry them.

Headroom: instances are sized so the peak runs at `UTILISATION` (0.6) of their vCPUs; a
latency SLO tighter than 200 ms lowers it to 0.5 and one under 100 ms to 0.4 (queueing
theory, M/M/c: waiting time grows sharply past ~60-70% utilisation). Burstable T3 instances
sustain only their baseline share of each vCPU (AWS EC2 docs, "Key concepts for burstable
performance instances": t3.micro 10%, t3.small/medium 20%, t3.large 30%, t3.xlarge and
larger 40%; T3a/T4g the same, T2 and Azure B-series their own; GCP's shared-core e2-micro,
e2-small and e2-medium 1/8, 1/4 and 1/2), so the *average* load must fit 80% of that
baseline (credits left for bursts) and the peak the full vCPU. Fixed-performance types
(m6i, c6i, n2, Standard_D...) sustain their full vCPUs: the average fits the same target
utilisation as the peak.

Lambda: a function gets one vCPU per 1,769 MB of memory (AWS Lambda docs, "Memory and
computing power"); duration = CPU time scaled by that share + `IO_WAIT_MS` of waiting.
Serverless suits short requests, no long-lived connections, no local state, and low or
irregular duty; its cold starts (a container image: ~1-3 s) rule it out for tight SLOs on
rarely called functions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from function.analysis.profile import AppProfile
from function.decide.intent import Intent

if TYPE_CHECKING:
    from function.decide.learning import Learned

CPU_MS: dict[str, float] = {
    # framework -> ms of one vCPU per request
    "static": 0.5,
    "gin": 3.0,
    "echo": 3.0,
    "fiber": 3.0,
    "actix-web": 2.5,
    "axum": 2.5,
    "aspnet-core": 5.0,
    "spring-boot": 8.0,
    "quarkus": 6.0,
    "express": 8.0,
    "fastify": 6.0,
    "nestjs": 10.0,
    "nextjs": 30.0,
    "nuxt": 30.0,
    "fastapi": 10.0,
    "flask": 15.0,
    "django": 20.0,
    "rails": 25.0,
    "sinatra": 15.0,
    "laravel": 25.0,
    "symfony": 25.0,
}
CPU_MS_LANGUAGE: dict[str, float] = {
    "go": 3.0,
    "rust": 2.5,
    "csharp": 5.0,
    "java": 8.0,
    "kotlin": 8.0,
    "javascript": 8.0,
    "typescript": 8.0,
    "python": 15.0,
    "ruby": 25.0,
    "php": 25.0,
}
DEFAULT_CPU_MS = 15.0
# Dependencies that multiply the work of a request (inference, dataframes, a browser).
CPU_FACTOR: dict[str, float] = {
    "torch": 6.0,
    "tensorflow": 6.0,
    "transformers": 6.0,
    "sentence-transformers": 4.0,
    "onnxruntime": 3.0,
    "@tensorflow/tfjs-node": 6.0,
    "xgboost": 2.0,
    "lightgbm": 2.0,
    "scikit-learn": 2.0,
    "pandas": 2.0,
    "polars": 1.5,
    "numpy": 1.2,
    "puppeteer": 15.0,
    "playwright": 15.0,
    "selenium": 15.0,
    "wagtail": 1.5,
}
# Memory an instance of the application needs, by framework then language (GiB).
MEMORY_GIB: dict[str, float] = {
    "spring-boot": 4.0,
    "nextjs": 2.0,
    "rails": 2.0,
    "aspnet-core": 2.0,
    "django": 1.0,
}
MEMORY_GIB_LANGUAGE: dict[str, float] = {
    "java": 4.0,
    "kotlin": 4.0,
    "csharp": 2.0,
    "ruby": 2.0,
    "php": 1.0,
    "python": 1.0,
    "javascript": 1.0,
    "typescript": 1.0,
    "go": 0.5,
    "rust": 0.5,
}
DEFAULT_MEMORY_GIB = 1.0
# Dependencies that are known to need memory beyond the framework's own (GiB per instance):
# deep-learning runtimes, dataframes and scientific stacks, headless browsers.
HEAVY_DEPENDENCIES: dict[str, float] = {
    "torch": 4.0,
    "tensorflow": 4.0,
    "jax": 4.0,
    "transformers": 4.0,
    "sentence-transformers": 4.0,
    "onnxruntime": 2.0,
    "xgboost": 2.0,
    "lightgbm": 2.0,
    "pandas": 2.0,
    "polars": 2.0,
    "scikit-learn": 2.0,
    "scipy": 2.0,
    "opencv-python": 2.0,
    "puppeteer": 2.0,
    "playwright": 2.0,
    "selenium": 2.0,
    "@tensorflow/tfjs-node": 4.0,
    "deeplearning4j-core": 4.0,
    "spark-core": 4.0,
}
UTILISATION = 0.6
# Baseline share of each vCPU a burstable instance sustains (what it earns in CPU credits).
# AWS EC2 docs, "Key concepts for burstable performance instances" (T2, T3, T3a, T4g); Google
# Cloud "Machine families: E2 shared-core" (e2-micro 0.25, e2-small 0.5, e2-medium 1 of 2
# vCPUs); Azure "B-series burstable VM sizes" (base CPU performance of the VM over its vCPUs).
# Every other type is fixed performance: it sustains its full vCPUs.
BURSTABLE_BASELINE: dict[str, float] = {
    **{
        f"{family}.{size}": share
        for family in ("t3", "t3a", "t4g")
        for size, share in (
            ("nano", 0.05),
            ("micro", 0.10),
            ("small", 0.20),
            ("medium", 0.20),
            ("large", 0.30),
            ("xlarge", 0.40),
            ("2xlarge", 0.40),
        )
    },
    "t2.nano": 0.05,
    "t2.micro": 0.10,
    "t2.small": 0.20,
    "t2.medium": 0.20,
    "t2.large": 0.30,
    "t2.xlarge": 0.225,
    "t2.2xlarge": 0.169,
    "e2-micro": 0.125,
    "e2-small": 0.25,
    "e2-medium": 0.50,
    "Standard_B1ls": 0.05,
    "Standard_B1s": 0.10,
    "Standard_B1ms": 0.20,
    "Standard_B2s": 0.20,
    "Standard_B2ms": 0.30,
    "Standard_B4ms": 0.225,
    "Standard_B8ms": 0.169,
    "Standard_B12ms": 0.169,
    "Standard_B16ms": 0.169,
    "Standard_B20ms": 0.169,
}
CREDIT_MARGIN = 0.8  # plan the average at 80% of a burstable baseline: credits for bursts
LAMBDA_MB_PER_VCPU = 1769.0
IO_WAIT_MS = 40.0
COLD_START_MS = 2000.0
# Fewer calls than one every two minutes: most land on a cold execution environment (Lambda
# keeps an idle environment for some minutes; AWS does not document how long).
RARE_RPS = 1 / 120
DEFAULT_AVG_RPS = 5.0  # no traffic stated: a small, steadily used service
NODE_RESERVED_VCPU = 0.3  # kubelet, kube-proxy, VPC CNI, CoreDNS share per node
# The system's own average draw on a node: the kube-reserved CPU the EKS node bootstrap
# (eksctl pkg/nodebootstrap/reserved.go, the same progression as GKE's node allocatable)
# sets aside for kubelet and the container runtime: 6% of the first core, 1% of the second,
# 0.5% of the third and fourth, 0.25% of each further core.
_KUBE_RESERVED = ((1.0, 0.06), (2.0, 0.01), (4.0, 0.005), (math.inf, 0.0025))
NODE_RESERVED_GIB = 1.0
# require-https on AKS: the application routing add-on's NGINX controller runs on the
# cluster's own nodes, at least two replicas each requesting 500m CPU and 127 MiB
# (aks-app-routing-operator pkg/manifests/nginx.go: the controller Deployment's requests,
# its HorizontalPodAutoscaler's minimum; spread over nodes, ScheduleAnyway).
INGRESS_CONTROLLER_REPLICAS = 2
INGRESS_CONTROLLER_VCPU = 0.5
INGRESS_CONTROLLER_GIB = 127 / 1024
MIN_POD_VCPU = 0.1  # the least CPU request a replica gets (render/kube/sizing.py)


def ingress_controller_share(nodes: int) -> tuple[float, float]:
    """(vCPU, GiB) the add-on's NGINX replicas request on one node of a cluster of `nodes`:
    spread evenly, so both on the one node of a single-node cluster."""
    per_node = math.ceil(INGRESS_CONTROLLER_REPLICAS / max(1, nodes))
    return per_node * INGRESS_CONTROLLER_VCPU, per_node * INGRESS_CONTROLLER_GIB


@dataclass(frozen=True)
class Need:
    """What the application needs for the stated traffic (all per second / per instance)."""

    cpu_ms: float  # ms of one vCPU per request
    avg_rps: float
    peak_rps: float
    avg_vcpu: float  # vCPU busy on average
    peak_vcpu: float  # vCPU busy at the peak
    memory_gib: float  # per instance
    utilisation: float  # target share of vCPU at the peak
    stated: bool  # traffic came from the team's words (else the default prior)
    why: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.cpu_ms:g} ms CPU/request x peak {self.peak_rps:.3g} rps = "
            f"{self.peak_vcpu:.2g} vCPU at peak (avg {self.avg_vcpu:.2g}), "
            f"{self.memory_gib:g} GiB per instance, target utilisation {self.utilisation:.0%}"
        )


# One deployable service of a monorepo as the priors see it: (framework, language, static
# site). The pin's analysis keeps these per service (pinning.ServiceSummary), not their
# dependencies, so a stored record gives the same prior as the profile it was decided from.
ServicePart = tuple[str | None, str | None, bool]


def cpu_prior(
    framework: str | None,
    language: str | None,
    dependencies: Iterable[str] = (),
    static_site: bool = False,
    services: Sequence[ServicePart] = (),
) -> tuple[float, str]:
    """(ms, source): the CPU prior of the framework (else the language), times the heaviest
    dependency factor. The same prior for a stored record's analysis as for a profile, so
    observations can be compared with what was expected of the app observed (learning.py).

    Several services deployed together (`services`, a monorepo): a request crosses them, so
    the whole app's CPU per request is the sum of each service's own prior (a Next.js front
    end's 30 ms and a Go API's 3 ms: 33 ms, not the first service's 3 ms twice)."""
    if len(services) > 1:
        parts = [
            (cpu_prior(fw, lang, (), st)[0], fw or lang or "unknown") for fw, lang, st in services
        ]
        total = sum(ms for ms, _ in parts)
        shown = " + ".join(f"{name} {ms:g} ms" for ms, name in parts)
        return total, f"{len(parts)} services: {shown}"
    fw = (framework or "").lower()
    lang = (language or "").lower()
    if static_site and not fw:
        base, source = CPU_MS["static"], "static site"
    elif fw in CPU_MS:
        base, source = CPU_MS[fw], fw
    elif lang in CPU_MS_LANGUAGE:
        base, source = CPU_MS_LANGUAGE[lang], lang
    else:
        base, source = DEFAULT_CPU_MS, "unknown runtime"
    factors = [(CPU_FACTOR[d.lower()], d) for d in dependencies if d.lower() in CPU_FACTOR]
    if factors:
        factor, dep = max(factors)
        return base * factor, f"{source} {base:g} ms x{factor:g} for {dep}"
    return base, f"{source} {base:g} ms"


def service_parts(profile: AppProfile) -> list[ServicePart]:
    """The profile's services as the priors see them (empty or one: a single service)."""
    return [(s.framework, s.language, s.static_site) for s in profile.services]


def cpu_ms_per_request(profile: AppProfile) -> tuple[float, str]:
    """The CPU prior of the framework (else language), times the heaviest dependency factor;
    for several services, the sum of theirs (cpu_prior)."""
    return cpu_prior(
        profile.framework,
        profile.language,
        profile.dependencies,
        profile.static_site,
        service_parts(profile),
    )


def memory_prior(
    framework: str | None,
    language: str | None,
    dependencies: Iterable[str] = (),
    services: Sequence[ServicePart] = (),
) -> float:
    """GiB one instance (or pod) needs: the framework's (or language's) floor, raised by any
    dependency known to be memory-hungry. Several services: the hungriest service's floor
    (each runs in a pod of that size; a Next.js front end needs its 2 GiB next to a Go API)."""
    if len(services) > 1:
        floors = [memory_prior(fw, lang) for fw, lang, _ in services]
        heavy = [HEAVY_DEPENDENCIES.get(d.lower(), 0.0) for d in dependencies]
        return max([*floors, *heavy])
    if framework and framework in MEMORY_GIB:
        base = MEMORY_GIB[framework]
    else:
        base = MEMORY_GIB_LANGUAGE.get((language or "").lower(), DEFAULT_MEMORY_GIB)
    heavy = [HEAVY_DEPENDENCIES.get(d.lower(), 0.0) for d in dependencies]
    return max([base, *heavy])


def utilisation_for(intent: Intent) -> float:
    slo = intent.latency_slo_ms
    if slo is not None and slo < 100:
        return 0.4
    if slo is not None and slo < 200:
        return 0.5
    return UTILISATION


def need_of(
    profile: AppProfile, intent: Intent, memory_gib: float, learned: Learned | None = None
) -> Need:
    """The need for the stated traffic; `memory_gib` is the runtime's floor (rules.py);
    `learned` replaces the priors with what observations of deployments showed."""
    cpu_ms, cpu_why = cpu_ms_per_request(profile)
    if learned is not None and learned.cpu_ms is not None:
        cpu_ms, cpu_why = learned.cpu_ms, f"learned {learned.cpu_ms:.3g} ms (prior {cpu_why})"
    if learned is not None and learned.memory_gib is not None:
        memory_gib = max(0.5, round(learned.memory_gib, 2))
    stated = intent.avg_rps is not None and intent.peak_rps is not None
    avg = intent.avg_rps if intent.avg_rps is not None else DEFAULT_AVG_RPS
    peak = intent.peak_rps if intent.peak_rps is not None else DEFAULT_AVG_RPS * 3
    avg_vcpu = avg * cpu_ms / 1000.0
    peak_vcpu = peak * cpu_ms / 1000.0
    util = utilisation_for(intent)
    memory = memory_gib
    why = [f"CPU per request: {cpu_why}"]
    if learned is not None and learned.cpu_ms is not None:
        why = list(learned.why)
    elif learned is not None:
        why.extend(learned.why)
    if not stated:
        why.append(f"no traffic stated: assumed {DEFAULT_AVG_RPS:g} rps average, 3x at peak")
    return Need(cpu_ms, avg, peak, avg_vcpu, peak_vcpu, memory, util, stated, why)


def sustained_share(instance_type: str, utilisation: float) -> float:
    """Share of each vCPU the *average* load may use on this type: a burstable type's
    baseline (BURSTABLE_BASELINE) x `CREDIT_MARGIN`, capped at the target `utilisation`;
    a fixed-performance type sustains its full vCPUs, so the target utilisation itself."""
    baseline = BURSTABLE_BASELINE.get(instance_type)
    if baseline is None:
        return utilisation
    return min(baseline * CREDIT_MARGIN, utilisation)


def spiky(need: Need) -> bool:
    """Bursts of 4x the average or more: scaling out (minutes) comes after them, so half the
    peak is kept running (vm instances and kubernetes nodes alike)."""
    return need.peak_rps >= 4 * max(need.avg_rps, 1e-9)


def size_vm(need: Need, instance_type: str, vcpu: int, minimum: int, limit: int) -> tuple[int, int]:
    """(desired, max) instances of this type for the need: the average fits the sustained
    (baseline) CPU, the peak fits the full vCPU at the target utilisation (autoscaling up to
    max); spiky traffic keeps half the peak warm (scaling out takes minutes)."""
    sustained = vcpu * sustained_share(instance_type, need.utilisation)
    burst = vcpu * need.utilisation
    for_avg = math.ceil(need.avg_vcpu / sustained - 1e-9) if need.avg_vcpu > 0 else 1
    for_peak = math.ceil(need.peak_vcpu / burst - 1e-9) if need.peak_vcpu > 0 else 1
    desired = max(minimum, for_avg, 1)
    top = max(desired, for_peak)
    if spiky(need):  # scale-out lags the burst
        desired = max(desired, math.ceil(top / 2))
    return min(desired, limit), min(top, limit)


def fits_vm(need: Need, instance_type: str, vcpu: int, limit: int) -> bool:
    """Whether `limit` instances of this type can carry the need at all."""
    return (
        need.avg_vcpu <= limit * vcpu * sustained_share(instance_type, need.utilisation) + 1e-9
        and need.peak_vcpu <= limit * vcpu * need.utilisation + 1e-9
    )


def size_nodes(
    need: Need,
    services: int,
    instance_type: str,
    vcpu: int,
    memory_gib: float,
    minimum: int,
    cpu_services: int | None = None,
    overhead: tuple[float, float] = (0.0, 0.0),
) -> tuple[int, int] | None:
    """(desired, max) nodes for `services` services each carrying the need; None when one
    replica of a service does not fit on a node of this type next to the system pods.
    `cpu_services`: how many times the need's CPU counts (1 when it was learned from the whole
    app's observations, which already include every service). `overhead`: (vCPU, GiB) other
    pods the platform runs request on each node (`ingress_controller_share`): they must fit
    beside a replica (its requests, not its draw: NGINX's is small)."""
    over_vcpu, over_gib = overhead
    if memory_gib - NODE_RESERVED_GIB - over_gib < need.memory_gib:
        return None
    if vcpu - NODE_RESERVED_VCPU - over_vcpu < MIN_POD_VCPU:
        return None
    # The average spends CPU credits (a burstable node's baseline): what the system components
    # really draw counts there, not their scheduling reservation, which would take 75% of a
    # t3.medium's 0.4 vCPU baseline; the peak is what the scheduler leaves to pods.
    usable_avg = vcpu * sustained_share(instance_type, need.utilisation) - system_vcpu(vcpu)
    usable_peak = vcpu * need.utilisation - NODE_RESERVED_VCPU
    if usable_avg <= 0 or usable_peak <= 0:
        return None
    per_node = max(1, int((memory_gib - NODE_RESERVED_GIB - over_gib) // need.memory_gib))
    pods = services
    by_memory = math.ceil(pods / per_node)
    cpu_n = services if cpu_services is None else cpu_services
    for_avg = math.ceil(cpu_n * need.avg_vcpu / usable_avg - 1e-9)
    for_peak = math.ceil(cpu_n * need.peak_vcpu / usable_peak - 1e-9)
    desired = max(minimum, by_memory, for_avg, 1)
    top = max(desired, for_peak)
    if spiky(need):  # as for instances: new nodes come minutes after the burst
        desired = max(desired, math.ceil(top / 2))
    return desired, top


def system_vcpu(vcpu: float) -> float:
    """vCPU a node's system components draw on average (kube-reserved; _KUBE_RESERVED)."""
    out, lower = 0.0, 0.0
    for upper, share in _KUBE_RESERVED:
        out += (min(vcpu, upper) - lower) * share
        if vcpu <= upper:
            break
        lower = upper
    return out


def lambda_duration_ms(need: Need, memory_mb: int) -> float:
    share = min(1.0, memory_mb / LAMBDA_MB_PER_VCPU)
    return need.cpu_ms / share + IO_WAIT_MS


# An automatic choice of serverless needs a known low duty cycle: with no traffic stated the
# assumed one is a steadily used service (DEFAULT_AVG_RPS), and a function's cost grows with
# every request without the bound an instance group's maximum size puts on it.
UNKNOWN_DUTY_CYCLE = (
    "no traffic stated: serverless is chosen automatically for a stated low or irregular "
    "traffic (its cost grows with every request); say the traffic, or ask for serverless"
)


def serverless_unsuitable(intent: Intent, need: Need, timeout_s: int) -> str | None:
    """Why Lambda does not suit this workload, or None."""
    if intent.long_lived:
        return f"long-lived connections ({intent.evidence.get('longLived', 'stated')})"
    if (
        intent.latency_slo_ms is not None
        and intent.latency_slo_ms < COLD_START_MS
        and need.avg_rps < RARE_RPS
    ):
        return (
            f"a {intent.latency_slo_ms:g} ms latency target with rare calls: cold starts of a "
            f"container image take ~{COLD_START_MS / 1000:g} s"
        )
    if need.cpu_ms / 1000.0 > timeout_s / 2:
        return "requests run too long for the Lambda timeout"
    return None


def monthly_requests(need: Need) -> int:
    return int(need.avg_rps * 730 * 3600)
