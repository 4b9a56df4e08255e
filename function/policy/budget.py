"""Budget status of a cost estimate: ok, alert (past alertThreshold x max) or exceeded."""

from __future__ import annotations

from enum import StrEnum
from typing import Final, Literal

from pydantic import BaseModel

from function.xr import Budget

BUDGET_CONDITION: Final = "BudgetExceeded"


class BudgetState(StrEnum):
    OK = "ok"
    ALERT = "alert"
    EXCEEDED = "exceeded"


class BudgetStatus(BaseModel):
    status: BudgetState
    message: str
    estimate: float
    limit: float | None = None
    enforcement: Literal["soft", "hard"] | None = None

    @property
    def warn(self) -> bool:
        """True when the reconcile should carry a Warning result with `message`."""
        return self.status is not BudgetState.OK

    def condition(self) -> tuple[str, Literal["True", "False"], str, str]:
        """(type, status, reason, message) of the BudgetExceeded condition."""
        if self.status is BudgetState.EXCEEDED:
            return BUDGET_CONDITION, "True", "OverBudget", self.message
        if self.status is BudgetState.ALERT:
            return BUDGET_CONDITION, "True", "OverAlertThreshold", self.message
        reason = "WithinBudget" if self.limit is not None else "NoBudget"
        return BUDGET_CONDITION, "False", reason, self.message


def budget_check(estimate_monthly: float, budget: Budget | None) -> BudgetStatus:
    """Where an estimate stands against a budget. Pure; the caller turns it into a condition."""
    if budget is None:
        return BudgetStatus(
            status=BudgetState.OK, message="no budget set", estimate=estimate_monthly
        )
    limit = budget.max_monthly_cost
    threshold = round(limit * budget.alert_threshold, 2)
    mode = budget.enforcement_mode
    common = {"estimate": estimate_monthly, "limit": limit, "enforcement": mode}
    if estimate_monthly > limit:
        tail = (
            "; a new decision that does not fit is refused and current resources stay"
            if mode == "hard"
            else ""
        )
        return BudgetStatus(
            status=BudgetState.EXCEEDED,
            message=f"estimated ${estimate_monthly:.2f}/month exceeds the budget of "
            f"${limit:.2f}/month (spec.budget.maxMonthlyCost, {mode}){tail}",
            **common,
        )
    if estimate_monthly >= threshold:
        return BudgetStatus(
            status=BudgetState.ALERT,
            message=f"estimated ${estimate_monthly:.2f}/month is {estimate_monthly / limit:.0%} "
            f"of the ${limit:.2f}/month budget, past the alert threshold of "
            f"{budget.alert_threshold:.0%} (spec.budget.alertThreshold)",
            **common,
        )
    return BudgetStatus(
        status=BudgetState.OK,
        message=f"estimated ${estimate_monthly:.2f}/month is within the ${limit:.2f}/month budget",
        **common,
    )
