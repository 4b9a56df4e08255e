"""The GraphQL object types, built from an AppDeployment with the CLI's own readers.

`scia explain` and `scia history` (function/cli/claims.py) already say what a claim's
status means; the API shows the same facts, so it reads them with the same functions.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON

from function.api.spec import tenant_spec
from function.cli.claims import (
    FEEDBACK_ANNOTATION,
    FEEDBACK_COMMENT_ANNOTATION,
    explanation,
    history_of,
)


def _float(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _int(v: Any) -> int | None:
    return int(v) if isinstance(v, int) and not isinstance(v, bool) else None


def _str(v: Any) -> str | None:
    return None if v is None else str(v)


@strawberry.type
class Alternative:
    strategy: str
    reason: str | None
    estimated_monthly_cost: float | None


@strawberry.type
class CostItem:
    resource: str
    description: str | None
    monthly: float | None


@strawberry.type
class Cost:
    estimated_monthly: float | None
    currency: str
    breakdown: list[CostItem]


@strawberry.type
class Endpoint:
    name: str | None
    type: str | None
    url: str | None


@strawberry.type
class Revision:
    revision: int | None
    timestamp: str | None
    strategy: str | None
    decided_by: str | None
    cost: float | None
    outcome: str | None
    reason: str | None
    rollback_of: int | None
    commit: str | None
    current: bool


@strawberry.type
class SimilarUsed:
    deployment: str | None
    strategy: str | None
    outcome: str | None
    similarity: float | None
    monthly_cost: float | None


@strawberry.type
class Decision:
    revision: int | None
    strategy: str | None
    decided_by: str | None
    decided_at: str | None
    confidence: float | None
    reason: str | None
    commit: str | None
    rollback_of: int | None
    llm_fallback: str | None
    configuration: JSON


@strawberry.type
class Condition:
    type: str
    status: str
    reason: str | None
    message: str | None
    last_transition_time: str | None


@strawberry.type
class Feedback:
    value: str | None
    comment: str | None


@strawberry.type(description="An AppDeployment (claim or namespaced XR) with its status.")
class Deployment:
    namespace: str
    name: str
    uid: str | None
    kind: str | None
    created_at: str | None
    resource_version: str | None
    spec: JSON
    phase: str | None
    message: str | None
    outcome: str | None
    strategy: str | None
    reason: str | None
    confidence: float | None
    decision: Decision | None
    alternatives: list[Alternative]
    cost: Cost
    endpoints: list[Endpoint]
    history: list[Revision]
    similar_used: list[SimilarUsed]
    conditions: list[Condition]
    feedback: Feedback
    rollback_to_revision: int | None


def deployment_of(obj: dict[str, Any]) -> Deployment:
    meta = obj.get("metadata") or {}
    status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    assert isinstance(status, dict)
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    e = explanation(obj)
    h = history_of(obj)
    d = e.get("decision")
    annotations = meta.get("annotations") or {}
    return Deployment(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        uid=_str(meta.get("uid")),
        kind=_str(obj.get("kind")),
        created_at=_str(meta.get("creationTimestamp")),
        resource_version=_str(meta.get("resourceVersion")),
        spec=JSON(tenant_spec(spec)),
        phase=_str(e.get("phase")),
        message=_str(e.get("message")),
        outcome=_str(e.get("outcome")),
        strategy=_str((d or {}).get("strategy") or status.get("strategy")),
        reason=_str((d or {}).get("reason") or status.get("reason")),
        confidence=_float((d or {}).get("confidence")),
        decision=None
        if d is None
        else Decision(
            revision=_int(d.get("revision")),
            strategy=_str(d.get("strategy")),
            decided_by=_str(d.get("decidedBy")),
            decided_at=_str(d.get("decidedAt")),
            confidence=_float(d.get("confidence")),
            reason=_str(d.get("reason")),
            commit=_str(d.get("commit")),
            rollback_of=_int(d.get("rollbackOf")),
            llm_fallback=_str(d.get("llmFallback")),
            configuration=JSON(d.get("configuration") or {}),
        ),
        alternatives=[
            Alternative(
                strategy=str(a.get("strategy")),
                reason=_str(a.get("reason")),
                estimated_monthly_cost=_float(a.get("estimatedMonthlyCost")),
            )
            for a in e.get("alternatives") or []
            if isinstance(a, dict)
        ],
        cost=Cost(
            estimated_monthly=_float(e["cost"].get("estimatedMonthly")),
            currency=str(e["cost"].get("currency") or "USD"),
            breakdown=[
                CostItem(
                    resource=str(b.get("resource")),
                    description=_str(b.get("description")),
                    monthly=_float(b.get("monthly")),
                )
                for b in e["cost"].get("breakdown") or []
                if isinstance(b, dict)
            ],
        ),
        endpoints=[
            Endpoint(name=_str(p.get("name")), type=_str(p.get("type")), url=_str(p.get("url")))
            for p in e.get("endpoints") or []
            if isinstance(p, dict)
        ],
        history=[
            Revision(
                revision=_int(r.get("revision")),
                timestamp=_str(r.get("timestamp")),
                strategy=_str(r.get("strategy")),
                decided_by=_str(r.get("decidedBy")),
                cost=_float(r.get("cost")),
                outcome=_str(r.get("outcome")),
                reason=_str(r.get("reason")),
                rollback_of=_int(r.get("rollbackOf")),
                commit=_str(r.get("commit")),
                current=r.get("revision") is not None and r.get("revision") == h.get("current"),
            )
            for r in h["history"]
        ],
        similar_used=[
            SimilarUsed(
                deployment=_str(s.get("deployment")),
                strategy=_str(s.get("strategy")),
                outcome=_str(s.get("outcome")),
                similarity=_float(s.get("similarity")),
                monthly_cost=_float(s.get("monthlyCost")),
            )
            for s in e.get("similar") or []
            if isinstance(s, dict)
        ],
        conditions=[
            Condition(
                type=str(c.get("type")),
                status=str(c.get("status")),
                reason=_str(c.get("reason")),
                message=_str(c.get("message")),
                last_transition_time=_str(c.get("lastTransitionTime")),
            )
            for c in status.get("conditions") or []
            if isinstance(c, dict)
        ],
        feedback=Feedback(
            value=_str(annotations.get(FEEDBACK_ANNOTATION)),
            comment=_str(annotations.get(FEEDBACK_COMMENT_ANNOTATION)),
        ),
        rollback_to_revision=_int(spec.get("rollbackToRevision")),
    )


@strawberry.type(
    description="A stored past deployment from the memory (the caller's tenant "
    "and shared records only)."
)
class PastDeployment:
    namespace: str
    deployment_name: str
    revision: int
    framework: str | None
    strategy: str
    region: str | None
    outcome: str
    monthly_cost: float | None
    feedback: int
    feedback_comment: str | None
    scope: str
    similarity: float
    updated_at: str


@strawberry.type
class Estimate:
    strategy: str
    reason: str
    confidence: float
    monthly: float
    currency: str
    region: str
    breakdown: list[CostItem]
    alternatives: list[Alternative]
    framework: str | None
    language: str | None
    commit: str | None
    warnings: list[str]


@strawberry.type
class Caller:
    username: str
    groups: list[str]
