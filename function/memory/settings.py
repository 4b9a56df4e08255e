"""Settings of the deployment memory (embedded in the function input as `memory:`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]


class _Settings(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class RetrievalWeights(_Settings):
    """Weights of the re-ranking score; each term lies in [0, 1] before weighting."""

    similarity: float = Field(default=0.6, ge=0, description="cosine similarity of the texts")
    feedback: float = Field(default=0.15, ge=0, description="user feedback, -1..1 mapped to 0..1")
    recency: float = Field(default=0.15, ge=0, description="exp(-age / recencyHalfLifeDays)")
    cost_efficiency: float = Field(
        default=0.1, ge=0, description="cheaper than the budget (or than the other candidates)"
    )


class MemorySettings(_Settings):
    """Pool, timeouts, TLS and retrieval knobs. Keys accept snake_case or camelCase."""

    enabled: bool = True
    pool_min_size: int = Field(default=1, ge=0, le=64)
    pool_max_size: int = Field(default=4, ge=1, le=64)
    connect_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    statement_timeout_ms: int = Field(default=2_000, ge=10, le=600_000)
    retrieve_timeout_seconds: float = Field(
        default=1.0, gt=0, le=60, description="one retrieval, pool wait and embedding included"
    )
    write_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    migration_timeout_seconds: float = Field(
        default=60.0, gt=0, le=3600, description="waiting for the migration lock included"
    )
    sslmode: SslMode | None = Field(default=None, description="overrides the DSN's sslmode")
    sslrootcert: str | None = Field(default=None, description="CA bundle path for verify-*")
    top_k: int = Field(default=5, ge=1, le=50, description="similar deployments returned")
    candidate_k: int = Field(
        default=40, ge=1, le=500, description="nearest rows fetched before re-ranking"
    )
    failures_k: int = Field(default=3, ge=0, le=50, description="similar failures returned")
    min_similarity: float = Field(default=0.2, ge=-1, le=1)
    ef_search: int = Field(default=100, ge=1, le=1000, description="hnsw.ef_search")
    exact_search_max_rows: int = Field(
        default=5000,
        ge=0,
        le=1_000_000,
        description="filters keeping at most this many rows are searched exactly (no index)",
    )
    same_framework_only: bool = Field(
        default=True, description="filter candidates on the query's framework when it has one"
    )
    recency_half_life_days: float = Field(default=90.0, gt=0)
    weights: RetrievalWeights = RetrievalWeights()
