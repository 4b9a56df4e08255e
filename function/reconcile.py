"""One reconcile of an XAppDeployment, free of gRPC types.

(XR, observed composed resources, function input, pinned decision) -> desired resources,
XR status, results and conditions. A fault never shrinks the desired set: either the
pinned decision is rendered again, or the answer is fatal and Crossplane keeps what exists.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from function.adopt import STRATEGY_OF, AdoptionRefused, adopt_pin
from function.analysis.credentials import RepoCredentials
from function.analysis.errors import AnalysisError
from function.analysis.fetch import FULL_SHA
from function.cloudprovider import CLOUD_PROVIDER_KIND, reconcile_cloud_provider
from function.config.env import config_hash
from function.decide import rightsizing as sizing
from function.decide.composed import composed_metrics
from function.decide.engine import DecidedOutcome, DecisionEngine, Secrets
from function.decide.jobs import DecisionJobs, JobPending
from function.decide.rightsizing import Recommendation
from function.decide.rules import DecisionError
from function.errors import InputError, check_finite, describe_validation_error
from function.guard import pincheck
from function.history import RollbackError, read_history, rollback, updated
from function.input import FunctionInput
from function.keep import Kept, keep
from function.lastknown import Effective, effective, with_placeholders
from function.messages import with_suffix
from function.metrics import count_cache, observe_confidence, stage_timer
from function.outcomes import Outcome, OutcomeRecorder, outcome_of
from function.pinning import (
    RENDERER_VERSION,
    PinnedDecision,
    backoff,
    llm_retry_due,
    new_pin,
    read_pin,
    reconfigured,
    spec_hash,
    utc_now,
)
from function.policy.admission import admit
from function.policy.budget import budget_check
from function.policy.tenant import (
    CLOUD_PROVIDER_REQUIREMENT,
    TENANT_DEPLOYMENTS_REQUIREMENT,
    Requirement,
    TenantSettings,
    apply_cloud_provider,
    enforce_quotas,
    tenant_requirements,
)
from function.pricing.catalog import PricingError
from function.redeploy import on_push
from function.render.common import RenderContext
from function.render.dispatch import UnsupportedTarget, render, render_plan
from function.render.immutable import whole
from function.status import Phase, is_ready, resource_phase, xr_status
from function.workload import workload_phase, workload_status
from function.xr import ParsedXr, parse_xr

log = logging.getLogger(__name__)

FEEDBACK_ANNOTATION = "scia.io/feedback"
FEEDBACK_COMMENT_ANNOTATION = "scia.io/feedback-comment"

Severity = Literal["Normal", "Warning", "Fatal"]


@dataclass
class ReconcileRequest:
    xr: dict[str, Any]
    observed: dict[str, dict[str, Any]]
    input: dict[str, Any] | None
    secrets: Secrets = field(default_factory=Secrets)
    # Resolved required resources by requirement name (absent: not resolved yet).
    required: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    tenant: TenantSettings | None = None

    def body(self, name: str) -> dict[str, Any] | None:
        """All of an observed composed resource (fn.py reduces what it passes on every
        reconcile; the whole resource is converted on demand)."""
        found = self.observed.get(name)
        return None if found is None else whole(found)


@dataclass
class Condition:
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str = ""


@dataclass
class ReconcileResult:
    desired: dict[str, dict[str, Any]] = field(default_factory=dict)
    ready: set[str] = field(default_factory=set)
    status: dict[str, Any] = field(default_factory=dict)
    results: list[tuple[Severity, str]] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    ttl_seconds: int | None = None
    requirements: list[Requirement] = field(default_factory=list)
    # The composite's readiness, set explicitly in every answer: Crossplane would otherwise
    # derive it from the composed resources alone, and an XR composing nothing (Analyzing,
    # DecisionFailed) would be Ready. True only when the phase is Running.
    composite_ready: bool = False
    # Set when the same request may be answered with this result again (function/answers.py).
    reuse: Reuse | None = None

    @property
    def fatal(self) -> bool:
        return any(s == "Fatal" for s, _ in self.results)

    def add(self, severity: Severity, message: str) -> None:
        self.results.append((severity, message))


@dataclass(frozen=True)
class Reuse:
    """What must still hold to give a result again for the same request bytes: the ref
    still names `commit` (None: the answer does not depend on the ref, e.g. a rollback
    that holds). Everything else the answer depends on is in the request."""

    settings: FunctionInput
    url: str
    ref: str
    credentials: RepoCredentials | None
    commit: str | None
    # Is the outcome (and feedback) of the answer written or being written by this replica?
    # (A failed write is not: the whole reconcile then writes it again.)
    recorded: Callable[[], bool] = lambda: True


def parse_input(raw: dict[str, Any] | None) -> FunctionInput:
    return _parse_input(json.dumps(raw or {}, sort_keys=True))


@functools.lru_cache(maxsize=64)
def _parse_input(raw: str) -> FunctionInput:
    """Validated function input, memoized: every XR of a composition sends the same one.
    (JSON keeps NaN and infinity as NaN and Infinity, so the check sees them.)"""
    check_finite(json.loads(raw), "input")
    try:
        return FunctionInput.model_validate_json(raw)
    except ValidationError as e:
        field_path, reason = describe_validation_error(e, prefix="input")
        raise InputError(field_path, reason) from None


def _region_refusal(xr: ParsedXr, settings: FunctionInput) -> str | None:
    """A refusal naming spec.region when the platform's allowlist for the cloud lacks it."""
    allowed = settings.regions
    if allowed is None or xr.spec.region in allowed:
        return None
    return (
        f"invalid spec.region: {xr.spec.region!r} is not allowed for "
        f"{xr.spec.cloud_provider} ({settings.field('regions')}); allowed: {', '.join(allowed)}"
    )


def decision_budget(settings: FunctionInput) -> float:
    """Seconds one decision job may run on its owner (and keep its lease): the analysis,
    the memory's connect and retrieval, every LLM round (with repairs) at their timeouts,
    plus a minute. Past it the job is stopped and another replica may retry it."""
    a, m, llm = settings.analysis, settings.memory, settings.llm
    rounds = (1 + llm.repair_attempts) * llm.timeout_seconds if llm.enabled else 0.0
    memory = 4 * (m.connect_timeout_seconds + m.retrieve_timeout_seconds)
    return a.timeout_seconds + a.resolve_timeout_seconds + memory + rounds + 60.0


def _fatal(message: str) -> ReconcileResult:
    r = ReconcileResult()
    r.add("Fatal", message)
    return r


class Reconciler:
    """Holds what outlives a reconcile: the decision engine and its background jobs."""

    def __init__(
        self,
        engine: DecisionEngine,
        jobs: DecisionJobs[DecidedOutcome],
        outcomes: OutcomeRecorder | None = None,
    ) -> None:
        self.engine = engine
        self.jobs = jobs
        self.outcomes = outcomes or OutcomeRecorder(engine)

    async def still_current(self, reuse: Reuse) -> bool:
        """Does the ref still name the commit the reusable answer rendered? (The same
        check, with the same 30 s ref cache, that a pinned reconcile makes.) A failure to
        tell is a no: the whole reconcile then runs and reports it."""
        if not reuse.recorded():
            return False
        if reuse.commit is None or FULL_SHA.match(reuse.ref.lower()):
            return True
        try:
            commit = await asyncio.wait_for(
                self.engine.resolve(reuse.settings, reuse.url, reuse.ref, reuse.credentials),
                timeout=max(reuse.settings.decision.wait_seconds, 0.1),
            )
        except (AnalysisError, TimeoutError):
            return False
        return commit == reuse.commit

    async def reconcile(self, req: ReconcileRequest) -> ReconcileResult:
        if req.xr.get("kind") == CLOUD_PROVIDER_KIND:
            cp = reconcile_cloud_provider(req.xr, req.observed)
            return ReconcileResult(
                desired=cp.desired,
                ready=cp.ready,
                status=cp.status,
                results=list(cp.results),
                composite_ready=cp.status.get("phase") == "Running",
            )
        try:
            settings = parse_input(req.input)
            xr = parse_xr(req.xr)
        except InputError as e:
            return _fatal(f"invalid {e.field}: {e.reason}")
        try:
            # vm/kubernetes/serverless become the chosen cloud's allowlists and bounds.
            settings = settings.for_cloud(xr.spec.cloud_provider)
        except ValueError as e:
            return _fatal(f"invalid spec.cloudProvider: {e}")
        violations = admit(xr.spec, xr.identity, settings.policy)
        if violations:
            return _fatal("; ".join(str(v) for v in violations))
        requirements = tenant_requirements(xr.spec.cloud_provider_ref, xr.identity)
        if not requirements:
            if refused := _region_refusal(xr, settings):
                return _fatal(refused)
            return await self._reconcile(xr, settings, req)
        if any(r.name not in req.required for r in requirements):
            return ReconcileResult(requirements=requirements)  # ask; Crossplane calls again
        assert xr.spec.cloud_provider_ref is not None
        try:
            tenant = apply_cloud_provider(
                req.required[CLOUD_PROVIDER_REQUIREMENT],
                xr.identity.tenant,
                xr.spec.cloud_provider_ref,
                xr.spec.cloud_provider,
            )
        except InputError as e:
            result = _fatal(f"invalid {e.field}: {e.reason}")
        else:
            settings = settings.model_copy(
                update={
                    "provider_config_name": tenant.provider_config_name,
                    # Namespaced resources name the CloudProvider's ClusterProviderConfig.
                    "provider_config_kind": "ClusterProviderConfig",
                }
            )
            if not xr.region_given and tenant.default_region:
                spec = xr.spec.model_copy(update={"region": tenant.default_region})
                xr = xr.model_copy(update={"spec": spec})
            if refused := _region_refusal(xr, settings):
                result = _fatal(refused)
            else:
                result = await self._reconcile(
                    xr, settings, dataclasses.replace(req, tenant=tenant)
                )
        result.requirements = requirements
        return result

    async def _reconcile(
        self, xr: ParsedXr, settings: FunctionInput, req: ReconcileRequest
    ) -> ReconcileResult:
        result = ReconcileResult()
        pin = read_pin(xr.status)
        step = await self._decide(xr, settings, req, pin, result)
        if step.current is None:
            return self._undecided(xr, settings, req, step, result)
        current = step.current
        if broken := self._violations(current, xr, settings):
            # Never rendered as it is; Crossplane keeps what exists meanwhile.
            return _fatal(pincheck.refusal(current, broken, step.failure))
        if step.failure and pin is not None:
            result.add("Warning", f"{step.failure}; keeping decision revision {pin.revision}")

        out = self._desired(xr, settings, req, pin, current, result)
        if isinstance(out, str):
            return _fatal(out)
        current, rendered, kept, seen = out.pin, out.rendered, out.kept, out.seen
        desired = kept.desired
        result.desired = desired
        result.ready = {n for n in desired if n in req.observed and is_ready(req.observed[n])}

        grace = float(settings.ready_grace_seconds)
        phase, message = resource_phase(set(rendered), req.observed, grace, bodies=rendered)
        phase, message = workload_phase(phase, message, out.report)
        if kept.carried:
            message = with_suffix(
                message,
                f"; keeping {', '.join(kept.carried[:5])} of revision "
                f"{current.replaces} until revision {current.revision} is ready",
                500,
            )
        before = xr.status.get("phase")
        if not step.analyzing and before != phase.value and pin is not None:
            severity: Severity = "Warning" if phase is Phase.FAILED else "Normal"
            result.add(severity, f"phase {before or 'Pending'} -> {phase.value}: {message}")
        if step.analyzing:
            phase, message = Phase.ANALYZING, "a new decision is being made; current resources stay"
            result.ttl_seconds = settings.decision.retry_seconds
            result.conditions.append(
                Condition("Decided", "False", "Analyzing", "a new decision is being made")
            )
        else:
            result.conditions.append(
                Condition(
                    "Decided",
                    "True",
                    "Pinned",
                    f"revision {current.revision} by {current.decided_by}",
                )
            )
        previous = xr.status.get("outcome") if isinstance(xr.status.get("outcome"), str) else None
        if pin is None or pin.revision != current.revision:
            previous = None  # the observed outcome was another revision's
        outcome = outcome_of(phase, previous) if not step.analyzing else (previous or "pending")
        history = updated(read_history(xr.status), current, outcome, settings.history_limit)
        result.composite_ready = phase is Phase.RUNNING
        result.status = (
            xr_status(
                current, phase, message, seen.observed, (out.report.get("https") or {}).get("host")
            )
            | workload_status(out.report)
            | {"outcome": outcome, "history": [h.to_status() for h in history]}
            | self._rightsizing_status(xr, settings, req, step, current, phase)
        )
        if current.estimated_monthly_cost is not None:
            budget = budget_check(current.estimated_monthly_cost, xr.spec.budget)
            typ, cstatus, reason, cmessage = budget.condition()
            result.conditions.append(Condition(typ, cstatus, reason, cmessage))
            if budget.warn:
                result.add("Warning", budget.message)
        if step.retry_soon:
            result.ttl_seconds = settings.decision.retry_seconds
        if not step.analyzing:
            self._record(xr, settings, req, step, current, (phase, outcome, message), result)
        return result

    def _record(
        self,
        xr: ParsedXr,
        settings: FunctionInput,
        req: ReconcileRequest,
        step: _Step,
        current: PinnedDecision,
        seen: tuple[Phase, Outcome, str],
        result: ReconcileResult,
    ) -> None:
        """Record the outcome and feedback in memory, and say whether the answer may be
        given again for the same request (function/answers.py)."""
        phase, outcome, message = seen
        outcome_held = self.outcomes.observe(
            xr, settings, req.secrets, current, outcome, message, req.observed
        )
        feedback_held = self._feedback(xr, settings, req, current, result)
        if phase is Phase.RUNNING and _reusable(step, settings, result):
            result.reuse = Reuse(
                settings,
                settings.rewrite_url(xr.spec.repository.url),
                xr.spec.repository.ref,
                req.secrets.repository,
                step.commit,
                lambda: outcome_held() and feedback_held(),
            )

    @staticmethod
    def _desired(
        xr: ParsedXr,
        settings: FunctionInput,
        req: ReconcileRequest,
        pin: PinnedDecision | None,
        current: PinnedDecision,
        result: ReconcileResult,
    ) -> _Desired | str:
        """Render `current` and guard the desired set (function/keep.py); a string is a
        refusal for a fatal result."""
        seen = effective(req.observed, current.last_observed)
        current = current.model_copy(update={"last_observed": seen.known})
        ctx = RenderContext(
            identity=xr.identity,
            spec=xr.spec,
            settings=settings,
            decision=current.parameters,
            commit=current.commit,
            analysis=current.analysis,
            policy=settings.policy,
            extra_tags=req.tenant.tags if req.tenant else {},
            history_commits=tuple(h.commit for h in read_history(xr.status)),
            tenant_credentials=req.tenant.credentials_secret if req.tenant else {},
            previous_rollout=_previous_rollout(xr.status),
        )
        try:
            with stage_timer("render"):
                plan = render_plan(ctx, seen.observed)
                rendered = plan.desired
                if seen.lost and render(ctx, with_placeholders(seen.observed, seen.lost)) != (
                    rendered
                ):
                    lost = ", ".join(f"{n}.status.atProvider.{f}" for n, f in seen.lost[:5])
                    return (
                        f"observed resources that exist report no status.atProvider ({lost}) "
                        "and no last known value is pinned; rendering without them would drop "
                        "what is derived from them, so refusing until the provider reports them"
                    )
        except UnsupportedTarget as e:
            return str(e)
        for note in plan.notes:
            result.add("Normal", note)
        # Replaced generations (render/replace.py) leave on purpose once their replacement
        # is in use: the plan records them, like a decision change records what it retires.
        kept = keep(pin, current, rendered, req.observed, req.body, planned=set(plan.retired))
        if kept.refusal is not None:
            if pin is None:
                return _unpinned(req.observed, f"the decision {kept.refusal}")
            return (
                f"rendering decision revision {current.revision} {kept.refusal}; refusing "
                "(only a recorded decision change removes resources: change the spec or "
                "annotate scia.io/redecide to decide again)"
            )
        current = kept.pin
        if current.renderer != RENDERER_VERSION:
            result.add(
                "Normal",
                f"rendered by renderer {RENDERER_VERSION} (was {current.renderer}); "
                "see CHANGELOG.md for what changed",
            )
            current = current.model_copy(
                update={"renderer": RENDERER_VERSION, "rendered_at": utc_now()}
            )
        if kept.retiring:
            result.add(
                "Normal",
                f"revision {current.revision} is ready; retiring {', '.join(kept.retiring[:8])}",
            )
        return _Desired(current, rendered, kept, seen, dict(ctx.report))

    def _feedback(
        self,
        xr: ParsedXr,
        settings: FunctionInput,
        req: ReconcileRequest,
        pin: PinnedDecision,
        result: ReconcileResult,
    ) -> Callable[[], bool]:
        """Store the users' feedback; returns the check that it is stored or being stored
        (always true when there is none)."""
        raw = xr.identity.annotations.get(FEEDBACK_ANNOTATION)
        if raw is None:
            return _always
        value = {"+1": 1, "1": 1, "-1": -1, "0": 0}.get(raw.strip())
        if value is None:
            result.add(
                "Warning",
                f"annotation {FEEDBACK_ANNOTATION}: {raw[:20]!r} is not one of +1, -1, 0; ignored",
            )
            return _always
        comment = xr.identity.annotations.get(FEEDBACK_COMMENT_ANNOTATION)
        return self.outcomes.feedback(xr, settings, req.secrets, pin, value, comment)

    async def _decide(
        self,
        xr: ParsedXr,
        settings: FunctionInput,
        req: ReconcileRequest,
        pin: PinnedDecision | None,
        result: ReconcileResult,
    ) -> _Step:
        """The decision to render: the pin, or a new one when its inputs changed."""
        shash = spec_hash(xr.spec, settings)
        token = xr.identity.redecide_token
        url = settings.rewrite_url(xr.spec.repository.url)
        ref = xr.spec.repository.ref
        wait = settings.decision.wait_seconds
        secrets = req.secrets

        if pin is None and (problem := pincheck.pin_problem(xr.status)):
            result.add("Warning", f"status.decision cannot be read and is ignored: {problem}")
        broken = self._violations(pin, xr, settings)
        rolled = self._rollback(xr, settings, req, pin, shash, broken, result)
        if rolled is not None:
            return rolled

        stale = pin is None or pin.spec_hash != shash or pin.redecide_token != token or bool(broken)
        commit: str | None = None
        if not stale and pin is not None:
            try:
                commit = await asyncio.wait_for(
                    self.engine.resolve(settings, url, ref, secrets.repository),
                    timeout=max(wait, 0.1),
                )
            except (AnalysisError, TimeoutError) as e:
                result.add(
                    "Warning",
                    f"could not check {xr.spec.repository.url}@{ref} for new commits "
                    f"({_short(e)}); keeping decision revision {pin.revision}",
                )
            stale = commit is not None and commit != pin.commit
        retry_llm = not stale and pin is not None and llm_retry_due(pin, settings)
        count_cache("decision", hit=not stale)
        chash = config_hash(xr.spec.env, xr.spec.env_from, xr.spec.services)
        if not stale and not retry_llm:
            return self._kept(xr, settings, req, pin, chash, result, commit)

        attempt = pin.llm_attempts if (retry_llm and pin is not None) else 0
        key = f"{xr.identity.uid}|{shash}|{token or ''}|{commit or ''}|{attempt}"
        if broken:  # a rule changed under the pin: never reuse a decision made before it
            key += f"|rules:{pincheck.rules_key(settings)}"
        board = await self.jobs.board(secrets.memory_dsn, settings.memory)
        try:
            outcome = await self.jobs.wait(
                key,
                lambda: self.engine.decide(settings, xr, url, secrets),
                wait,
                board,
                decision_budget(settings),
            )
        except JobPending:
            return _Step(pin, analyzing=not retry_llm, retry_soon=retry_llm)
        except (AnalysisError, DecisionError) as e:
            return _Step(pin, failure=None if retry_llm else str(e))
        if req.tenant is not None:
            quota = enforce_quotas(
                outcome.decision,
                outcome.cost.monthly_total,
                req.required.get(TENANT_DEPLOYMENTS_REQUIREMENT, []),
                req.tenant,
                xr.identity,
                xr.spec.cloud_provider,
            )
            if quota:
                return _Step(pin, failure="; ".join(quota))
        for w in outcome.warnings:
            result.add("Warning", w)
        if retry_llm and pin is not None and outcome.llm_fallback is not None:
            # The LLM is still out: keep the decision, push the next retry further away.
            return _Step(backoff(pin, settings, outcome.llm_fallback))
        current = on_push(
            pin,
            new_pin(outcome, pin, shash, token, settings),
            outcome.profile,
            commit_only=pin is not None
            and pin.spec_hash == shash
            and pin.redecide_token == token
            and not broken
            and not retry_llm,
        )
        current = current.model_copy(update={"config_hash": chash})
        if pin is None and req.observed:
            try:
                bodies = {n: req.body(n) or {} for n in req.observed}
                current = adopt_pin(current, bodies, xr.spec, settings, self.engine.catalog)
            except AdoptionRefused as e:
                return _Step(None, failure=f"cannot adopt them: {e}")
        # An adopted pin is what exists: it is re-checked against the rules on the next
        # reconcile like any pin, and a redecision then replaces it in the recorded way.
        if current.decided_by != "adopted" and (no := self._violations(current, xr, settings)):
            return _Step(pin, failure=f"the new decision breaks {pincheck.describe(no)}")
        _announce(current, pin, broken, result)
        for note in outcome.notes:
            result.add("Normal", note)
        return _Step(current)

    def _rollback(
        self,
        xr: ParsedXr,
        settings: FunctionInput,
        req: ReconcileRequest,
        pin: PinnedDecision | None,
        shash: str,
        broken: list[pincheck.Violation],
        result: ReconcileResult,
    ) -> _Step | None:
        """The step spec.rollbackToRevision asks for, or None to carry on deciding."""
        target = xr.spec.rollback_to_revision
        if pin is None or target is None or target == pin.revision:
            return None
        if pin.rollback_of == target and not broken:
            # A rollback holds while spec.rollbackToRevision is set, whatever the ref names.
            return _Step(pin, pinned=True)
        try:
            back = rollback(read_history(xr.status), target, pin, shash, utc_now())
            if no := self._violations(back, xr, settings, f"status.history[revision={target}]"):
                raise RollbackError(
                    f"spec.rollbackToRevision: revision {target} no longer passes the "
                    f"platform's rules: {pincheck.describe(no)}"
                )
            if req.tenant is not None and (
                over := enforce_quotas(
                    back.parameters,
                    pincheck.monthly_cost(back.parameters, xr.spec, settings, self.engine.catalog),
                    req.required.get(TENANT_DEPLOYMENTS_REQUIREMENT, []),
                    req.tenant,
                    xr.identity,
                    xr.spec.cloud_provider,
                )
            ):
                raise RollbackError(
                    f"spec.rollbackToRevision: revision {target} would break the tenant's "
                    f"limits: {'; '.join(over)}"
                )
        except (RollbackError, PricingError) as e:
            result.add("Warning", f"{e}; keeping decision revision {pin.revision}")
            return None
        result.add(
            "Normal",
            f"rolled back: revision {back.revision} re-pins the decision of revision "
            f"{target} ({back.parameters.strategy.value} at {back.commit[:12]})",
        )
        return _Step(back)

    def _kept(
        self,
        xr: ParsedXr,
        settings: FunctionInput,
        req: ReconcileRequest,
        pin: PinnedDecision | None,
        chash: str | None,
        result: ReconcileResult,
        commit: str | None,
    ) -> _Step:
        """No new decision: the pin, a new revision of its configuration, or (when nothing
        else changed it) a right-sized revision of it. `commit`: what the ref names."""
        step = _unchanged(pin, chash, result, commit)
        if pin is not None and step.current is pin:
            return self._rightsize(xr, settings, req, pin, result) or step
        return step

    def _rightsize(
        self,
        xr: ParsedXr,
        settings: FunctionInput,
        req: ReconcileRequest,
        pin: PinnedDecision,
        result: ReconcileResult,
    ) -> _Step | None:
        """A new revision with the recommended sizes (rightsizing.apply), or None to keep the
        pin. Only from observations that name the pinned revision, only while it runs
        (phase Running, no change in progress), and only within today's rules and the
        tenant's limits; the new revision rolls out like any decision change (keep.py)."""
        if not settings.rightsizing.apply or pin.replaces is not None:
            return None
        if xr.status.get("phase") != Phase.RUNNING.value or pin.rollback_of is not None:
            return None
        rec = self._recommend(xr, settings, pin, req.observed)
        if rec is None or not rec.changes_sizes or not rec.revision_confirmed:
            return None
        if rec.state == "under-provisioned" and rec.sizes() == sizing.sizes_of(pin.parameters):
            return None  # nothing larger is allowed; the recommendation says so
        resized = sizing.applied(pin, rec, xr.spec, settings, self.engine.catalog, utc_now())
        if no := self._violations(resized, xr, settings):
            result.add(
                "Warning",
                f"right-sizing revision {pin.revision} would break {pincheck.describe(no)}; "
                "keeping it",
            )
            return None
        if req.tenant is not None and (
            over := enforce_quotas(
                resized.parameters,
                resized.estimated_monthly_cost or 0.0,
                req.required.get(TENANT_DEPLOYMENTS_REQUIREMENT, []),
                req.tenant,
                xr.identity,
                xr.spec.cloud_provider,
            )
        ):
            result.add(
                "Warning",
                f"right-sizing revision {pin.revision} would break the tenant's limits: "
                f"{'; '.join(over)}; keeping it",
            )
            return None
        result.add("Normal", f"revision {resized.revision}: {resized.trigger}")
        return _Step(resized, rightsized=rec)

    def _rightsizing_status(
        self,
        xr: ParsedXr,
        settings: FunctionInput,
        req: ReconcileRequest,
        step: _Step,
        current: PinnedDecision,
        phase: Phase,
    ) -> dict[str, Any]:
        """{"rightsizing": ...}: the recommendation this revision applied, or, while it runs,
        the one its own observations give; {} when there is none."""
        if step.rightsized is not None:
            return {"rightsizing": step.rightsized.to_status(current.revision)}
        if step.analyzing or phase is not Phase.RUNNING:
            return {}  # a revision that is not running yet measures nothing of its sizes
        if (rec := self._recommend(xr, settings, current, req.observed)) is None:
            return {}
        return {"rightsizing": rec.to_status()}

    def _recommend(
        self,
        xr: ParsedXr,
        settings: FunctionInput,
        pin: PinnedDecision,
        observed: dict[str, dict[str, Any]] | None = None,
    ) -> Recommendation | None:
        """The recommendation from the XR's annotations and, while the revision runs, what
        its composed resources show (`observed`: a group at its maximum, its size)."""
        return sizing.recommend(
            pin,
            xr.spec,
            settings,
            self.engine.catalog,
            xr.identity.annotations,
            min_saving=settings.rightsizing.min_saving_percent / 100.0,
            composed=composed_metrics(observed) if observed else None,
        )

    def _violations(
        self,
        pin: PinnedDecision | None,
        xr: ParsedXr,
        settings: FunctionInput,
        where: str = "status.decision",
    ) -> list[pincheck.Violation]:
        """Today's platform rules the decision breaks (see guard/pincheck.py)."""
        if pin is None:
            return []
        return pincheck.pin_violations(pin, xr.spec, settings, self.engine.catalog, where)

    @staticmethod
    def _undecided(
        xr: ParsedXr,
        settings: FunctionInput,
        req: ReconcileRequest,
        step: _Step,
        result: ReconcileResult,
    ) -> ReconcileResult:
        """Nothing was ever decided: compose nothing, and never delete what exists."""
        if req.observed:
            if step.analyzing:
                why = "cannot adopt them before the repository is analysed (in progress)"
            elif step.failure and step.failure.startswith("cannot adopt"):
                why = step.failure
            else:
                why = f"cannot adopt them ({step.failure or 'no decision'})"
            return _fatal(_unpinned(req.observed, why))
        if step.analyzing:
            result.ttl_seconds = settings.decision.retry_seconds
            result.status = {
                "phase": Phase.ANALYZING.value,
                "message": "analysing the repository and deciding",
            }
            result.conditions.append(Condition("Decided", "False", "Analyzing"))
            return result
        message = (step.failure or "no decision")[:1000]
        ident = xr.identity
        result.add("Warning", f"cannot deploy {ident.tenant}/{ident.deployment_name}: {message}")
        result.status = {"phase": Phase.FAILED.value, "message": message}
        result.conditions.append(Condition("Decided", "False", "DecisionFailed", message))
        return result


@dataclass(frozen=True)
class _Desired:
    pin: PinnedDecision
    rendered: dict[str, dict[str, Any]]
    kept: Kept
    seen: Effective
    # the image build and rollout, as the render found them (function/workload.py)
    report: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Step:
    current: PinnedDecision | None
    analyzing: bool = False
    failure: str | None = None
    retry_soon: bool = False
    rightsized: Recommendation | None = None  # the recommendation this revision applied
    # The pin rendered as it is, with no job and no fault (`commit`: what the ref named).
    pinned: bool = False
    commit: str | None = None


def _always() -> bool:
    return True


def _reusable(step: _Step, settings: FunctionInput, result: ReconcileResult) -> bool:
    """May this answer be given again for the same request (function/answers.py)? Only
    the pin rendered as it is, by this renderer, with nothing that depends on the clock
    (an LLM retry of a knowledge-base fallback falls due with time) and no warning or
    fatal result (a warning reports something outside the request, e.g. a ref that could
    not be checked)."""
    pin = step.current
    if pin is None or not step.pinned or step.analyzing or step.failure or step.retry_soon:
        return False
    if pin.renderer != RENDERER_VERSION or result.ttl_seconds is not None:
        return False
    if settings.metrics_source.configured:
        return False  # the outcome recorder queries it on reconciles, once per interval
    retry_pending = (
        pin.llm_fallback is not None
        and settings.llm.enabled
        and pin.llm_attempts < settings.llm.max_retries
    )
    return not retry_pending and all(severity == "Normal" for severity, _ in result.results)


def _unchanged(
    pin: PinnedDecision | None, chash: str | None, result: ReconcileResult, commit: str | None
) -> _Step:
    """The pin as it is, or, when only the configuration changed, a new revision of it: a
    recorded change (keep.py may then retire what it leaves out), not a new decision.
    `commit`: what the ref names (None when it could not be checked)."""
    if pin is None or pin.config_hash == chash:
        return _Step(pin, pinned=pin is not None and commit is not None, commit=commit)
    current = reconfigured(pin, chash)
    result.add("Normal", f"revision {current.revision}: {current.trigger}")
    return _Step(current)


def _announce(
    current: PinnedDecision,
    pin: PinnedDecision | None,
    broken: list[pincheck.Violation],
    result: ReconcileResult,
) -> None:
    """The results that say a new revision was made, and why."""
    if broken and pin is not None:
        result.add(
            "Normal",
            f"decision revision {pin.revision} no longer passed the platform's rules "
            f"({pincheck.describe(broken)}); decided again within them",
        )
    if current.decided_by == "adopted":
        result.add("Warning", f"revision {current.revision} {current.parameters.reason}")
        return
    if current.trigger:
        result.add("Normal", f"revision {current.revision}: {current.trigger}")
        if current.trigger.endswith("kept"):
            return
    observe_confidence(current.parameters.confidence)
    result.add(
        "Normal",
        f"decided revision {current.revision}: {current.parameters.strategy.value} "
        f"(by {current.decided_by}, confidence {current.parameters.confidence:.2f})",
    )


def _unpinned(observed: dict[str, dict[str, Any]], why: str) -> str:
    # The resources that say which strategy it was first (adopt.STRATEGY_OF).
    names = sorted(observed, key=lambda n: (n not in STRATEGY_OF, n))
    listed = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return (
        f"no pinned decision in status.decision but composed resources exist ({listed}); {why}; "
        "refusing to render an empty desired state or one that deletes them (restore "
        "status.decision, or make the spec match what exists so it can be adopted)"
    )


def _short(e: BaseException) -> str:
    return str(e)[:200] or type(e).__name__


def _previous_rollout(status: dict[str, Any]) -> dict[str, Any]:
    """The XR's observed status.rollout ({} when absent or not an object)."""
    rollout = status.get("rollout") if isinstance(status, dict) else None
    return dict(rollout) if isinstance(rollout, dict) else {}
