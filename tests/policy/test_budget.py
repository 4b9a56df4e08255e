"""Budget status (soft/hard) and the hard-budget search of the knowledge-base engine."""

from __future__ import annotations

import pytest

from function.analysis.profile import ServiceProfile
from function.decide.rules import DecisionError
from function.model import Strategy
from function.policy.budget import BudgetState, budget_check
from function.xr import Budget
from tests.decide.test_rules import engine, profile, spec


def budget(max_cost: float, threshold: float = 0.8, mode: str = "soft") -> Budget:
    return Budget.model_validate(
        {"maxMonthlyCost": max_cost, "alertThreshold": threshold, "enforcementMode": mode}
    )


@pytest.mark.parametrize(
    ("estimate", "state", "reason"),
    [
        (79.99, BudgetState.OK, "WithinBudget"),
        (80.0, BudgetState.ALERT, "OverAlertThreshold"),
        (100.0, BudgetState.ALERT, "OverAlertThreshold"),
        (100.01, BudgetState.EXCEEDED, "OverBudget"),
    ],
)
def test_budget_check_thresholds(estimate: float, state: BudgetState, reason: str) -> None:
    status = budget_check(estimate, budget(100))
    assert status.status is state
    typ, cond, why, message = status.condition()
    assert (typ, why) == ("BudgetExceeded", reason)
    assert cond == ("False" if state is BudgetState.OK else "True")
    assert status.warn == (state is not BudgetState.OK)
    assert f"${estimate:.2f}" in message


def test_budget_check_messages_name_the_fields() -> None:
    alert = budget_check(90, budget(100, 0.5))
    assert "spec.budget.alertThreshold" in alert.message and "90%" in alert.message
    over = budget_check(150, budget(100, mode="hard"))
    assert "spec.budget.maxMonthlyCost" in over.message and "hard" in over.message
    assert "current resources stay" in over.message
    assert "current resources stay" not in budget_check(150, budget(100)).message


def test_no_budget_is_ok() -> None:
    status = budget_check(10_000, None)
    assert status.status is BudgetState.OK and not status.warn
    assert status.condition()[1:3] == ("False", "NoBudget")


MONOREPO = [ServiceProfile(name="api", language="go"), ServiceProfile(name="web", language="go")]
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"


def test_hard_budget_keeps_the_preferred_configuration_when_it_fits() -> None:
    out = engine().decide(
        profile(services=MONOREPO),
        spec(image=IMAGE, budget={"maxMonthlyCost": 1000, "enforcementMode": "hard"}),
    )
    assert out.decision.strategy is Strategy.KUBERNETES
    assert not out.warnings


K8S_PROMPT = "run it on kubernetes, highly available"


def test_hard_budget_picks_the_cheapest_configuration_within_it_and_says_which() -> None:
    # The team asks for kubernetes (a preference); the hard budget binds.
    preferred = engine().decide(profile(), spec(image=IMAGE, prompt=K8S_PROMPT))
    assert preferred.decision.strategy is Strategy.KUBERNETES
    limit = 60.0
    assert preferred.cost.monthly_total > limit
    out = engine().decide(
        profile(),
        spec(
            image=IMAGE,
            prompt=K8S_PROMPT,
            budget={"maxMonthlyCost": limit, "enforcementMode": "hard"},
        ),
    )
    assert out.cost.monthly_total <= limit
    costs = [
        a.estimated_monthly_cost for a in out.decision.alternatives if a.estimated_monthly_cost
    ]
    # The cheapest of every strategy's cheapest configuration.
    assert all(out.cost.monthly_total <= c for c in costs)
    assert out.warnings and "hard budget $60.00/month" in out.warnings[0]
    assert "the preferred kubernetes 2x " in out.warnings[0]
    assert "hard budget" in out.decision.reason


def test_several_services_under_a_hard_budget_are_refused_not_squeezed_onto_one_vm() -> None:
    # Services that deploy together need kubernetes; one instance group would run one of them.
    with pytest.raises(DecisionError) as e:
        engine().decide(
            profile(services=MONOREPO),
            spec(image=IMAGE, budget={"maxMonthlyCost": 60, "enforcementMode": "hard"}),
        )
    assert "the cheapest is kubernetes" in str(e.value)


def test_hard_budget_without_serverless_searches_vm_types() -> None:
    # No image: serverless is out; the vm candidate is the cheapest allowed type with the memory.
    out = engine({"vm": {"allowedInstanceTypes": ["m6i.large", "t3.small", "t3.medium"]}}).decide(
        profile(),
        spec(prompt=K8S_PROMPT, budget={"maxMonthlyCost": 60, "enforcementMode": "hard"}),
    )
    assert out.decision.strategy is Strategy.VM
    assert out.decision.vm is not None and out.decision.vm.instance_type == "t3.small"


def test_hard_budget_refuses_with_the_cheapest_option_named() -> None:
    with pytest.raises(DecisionError) as e:
        engine().decide(
            profile(language="java", framework="spring-boot"),
            spec(budget={"maxMonthlyCost": 20, "enforcementMode": "hard"}),
        )
    msg = str(e.value)
    assert msg.startswith("spec.budget.maxMonthlyCost")
    assert "the cheapest is vm 1x t3.medium" in msg
    assert "existing resources are left as they are" in msg


def test_soft_budget_prefers_within_budget_but_never_refuses() -> None:
    out = engine().decide(
        profile(),
        spec(
            image=IMAGE,
            prompt=K8S_PROMPT,
            budget={"maxMonthlyCost": 60, "enforcementMode": "soft"},
        ),
    )
    assert out.cost.monthly_total <= 60
    over = engine().decide(
        profile(language="java", framework="spring-boot"),
        spec(budget={"maxMonthlyCost": 20, "enforcementMode": "soft"}),
    )
    assert over.cost.monthly_total > 20 and over.warnings
