"""Outcomes: what became of a decision, derived from observed state and kept in memory.

One memory record per (XR uid, decision revision), written as an idempotent upsert in the
background (never on the reconcile's critical path) and again when the outcome changes.
A write lost in an outage is simply done again by a later reconcile.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Literal

from function.decide.cloudwatch import query_cloudwatch
from function.decide.composed import auto_scaling_group, composed_metrics
from function.decide.intent import read_intent
from function.decide.metrics_source import query_prometheus
from function.decide.observations import observed_metrics, observed_revision
from function.memory.errors import MemoryRecordNotFound, MemoryUnavailable
from function.memory.models import DeploymentRecord
from function.memory.text import repository_key
from function.metrics import count_deployment, observe_deployment_time
from function.pinning import PinnedDecision
from function.status import Phase

if TYPE_CHECKING:
    from function.decide.engine import DecisionEngine, Secrets
    from function.input import FunctionInput
    from function.xr import ParsedXr

log = logging.getLogger(__name__)

Outcome = Literal["pending", "success", "failed", "degraded"]
MAX_REQUEST_CHARS = 1000
MAX_REASON_CHARS = 500
MAX_POLLED = 10_000  # (uid, revision) poll times kept in memory


def outcome_of(phase: Phase, previous: str | None) -> Outcome:
    """success when Running, failed when Failed, degraded when a success lost readiness."""
    if phase is Phase.RUNNING:
        return "success"
    if phase is Phase.FAILED:
        return "failed"
    if previous in ("success", "degraded"):
        return "degraded"
    return "pending"


def record_of(
    xr: ParsedXr,
    pin: PinnedDecision,
    outcome: Outcome,
    *,
    failure_reason: str | None = None,
    feedback: tuple[int, str | None] | None = None,
    metrics: dict[str, float | bool] | None = None,
) -> DeploymentRecord:
    """The memory record of (uid, revision): the decision, what the team asked for (their
    words and the traffic read from them) and, when known, why it failed and the feedback."""
    d = pin.parameters
    sizes = d.model_dump(
        mode="json", by_alias=True, include={"vm", "kubernetes", "serverless"}, exclude_none=True
    )
    return DeploymentRecord(
        namespace=xr.identity.tenant,
        deployment_name=xr.identity.deployment_name,
        xr_uid=xr.identity.uid,
        revision=pin.revision,
        strategy=d.strategy.value,
        reason=d.reason,
        outcome=outcome,
        monthly_cost=pin.estimated_monthly_cost,
        framework=pin.analysis.framework,
        language=pin.analysis.language,
        dependencies=pin.analysis.dependencies or [],
        region=xr.spec.region,
        sizes=sizes,
        prompt=xr.spec.prompt or None,
        repository=repository_key(xr.spec.repository.url),
        metadata={
            "analysis": pin.analysis.model_dump(mode="json", by_alias=True),
            "decision": d.model_dump(mode="json", by_alias=True, exclude_none=True),
            "decidedBy": pin.decided_by,
            "commit": pin.commit,
            "request": (xr.spec.prompt or "")[:MAX_REQUEST_CHARS] or None,
            "intent": read_intent(xr.spec.prompt).summary(),
            "repository": repository_key(xr.spec.repository.url),
            **_failure(outcome, failure_reason),
        },
        metrics=dict(metrics or {}),
        feedback=None if feedback is None else feedback[0],
        feedback_comment=None if feedback is None else feedback[1],
    )


def _failure(outcome: Outcome, reason: str | None) -> dict[str, str | None]:
    """metadata.failureReason: set by a failure, cleared by a success, untouched by pending
    (the stored row merges metadata key by key, and a pending write never changes it)."""
    if outcome in ("failed", "degraded"):
        return {"failureReason": (reason or "")[:MAX_REASON_CHARS] or None}
    if outcome == "success":
        return {"failureReason": None}
    return {}


def _age_seconds(timestamp: str) -> float:
    try:
        at = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return max(0.0, (datetime.datetime.now(datetime.UTC) - at).total_seconds())


def _always() -> bool:
    return True


class OutcomeRecorder:
    def __init__(self, engine: DecisionEngine) -> None:
        self.engine = engine
        self._written: dict[tuple[str, int], str] = {}
        self._counted: dict[tuple[str, int], str] = {}
        self._feedback: dict[tuple[str, int], tuple[int, str | None]] = {}
        self._seen: dict[tuple[str, int], tuple[Outcome, str | None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._polled: dict[tuple[str, int], float] = {}
        self._polling: set[tuple[str, int]] = set()
        # What is being written now, and what had no store to go to (no DSN): neither is
        # written again while it holds; a failed write is, by the next reconcile.
        self._writing: dict[tuple[str, int], str] = {}
        self._unstored: dict[tuple[str, int], str] = {}
        self._feedback_writing: dict[tuple[str, int], tuple[int, str | None]] = {}
        self._feedback_unstored: dict[tuple[str, int], tuple[int, str | None]] = {}

    def observe(
        self,
        xr: ParsedXr,
        settings: FunctionInput,
        secrets: Secrets,
        pin: PinnedDecision,
        outcome: Outcome,
        detail: str | None = None,
        observed: Mapping[str, Any] | None = None,
    ) -> Callable[[], bool]:
        """Schedule the upsert of (uid, revision) -> outcome, unless this replica wrote it
        or is writing it. Returns a check: is the outcome written, being written, or with
        no store to go to? (False once a write failed: a later reconcile writes it again.)

        `detail` is the status message; for a failed or degraded outcome it is kept in the
        record as the failure reason. The store never lets `pending` replace a known outcome,
        so a replica that restarted (or never saw this XR) cannot erase what another wrote.

        `observed`: the composed resources as observed; while the revision runs (success),
        what they show (composed.py: instances running, a group at its maximum) is stored
        with the revision's metrics, under what the annotations report.
        """
        key = (xr.identity.uid, pin.revision)
        self._seen[key] = (outcome, detail)
        self.poll_metrics(xr, settings, secrets, pin, outcome, observed)  # in the background
        metrics, problems = observed_metrics(xr.identity.annotations)
        for problem in problems:
            log.warning("%s/%s: %s", xr.identity.tenant, xr.identity.deployment_name, problem)
        measured = observed_revision(xr.identity.annotations)
        if measured is not None and measured != pin.revision:
            metrics = {}  # they measured another revision's sizes, not this one's
        if outcome == "success" and observed:
            # Running: every composed resource is the current revision's (pure, cheap).
            metrics = composed_metrics(observed) | metrics
        if outcome != "pending" and self._counted.get(key) != outcome:
            self._counted[key] = outcome
            framework = pin.analysis.framework or pin.analysis.language or "unknown"
            count_deployment(pin.parameters.strategy.value, framework, outcome)
            if outcome == "success":
                observe_deployment_time(pin.parameters.strategy.value, _age_seconds(pin.decided_at))
        state = f"{outcome}|{sorted(metrics.items())}"
        if not self.engine.memory.configured:
            return _always

        def held() -> bool:
            return state in (
                self._written.get(key),
                self._writing.get(key),
                self._unstored.get(key),
            )

        if held():
            return held
        record = record_of(xr, pin, outcome, failure_reason=detail, metrics=metrics)
        self._writing[key] = state
        self._spawn(self._write(key, record, state, settings, secrets))
        return held

    async def _write(
        self,
        key: tuple[str, int],
        record: DeploymentRecord,
        state: str,
        settings: FunctionInput,
        secrets: Secrets,
    ) -> None:
        try:
            store = await self.engine.memory_store(settings, secrets)
            if store is None:
                self._unstored[key] = state
                return
            await store.record(record)
        except MemoryUnavailable as e:
            log.warning("outcome of %s revision %d not recorded yet: %s", key[0], key[1], e)
            return
        finally:
            if self._writing.get(key) == state:
                del self._writing[key]
        self._written[key] = state

    def poll_metrics(
        self,
        xr: ParsedXr,
        settings: FunctionInput,
        secrets: Secrets,
        pin: PinnedDecision,
        outcome: Outcome,
        observed: Mapping[str, Any] | None = None,
    ) -> None:
        """Schedule a query of the configured metrics sources (metricsSource.prometheus,
        metricsSource.cloudwatch) for a running revision, at most once per the shortest of
        their intervals; never waited for. Their results are stored as the revision's
        metrics in memory (CloudWatch's first, Prometheus's over them)."""
        prometheus = settings.metrics_source.prometheus
        cloudwatch = settings.metrics_source.cloudwatch
        sources = [s for s in (prometheus, cloudwatch) if s is not None]
        if not sources or outcome != "success" or not self.engine.memory.configured:
            return
        key = (xr.identity.uid, pin.revision)
        now = time.monotonic()
        last = self._polled.get(key)
        interval = min(s.interval_seconds for s in sources)
        if key in self._polling or (last is not None and now - last < interval):
            return
        if len(self._polled) >= MAX_POLLED:
            self._polled.pop(next(iter(self._polled)))
        self._polled[key] = now
        self._polling.add(key)
        values = {
            "namespace": xr.identity.tenant,
            "name": xr.identity.deployment_name,
            "uid": xr.identity.uid,
            "revision": str(pin.revision),
        }
        if group := auto_scaling_group(observed or {}):
            values["autoScalingGroup"] = group

        async def poll() -> None:
            try:
                metrics: dict[str, float | bool] = {}
                problems: list[str] = []
                if cloudwatch is not None:
                    found, said = await query_cloudwatch(cloudwatch, values, secrets.cloudwatch)
                    metrics |= found
                    problems += said
                if prometheus is not None:
                    found, said = await query_prometheus(prometheus, values)
                    metrics |= found
                    problems += said
                for problem in problems:
                    log.warning(
                        "%s/%s: %s", xr.identity.tenant, xr.identity.deployment_name, problem
                    )
                if metrics:
                    record = record_of(xr, pin, outcome, metrics=metrics)
                    state = f"polled|{sorted(metrics.items())}"
                    await self._write(key, record, state, settings, secrets)
            finally:
                self._polling.discard(key)

        self._spawn(poll())

    def feedback(
        self,
        xr: ParsedXr,
        settings: FunctionInput,
        secrets: Secrets,
        pin: PinnedDecision,
        value: int,
        comment: str | None,
    ) -> Callable[[], bool]:
        """Schedule storing the users' feedback on this revision (+1 / -1) in memory.
        Returns a check like `observe`'s: stored, or being stored."""
        key = (xr.identity.uid, pin.revision)
        note = (comment or "")[:1000] or None
        if not self.engine.memory.configured:
            return _always

        def held() -> bool:
            return (value, note) in (
                self._feedback.get(key),
                self._feedback_writing.get(key),
                self._feedback_unstored.get(key),
            )

        if held():
            return held
        self._feedback_writing[key] = (value, note)
        self._spawn(self._write_feedback(key, value, note, xr, pin, settings, secrets))
        return held

    async def _write_feedback(
        self,
        key: tuple[str, int],
        value: int,
        note: str | None,
        xr: ParsedXr,
        pin: PinnedDecision,
        settings: FunctionInput,
        secrets: Secrets,
    ) -> None:
        try:
            store = await self.engine.memory_store(settings, secrets)
            if store is None:
                self._feedback_unstored[key] = (value, note)
                return
            # One merged write: the row is created if no replica wrote it yet, its known
            # outcome is kept (a pending write never downgrades it), the feedback is set.
            outcome, detail = self._seen.get(key, ("pending", None))
            record = record_of(xr, pin, outcome, failure_reason=detail, feedback=(value, note))
            await store.record(record)
        except (MemoryUnavailable, MemoryRecordNotFound) as e:
            log.warning("feedback on %s revision %d not stored yet: %s", key[0], key[1], e)
            return
        finally:
            if self._feedback_writing.get(key) == (value, note):
                del self._feedback_writing[key]
        self._feedback[key] = (value, note)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run a memory write in the background, kept referenced until it ends."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float = 10.0) -> int:
        """Wait up to `timeout` seconds for scheduled writes (tests, shutdown); at shutdown
        the ones still running are then cancelled and awaited. Returns how many did not
        finish in time (a later reconcile writes them again)."""
        if not self._tasks:
            return 0
        _, pending = await asyncio.wait(set(self._tasks), timeout=max(0.0, timeout))
        return len(pending)

    async def cancel(self) -> None:
        """Cancel the writes still running and wait for them to unwind."""
        tasks = set(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)
