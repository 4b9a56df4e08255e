"""Domain models shared by the pipeline: the decision and its parts."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class Strategy(StrEnum):
    VM = "vm"
    KUBERNETES = "kubernetes"
    SERVERLESS = "serverless"


DecidedBy = Literal["knowledge-base", "llm", "rollback", "adopted", "rightsizing"]


class _Model(BaseModel):
    """camelCase on the wire (XR status, LLM JSON), snake_case in Python."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, allow_inf_nan=False
    )


class VmParams(_Model):
    instance_type: str
    min_size: int = Field(ge=1, le=100)
    max_size: int = Field(ge=1, le=100)
    desired_capacity: int = Field(ge=1, le=100)
    volume_gb: int = Field(default=20, ge=8, le=1024)


class KubernetesParams(_Model):
    node_instance_type: str
    min_nodes: int = Field(ge=1, le=100)
    max_nodes: int = Field(ge=1, le=100)
    desired_nodes: int = Field(ge=1, le=100)
    kubernetes_version: str = "1.33"
    disk_gb: int = Field(default=20, ge=8, le=1024)


class ServerlessParams(_Model):
    memory_mb: int = Field(ge=128, le=10240)
    timeout_seconds: int = Field(ge=1, le=900)
    architecture: Literal["x86_64", "arm64"] = "x86_64"


class DataStoreParams(_Model):
    """A data store composed for the app (RDS PostgreSQL/MySQL, ElastiCache Redis)."""

    kind: Literal["postgres", "mysql", "redis"]
    size: str = Field(description="RDS instance class (db.*) or ElastiCache node type (cache.*)")
    storage_gb: int | None = Field(default=None, ge=20, le=65536)
    max_storage_gb: int | None = Field(default=None, ge=20, le=65536)
    engine_version: str
    multi_az: bool = Field(
        default=False, description="RDS: a standby in another zone; Redis: a replica, failover"
    )
    production: bool = True
    backup_retention_days: int = Field(default=7, ge=0, le=35)
    env_name: str


class Alternative(_Model):
    strategy: Strategy
    reason: str
    estimated_monthly_cost: float | None = None


class Decision(_Model):
    """A deployment decision. Pinned in XR status once made, and reused until its inputs change."""

    strategy: Strategy
    vm: VmParams | None = None
    kubernetes: KubernetesParams | None = None
    serverless: ServerlessParams | None = None
    data_stores: list[DataStoreParams] | None = Field(
        default=None,
        max_length=3,
        description="composed data stores, sized within the input's allowlists (by the "
        "knowledge base; the model may pick another allowed size)",
    )
    port: int = Field(default=8080, ge=1, le=65535)
    health_check_path: str = "/"
    start_command: str | None = None
    reason: str = Field(min_length=1, max_length=2000)
    confidence: float = Field(ge=0.0, le=1.0)
    alternatives: list[Alternative] = Field(default_factory=list, max_length=4)
    decided_by: DecidedBy = "knowledge-base"
    model_note: str | None = Field(
        default=None,
        max_length=400,
        description="the model's own reason: untrusted output, cleaned, cut and labelled as "
        "model text; `reason` is the product's account",
    )
