"""Right-sizing from observations (function/decide/rightsizing.py), every strategy: what the
observations of the running revision say, the sizes within the same strategy, the costs."""

from __future__ import annotations

from typing import Any

import pytest

from function.decide.rightsizing import applied, recommend, sizes_of
from function.input import FunctionInput
from function.model import Decision
from function.pinning import AnalysisSummary, PinnedDecision
from function.pricing.catalog import load_catalog
from function.xr import AppSpec

CATALOG = load_catalog()
SHA = "ff975be7f7a86bf8b487dc27efd3c7b85e8d866b"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"
PARAMS: dict[str, dict[str, Any]] = {
    "vm": {
        "strategy": "vm",
        "vm": {"instanceType": "m6i.xlarge", "minSize": 4, "maxSize": 6, "desiredCapacity": 4},
    },
    "kubernetes": {
        "strategy": "kubernetes",
        "kubernetes": {
            "nodeInstanceType": "m6i.xlarge",
            "minNodes": 4,
            "maxNodes": 6,
            "desiredNodes": 4,
        },
    },
    "serverless": {
        "strategy": "serverless",
        "serverless": {"memoryMb": 3008, "timeoutSeconds": 30},
    },
}


def pin(strategy: str = "vm", revision: int = 2, **sizes: Any) -> PinnedDecision:
    params = {**PARAMS[strategy], **sizes, "port": 5000, "reason": "r", "confidence": 0.6}
    return PinnedDecision(
        revision=revision,
        inputs_hash="h",
        spec_hash="s",
        commit=SHA,
        decided_by="knowledge-base",
        decided_at="2026-11-29T00:00:00Z",
        parameters=Decision.model_validate(params),
        analysis=AnalysisSummary(language="python", framework="flask", port=5000, memory_gib=1.0),
        estimated_monthly_cost=500.0,
    )


def spec(prompt: str = "an internal API, about 20 requests per second") -> AppSpec:
    return AppSpec.model_validate(
        {"repository": {"url": "https://github.com/acme/app"}, "prompt": prompt, "image": IMAGE}
    )


def observed(revision: int | None = 2, **values: str) -> dict[str, str]:
    out = {f"scia.io/observed-{k.replace('_', '-')}": v for k, v in values.items()}
    if revision is not None:
        out["scia.io/observed-revision"] = str(revision)
    return out


def rec(p: PinnedDecision, annotations: dict[str, str], **inp: Any) -> Any:
    return recommend(p, spec(), FunctionInput.model_validate(inp), CATALOG, annotations)


@pytest.mark.parametrize("strategy", ["vm", "kubernetes"])
def test_an_idle_group_is_over_provisioned_with_a_cheaper_size_of_the_same_strategy(
    strategy: str,
) -> None:
    r = rec(pin(strategy), observed(cpu_utilisation="0.03", memory_gib="0.4"))
    assert r is not None and r.state == "over-provisioned", r
    assert r.recommended.strategy.value == strategy
    assert r.revision == 2 and r.revision_confirmed
    assert r.recommended_monthly < r.current_monthly * 0.85
    assert r.monthly_saving == round(r.current_monthly - r.recommended_monthly, 2) > 0
    status = r.to_status()
    assert status["state"] == "over-provisioned" and status["monthlySaving"] > 0
    assert status["recommended"]["strategy"] == strategy and strategy in status["recommended"]
    assert "CPU 3%" in status["basis"] and "risk" not in status


@pytest.mark.parametrize("strategy", ["vm", "kubernetes"])
def test_a_hot_group_at_its_maximum_is_under_provisioned_with_the_risk_named(
    strategy: str,
) -> None:
    two = {
        "vm": {
            "vm": {"instanceType": "m6i.large", "minSize": 2, "maxSize": 2, "desiredCapacity": 2}
        },
        "kubernetes": {
            "kubernetes": {
                "nodeInstanceType": "m6i.large",
                "minNodes": 2,
                "maxNodes": 2,
                "desiredNodes": 2,
            }
        },
    }[strategy]
    r = rec(pin(strategy, **two), observed(cpu_utilisation="0.92", at_max="true"))
    assert r is not None and r.state == "under-provisioned", r
    assert r.risk is not None
    assert "maximum size" in r.risk and "CPU 92%" in r.risk
    assert r.recommended_monthly > r.current_monthly and r.monthly_saving < 0
    assert r.recommended.strategy.value == strategy


def test_out_of_memory_kills_raise_the_memory_per_instance() -> None:
    small = pin(vm={"instanceType": "t3.small", "minSize": 2, "maxSize": 3, "desiredCapacity": 2})
    r = rec(small, observed(oom_kills="3", cpu_utilisation="0.2"))
    assert r is not None and r.state == "under-provisioned" and "3 out-of-memory kills" in r.risk
    assert r.recommended.vm is not None
    assert CATALOG.instance("us-east-1", r.recommended.vm.instance_type).memory_gib >= 3.0


def test_serverless_memory_follows_the_observed_peak() -> None:
    r = rec(pin("serverless"), observed(memory_gib="0.5"))
    assert r is not None and r.state == "over-provisioned", r
    assert r.recommended.serverless is not None and r.recommended.serverless.memory_mb < 3008
    low = pin("serverless", serverless={"memoryMb": 512, "timeoutSeconds": 30})
    up = rec(low, observed(oom_kills="1"))
    assert up is not None and up.state == "under-provisioned"
    assert up.recommended.serverless is not None and up.recommended.serverless.memory_mb >= 768


def test_serverless_throttles_are_a_risk_and_its_duration_is_named() -> None:
    low = pin("serverless", serverless={"memoryMb": 1024, "timeoutSeconds": 30})
    r = rec(low, observed(throttles="12", duration_ms="180"))
    assert r is not None and r.state == "under-provisioned", r
    assert r.risk is not None and "12 invocations throttled" in r.risk
    assert "180 ms per invocation" in r.basis
    calm = rec(low, observed(throttles="0", duration_ms="180"))
    assert calm is None or "throttled" not in (calm.risk or "")


def test_a_well_sized_group_is_right_sized() -> None:
    first = rec(pin(), observed(cpu_utilisation="0.05"))
    assert first is not None and first.state == "over-provisioned"
    assert first.recommended.vm is not None
    # The recommended sizes, observed carrying the same load (the same vCPUs busy).
    new = first.recommended.vm
    busy = 0.05 * 4 * CATALOG.instance("us-east-1", "m6i.xlarge").vcpu
    util = busy / (new.desired_capacity * CATALOG.instance("us-east-1", new.instance_type).vcpu)
    sized = pin(vm=new.model_dump(by_alias=True), revision=3)
    again = rec(sized, observed(3, cpu_utilisation=f"{util:.6f}"))
    assert again is not None and again.state == "right-sized", again
    assert sizes_of(again.recommended) == sizes_of(sized.parameters)
    assert again.monthly_saving == 0


def test_observations_of_another_revision_and_none_at_all_give_nothing() -> None:
    assert rec(pin(), observed(1, cpu_utilisation="0.03")) is None
    assert rec(pin(), {}) is None
    assert rec(pin(), {"scia.io/observed-p95-ms": "120"}) is None  # nothing that sizes
    unconfirmed = rec(pin(), observed(None, cpu_utilisation="0.03"))
    assert unconfirmed is not None and not unconfirmed.revision_confirmed


def test_a_single_instance_stays_single() -> None:
    one = pin(vm={"instanceType": "m6i.xlarge", "minSize": 1, "maxSize": 1, "desiredCapacity": 1})
    r = rec(one, observed(cpu_utilisation="0.6", at_max="true"))
    assert r is not None and r.recommended.vm is not None
    assert r.recommended.vm.max_size == 1


def test_the_recommendation_stays_within_the_platforms_allowlist_and_bounds() -> None:
    r = rec(
        pin(),
        observed(cpu_utilisation="0.95", at_max="true"),
        vm={"allowedInstanceTypes": ["m6i.xlarge", "m6i.2xlarge"], "maxInstances": 6},
    )
    assert r is not None and r.recommended.vm is not None
    assert r.recommended.vm.instance_type in ("m6i.xlarge", "m6i.2xlarge")
    assert r.recommended.vm.max_size <= 6


def test_nothing_allowed_carries_it_is_an_under_provisioned_risk_not_a_silence() -> None:
    r = rec(pin(), observed(cpu_utilisation="0.99", at_max="true"), vm={"maxInstances": 6})
    assert r is not None and r.state == "under-provisioned"
    assert r.risk is not None and "no allowed size carries it" in r.risk
    assert sizes_of(r.recommended) == sizes_of(pin().parameters)


def test_applied_is_the_next_revision_of_the_same_strategy_with_the_new_sizes() -> None:
    before = pin()
    r = rec(before, observed(cpu_utilisation="0.03", memory_gib="0.4"))
    assert r is not None
    after = applied(before, r, spec(), FunctionInput(), CATALOG, "2026-11-29T12:00:00Z")
    assert after.revision == 3 and after.decided_by == "rightsizing"
    assert after.parameters.strategy is before.parameters.strategy
    assert after.parameters.vm == r.recommended.vm
    assert after.parameters.port == 5000  # everything but the sizes is the pin's
    assert (after.commit, after.spec_hash, after.inputs_hash) == (SHA, "s", "h")
    assert after.trigger is not None and "right-sizing: revision 2 was over-provisioned" in (
        after.trigger
    )
    assert "saves $" in after.trigger
    assert after.estimated_monthly_cost is not None and after.estimated_monthly_cost < 500
    assert after.cost_breakdown


@pytest.mark.parametrize("strategy", ["vm", "kubernetes"])
def test_frequent_scaling_pinned_at_the_maximum_is_named_as_the_risk(strategy: str) -> None:
    """Scale-outs that keep coming while the group sits at its maximum: under-provisioned,
    and the risk says so (a single reading at max says only that it sat there)."""
    busy = observed(cpu_utilisation="0.7", at_max="true", scaling_activities="7")
    r = rec(pin(strategy), busy)
    assert r is not None and r.state == "under-provisioned", r
    assert r.risk is not None and "scaled 7 times in the window and sat at its maximum" in r.risk
    once = rec(
        pin(strategy), observed(cpu_utilisation="0.7", at_max="true", scaling_activities="1")
    )
    assert once is not None and once.state == "under-provisioned"
    assert "scaled" not in (once.risk or "") and "sat at its maximum size" in (once.risk or "")


@pytest.mark.parametrize("strategy", ["vm", "kubernetes"])
def test_a_group_that_never_scaled_at_low_cpu_is_over_provisioned_below_the_saving_threshold(
    strategy: str,
) -> None:
    """With a saving threshold no recommendation reaches, low CPU alone leaves it right-sized;
    a group that never scaled in the window at that CPU shows its minimum carries every
    peak: over-provisioned, whatever the saving."""
    settings = FunctionInput()

    def at(annotations: dict[str, str]) -> Any:
        return recommend(pin(strategy), spec(), settings, CATALOG, annotations, min_saving=0.99)

    quiet = at(observed(cpu_utilisation="0.1"))
    assert quiet is not None and quiet.state == "right-sized", quiet
    never = at(observed(cpu_utilisation="0.1", scaling_activities="0"))
    assert never is not None and never.state == "over-provisioned", never
    assert "never scaled in the window at CPU 10%" in never.basis
    assert never.recommended_monthly < never.current_monthly
    # Busy CPU or scaling seen: no such reading.
    for busy in (
        observed(cpu_utilisation="0.5", scaling_activities="0"),
        observed(cpu_utilisation="0.1", scaling_activities="2"),
    ):
        r = at(busy)
        assert r is None or "never scaled" not in r.basis
