"""Right-sizing: what a running deployment's observations say about its sizes (pure).

From the `scia.io/observed-*` annotations of the XR (observations.py) and the pinned
decision, `recommend()` sizes the deployment again **within its strategy** with the same
knowledge base that decided it (rules.py, capacity.py), the priors replaced by what was
observed:

- CPU: the vCPUs busy on average = observed CPU utilisation x the vCPUs the pin runs
  (vm: desired instances x vCPU; kubernetes: nodes less the system share). The need keeps
  the stated traffic's shape (peak / average, or 3x with none stated), so the CPU per
  request the knowledge base sizes with is busy vCPU x 1000 / the stated average rps. A
  group that sat at its maximum size (`observed-at-max`) served less than it was asked:
  its busy vCPUs are taken as 1.5x what was observed;
- memory: the observed peak of one instance x 1.1; after an out-of-memory kill at least
  1.5x what the instance had (learning.py); without a memory observation, what the pin
  was sized for.

Scaling activity (`scia.io/observed-scaling-activities`, or the metrics sources'
`scalingActivities`): frequent scaling (`FREQUENT_SCALING` activities or more in the window)
with the group at its maximum is named as the risk (it keeps scaling out and runs out of
room); a group that never scaled in the window at low CPU (under `LOW_CPU`) shows its
minimum carries the whole load, peaks included.

State: `under-provisioned` when out-of-memory kills, a group at its maximum, CPU at or
above 85%, or a need the current sizes cannot carry (the recommendation costs more);
`over-provisioned` when a configuration that carries the observed need costs at least
`rightsizing.minSavingPercent` less, or costs less at all when the group never scaled at
low CPU (its minimum is more than the load needs); `right-sized` otherwise. Costs are
priced from the catalog with the same usage for both configurations (USD per month).

Observations count only for the revision they measured: with `scia.io/observed-revision`
naming another revision they are ignored (after a change they describe sizes that no
longer run), and an automatic new revision (reconcile.py) is made only from observations
that name the current revision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from function.analysis.profile import AppProfile
from function.build.dockerfile import profile_for_pin
from function.decide import capacity as cap
from function.decide.intent import read_intent
from function.decide.learning import Learned, observation_of
from function.decide.observations import (
    FREQUENT_SCALING,
    LOW_CPU,
    observed_metrics,
    observed_revision,
)
from function.decide.rules import DecisionError, RulesEngine, describe
from function.input import FunctionInput
from function.model import Decision
from function.pinning import PinnedDecision
from function.policy.https import REQUIRE_HTTPS
from function.pricing.catalog import PriceCatalog, PricingError
from function.pricing.estimate import UsageAssumptions, estimate
from function.xr import AppSpec, StrategyChoice

State = Literal["over-provisioned", "under-provisioned", "right-sized"]
HOT_CPU = 0.85  # average CPU utilisation at or above this: no headroom for the peak
AT_MAX_FACTOR = 1.5  # a group pinned at its maximum served less than it was asked
SIZE_KEYS = ("vm", "kubernetes", "serverless")


@dataclass(frozen=True)
class Recommendation:
    """A right-sizing recommendation for one pinned revision (status.rightsizing)."""

    state: State
    revision: int
    revision_confirmed: bool  # the observations name this revision (scia.io/observed-revision)
    basis: str
    current_monthly: float
    recommended: Decision
    recommended_monthly: float
    risk: str | None = None

    @property
    def monthly_saving(self) -> float:
        """USD per month the recommendation saves (negative: what it costs more)."""
        return round(self.current_monthly - self.recommended_monthly, 2)

    @property
    def changes_sizes(self) -> bool:
        return self.state != "right-sized"

    def sizes(self) -> dict[str, Any]:
        return sizes_of(self.recommended)

    def to_status(self, applied_revision: int | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "state": self.state,
            "revision": self.revision,
            "basis": self.basis[:500],
            "currentMonthlyCost": round(self.current_monthly, 2),
            "recommendedMonthlyCost": round(self.recommended_monthly, 2),
            "monthlySaving": self.monthly_saving,
            "recommended": {"strategy": self.recommended.strategy.value, **self.sizes()},
        }
        if self.risk:
            out["risk"] = self.risk[:500]
        if applied_revision is not None:
            out["appliedRevision"] = applied_revision
        return out


def sizes_of(d: Decision) -> dict[str, Any]:
    """The strategy's settings of a decision, as status and the pin spell them."""
    dumped = d.model_dump(mode="json", by_alias=True, include=set(SIZE_KEYS), exclude_none=True)
    return {k: v for k, v in dumped.items() if v}


def _profile(pin: PinnedDecision, url: str) -> AppProfile:
    """The application as the pin recorded it (no clone): its build facts and every
    monorepo service, so the rules judge the running app, not a lossy copy of it."""
    a = pin.analysis
    services = [
        profile_for_pin(a.for_service(s)).model_copy(update={"name": s.name}) for s in a.services
    ]
    return AppProfile.model_validate(
        {
            **profile_for_pin(a).model_dump(),
            "url": url,
            "ref": pin.commit,
            "commit": pin.commit,
            "confidence": 0.9,
            "services": services,
            "monorepo": len(services) > 1,
        }
    )


def _busy_vcpu(
    pin: PinnedDecision,
    spec: AppSpec,
    catalog: PriceCatalog,
    util: float,
    running: float | bool | None = None,
) -> float:
    """Busy vCPUs at utilisation `util`: of the instances or nodes observed running
    (`running`, the group's observed size), else the pinned desired count."""
    d = pin.parameters
    count = running if isinstance(running, float) and running >= 1 else None
    try:
        if d.vm is not None:
            vcpu = catalog.instance(spec.region, d.vm.instance_type).vcpu
            return util * (count or d.vm.desired_capacity) * vcpu
        if d.kubernetes is not None:
            vcpu = catalog.instance(spec.region, d.kubernetes.node_instance_type).vcpu
            nodes = count or d.kubernetes.desired_nodes
            return util * nodes * max(0.1, vcpu - cap.NODE_RESERVED_VCPU)
    except PricingError:
        return 0.0
    return 0.0


@dataclass
class _Observed:
    cpu_ms: float | None
    memory_gib: float | None
    basis: list[str]
    risks: list[str]
    idle_at_min: bool = False  # never scaled in the window, at low CPU


def _observed(
    pin: PinnedDecision, spec: AppSpec, catalog: PriceCatalog, metrics: dict[str, float | bool]
) -> _Observed:
    """What the observations say the app needs: CPU per request in the stated traffic's
    terms, memory per instance, what they are based on and the risks they show."""
    d = pin.parameters
    intent = read_intent(spec.prompt)
    out = _Observed(None, pin.analysis.memory_gib, [], [])
    util = metrics.get("cpuUtilisation")
    at_max = metrics.get("atMaxSize") is True
    activities = metrics.get("scalingActivities")
    if at_max:
        if isinstance(activities, float) and activities >= FREQUENT_SCALING:
            out.risks.append(
                f"the group scaled {activities:g} times in the window and sat at its maximum size"
            )
        else:
            out.risks.append("the group sat at its maximum size")
    if (
        activities == 0.0
        and isinstance(util, float)
        and util < LOW_CPU
        and d.serverless is None
        and not at_max
    ):
        out.idle_at_min = True
        out.basis.append(f"never scaled in the window at CPU {util:.0%}")
    throttles = metrics.get("throttles")
    if isinstance(throttles, float) and throttles > 0:
        out.risks.append(f"{throttles:g} invocations throttled (out of concurrency)")
    duration = metrics.get("durationMs")
    if isinstance(duration, float) and d.serverless is not None:
        out.basis.append(f"{duration:g} ms per invocation on average")
    if isinstance(util, float) and d.serverless is None:
        busy = _busy_vcpu(pin, spec, catalog, util, metrics.get("observedCapacity")) * (
            AT_MAX_FACTOR if at_max else 1.0
        )
        if util >= HOT_CPU:
            out.risks.append(f"CPU {util:.0%} on average")
        if busy > 0:
            avg = intent.avg_rps if intent.avg_rps is not None else cap.DEFAULT_AVG_RPS
            out.cpu_ms = busy * 1000.0 / max(avg, 1e-6)
            running = metrics.get("observedCapacity")
            seen = f" ({running:g} running)" if isinstance(running, float) else ""
            out.basis.append(
                f"CPU {util:.0%} of {describe(d)}{seen} = {busy:.2g} vCPU busy on average"
            )
    row = {
        "metrics": metrics,
        "metadata": {"decision": d.model_dump(mode="json", by_alias=True, exclude_none=True)},
        "region": spec.region,
    }
    obs = observation_of(row, catalog)
    if obs is not None and obs.memory_gib is not None:
        out.memory_gib = obs.memory_gib
        out.basis.append(f"peak memory {metrics.get('memoryGiB')} GiB per instance")
    if obs is not None and obs.oom_floor_gib is not None:
        out.memory_gib = max(out.memory_gib or 0.0, obs.oom_floor_gib)
        out.risks.append(f"{metrics.get('oomKills'):g} out-of-memory kills")
    return out


def recommend(
    pin: PinnedDecision,
    spec: AppSpec,
    settings: FunctionInput,
    catalog: PriceCatalog,
    annotations: Mapping[str, str],
    assumptions: UsageAssumptions | None = None,
    min_saving: float = 0.15,
    composed: Mapping[str, float | bool] | None = None,
) -> Recommendation | None:
    """The recommendation for `pin` from the XR's observations, or None when there are none
    (or they measured another revision, or no size of the strategy fits at all).

    `annotations`: the XR's `scia.io/observed-*` (they win); `composed`: what the running
    revision's composed resources show (decide/composed.py `composed_metrics`: the group's
    size against its bounds), which needs no annotation. The metrics sources (Prometheus,
    CloudWatch) are polled in the background into the deployment's memory record, not read
    here (a reconcile does no I/O for them)."""
    metrics, _ = observed_metrics(annotations)
    measured = observed_revision(annotations)
    if measured is not None and measured != pin.revision:
        metrics = {}  # they measured another revision's sizes
    metrics = dict(composed or {}) | metrics
    if not metrics:
        return None
    d = pin.parameters
    seen = _observed(pin, spec, catalog, metrics)
    if seen.cpu_ms is None and seen.memory_gib == pin.analysis.memory_gib and not seen.risks:
        return None  # nothing observed that sizes anything
    learned = Learned(cpu_ms=seen.cpu_ms, memory_gib=seen.memory_gib, app_n=1)
    forced = spec.model_copy(update={"strategy": StrategyChoice(d.strategy.value)})
    limited = settings
    if d.vm is not None and d.vm.max_size == 1:
        # One instance was chosen on purpose (local state, or the team's bound): keep it.
        limited = settings.model_copy(
            update={"vm": settings.vm.model_copy(update={"max_instances": 1})}
        )
    usage = assumptions or UsageAssumptions()
    try:
        current = estimate(d, spec.region, catalog, usage, **_context(spec, settings)).monthly_total
        kb = RulesEngine(limited, catalog, usage, learned).decide(
            _profile(pin, spec.repository.url), forced, pinned=d.strategy
        )
        current = estimate(
            d, spec.region, catalog, kb.assumptions or usage, **_context(spec, settings)
        ).monthly_total
    except PricingError:
        return None
    except DecisionError as e:
        # Nothing the strategy allows carries what was observed: the largest risk of all.
        return Recommendation(
            state="under-provisioned",
            revision=pin.revision,
            revision_confirmed=measured == pin.revision,
            basis="; ".join(seen.basis),
            current_monthly=current,
            recommended=d,
            recommended_monthly=current,
            risk="; ".join([*seen.risks, f"no allowed size carries it: {e}"]),
        )
    proposed = kb.cost.monthly_total
    basis = [*seen.basis, f"sized again: {kb.need.summary()}" if kb.need else "sized again"]
    risks = list(seen.risks)
    same = sizes_of(kb.decision) == sizes_of(d)
    state: State = "right-sized"
    if risks or (not same and proposed > current + 0.005):
        state = "under-provisioned"
        if not risks:
            risks.append(f"the observed need takes {describe(kb.decision)}")
        if same:
            risks.append("no larger size of the strategy is allowed")
    elif not same and (
        proposed <= current * (1.0 - min_saving) or (seen.idle_at_min and proposed < current)
    ):
        state = "over-provisioned"
    changed = state != "right-sized"
    return Recommendation(
        state=state,
        revision=pin.revision,
        revision_confirmed=measured == pin.revision,
        basis="; ".join(basis),
        current_monthly=current,
        recommended=kb.decision if changed else d,
        recommended_monthly=proposed if changed else current,
        risk="; ".join(risks) or None,
    )


def _context(spec: AppSpec, settings: FunctionInput) -> dict[str, bool]:
    """What the estimate needs besides the decision: a built image, the platform's network,
    require-https (an Azure vm's Application Gateway, GKE's Ingress)."""
    return {
        "built_image": not spec.image,
        "existing_network": settings.network.existing,
        "https": REQUIRE_HTTPS in spec.policies,
    }


def applied(
    pin: PinnedDecision,
    rec: Recommendation,
    spec: AppSpec,
    settings: FunctionInput,
    catalog: PriceCatalog,
    now: str,
) -> PinnedDecision:
    """The next revision of `pin` with the recommended sizes: same strategy, commit, inputs
    and analysis; a recorded decision change (history, `trigger`), so the resources it
    replaces stay until its own are Ready (keep.py)."""
    d = pin.parameters
    sizes = {k: getattr(rec.recommended, k) for k in SIZE_KEYS}
    reason = (
        f"right-sized from the observations of revision {pin.revision} "
        f"({rec.state}): {describe(rec.recommended)} instead of {describe(d)}; "
        f"{rec.basis}"
    )[:2000]
    parameters = d.model_copy(update={**sizes, "reason": reason})
    cost = estimate(
        parameters, spec.region, catalog, UsageAssumptions(), **_context(spec, settings)
    )
    saving = (
        f"saves ${rec.monthly_saving:.2f}/month"
        if rec.monthly_saving >= 0
        else f"costs ${-rec.monthly_saving:.2f}/month more"
    )
    return pin.model_copy(
        update={
            "revision": pin.revision + 1,
            "decided_by": "rightsizing",
            "decided_at": now,
            "rollback_of": None,
            "parameters": parameters,
            "estimated_monthly_cost": cost.monthly_total,
            "cost_breakdown": [
                {"resource": i.resource, "description": i.description, "monthly": i.monthly}
                for i in cost.breakdown
            ],
            "similar": [],
            "trigger": (
                f"right-sizing: revision {pin.revision} was {rec.state} "
                f"({rec.risk or rec.basis}); {describe(rec.recommended)}, {saving}"
            )[:500],
            "replaces": None,
        }
    )
