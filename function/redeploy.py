"""Deploy on push: a new commit is analysed again, but the architecture stays (pure).

When the only input that changed is the commit (same spec hash, same redecide token, no
platform rule broken), the new revision keeps the pinned strategy and sizes unless a fact
that matters changed between the two analyses: language, framework, port, Dockerfile, or
memory need (the memory one instance needs, from the framework and memory-hungry
dependencies). `trigger` on the pin and in `status.history` says which.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from function.decide.rules import memory_need_gib
from function.pinning import AnalysisSummary, PinnedDecision

if TYPE_CHECKING:
    from function.analysis.profile import AppProfile

# (AnalysisSummary field, how users call it)
FACTS = (
    ("language", "language"),
    ("framework", "framework"),
    ("port", "port"),
    ("has_dockerfile", "Dockerfile"),
    ("memory_gib", "memory need (GiB per instance)"),
)


def with_memory(analysis: AnalysisSummary, profile: AppProfile | None) -> AnalysisSummary:
    if profile is None:
        return analysis
    return analysis.model_copy(update={"memory_gib": memory_need_gib(profile)})


def changed_facts(old: AnalysisSummary, new: AnalysisSummary) -> list[str]:
    """What changed that matters, e.g. `port 5000 -> 8000` (unknown on either side: not
    a change; pins made before memory was recorded have none)."""
    out = []
    for name, label in FACTS:
        a, b = getattr(old, name), getattr(new, name)
        if a is not None and b is not None and a != b:
            out.append(f"{label} {a} -> {b}")
    return out


def on_push(
    pin: PinnedDecision | None,
    fresh: PinnedDecision,
    profile: AppProfile | None,
    *,
    commit_only: bool,
) -> PinnedDecision:
    """The new revision for a new commit: `fresh` (decided now) when a fact changed or
    more than the commit changed, else the pinned strategy and sizes at the new commit."""
    fresh = fresh.model_copy(update={"analysis": with_memory(fresh.analysis, profile)})
    if pin is None or not commit_only or pin.commit == fresh.commit:
        return fresh
    short = fresh.commit[:12]
    facts = changed_facts(pin.analysis, fresh.analysis)
    if facts:
        return fresh.model_copy(
            update={"trigger": f"new commit {short} changed {', '.join(facts)}: decided again"}
        )
    kept = pin.parameters.model_copy(
        update={
            "start_command": fresh.parameters.start_command,
            "health_check_path": fresh.parameters.health_check_path,
        }
    )
    return fresh.model_copy(
        update={
            "parameters": kept,
            "decided_by": pin.decided_by,
            "estimated_monthly_cost": pin.estimated_monthly_cost,
            "cost_breakdown": pin.cost_breakdown,
            "trigger": (
                f"new commit {short}: language, framework, port, Dockerfile and memory need "
                f"unchanged; strategy and sizes of revision {pin.revision} kept"
            ),
        }
    )
