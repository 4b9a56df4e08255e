"""The knowledge-base engine: a deterministic decision from the profile, the prompt and the budget.

It is the fallback when no LLM answers and the yardstick the LLM is validated against:
every choice stays inside the function input's allowlists and bounds, whatever the
prompt says (the prompt only selects among allowed options).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from function.analysis.profile import AppProfile
from function.input import FunctionInput
from function.model import (
    Alternative,
    Decision,
    KubernetesParams,
    ServerlessParams,
    Strategy,
    VmParams,
)
from function.pricing.catalog import PriceCatalog, PricingError
from function.pricing.estimate import CostEstimate, UsageAssumptions, estimate
from function.xr import AppSpec, StrategyChoice


class DecisionError(Exception):
    """No decision is possible (not deployable, nothing fits the budget or the allowlists)."""


# Memory an instance of the application needs, by framework then language (GiB).
_FRAMEWORK_MEMORY = {
    "spring-boot": 4.0,
    "nextjs": 2.0,
    "rails": 2.0,
    "aspnet-core": 2.0,
    "django": 1.0,
}
_LANGUAGE_MEMORY = {
    "java": 4.0,
    "kotlin": 4.0,
    "csharp": 2.0,
    "ruby": 2.0,
    "php": 1.0,
    "python": 1.0,
    "javascript": 1.0,
    "typescript": 1.0,
    "go": 0.5,
    "rust": 0.5,
}
_DEFAULT_PORT = 8080

_HA = re.compile(
    r"\b(highly[- ]available|high[- ]availability|ha|production|prod|redundan\w*|"
    r"fault[- ]toleran\w*|multi[- ]az|resilien\w*|no downtime)\b",
    re.I,
)
_SCALE = re.compile(r"\b(high[- ]traffic|scal\w*|spik\w*|bursty|many users|heavy load)\b", re.I)
_CHEAP = re.compile(
    r"\b(cheap\w*|low[- ]cost|minimal cost|cost[- ]effective|hobby|prototype|"
    r"dev|development|test\w*|staging|demo|side project)\b",
    re.I,
)
_HINTS = {
    Strategy.KUBERNETES: re.compile(r"\b(kubernetes|k8s|eks|microservices?|orchestrat\w*)\b", re.I),
    Strategy.SERVERLESS: re.compile(
        r"\b(serverless|lambda|event[- ]driven|scale to zero|"
        r"infrequent\w*|sporadic\w*|occasional\w*)\b",
        re.I,
    ),
    Strategy.VM: re.compile(r"\b(vms?|ec2|virtual machines?|instances?|bare)\b", re.I),
}
_BUDGET_IN_PROMPT = re.compile(r"\$\s?(\d{1,7}(?:\.\d{1,2})?)\s*(?:/|per\s*)?\s*(?:mo|month)", re.I)


@dataclass(frozen=True)
class Intent:
    high_availability: bool
    scale: bool
    cost_sensitive: bool
    hinted: Strategy | None
    budget_hint: float | None

    @classmethod
    def from_prompt(cls, prompt: str) -> Intent:
        hinted = None
        for strategy, rx in _HINTS.items():
            if rx.search(prompt):
                hinted = strategy
                break
        m = _BUDGET_IN_PROMPT.search(prompt)
        return cls(
            high_availability=bool(_HA.search(prompt)),
            scale=bool(_SCALE.search(prompt)),
            cost_sensitive=bool(_CHEAP.search(prompt)),
            hinted=hinted,
            budget_hint=float(m.group(1)) if m else None,
        )


@dataclass
class Candidate:
    decision: Decision
    cost: CostEstimate
    score: float
    why: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RulesOutcome:
    decision: Decision
    cost: CostEstimate
    alternatives: list[Candidate]
    warnings: list[str]


# Dependencies that are known to need memory beyond the framework's own (GiB per instance):
# deep-learning runtimes, dataframes and scientific stacks, headless browsers.
_HEAVY_DEPENDENCIES = {
    "torch": 4.0,
    "tensorflow": 4.0,
    "jax": 4.0,
    "transformers": 4.0,
    "sentence-transformers": 4.0,
    "onnxruntime": 2.0,
    "xgboost": 2.0,
    "lightgbm": 2.0,
    "pandas": 2.0,
    "polars": 2.0,
    "scikit-learn": 2.0,
    "scipy": 2.0,
    "opencv-python": 2.0,
    "puppeteer": 2.0,
    "playwright": 2.0,
    "selenium": 2.0,
    "@tensorflow/tfjs-node": 4.0,
    "deeplearning4j-core": 4.0,
    "spark-core": 4.0,
}


def heavy_dependencies(profile: AppProfile) -> list[str]:
    """The dependencies that raise the memory need above the framework's floor."""
    return [d for d in profile.dependencies if _HEAVY_DEPENDENCIES.get(d.lower(), 0.0) > 0]


def memory_need_gib(profile: AppProfile) -> float:
    """Memory one instance needs: the framework's (or language's) floor, raised by any
    dependency known to be memory-hungry."""
    if profile.framework and profile.framework in _FRAMEWORK_MEMORY:
        base = _FRAMEWORK_MEMORY[profile.framework]
    else:
        base = _LANGUAGE_MEMORY.get((profile.language or "").lower(), 1.0)
    heavy = [_HEAVY_DEPENDENCIES.get(d.lower(), 0.0) for d in profile.dependencies]
    return max([base, *heavy])


def _fitting_types(
    catalog: PriceCatalog, region: str, allowed: list[str], min_memory: float
) -> list[str]:
    """Allowed instance types priced in the region with enough memory, cheapest first."""
    priced = []
    for t in allowed:
        try:
            p = catalog.instance(region, t)
        except PricingError:
            continue
        if p.memory_gib >= min_memory:
            priced.append((p.hourly, t))
    return [t for _, t in sorted(priced)]


def _base(
    profile: AppProfile, strategy: Strategy, reason: str, confidence: float
) -> dict[str, object]:
    return {
        "strategy": strategy,
        "port": profile.port or _DEFAULT_PORT,
        "health_check_path": profile.health_check_path or "/",
        "start_command": profile.start_command,
        "reason": reason,
        "confidence": confidence,
    }


def describe(d: Decision) -> str:
    """A configuration in a few words: 'vm 2x t3.small', 'serverless 1024 MB'."""
    if d.vm:
        return f"vm {d.vm.desired_capacity}x {d.vm.instance_type}"
    if d.kubernetes:
        return f"kubernetes {d.kubernetes.desired_nodes}x {d.kubernetes.node_instance_type}"
    if d.serverless:
        return f"serverless {d.serverless.memory_mb} MB {d.serverless.architecture}"
    return d.strategy.value


def _cheapest_within(
    candidates: list[Candidate], budget: float, searched: int, need: float, region: str
) -> Candidate:
    """Under a hard budget the preferred candidate does not fit: the cheapest that does.

    Each candidate is already the cheapest configuration of its strategy, so the cheapest
    candidate within the budget is the cheapest configuration overall. None fits: refuse.
    """
    preferred = candidates[0]
    within = sorted(
        (c for c in candidates if c.cost.monthly_total <= budget),
        key=lambda c: c.cost.monthly_total,
    )
    if not within:
        cheapest = min(candidates, key=lambda c: c.cost.monthly_total)
        raise DecisionError(
            f"spec.budget.maxMonthlyCost: no configuration that meets the application's needs "
            f"(>= {need:g} GiB per instance, {searched} configurations over "
            f"{', '.join(sorted(c.decision.strategy.value for c in candidates))} in {region}) "
            f"fits the hard budget of ${budget:.2f}/month; the cheapest is "
            f"{describe(cheapest.decision)} at ${cheapest.cost.monthly_total:.2f}/month. "
            "Raise the budget, allow cheaper instance types or use enforcementMode soft; "
            "existing resources are left as they are"
        )
    chosen = within[0]
    chosen.why.append(
        f"hard budget ${budget:.2f}/month: {describe(chosen.decision)} at "
        f"${chosen.cost.monthly_total:.2f}/month is the cheapest configuration that meets "
        f"the application's needs within it; the preferred {describe(preferred.decision)} "
        f"costs ${preferred.cost.monthly_total:.2f}/month"
    )
    return chosen


class RulesEngine:
    def __init__(
        self, settings: FunctionInput, catalog: PriceCatalog, assumptions: UsageAssumptions
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.assumptions = assumptions

    def _price(self, d: Decision, region: str) -> CostEstimate:
        return estimate(d, region, self.catalog, self.assumptions)

    def _vm(
        self, profile: AppProfile, intent: Intent, region: str, types: list[str]
    ) -> list[Decision]:
        s = self.settings.vm
        n = 2 if intent.high_availability else 1
        top = min(
            s.max_instances, max(n, (6 if intent.scale else 3) if not intent.cost_sensitive else 2)
        )
        if "sqlite" in profile.datastores:
            n, top = 1, 1
        out = []
        for t in types:
            out.append(
                Decision(
                    **_base(profile, Strategy.VM, "candidate", 0.5),
                    vm=VmParams(
                        instance_type=t,
                        min_size=n,
                        max_size=max(top, n),
                        desired_capacity=n,
                        volume_gb=s.volume_gb,
                    ),
                )
            )
        return out

    def _k8s(
        self, profile: AppProfile, intent: Intent, region: str, types: list[str]
    ) -> list[Decision]:
        s = self.settings.kubernetes
        n = 2 if intent.high_availability or len(profile.services) > 1 else 1
        top = min(s.max_nodes, max(n, 6 if intent.scale else 3))
        return [
            Decision(
                **_base(profile, Strategy.KUBERNETES, "candidate", 0.5),
                kubernetes=KubernetesParams(
                    node_instance_type=t,
                    min_nodes=n,
                    max_nodes=top,
                    desired_nodes=n,
                    kubernetes_version=s.version,
                ),
            )
            for t in types
        ]

    def _serverless(self, profile: AppProfile) -> list[Decision]:
        s = self.settings.serverless
        mb = int(min(s.max_memory_mb, max(512, memory_need_gib(profile) * 1024)))
        return [
            Decision(
                **_base(profile, Strategy.SERVERLESS, "candidate", 0.5),
                serverless=ServerlessParams(memory_mb=mb, timeout_seconds=s.timeout_seconds),
            )
        ]

    def _feasible(self, profile: AppProfile, spec: AppSpec) -> dict[Strategy, str | None]:
        """For each strategy, None if feasible, else why not."""
        why: dict[Strategy, str | None] = {s: None for s in Strategy}
        if not spec.image:
            why[Strategy.SERVERLESS] = "needs a container image (spec.image)"
        elif "sqlite" in profile.datastores:
            why[Strategy.SERVERLESS] = (
                "the app keeps state in SQLite, which a Lambda cannot persist"
            )
        return why

    def _score(
        self, strategy: Strategy, profile: AppProfile, intent: Intent
    ) -> tuple[float, list[str]]:
        score, why = 0.0, []
        if intent.hinted is strategy:
            score += 0.6
            why.append("the prompt asks for it")
        if strategy is Strategy.VM:
            score += 0.4
            why.append("a load-balanced auto scaling group suits a single web service")
            if profile.datastores:
                score += 0.1
                why.append(f"it uses {', '.join(profile.datastores)}")
        elif strategy is Strategy.KUBERNETES:
            if len(profile.services) > 1:
                score += 0.5
                why.append(f"the repository has {len(profile.services)} services")
            if intent.cost_sensitive:
                score -= 0.3
        else:
            score += 0.2
            if profile.static_site or profile.language in ("go", "rust", "python", "javascript"):
                score += 0.15
                why.append("a light, fast-starting runtime suits Lambda")
            if intent.cost_sensitive:
                score += 0.2
                why.append("pay-per-request keeps a small app cheap")
            if profile.language in ("java", "kotlin"):
                score -= 0.2
        return score, why

    def _candidates(
        self,
        options: dict[Strategy, list[Decision]],
        feasible: dict[Strategy, str | None],
        wanted: Strategy | None,
        profile: AppProfile,
        intent: Intent,
        region: str,
        budget: float | None,
        hard: bool,
    ) -> tuple[list[Candidate], int]:
        """One candidate per strategy: its cheapest configuration that meets the needs (an
        allowed instance type with enough memory, the replicas availability asks for), and
        how many configurations were priced. A soft budget lowers the score of a candidate
        over it; under a hard one the preference stays unbiased and decide() falls back to
        the cheapest candidate within the budget."""
        candidates: list[Candidate] = []
        searched = 0
        for strategy, decisions in options.items():
            if feasible[strategy] is not None or (wanted is not None and strategy is not wanted):
                continue
            if not decisions:
                continue
            priced = sorted(
                ((self._price(d, region), d) for d in decisions),
                key=lambda cd: cd[0].monthly_total,
            )
            searched += len(priced)
            cost, chosen = priced[0]
            score, why = self._score(strategy, profile, intent)
            if budget is not None and cost.monthly_total > budget:
                why.append(f"${cost.monthly_total:.2f}/month exceeds the ${budget:.2f} budget")
                if not hard:
                    score -= 1.0
            candidates.append(Candidate(chosen, cost, score, why))
        return candidates, searched

    def decide(self, profile: AppProfile, spec: AppSpec) -> RulesOutcome:
        if not profile.deployable:
            raise DecisionError(
                f"the repository is not a deployable web application: "
                f"{profile.not_deployable_reason or 'no web framework or server found'}"
            )
        intent = Intent.from_prompt(spec.prompt)
        region = spec.region
        if region not in self.catalog.regions():
            raise DecisionError(
                f"spec.region: no prices for region {region!r}; priced regions: "
                f"{', '.join(self.catalog.regions())}"
            )
        need = memory_need_gib(profile)
        feasible = self._feasible(profile, spec)
        wanted = None if spec.strategy is StrategyChoice.AUTO else Strategy(spec.strategy.value)
        if wanted is not None and feasible[wanted] is not None:
            raise DecisionError(f"spec.strategy {wanted.value}: {feasible[wanted]}")

        vm_types = _fitting_types(
            self.catalog, region, self.settings.vm.allowed_instance_types, need
        )
        node_types = _fitting_types(
            self.catalog, region, self.settings.kubernetes.allowed_node_types, max(4.0, need)
        )
        options: dict[Strategy, list[Decision]] = {
            Strategy.VM: self._vm(profile, intent, region, vm_types),
            Strategy.KUBERNETES: self._k8s(profile, intent, region, node_types),
            Strategy.SERVERLESS: self._serverless(profile),
        }
        budget = spec.budget.max_monthly_cost if spec.budget else intent.budget_hint
        hard = bool(spec.budget and spec.budget.enforcement_mode == "hard")

        candidates, searched = self._candidates(
            options, feasible, wanted, profile, intent, region, budget, hard
        )
        if not candidates:
            raise DecisionError(
                f"no strategy fits: vm needs an allowed instance type with >= {need} GiB "
                f"in {region}; serverless {feasible[Strategy.SERVERLESS] or 'unavailable'}"
            )
        candidates.sort(key=lambda c: (-c.score, c.cost.monthly_total))
        best = candidates[0]
        warnings: list[str] = []
        if budget is not None and best.cost.monthly_total > budget:
            if hard:
                best = _cheapest_within(candidates, budget, searched, need, region)
                candidates.remove(best)
                candidates.insert(0, best)
                warnings.append(best.why[-1])
            else:
                warnings.append(
                    f"the cheapest configuration that meets the application's needs costs "
                    f"${best.cost.monthly_total:.2f}/month, over the ${budget:.2f} budget"
                )

        reason = self._reason(best, profile, intent, need)
        margin = best.score - (candidates[1].score if len(candidates) > 1 else 0.0)
        confidence = round(
            min(0.95, 0.45 + 0.3 * profile.confidence + 0.2 * min(1.0, max(0.0, margin))), 2
        )
        alternatives = [
            Alternative(
                strategy=c.decision.strategy,
                reason="; ".join(c.why) or "possible, scored lower",
                estimated_monthly_cost=c.cost.monthly_total,
            )
            for c in candidates[1:]
        ]
        for s, why_not in feasible.items():
            if why_not is not None and all(a.strategy is not s for a in alternatives):
                alternatives.append(Alternative(strategy=s, reason=f"not possible: {why_not}"))
        decision = best.decision.model_copy(
            update={"reason": reason, "confidence": confidence, "alternatives": alternatives[:4]}
        )
        return RulesOutcome(decision, best.cost, candidates[1:], warnings)

    @staticmethod
    def _reason(best: Candidate, profile: AppProfile, intent: Intent, need: float) -> str:
        d = best.decision
        what = profile.framework or profile.language or "application"
        parts = [f"{what} app"]
        if d.vm:
            parts.append(
                f"{d.vm.desired_capacity}x {d.vm.instance_type} (>= {need:g} GiB each) "
                f"behind an ALB, scaling {d.vm.min_size}-{d.vm.max_size}"
            )
        elif d.kubernetes:
            parts.append(
                f"EKS with {d.kubernetes.desired_nodes}x {d.kubernetes.node_instance_type} nodes"
            )
        elif d.serverless:
            parts.append(f"Lambda with {d.serverless.memory_mb} MB from the container image")
        if intent.high_availability:
            parts.append("highly available across two zones")
        heavy = heavy_dependencies(profile)
        if heavy:
            parts.append(f"memory sized for {', '.join(heavy[:3])}")
        parts.extend(best.why)
        parts.append(f"about ${best.cost.monthly_total:.2f}/month")
        return "; ".join(parts)[:2000]
