"""Boundary models of the deployment memory: what is stored, asked and returned."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

Outcome = Literal["pending", "success", "failed", "degraded"]
Scope = Literal["private", "shared"]

_NAME = Field(min_length=1, max_length=253)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


class DeploymentText(_Model):
    """The facts of a deployment that are embedded (see text.py).

    Stored records and retrieval queries are embedded from these same fields, so the same
    repository asked about again (another environment, a new revision) is the nearest.
    """

    repository: str | None = Field(
        default=None, max_length=500, description="repository URL without credentials, and path"
    )
    framework: str | None = Field(default=None, max_length=100)
    language: str | None = Field(default=None, max_length=100)
    dependencies: list[str] = Field(default_factory=list, max_length=500)
    region: str | None = Field(default=None, max_length=100)
    sizes: dict[str, Any] = Field(default_factory=dict, description="decided sizes / config")
    prompt: str | None = Field(default=None, max_length=8_000, description="the user's intent")


class DeploymentRecord(DeploymentText):
    """One decided deployment and what became of it; upserted by (xr_uid, revision)."""

    namespace: str = _NAME
    deployment_name: str = _NAME
    xr_uid: str = Field(min_length=1, max_length=128)
    revision: int = Field(ge=0, description="decision revision of this XR")
    strategy: str = Field(min_length=1, max_length=50)
    reason: str | None = Field(default=None, max_length=8_000)
    outcome: Outcome = "pending"
    monthly_cost: float | None = Field(default=None, ge=0)
    metrics: dict[str, Any] = Field(default_factory=dict, description="performance metrics")
    scope: Scope = "private"
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description="analysis, decision, intent (stated traffic) and failureReason; merged "
        "key by key into the stored row",
    )
    feedback: int | None = Field(
        default=None, ge=-1, le=1, description="users' feedback to store; None keeps the stored"
    )
    feedback_comment: str | None = Field(default=None, max_length=1000)


class RetrievalQuery(DeploymentText):
    """What the deciding reconcile knows: the app's facts, its tenant and its budget."""

    namespace: str = _NAME
    max_monthly_cost: float | None = Field(default=None, ge=0, description="budget")
    exclude_xr_uid: str | None = Field(
        default=None, description="leave out the asking XR's own records"
    )
    top_k: int | None = Field(default=None, ge=1, le=50, description="overrides settings")


class PastDeployment(_Model):
    """A stored deployment as retrieved, with its scores."""

    xr_uid: str
    revision: int
    namespace: str
    deployment_name: str
    framework: str | None
    strategy: str
    region: str | None
    outcome: Outcome
    monthly_cost: float | None
    metrics: dict[str, Any]
    metadata: dict[str, Any]
    feedback: int
    feedback_comment: str | None
    scope: Scope
    created_at: datetime
    updated_at: datetime
    similarity: float = Field(description="cosine similarity to the query, -1..1")
    score: float = Field(description="re-ranking score (weighted, higher is better)")


class RetrievalResult(_Model):
    similar: list[PastDeployment] = Field(default_factory=list)
    failures: list[PastDeployment] = Field(default_factory=list)


class MemoryStats(_Model):
    namespace: str | None
    deployments: int
    by_outcome: dict[str, int]
    by_strategy: dict[str, int]
    shared: int
    profiles: int
