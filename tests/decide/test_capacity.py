"""The capacity model and the knowledge base's choice across strategies."""

from __future__ import annotations

import pytest

from function.analysis.profile import ServiceProfile
from function.decide import capacity as cap
from function.decide.intent import read_intent
from function.model import Strategy
from function.pricing.catalog import load_catalog
from tests.decide.test_rules import engine, profile, spec

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"
CATALOG = load_catalog()


def test_need_scales_with_traffic_and_the_slo_lowers_the_utilisation_target() -> None:
    p = profile()
    small = cap.need_of(p, read_intent("5 rps"), 1.0)
    big = cap.need_of(p, read_intent("500 rps"), 1.0)
    tight = cap.need_of(p, read_intent("500 rps, p99 under 80 ms"), 1.0)
    assert big.peak_vcpu == pytest.approx(100 * small.peak_vcpu)
    assert small.utilisation == 0.6 and tight.utilisation == 0.4
    heavy = cap.need_of(profile(dependencies=["flask", "torch"]), read_intent("5 rps"), 4.0)
    assert heavy.cpu_ms == 6 * small.cpu_ms and heavy.memory_gib == 4.0


def test_burstable_instances_carry_the_average_only_within_their_baseline() -> None:
    need = cap.need_of(profile(), read_intent("40 rps steady"), 1.0)  # 0.6 vCPU on average
    micro = CATALOG.instance("us-east-1", "t3.micro").vcpu
    desired, top = cap.size_vm(need, "t3.micro", micro, 1, 10)
    assert desired * micro * 0.1 * cap.CREDIT_MARGIN >= need.avg_vcpu
    assert top * micro * need.utilisation >= need.peak_vcpu
    c6 = CATALOG.instance("us-east-1", "c6i.large").vcpu
    assert cap.size_vm(need, "c6i.large", c6, 1, 10)[0] == 1


def _steady(avg_vcpu: float) -> cap.Need:
    """A steady need (peak 1.1x the average) of `avg_vcpu` on average, at the 0.6 target."""
    return cap.Need(15.0, avg_vcpu / 0.015, 1.1 * avg_vcpu / 0.015, avg_vcpu, 1.1 * avg_vcpu,
                    1.0, 0.6, True)  # fmt: skip


@pytest.mark.parametrize(
    ("instance_type", "region"),
    [("c6i.large", "us-east-1"), ("m6i.large", "us-east-1"), ("n2-standard-2", "us-central1"),
     ("e2-standard-2", "us-central1"), ("Standard_D2s_v5", "eastus"),
     ("Standard_F2s_v2", "eastus")],
)  # fmt: skip
def test_fixed_performance_instances_sustain_their_full_vcpu_at_the_target(
    instance_type: str, region: str
) -> None:
    """No credit margin on a type that does not burst: 1.0 vCPU steady (peak 1.1) fits one
    2-vCPU instance at 60% (1.2 vCPU); the burstable 80% margin (0.96) would ask for two."""
    assert instance_type not in cap.BURSTABLE_BASELINE
    assert cap.sustained_share(instance_type, 0.6) == 0.6
    vcpu = CATALOG.instance(region, instance_type).vcpu
    assert vcpu == 2
    need = _steady(1.0)
    assert cap.size_vm(need, instance_type, vcpu, 1, 10) == (1, 1)
    assert cap.fits_vm(need, instance_type, vcpu, 1)
    # Nodes: the average keeps the full 1.2 vCPU less the system's 0.07.
    assert cap.size_nodes(need, 1, instance_type, vcpu, 8.0, 1)[0] == 1  # type: ignore[index]


@pytest.mark.parametrize(
    ("instance_type", "region", "baseline"),
    [("t3.micro", "us-east-1", 0.10), ("t3a.medium", "us-east-1", 0.20),
     ("t4g.small", "us-east-1", 0.20), ("t4g.xlarge", "us-east-1", 0.40),
     ("e2-small", "us-central1", 0.25), ("e2-medium", "us-central1", 0.50),
     ("Standard_B2s", "eastus", 0.20), ("Standard_B2ms", "eastus", 0.30),
     ("Standard_B1ms", "eastus", 0.20)],
)  # fmt: skip
def test_every_burstable_family_keeps_its_baseline_and_margin(
    instance_type: str, region: str, baseline: float
) -> None:
    """T3/T3a/T4g, GCP's shared-core E2 and Azure's B-series sustain their baseline share of
    each vCPU; the average is planned at 80% of it (credits left for bursts)."""
    share = cap.sustained_share(instance_type, 0.6)
    assert share == pytest.approx(baseline * cap.CREDIT_MARGIN)
    if instance_type.startswith("t3a"):
        return  # not in the catalogue: the table still knows it
    vcpu = CATALOG.instance(region, instance_type).vcpu
    need = _steady(0.9 * vcpu * share)
    assert cap.size_vm(need, instance_type, vcpu, 1, 10)[0] == 1
    over = _steady(1.1 * vcpu * share)
    assert cap.size_vm(over, instance_type, vcpu, 1, 10)[0] == 2


@pytest.mark.parametrize(
    "prompt", ["a few calls an hour", "sporadic traffic", "about 30 requests per hour"]
)
def test_serverless_when_the_workload_suits_it(prompt: str) -> None:
    out = engine().decide(profile(), spec(prompt=prompt, image=IMAGE))
    assert out.decision.strategy is Strategy.SERVERLESS
    assert out.cost.monthly_total < 5
    assert "intent: avg" in out.decision.reason and "capacity:" in out.decision.reason


@pytest.mark.parametrize(
    ("prompt", "why"),
    [
        ("a few calls an hour, clients keep websocket connections", "long-lived"),
        ("a few calls an hour, p95 under 300 ms", "cold starts"),
    ],
)
def test_not_serverless_when_it_does_not_suit(prompt: str, why: str) -> None:
    out = engine().decide(profile(), spec(prompt=prompt, image=IMAGE))
    assert out.decision.strategy is not Strategy.SERVERLESS
    [alt] = [a for a in out.decision.alternatives if a.strategy is Strategy.SERVERLESS]
    assert why in alt.reason


def test_services_deployed_together_go_to_kubernetes_with_room_for_all() -> None:
    services = [ServiceProfile(name=n, language="python") for n in ("api", "web", "worker")]
    out = engine().decide(profile(services=services), spec(prompt="50 rps", image=IMAGE))
    assert out.decision.strategy is Strategy.KUBERNETES
    k = out.decision.kubernetes
    assert k is not None
    node = CATALOG.instance("us-east-1", k.node_instance_type)
    # avg 2.25 vCPU, peak 6.75 vCPU over the three services: the desired nodes carry the
    # average (a fixed-performance node sustains 60% of its vCPUs less the system's draw),
    # the maximum the peak, and every pod fits next to the system share.
    usable = node.vcpu * 0.6 - cap.system_vcpu(node.vcpu)
    assert k.desired_nodes * usable >= 2.25
    assert k.max_nodes * (node.vcpu * 0.6 - cap.NODE_RESERVED_VCPU) >= 6.75
    assert k.desired_nodes * int(node.memory_gib - cap.NODE_RESERVED_GIB) >= 3
    said = engine().decide(profile(), spec(prompt="three services deployed together"))
    assert said.decision.strategy is Strategy.KUBERNETES


def test_more_traffic_more_capacity_and_the_cheapest_strategy_wins() -> None:
    low = engine().decide(profile(), spec(prompt="2 rps"))
    high = engine().decide(profile(), spec(prompt="300 rps, peaks of 900 rps"))
    assert low.decision.vm is not None and high.decision.vm is not None
    vcpus = [
        d.vm.max_size * CATALOG.instance("us-east-1", d.vm.instance_type).vcpu
        for d in (low.decision, high.decision)
        if d.vm is not None
    ]
    assert vcpus[1] > 5 * vcpus[0]
    costs = [
        a.estimated_monthly_cost for a in high.decision.alternatives if a.estimated_monthly_cost
    ]
    assert all(high.cost.monthly_total <= c for c in costs)


def test_memory_per_instance_fits_the_runtime() -> None:
    java = engine().decide(profile(language="java", framework="spring-boot"), spec(prompt="5 rps"))
    assert java.decision.vm is not None
    assert CATALOG.instance("us-east-1", java.decision.vm.instance_type).memory_gib >= 4
    # A Lambda cannot have the 4 GiB a JVM app needs under the default 3008 MB limit.
    lam = engine().decide(
        profile(language="java", framework="spring-boot"),
        spec(prompt="a few calls an hour", image=IMAGE),
    )
    assert lam.decision.strategy is not Strategy.SERVERLESS


def test_spiky_traffic_keeps_half_the_peak_running_on_instances_and_nodes_alike() -> None:
    steady = cap.need_of(profile(), read_intent("average 100 rps, peaking at 300 rps"), 1.0)
    bursts = cap.need_of(profile(), read_intent("average 20 rps, peaking at 400 rps"), 1.0)
    assert not cap.spiky(steady) and cap.spiky(bursts)
    large = CATALOG.instance("us-east-1", "c6i.large")
    desired, top = cap.size_vm(bursts, "c6i.large", large.vcpu, 1, 20)
    assert desired >= top / 2 and top * large.vcpu * bursts.utilisation >= bursts.peak_vcpu
    node = CATALOG.instance("us-east-1", "m6i.xlarge")
    sized = cap.size_nodes(bursts, 1, "m6i.xlarge", node.vcpu, node.memory_gib, 1)
    assert sized is not None
    desired, top = sized
    assert desired >= top / 2 > 1
    calm = cap.size_nodes(steady, 1, "m6i.xlarge", node.vcpu, node.memory_gib, 1)
    assert calm is not None and calm[0] < calm[1]


def shop() -> list[ServiceProfile]:
    """A monorepo as the analysis finds it: a Next.js front end and a Go API."""
    return [
        ServiceProfile(name="api", path="services/api", language="go", framework="net/http"),
        ServiceProfile(name="web", path="services/web", language="typescript", framework="nextjs"),
    ]


def test_a_monorepo_needs_what_each_of_its_services_needs() -> None:
    """CPU per request is the sum of the services' priors (a request crosses them), memory
    per pod the hungriest service's floor: not the first service's figures for all."""
    p = profile(language="go", framework="net/http", dependencies=[], services=shop())
    need = cap.need_of(p, read_intent("16 rps"), cap.memory_prior(
        p.framework, p.language, p.dependencies, cap.service_parts(p)))  # fmt: skip
    assert need.cpu_ms == cap.CPU_MS["nextjs"] + cap.CPU_MS_LANGUAGE["go"]
    assert need.memory_gib == cap.MEMORY_GIB["nextjs"]
    assert "2 services: net/http 3 ms + nextjs 30 ms" in need.why[0]
    out = engine().decide(p, spec(prompt="16 rps", image=IMAGE))
    k = out.decision.kubernetes
    assert out.decision.strategy is Strategy.KUBERNETES and k is not None
    node = CATALOG.instance("us-east-1", k.node_instance_type)
    # Both pods of 2 GiB fit on the desired nodes next to the system share.
    per_node = int((node.memory_gib - cap.NODE_RESERVED_GIB) // need.memory_gib)
    assert per_node * k.desired_nodes >= 2
    # The whole app's average CPU (counted once: it is already summed) fits what they sustain.
    usable = node.vcpu * cap.sustained_share(k.node_instance_type, need.utilisation)
    assert k.desired_nodes * (usable - cap.system_vcpu(node.vcpu)) >= need.avg_vcpu


def test_the_system_draw_of_a_node_is_its_kube_reserved_share() -> None:
    """eksctl's node bootstrap: 6% of the first core, 1% of the second, 0.5% of cores 3-4,
    0.25% beyond; a t3.medium's average then keeps most of its 0.4 vCPU baseline."""
    assert cap.system_vcpu(1) == pytest.approx(0.06)
    assert cap.system_vcpu(2) == pytest.approx(0.07)
    assert cap.system_vcpu(4) == pytest.approx(0.08)
    assert cap.system_vcpu(8) == pytest.approx(0.09)
    need = cap.need_of(profile(), read_intent("10 rps"), 1.0)  # 0.15 vCPU on average
    sized = cap.size_nodes(need, 1, "t3.medium", 2, 4.0, 1)
    assert sized is not None and sized[0] == 1
