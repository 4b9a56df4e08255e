"""Importing a v1 deployment export into the deployment memory (docs/v1-export-format.md).

Everything is validated before anything is written: a file that is not a JSON list
writes nothing; a bad record is reported with its index and skipped. Each good record
is one upsert (one statement, so a crash leaves only whole records), keyed by a stable
`xr_uid` derived from the target namespace, the record's v1 namespace and its name,
revision 1: importing the same file again updates the records instead of adding more.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import psycopg
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from function.memory.db import conninfo_for
from function.memory.errors import MemoryTenantConflict, MemoryUnavailable
from function.memory.guard import bounded
from function.memory.models import DeploymentRecord, Outcome, Scope
from function.memory.store import MemoryStore
from function.memory.text import text_of

MAX_FILE_BYTES = 64 * 1024 * 1024
IMPORT_REVISION = 1
UID_PREFIX = "v1-import/"
EMBED_BATCH = 64

STRATEGY_ALIASES = {
    "vm": "vm",
    "ec2": "vm",
    "virtual-machine": "vm",
    "kubernetes": "kubernetes",
    "k8s": "kubernetes",
    "eks": "kubernetes",
    "serverless": "serverless",
    "lambda": "serverless",
}
OUTCOME_ALIASES: dict[str, Outcome] = {
    "success": "success",
    "succeeded": "success",
    "running": "success",
    "failed": "failed",
    "failure": "failed",
    "error": "failed",
    "degraded": "degraded",
    "pending": "pending",
    "unknown": "pending",
}


class V1Deployment(BaseModel):
    """One deployment of a v1 export. Keys in camelCase or snake_case; unknown keys are errors."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, str_strip_whitespace=True
    )

    name: str = Field(min_length=1, max_length=253)
    namespace: str | None = Field(default=None, min_length=1, max_length=253)
    framework: str | None = Field(default=None, max_length=100)
    language: str | None = Field(default=None, max_length=100)
    dependencies: list[str] = Field(default_factory=list, max_length=500)
    strategy: str
    instance_type: str | None = Field(default=None, max_length=40)
    instance_count: int | None = Field(default=None, ge=1, le=100)
    memory_mb: int | None = Field(default=None, ge=128, le=10240)
    region: str | None = Field(default=None, max_length=100)
    prompt: str | None = Field(default=None, max_length=8_000)
    reason: str | None = Field(default=None, max_length=8_000)
    outcome: Outcome = "pending"
    cost: float | None = Field(default=None, ge=0, description="USD per month")
    deployed_at: datetime | None = None
    id: str | None = Field(default=None, max_length=200, description="the v1 system's id")

    @field_validator("strategy")
    @classmethod
    def _strategy(cls, v: str) -> str:
        found = STRATEGY_ALIASES.get(v.strip().lower())
        if found is None:
            raise ValueError(f"unknown strategy {v!r}; one of {', '.join(STRATEGY_ALIASES)}")
        return found

    @field_validator("outcome", mode="before")
    @classmethod
    def _outcome(cls, v: object) -> str:
        if not isinstance(v, str):
            raise ValueError("must be a string")
        found = OUTCOME_ALIASES.get(v.strip().lower())
        if found is None:
            raise ValueError(f"unknown outcome {v!r}; one of {', '.join(OUTCOME_ALIASES)}")
        return found

    @field_validator("dependencies")
    @classmethod
    def _dependencies(cls, v: list[str]) -> list[str]:
        return [d.strip() for d in v if d.strip()]

    def key(self) -> tuple[str, str]:
        return (self.namespace or "", self.name)


class V1FileError(ValueError):
    """The file as a whole cannot be read as a v1 export; nothing was written."""


@dataclass(frozen=True)
class RecordProblem:
    index: int
    name: str | None
    message: str


@dataclass
class ValidatedExport:
    records: list[tuple[int, V1Deployment]] = field(default_factory=list)
    problems: list[RecordProblem] = field(default_factory=list)
    total: int = 0


def _problem_text(error: ValidationError) -> str:
    parts = []
    for e in error.errors()[:3]:
        where = ".".join(str(p) for p in e["loc"]) or "record"
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts)


def read_export(path: Path) -> list[Any]:
    """The file's JSON list. Raises V1FileError when it is missing, too big or not a list."""
    try:
        size = path.stat().st_size
    except OSError as e:
        raise V1FileError(f"cannot read {path}: {e.strerror or e}") from None
    if size > MAX_FILE_BYTES:
        raise V1FileError(f"{path} is {size} bytes; the limit is {MAX_FILE_BYTES}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise V1FileError(f"{path} is not UTF-8 text: {e.reason}") from None
    except json.JSONDecodeError as e:
        raise V1FileError(f"{path} is not JSON: {e.msg} at line {e.lineno}") from None
    if not isinstance(data, list):
        raise V1FileError(f"{path}: a v1 export is a JSON list of deployments")
    return data


def validate_export(items: Sequence[Any]) -> ValidatedExport:
    """Every record checked; duplicates of an earlier (namespace, name) are problems."""
    out = ValidatedExport(total=len(items))
    seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(items):
        name = raw.get("name") if isinstance(raw, dict) else None
        shown = name if isinstance(name, str) else None
        if not isinstance(raw, dict):
            out.problems.append(RecordProblem(index, None, "a record must be a JSON object"))
            continue
        try:
            record = V1Deployment.model_validate(raw)
        except ValidationError as e:
            out.problems.append(RecordProblem(index, shown, _problem_text(e)))
            continue
        first = seen.get(record.key())
        if first is not None:
            out.problems.append(
                RecordProblem(
                    index, shown, f"duplicate of record {first} (same namespace and name)"
                )
            )
            continue
        seen[record.key()] = index
        out.records.append((index, record))
    return out


def xr_uid_of(record: V1Deployment, namespace: str) -> str:
    """Stable across imports: the same record into the same namespace is the same row."""
    raw = f"{namespace}\x00{record.namespace or ''}\x00{record.name}"
    return UID_PREFIX + hashlib.sha256(raw.encode()).hexdigest()[:40]


def _configuration(record: V1Deployment) -> dict[str, Any]:
    """The decided sizes in the shape the function stores (camelCase, by strategy)."""
    if record.strategy == "vm":
        vm: dict[str, Any] = {}
        if record.instance_type:
            vm["instanceType"] = record.instance_type
        if record.instance_count:
            vm["desiredCapacity"] = record.instance_count
        return {"vm": vm} if vm else {}
    if record.strategy == "kubernetes":
        k8s: dict[str, Any] = {}
        if record.instance_type:
            k8s["nodeInstanceType"] = record.instance_type
        if record.instance_count:
            k8s["desiredNodes"] = record.instance_count
        return {"kubernetes": k8s} if k8s else {}
    return {"serverless": {"memoryMb": record.memory_mb}} if record.memory_mb else {}


def to_record(record: V1Deployment, namespace: str, scope: Scope) -> DeploymentRecord:
    sizes = _configuration(record)
    return DeploymentRecord(
        namespace=namespace,
        deployment_name=record.name,
        xr_uid=xr_uid_of(record, namespace),
        revision=IMPORT_REVISION,
        strategy=record.strategy,
        reason=record.reason,
        outcome=record.outcome,
        monthly_cost=record.cost,
        framework=record.framework,
        language=record.language,
        dependencies=record.dependencies,
        region=record.region,
        sizes=sizes,
        prompt=record.prompt,
        scope=scope,
        metadata={
            "source": "v1-import",
            "decidedBy": "v1",
            "decision": {"strategy": record.strategy, **sizes},
            "v1": record.model_dump(mode="json", by_alias=True, exclude_none=True),
        },
    )


@dataclass
class ImportSummary:
    total: int = 0
    created: int = 0
    updated: int = 0
    problems: list[RecordProblem] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return len(self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "problems": [
                {"index": p.index, "name": p.name, "message": p.message} for p in self.problems
            ],
        }


async def existing_uids(dsn: str, store: MemoryStore, uids: list[str]) -> set[str]:
    """Which of `uids` are stored already (to tell created from updated)."""
    settings = store.settings
    async with bounded("memory lookup", settings.write_timeout_seconds * 4):
        conn = await psycopg.AsyncConnection.connect(conninfo_for(dsn, settings), autocommit=True)
        try:
            cur = await conn.execute(
                "SELECT DISTINCT xr_uid FROM deployment_embeddings WHERE xr_uid = ANY(%s)",
                (uids,),
            )
            return {str(row[0]) for row in await cur.fetchall()}
        finally:
            await conn.close()


Progress = Callable[[int], None]


async def import_records(
    store: MemoryStore,
    dsn: str,
    validated: ValidatedExport,
    namespace: str,
    scope: Literal["private", "shared"],
    progress: Progress | None = None,
    embed: Callable[[list[str]], Awaitable[list[list[float]]]] | None = None,
) -> ImportSummary:
    """Upsert every validated record; a record another namespace owns is a problem.

    `embed`, when given, computes a batch of texts ahead of the writes (the store's
    embedder caches them, so each write finds its vector ready). MemoryUnavailable
    propagates: the records written until then are whole, the rest are not written.
    """
    summary = ImportSummary(total=validated.total, problems=list(validated.problems))
    pairs = [(i, to_record(r, namespace, scope)) for i, r in validated.records]
    before = await existing_uids(dsn, store, [rec.xr_uid for _, rec in pairs]) if pairs else set()
    for start in range(0, len(pairs), EMBED_BATCH):
        batch = pairs[start : start + EMBED_BATCH]
        if embed is not None:
            await embed([text_of(r) for _, r in batch])
        for index, rec in batch:
            try:
                await store.record(rec)
            except MemoryTenantConflict:
                summary.problems.append(
                    RecordProblem(index, rec.deployment_name, "stored under another namespace")
                )
            else:
                if rec.xr_uid in before:
                    summary.updated += 1
                else:
                    summary.created += 1
            if progress is not None:
                progress(1)
    summary.problems.sort(key=lambda p: p.index)
    return summary


__all__ = [
    "ImportSummary",
    "MemoryUnavailable",
    "RecordProblem",
    "V1Deployment",
    "V1FileError",
    "ValidatedExport",
    "import_records",
    "read_export",
    "to_record",
    "validate_export",
    "xr_uid_of",
]
