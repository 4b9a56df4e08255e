"""Pinned decisions: computed once per distinct input, kept in XR status, reused after.

One place computes the inputs hash. The pin is written to `status.decision` on every
reconcile (status is applied by server-side apply, so what is not returned is lost) and
read back from the observed XR on the next one, so every replica renders the same
desired state from it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from function.input import FunctionInput
from function.model import Decision
from function.xr import AppSpec

if TYPE_CHECKING:
    from function.decide.engine import DecidedOutcome

HASH_VERSION = "1"
# What a pin renders to, versioned: bumped whenever a release changes the desired resources
# of an existing pin; docs/CHANGELOG.md lists every such change. Pins without the field were
# made before it existed (renderer 1).
RENDERER_VERSION = 2


class ServiceSummary(BaseModel):
    """One deployable service of a monorepo, as the kubernetes strategy runs it."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    name: str
    path: str = "."
    port: int | None = None
    health_check_path: str | None = None
    has_dockerfile: bool = False
    dockerfile_path: str | None = None
    # The repository Dockerfile's final stage (function/build/launcher.py wraps it).
    dockerfile_base: str | None = None
    dockerfile_entrypoint: list[str] | None = None
    dockerfile_cmd: list[str] | None = None
    # What a generated Dockerfile needs (function/build/dockerfile.py).
    language: str | None = None
    framework: str | None = None
    runtime: str | None = None
    runtime_version: str | None = None
    package_manager: str | None = None
    build_command: str | None = None
    start_command: str | None = None
    static_site: bool = False


class AnalysisSummary(BaseModel):
    """What of the profile a renderer needs, kept in the pin so a re-render needs no clone."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    language: str | None = None
    framework: str | None = None
    port: int | None = None
    start_command: str | None = None
    build_command: str | None = None
    runtime_version: str | None = None
    deployable: bool = True
    has_dockerfile: bool = False
    # GiB one instance needs (framework floor, memory-hungry dependencies); None in pins
    # made before it was recorded.
    memory_gib: float | None = None
    # store -> the environment variable the code reads its URL from (None: none found, or a
    # pin made before it was recorded; the defaults DATABASE_URL / REDIS_URL apply).
    datastore_env: dict[str, str] | None = None
    # What an image build needs (function/build/dockerfile.py); None in pins made before
    # they were recorded.
    runtime: str | None = None
    package_manager: str | None = None
    service_path: str | None = None
    static_site: bool | None = None
    monorepo: bool | None = None
    dockerfile_path: str | None = None
    # The repository Dockerfile's final stage: its base image, ENTRYPOINT and CMD as the
    # runtime runs them (function/build/launcher.py wraps the image with the launcher);
    # None: not declared, or a pin made before they were recorded.
    dockerfile_base: str | None = None
    dockerfile_entrypoint: list[str] | None = None
    dockerfile_cmd: list[str] | None = None
    # Every deployable service of a monorepo (empty: one service, the fields above); pins
    # made before it was recorded have none.
    services: list[ServiceSummary] = Field(default_factory=list)
    # The app's dependencies (at most 30, as analysed): the memory record embeds them like
    # the retrieval query does (function/memory/text.py); empty in pins made before.
    dependencies: list[str] | None = Field(default=None, max_length=30)

    def for_service(self, s: ServiceSummary) -> AnalysisSummary:
        """One monorepo service `s` of this analysis as the summary its build recipe (and
        its profile, build/dockerfile.py `profile_for_pin`) is made from."""
        return AnalysisSummary(
            language=s.language,
            framework=s.framework,
            port=s.port,
            start_command=s.start_command,
            build_command=s.build_command,
            runtime_version=s.runtime_version,
            deployable=True,
            has_dockerfile=s.has_dockerfile,
            memory_gib=self.memory_gib,
            runtime=s.runtime,
            package_manager=s.package_manager,
            service_path=s.path,
            static_site=s.static_site,
            monorepo=True,
            dockerfile_path=s.dockerfile_path,
            dockerfile_base=s.dockerfile_base,
            dockerfile_entrypoint=s.dockerfile_entrypoint,
            dockerfile_cmd=s.dockerfile_cmd,
        )


class PinnedDecision(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", allow_inf_nan=False
    )

    revision: int = Field(ge=1)
    inputs_hash: str
    spec_hash: str
    commit: str
    decided_by: str
    decided_at: str
    redecide_token: str | None = None
    rollback_of: int | None = None
    parameters: Decision
    analysis: AnalysisSummary = Field(default_factory=AnalysisSummary)
    estimated_monthly_cost: float | None = None
    cost_breakdown: list[dict[str, Any]] = Field(default_factory=list)
    similar: list[dict[str, Any]] = Field(default_factory=list)
    llm_fallback: str | None = None
    llm_attempts: int = 0
    llm_retry_after: str | None = None
    renderer: int = 1
    # When a newer renderer first rendered this pin (it may compose resources the pin's
    # decision time cannot date: status.py times a not yet observed resource from here).
    rendered_at: str | None = None
    # Why this revision was made when a new commit made it (function/redeploy.py).
    trigger: str | None = None
    # A recorded decision change in progress: the revision whose resources this one leaves
    # out, kept as they are until this revision's resources are all Ready.
    replaces: int | None = None
    # Composed resources this revision deliberately removed (after its own were Ready):
    # the only observed resources a desired set may leave out.
    retired: list[str] = Field(default_factory=list)
    # Last known status.atProvider values the render reads (function/lastknown.py).
    last_observed: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # A digest of spec.env / envFrom / services bindings this revision renders (None: none).
    # A change makes a new revision that keeps the decision (function/config/env.py).
    config_hash: str | None = None

    def to_status(self) -> dict[str, Any]:
        out = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        for key in ("similar", "llmAttempts", "costBreakdown", "retired", "lastObserved"):
            if not out.get(key):
                out.pop(key, None)
        analysis = out.get("analysis")
        if isinstance(analysis, dict) and not analysis.get("services"):
            analysis.pop("services", None)  # one service: pins stay as they were
        return out


def _digest(obj: Any) -> str:
    raw = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def spec_hash(spec: AppSpec, settings: FunctionInput) -> str:
    """Hash of everything but the commit that changes the decision."""
    # Fields added later enter the hash only when set, so existing pins keep their hashes.
    # spec.env and spec.envFrom are not decided on: they render (their change rolls out
    # through the launch configuration's version, render/aws/secrets.py), never redecide.
    unset_new = {"cloud_provider_ref"} if spec.cloud_provider_ref is None else set()
    if not spec.services:
        unset_new.add("services")
    relevant = spec.model_dump(
        mode="json", exclude={"rollback_to_revision", "env", "env_from", *unset_new}
    )
    if relevant["repository"].get("path") is None:
        relevant["repository"].pop("path", None)
    return _digest({"v": HASH_VERSION, "spec": relevant, "input": settings.decision_fingerprint()})


def inputs_hash(spec_digest: str, commit: str) -> str:
    return _digest({"spec": spec_digest, "commit": commit})


def read_pin(status: dict[str, Any]) -> PinnedDecision | None:
    """The pinned decision in observed XR status, or None if absent or unreadable."""
    raw = status.get("decision")
    if not isinstance(raw, dict):
        return None
    try:
        return PinnedDecision.model_validate(raw)
    except ValidationError:
        return None


def parse_time(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def llm_retry_due(pin: PinnedDecision, settings: FunctionInput) -> bool:
    """Is a knowledge-base fallback due for another try with the LLM (bounded, with backoff)?"""
    if pin.llm_fallback is None or not settings.llm.enabled:
        return False
    if pin.llm_attempts >= settings.llm.max_retries:
        return False
    after = parse_time(pin.llm_retry_after)
    return after is None or datetime.datetime.now(datetime.UTC) >= after


def _retry_time(settings: FunctionInput, attempts: int) -> str:
    delay = settings.llm.retry_after_seconds * (2 ** max(0, attempts - 1))
    at = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=min(delay, 86400))
    return at.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def backoff(pin: PinnedDecision, settings: FunctionInput, reason: str) -> PinnedDecision:
    attempts = pin.llm_attempts + 1
    return pin.model_copy(
        update={
            "llm_fallback": reason[:300],
            "llm_attempts": attempts,
            "llm_retry_after": _retry_time(settings, attempts + 1),
        }
    )


def new_pin(
    outcome: DecidedOutcome,
    previous: PinnedDecision | None,
    shash: str,
    token: str | None,
    settings: FunctionInput,
) -> PinnedDecision:
    fallback = outcome.llm_fallback
    return PinnedDecision(
        revision=(previous.revision + 1) if previous else 1,
        inputs_hash=inputs_hash(shash, outcome.commit),
        spec_hash=shash,
        commit=outcome.commit,
        decided_by=outcome.decision.decided_by,
        decided_at=outcome.decided_at,
        redecide_token=token,
        parameters=outcome.decision,
        analysis=outcome.analysis,
        estimated_monthly_cost=outcome.cost.monthly_total,
        cost_breakdown=[
            {"resource": i.resource, "description": i.description, "monthly": i.monthly}
            for i in outcome.cost.breakdown
        ],
        similar=[
            {
                "deployment": u.deployment,
                "strategy": u.strategy,
                "outcome": u.outcome,
                "similarity": u.similarity,
                "monthlyCost": u.monthly_cost,
            }
            for u in outcome.similar
        ],
        llm_fallback=fallback[:300] if fallback else None,
        llm_attempts=0,
        llm_retry_after=_retry_time(settings, 1) if fallback else None,
        renderer=RENDERER_VERSION,
        last_observed=previous.last_observed if previous else {},
    )


def reconfigured(pin: PinnedDecision, chash: str | None) -> PinnedDecision:
    """A new revision of `pin` for a configuration change (spec.env, spec.envFrom, bound
    stores): the same decision, commit and cost; rendered again with today's configuration."""
    return pin.model_copy(
        update={
            "revision": pin.revision + 1,
            "decided_at": utc_now(),
            "config_hash": chash,
            "rollback_of": None,
            "replaces": None,
            "retired": [],
            "trigger": (
                "configuration changed (spec.env, spec.envFrom or spec.services bindings): "
                f"strategy and sizes of revision {pin.revision} kept"
            ),
        }
    )


def utc_now() -> str:
    return (
        datetime.datetime.now(datetime.UTC)
        .replace(microsecond=0)
        .isoformat()
        .replace("+00:00", "Z")
    )
