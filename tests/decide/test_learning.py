"""Observations and the learning of the capacity model's coefficients (shrinkage)."""

from __future__ import annotations

import math
from typing import Any

from function.decide import capacity as cap
from function.decide.intent import read_intent
from function.decide.learning import K_APP, Observation, learn, observation_of
from function.decide.observations import observed_metrics
from function.pricing.catalog import load_catalog
from tests.decide.test_rules import engine, profile, spec

CATALOG = load_catalog()


def row(metrics: dict[str, Any], vm: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    vm = vm or {"instanceType": "t3.small", "desiredCapacity": 2}
    return {
        "repository": "github.com/acme/app",
        "framework": "flask",
        "language": "python",
        "region": "us-east-1",
        "metadata": {"decision": {"strategy": "vm", "vm": vm}},
        "metrics": metrics,
        **kw,
    }


def test_annotations_become_metrics_and_bad_values_are_named() -> None:
    metrics, warnings = observed_metrics(
        {
            "scia.io/observed-rps": "40",
            "scia.io/observed-cpu-utilisation": "55%",
            "scia.io/observed-memory-gib": "0.7",
            "scia.io/observed-oom-kills": "0",
            "scia.io/observed-at-max": "true",
            "scia.io/observed-duration-ms": "180",
            "scia.io/observed-throttles": "3",
            "scia.io/observed-scaling-activities": "6",
            "scia.io/observed-p95-ms": "fast",
            "scia.io/observed-5xx-rate": "2",
            "scia.io/observed-colour": "blue",
            "other": "x",
        }
    )
    assert metrics == {
        "observedRps": 40.0,
        "cpuUtilisation": 0.55,
        "memoryGiB": 0.7,
        "oomKills": 0.0,
        "atMaxSize": True,
        "durationMs": 180.0,
        "throttles": 3.0,
        "scalingActivities": 6.0,
    }
    assert len(warnings) == 3
    assert any("observed-p95-ms" in w and "not a number" in w for w in warnings)
    assert any("observed-5xx-rate" in w and "outside" in w for w in warnings)


def test_cpu_per_request_comes_from_utilisation_vcpus_and_rps() -> None:
    # 2x t3.small = 4 vCPU at 50% for 100 rps -> 20 ms of one vCPU per request.
    o = observation_of(row({"observedRps": 100, "cpuUtilisation": 0.5}), CATALOG)
    assert o is not None and o.cpu_ms is not None and math.isclose(o.cpu_ms, 20.0)
    # Idle traffic says nothing about the work per request.
    assert observation_of(row({"observedRps": 0.01, "cpuUtilisation": 0.02}), CATALOG) is None
    oom = observation_of(row({"oomKills": 3}), CATALOG)
    assert oom is not None and oom.oom_floor_gib == 2.0 * 1.5  # t3.small has 2 GiB


def test_one_noisy_deployment_moves_the_estimate_a_bounded_step() -> None:
    p = profile(dependencies=["flask"])
    prior, _ = cap.cpu_ms_per_request(p)
    noisy = [Observation("github.com/acme/other", "flask", "python", cpu_ms=prior * 10)]
    got = learn(noisy, p, "github.com/acme/app").cpu_ms
    assert got is not None
    # language k=3, framework k=3: a single observation is one vote among 4 at each level.
    assert prior < got < prior * 10 ** (1 / 4) * 10 ** (1 / 4) * 1.001
    # The app's own history dominates as it grows.
    own = [Observation("github.com/acme/app", "flask", "python", cpu_ms=prior * 3)] * 12
    got_own = learn(own, p, "github.com/acme/app").cpu_ms
    assert got_own is not None and got_own > prior * 2.5
    assert K_APP < 12


def test_memory_is_learned_per_app_and_oom_kills_are_floors() -> None:
    p = profile()
    learned = learn(
        [
            Observation("github.com/acme/app", "flask", "python", memory_gib=0.6),
            Observation("github.com/acme/app", "flask", "python", oom_floor_gib=3.0),
            Observation("github.com/acme/other", "flask", "python", memory_gib=9.0),
        ],
        p,
        "github.com/acme/app",
    )
    assert learned.memory_gib == 3.0
    assert any("out-of-memory" in w for w in learned.why)


def test_the_knowledge_base_sizes_with_what_it_learned_and_says_so() -> None:
    p = profile()
    s = spec(prompt="about 30 requests per second")
    before = engine().decide(p, s)
    heavy = [Observation("github.com/acme/app", "flask", "python", cpu_ms=150.0)] * 6
    learned = learn(heavy, p, "github.com/acme/app")
    from function.decide.rules import RulesEngine

    after = RulesEngine(engine().settings, engine().catalog, engine().assumptions, learned).decide(
        p, s
    )
    assert after.need is not None and before.need is not None
    assert after.need.peak_vcpu > 3 * before.need.peak_vcpu
    assert after.cost.monthly_total > before.cost.monthly_total
    assert "learned" in after.decision.reason
    assert read_intent("about 30 requests per second").avg_rps == 30.0


def analysed(framework: str, deps: list[str]) -> dict[str, Any]:
    """A stored record's metadata.analysis (what the prior of the app observed comes from)."""
    return {"framework": framework, "language": "python", "dependencies": deps}


def test_observations_are_compared_with_the_prior_of_the_app_they_observed() -> None:
    # A Flask app running PyTorch used 0.5x what was expected of it (prior 15 x 6 = 90 ms).
    heavy = row(
        {"observedRps": 10, "cpuUtilisation": 0.45},  # 0.45 x 4 vCPU x 1000 / 10 = 180 ms
        vm={"instanceType": "t3.small", "desiredCapacity": 2},
        repository="github.com/acme/ml",
        metadata={
            "decision": {
                "strategy": "vm",
                "vm": {"instanceType": "t3.small", "desiredCapacity": 2},
            },
            "analysis": analysed("flask", ["flask", "torch"]),
        },
    )
    o = observation_of(heavy, CATALOG)
    assert o is not None and o.cpu_prior_ms == 90.0 and o.cpu_ms is not None
    assert math.isclose(o.cpu_ms, 180.0)
    plain = profile(dependencies=["flask"])
    prior, _ = cap.cpu_ms_per_request(plain)
    got = learn([o] * 6, plain, "github.com/acme/app").cpu_ms
    # It teaches "Flask needs more than expected" (x2), not "Flask needs 180 ms": the plain
    # app's estimate moves by the ratio, shrunk, never towards the ML app's absolute figure.
    assert got is not None and prior < got < prior * 2
    # Without the analysis (older records) the prior of the app decided stands in.
    bare = observation_of(row({"observedRps": 10, "cpuUtilisation": 0.45}), CATALOG)
    assert bare is not None and bare.cpu_prior_ms is None


def test_a_saturated_deployment_is_a_lower_bound_not_a_sample() -> None:
    full = observation_of(row({"observedRps": 100, "cpuUtilisation": 1.0}), CATALOG)
    assert full is not None and full.cpu_ms is None
    assert full.cpu_floor_ms is not None and math.isclose(full.cpu_floor_ms, 40.0)
    at_max = observation_of(
        row({"observedRps": 100, "cpuUtilisation": 0.5, "atMaxSize": True}), CATALOG
    )
    assert at_max is not None and at_max.cpu_ms is None and at_max.cpu_floor_ms == 20.0
    p = profile(dependencies=["flask"])
    learned = learn([full], p, "github.com/acme/app")
    assert learned.cpu_ms == 40.0 and any("saturated" in w for w in learned.why)
    # Another app's saturation says nothing about this one.
    assert learn([full], p, "github.com/acme/other").cpu_ms is None


def test_the_instances_observed_running_replace_the_desired_count() -> None:
    # The group scaled out to 4 (observedCapacity): 4 x 2 vCPU at 50% for 100 rps = 40 ms.
    o = observation_of(
        row({"observedRps": 100, "cpuUtilisation": 0.5, "observedCapacity": 4}), CATALOG
    )
    assert o is not None and o.cpu_ms is not None and math.isclose(o.cpu_ms, 40.0)


def test_memory_of_a_new_app_comes_from_apps_like_it_relative_to_their_priors() -> None:
    def seen(repo: str, deps: list[str], gib: float) -> Observation:
        prior = cap.memory_prior("flask", "python", deps)
        return Observation(repo, "flask", "python", memory_gib=gib, memory_prior_gib=prior)

    p = profile(dependencies=["flask", "pandas"])  # prior 2 GiB
    one = [seen("github.com/acme/a", ["flask"], 0.55)]
    assert learn(one, p, "github.com/acme/new").memory_gib is None  # one app is not enough
    two = [*one, seen("github.com/acme/b", ["flask", "torch"], 2.0)]  # x0.55 and x0.5
    learned = learn(two, p, "github.com/acme/new")
    # The hungriest ratio (x0.55) of the new app's own prior, not another app's figure.
    assert learned.memory_gib is not None and math.isclose(learned.memory_gib, 1.1)
    assert any("2 apps like it" in w for w in learned.why)
    # An app like it that was killed for memory raises the estimate above the prior.
    killed = Observation(
        "github.com/acme/c", "flask", "python", oom_floor_gib=3.0, memory_prior_gib=1.0
    )
    raised = learn([*two, killed], p, "github.com/acme/new").memory_gib
    assert raised is not None and math.isclose(raised, 6.0)


def test_a_monorepo_record_is_compared_with_the_same_summed_prior_as_its_profile() -> None:
    services = [
        {"name": "api", "path": "services/api", "language": "go", "framework": "net/http"},
        {"name": "web", "path": "services/web", "language": "typescript", "framework": "nextjs"},
    ]
    record = row(
        {"observedRps": 10, "cpuUtilisation": 0.2, "memoryGiB": 1.5},
        metadata={
            "decision": {
                "strategy": "vm",
                "vm": {"instanceType": "t3.small", "desiredCapacity": 2},
            },
            "analysis": {"framework": "net/http", "language": "go", "services": services},
        },
    )
    o = observation_of(record, CATALOG)
    assert o is not None
    assert o.cpu_prior_ms == cap.CPU_MS["nextjs"] + cap.CPU_MS_LANGUAGE["go"]
    assert o.memory_prior_gib == cap.MEMORY_GIB["nextjs"]
    p = profile(
        language="go",
        framework="net/http",
        services=[
            {"name": s["name"], "path": s["path"], "language": s["language"],
             "framework": s["framework"]} for s in services
        ],
    )  # fmt: skip
    assert cap.cpu_ms_per_request(p)[0] == o.cpu_prior_ms


def test_a_group_that_kept_scaling_out_to_its_maximum_is_a_floor() -> None:
    """Frequent scale-outs (counted by the store, or reported as scaling activities) and the
    highest size seen at the decision's maximum: under-provisioned, even when the last reading
    was after a scale-in. Scaling within the bounds is a sample."""
    vm = {"instanceType": "t3.small", "desiredCapacity": 2, "minSize": 2, "maxSize": 4}
    base = {"observedRps": 100, "cpuUtilisation": 0.5, "observedCapacity": 2}
    for scaling in ({"scaleOuts": 3}, {"scalingActivities": 5}):
        o = observation_of(row(base | scaling | {"highestCapacity": 4}, vm), CATALOG)
        assert o is not None and o.cpu_ms is None and o.cpu_floor_ms == 20.0, scaling
    for calm in (
        {"scaleOuts": 3, "highestCapacity": 3},  # never reached its maximum
        {"scaleOuts": 1, "highestCapacity": 4},  # reached it once
        {"scalingActivities": 0},
    ):
        o = observation_of(row(base | calm, vm), CATALOG)
        assert o is not None and o.cpu_ms == 20.0 and o.cpu_floor_ms is None, calm


def test_the_prompt_states_what_the_scaling_activity_of_a_past_deployment_means() -> None:
    from function.decide.prompt import _scaling

    vm = {"vm": {"instanceType": "t3.small", "minSize": 2, "maxSize": 4, "desiredCapacity": 2}}
    busy = {"scaleOuts": 4, "scaleIns": 1, "highestCapacity": 4, "cpuUtilisation": 0.7}
    assert _scaling(busy, vm) == (
        "scaled out 4x and in 1x while observed; highest 4 instances of max 4; "
        "pinned at its maximum: under-provisioned"
    )
    idle = {"scalingActivities": 0, "cpuUtilisation": 0.08}
    assert _scaling(idle, vm) == (
        "0 scaling activities in the reported window; never scaled at CPU 8%: over-provisioned"
    )
    k8s = {"kubernetes": {"nodeInstanceType": "m6i.large", "maxNodes": 3}}
    pods = {"scaleOuts": 1, "scaleIns": 0, "highestCapacity": 2, "highestReplicas": 6}
    assert _scaling(pods, k8s) == (
        "scaled out 1x and in 0x while observed; highest 2 nodes of max 3; up to 6 pods"
    )
    assert _scaling({"cpuUtilisation": 0.5}, vm) is None
