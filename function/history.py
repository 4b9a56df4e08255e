"""Decision history in XR status, and rollback to an earlier revision (pure).

`status.history` keeps the last N revisions with enough of each decision (parameters,
analysis summary, commit, cost) to render it again, so `spec.rollbackToRevision`
re-pins an earlier decision without asking anyone.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from function.model import Decision
from function.pinning import RENDERER_VERSION, AnalysisSummary, PinnedDecision


class HistoryEntry(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", allow_inf_nan=False
    )

    revision: int = Field(ge=1)
    timestamp: str
    strategy: str
    decided_by: str
    cost: float | None = None
    outcome: str = "pending"
    reason: str = ""
    rollback_of: int | None = None
    trigger: str | None = None
    commit: str
    parameters: Decision
    analysis: AnalysisSummary = Field(default_factory=AnalysisSummary)
    cost_breakdown: list[dict[str, Any]] = Field(default_factory=list)

    def to_status(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def read_history(status: dict[str, Any]) -> list[HistoryEntry]:
    out = []
    for raw in status.get("history") or []:
        if not isinstance(raw, dict):
            continue
        try:
            out.append(HistoryEntry.model_validate(raw))
        except ValidationError:
            continue
    return out


def entry_of(pin: PinnedDecision, outcome: str) -> HistoryEntry:
    return HistoryEntry(
        revision=pin.revision,
        timestamp=pin.decided_at,
        strategy=pin.parameters.strategy.value,
        decided_by=pin.decided_by,
        cost=pin.estimated_monthly_cost,
        outcome=outcome,
        reason=pin.parameters.reason[:300],
        rollback_of=pin.rollback_of,
        trigger=pin.trigger,
        commit=pin.commit,
        parameters=pin.parameters,
        analysis=pin.analysis,
        cost_breakdown=pin.cost_breakdown,
    )


def updated(
    history: list[HistoryEntry], pin: PinnedDecision, outcome: str, limit: int
) -> list[HistoryEntry]:
    """The history with the pinned revision recorded (or its outcome updated), newest last."""
    kept = [h for h in history if h.revision != pin.revision]
    kept.append(entry_of(pin, outcome))
    kept.sort(key=lambda h: h.revision)
    return kept[-limit:]


class RollbackError(Exception):
    pass


def rollback(
    history: list[HistoryEntry], target: int, current: PinnedDecision, spec_digest: str, at: str
) -> PinnedDecision:
    """A new revision that re-pins revision `target`'s decision."""
    found = next((h for h in history if h.revision == target), None)
    if found is None:
        known = ", ".join(str(h.revision) for h in history) or "none"
        raise RollbackError(
            f"spec.rollbackToRevision: revision {target} is not in status.history (kept: {known})"
        )
    return PinnedDecision(
        revision=current.revision + 1,
        inputs_hash=f"rollback-{target}-{found.commit[:12]}",
        spec_hash=spec_digest,
        commit=found.commit,
        decided_by="rollback",
        decided_at=at,
        redecide_token=current.redecide_token,
        rollback_of=target,
        parameters=found.parameters.model_copy(update={"decided_by": "rollback"}),
        analysis=found.analysis,
        estimated_monthly_cost=found.cost,
        cost_breakdown=found.cost_breakdown,
        renderer=RENDERER_VERSION,
        last_observed=current.last_observed,
    )
