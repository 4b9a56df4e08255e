"""The knowledge-base engine: a deterministic decision from the profile, the prompt and the budget.

It is the fallback when no LLM answers and the yardstick the LLM is validated against:
every choice stays inside the function input's allowlists and bounds, whatever the
prompt says (the prompt only selects among allowed options).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from function.analysis.profile import AppProfile, ServiceProfile
from function.build.dockerfile import image_build_problem
from function.clouds import DEFAULT_NODE_DISK_GB, node_disk_gb, terms
from function.config.datastores import DataStoreRefused, plan_stores, store_strategies
from function.config.env import secret_count
from function.decide import capacity as cap
from function.decide.intent import Intent, read_intent
from function.decide.learning import Learned
from function.input import FunctionInput
from function.model import (
    Alternative,
    Decision,
    KubernetesParams,
    ServerlessParams,
    Strategy,
    VmParams,
)
from function.policy.https import REQUIRE_HTTPS, https_problem, ingress_on_nodes
from function.pricing.catalog import PriceCatalog, PricingError
from function.pricing.estimate import CostEstimate, UsageAssumptions, estimate
from function.xr import AppSpec, StrategyChoice

GCP_CONFIG_NOT_ON_GKE = (
    "on gcp, spec.env, spec.envFrom and spec.services reach GKE's pods with Workload "
    "Identity, which needs gcp.project and gcp.projectNumber in the function input"
)
# Cloud Run and Container Apps run a given image: no build route on those clouds reports a
# build's outcome in a managed resource (docs/multicloud.md), so there is none.
SERVERLESS_NEEDS_IMAGE = (
    "needs a container image (spec.image): on GCP and Azure serverless runs a given image "
    "only (no build service there reports its outcome to Crossplane); kubernetes builds the "
    "image from the repository"
)


class DecisionError(Exception):
    """No decision is possible (not deployable, nothing fits the budget or the allowlists)."""


_DEFAULT_PORT = 8080


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
    intent: Intent | None = None
    need: cap.Need | None = None
    assumptions: UsageAssumptions | None = None  # usage the costs were priced with
    notes: list[str] = field(default_factory=list)


def heavy_dependencies(profile: AppProfile) -> list[str]:
    """The dependencies that raise the memory need above the framework's floor."""
    return [d for d in profile.dependencies if cap.HEAVY_DEPENDENCIES.get(d.lower(), 0.0) > 0]


def serverless_image_problem(profile: ServiceProfile, spec: AppSpec) -> str | None:
    """Why serverless has no image to run, or None: spec.image, or (on AWS) an image built
    from the repository at the pinned commit, which needs the repository's Dockerfile or a
    recipe generated from the analysis (function/build/dockerfile.py; docs/build.md).

    The knowledge base and the check of an LLM's answer (validate.py) both ask this, so an
    automatic choice may be serverless exactly when an explicit one could be built."""
    if spec.image:
        return None
    if spec.cloud_provider != "aws":
        return SERVERLESS_NEEDS_IMAGE
    return image_build_problem(profile, "serverless")


# The languages whose package manager has a default start (`npm start` runs `node server.js`
# when package.json has no start script): the vm boot script keeps it (render/startup.py).
NPM_DEFAULT_START = ("javascript", "typescript")
VM_START_FIX = (
    "add a start command the analyzer recognises (a Procfile `web:` line, package.json "
    "scripts.start, an app object gunicorn or uvicorn can serve, ...), or a Dockerfile "
    "(vm builds it and runs it with Docker on the instance)"
)
VM_PORT_FIX = (
    "give the port where the analyzer reads it (a default for PORT in the code, e.g. "
    '`process.env.PORT || 3000` or `os.environ.get("PORT", 8000)`, or `--port`/`--bind` in '
    "the start command), or add a Dockerfile that EXPOSEs it (vm builds it and runs it with "
    "Docker on the instance)"
)


def vm_run_problem(profile: ServiceProfile, where: str = "analysis.") -> str | None:
    """Why vm cannot run the repository, and what the team can do; None when it can.

    vm runs the repository on the instance (render/startup.py): its Dockerfile with Docker,
    else the analysed start command (for a Node app without one, npm's own default
    `npm start`) with PORT set to the analysed port. Without a Dockerfile it needs a start
    command and a port, as a generated image does (build/dockerfile.py): an instance that
    runs nothing only fails its health check after every resource was made. spec.image does
    not help: vm runs the repository, not an image. `where` prefixes the field named
    ("analysis." when deciding). Asked for new decisions only: a pinned vm decision is kept
    as it is (guard/pincheck.py does not check it)."""
    if profile.dockerfile.present:
        return None
    language = (profile.language or "").lower()
    if not profile.start_command and profile.static_site:
        return (
            f"vm cannot run the repository ({where}start_command: a static site has no server "
            "to start, and the repository has no Dockerfile); vm runs the app's own server: "
            "a strategy that builds an image serves the site with nginx, or add a Dockerfile "
            "(vm builds it and runs it with Docker on the instance)"
        )
    if not profile.start_command and language not in NPM_DEFAULT_START:
        return (
            f"vm cannot run the repository ({where}start_command: the analysis found no start "
            "command and the repository has no Dockerfile); " + VM_START_FIX
        )
    if profile.port is None:
        return (
            f"vm cannot run the repository ({where}ports: the analysis found no port the app "
            "listens on and the repository has no Dockerfile); " + VM_PORT_FIX
        )
    return None


def memory_need_gib(profile: AppProfile) -> float:
    """Memory one instance needs: the framework's (or language's) floor, raised by any
    dependency known to be memory-hungry (capacity.memory_prior)."""
    return cap.memory_prior(
        profile.framework, profile.language, profile.dependencies, cap.service_parts(profile)
    )


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


def _require_deployable(profile: AppProfile) -> None:
    """Raises DecisionError when the repository is no web application at all."""
    if not profile.deployable:
        raise DecisionError(
            f"the repository is not a deployable web application: "
            f"{profile.not_deployable_reason or 'no web framework or server found'}; "
            "add a Dockerfile that EXPOSEs the port the app listens on, or a start command "
            "the analyzer recognises (a Procfile `web:` line, package.json scripts.start)"
        )


class RulesEngine:
    """Capacity-driven choice: for each strategy the cheapest configuration of the allowed
    types that carries the stated traffic (capacity.py), then the cheapest strategy that
    suits the workload, within the budget; a strategy the team names wins when it suits."""

    def __init__(
        self,
        settings: FunctionInput,
        catalog: PriceCatalog,
        assumptions: UsageAssumptions,
        learned: Learned | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.assumptions = assumptions
        self.learned = learned

    def _price(
        self,
        d: Decision,
        region: str,
        usage: UsageAssumptions,
        built_image: bool = False,
        secrets: int = 0,
        https: bool = False,
    ) -> CostEstimate:
        return estimate(
            d,
            region,
            self.catalog,
            usage,
            built_image=built_image,
            existing_network=self.settings.network.existing,
            secrets=secrets,
            https=https,
        )

    def _vm(
        self, profile: AppProfile, intent: Intent, need: cap.Need, region: str, types: list[str]
    ) -> list[Decision]:
        s = self.settings.vm
        minimum = 2 if intent.high_availability else 1
        out = []
        for t in types:
            vcpu = self.catalog.instance(region, t).vcpu
            if "sqlite" in profile.datastores:
                # Local state: one instance, which must carry the peak alone.
                if not cap.fits_vm(need, t, vcpu, 1):
                    continue
                desired, top = 1, 1
            else:
                if not cap.fits_vm(need, t, vcpu, s.max_instances):
                    continue
                desired, top = cap.size_vm(need, t, vcpu, minimum, s.max_instances)
                top = max(top, min(s.max_instances, desired + 1))  # room to scale out
            out.append(
                Decision(
                    **_base(profile, Strategy.VM, "candidate", 0.5),
                    vm=VmParams(
                        instance_type=t,
                        min_size=desired,
                        max_size=top,
                        desired_capacity=desired,
                        volume_gb=s.volume_gb,
                    ),
                )
            )
        return out

    def _k8s(
        self,
        profile: AppProfile,
        intent: Intent,
        need: cap.Need,
        services: int,
        region: str,
        types: list[str],
        ingress: bool = False,
    ) -> list[Decision]:
        """Node group candidates; `ingress`: the cluster also runs an ingress controller of
        the platform's (require-https on AKS: the application routing add-on's NGINX)."""
        s = self.settings.kubernetes
        minimum = 2 if intent.high_availability else 1
        out = []
        for t in types:
            p = self.catalog.instance(region, t)
            # The need's CPU already covers every service when it was learned from the whole
            # app, or summed over the analysed services (capacity.cpu_prior).
            whole_app = (self.learned is not None and self.learned.app_n > 0) or len(
                profile.services
            ) > 1
            sized = cap.size_nodes(
                need,
                services,
                t,
                p.vcpu,
                p.memory_gib,
                minimum,
                1 if whole_app else None,
                cap.ingress_controller_share(minimum) if ingress else (0.0, 0.0),
            )
            if sized is None or sized[0] > s.max_nodes:
                continue
            desired, top = sized
            top = min(s.max_nodes, max(top, desired + 1))
            out.append(
                Decision(
                    **_base(profile, Strategy.KUBERNETES, "candidate", 0.5),
                    kubernetes=KubernetesParams(
                        node_instance_type=t,
                        min_nodes=desired,
                        max_nodes=top,
                        desired_nodes=desired,
                        kubernetes_version=s.version,
                        # The cloud's minimum node disk, as rendered (AKS: 30 GB).
                        disk_gb=node_disk_gb(self.settings.cloud, DEFAULT_NODE_DISK_GB),
                    ),
                )
            )
        return out

    def _serverless(self, profile: AppProfile, need: cap.Need) -> list[Decision]:
        s = self.settings.serverless
        mb = max(512, 64 * math.ceil(need.memory_gib * 1024 / 64))
        if mb > s.max_memory_mb:
            return []
        return [
            Decision(
                **_base(profile, Strategy.SERVERLESS, "candidate", 0.5),
                serverless=ServerlessParams(memory_mb=mb, timeout_seconds=s.timeout_seconds),
            )
        ]

    def _feasible(
        self,
        profile: AppProfile,
        spec: AppSpec,
        intent: Intent,
        need: cap.Need,
        services: int,
        pinned: Strategy | None = None,
    ) -> dict[Strategy, str | None]:
        """For each strategy, None if feasible, else why not. `pinned`: the strategy of a
        pinned decision being sized again (decide())."""
        why: dict[Strategy, str | None] = {s: None for s in Strategy}
        if pinned is not Strategy.VM:
            why[Strategy.VM] = vm_run_problem(profile)
        if services > 1:
            why[Strategy.VM] = (
                f"{services} services deploy together; one instance group runs one service"
            )
        https = self.settings.policy.https
        for s in Strategy:
            # require-https: never as composed (a layer-4 load balancer), or no certificate
            # in the input for the strategies that compose one (policy/https.py).
            if problem := https_problem(spec.cloud_provider, s, spec.policies, https):
                why[s] = problem
        g = self.settings.gcp
        if (
            spec.cloud_provider == "gcp"
            and (spec.env or spec.env_from or spec.services)
            and not (g.project and g.project_number)
        ):
            # render/gcp/secrets.py: GKE's pods read it with Workload Identity.
            why[Strategy.KUBERNETES] = why[Strategy.KUBERNETES] or GCP_CONFIG_NOT_ON_GKE
        if problem := serverless_image_problem(profile, spec):
            why[Strategy.SERVERLESS] = problem
        elif "sqlite" in profile.datastores:
            why[Strategy.SERVERLESS] = (
                "the app keeps state in SQLite, which a Lambda cannot persist"
            )
        elif services > 1:
            why[Strategy.SERVERLESS] = f"{services} services deploy together"
        else:
            why[Strategy.SERVERLESS] = cap.serverless_unsuitable(
                intent, need, self.settings.serverless.timeout_seconds
            )
        if not spec.image and services <= 1:
            # Clusters run an image built from the repository (render/kube/recipe.py): a
            # cluster that could never run the app is not an option. (A monorepo's services
            # are built one by one; each that cannot be is reported when rendered.)
            why[Strategy.KUBERNETES] = why[Strategy.KUBERNETES] or image_build_problem(
                profile, "kubernetes"
            )
        if (
            why[Strategy.SERVERLESS] is None
            and spec.strategy is StrategyChoice.AUTO
            and intent.hinted is not Strategy.SERVERLESS
            and not need.stated
        ):
            why[Strategy.SERVERLESS] = cap.UNKNOWN_DUTY_CYCLE
        return why

    def _usage(self, need: cap.Need, decision: Decision) -> UsageAssumptions:
        """The usage a configuration is priced with: the stated traffic when there is one."""
        if not need.stated:
            return self.assumptions
        update: dict[str, float | int] = {"requests_per_month": cap.monthly_requests(need)}
        if decision.serverless is not None:
            update["avg_duration_ms"] = cap.lambda_duration_ms(need, decision.serverless.memory_mb)
        return self.assumptions.model_copy(update=update)

    def _candidates(
        self,
        options: dict[Strategy, list[Decision]],
        feasible: dict[Strategy, str | None],
        wanted: Strategy | None,
        intent: Intent,
        need: cap.Need,
        region: str,
        budget: float | None,
        hard: bool,
        built_image: bool = False,
        secrets: int = 0,
        https: bool = False,
    ) -> tuple[list[Candidate], int]:
        """One candidate per strategy: its cheapest configuration that carries the need, and
        how many configurations were priced. Ranked: within a soft budget first, then the
        strategy the team named, then the cheapest. Under a hard budget decide() falls back
        to the cheapest candidate within it."""
        candidates: list[Candidate] = []
        searched = 0
        for strategy, decisions in options.items():
            if feasible[strategy] is not None or (wanted is not None and strategy is not wanted):
                continue
            if not decisions:
                continue
            priced = sorted(
                (
                    (self._price(d, region, self._usage(need, d), built_image, secrets, https), d)
                    for d in decisions
                ),
                key=lambda cd: cd[0].monthly_total,
            )
            searched += len(priced)
            cost, chosen = priced[0]
            score, why = 0.0, []
            if intent.hinted is strategy:
                score += 1.0
                why.append(f"the prompt asks for it ({intent.evidence.get('hinted', '')})")
            if budget is not None and cost.monthly_total > budget:
                why.append(f"${cost.monthly_total:.2f}/month exceeds the ${budget:.2f} budget")
                if not hard:
                    score -= 2.0
            candidates.append(Candidate(chosen, cost, score, why))
        return candidates, searched

    def decide(
        self, profile: AppProfile, spec: AppSpec, *, pinned: Strategy | None = None
    ) -> RulesOutcome:
        """The knowledge base's decision for `profile` and `spec`. Raises DecisionError (the
        field, the reason, what to do) when nothing fits.

        `pinned`: the strategy of a pinned decision sized again (decide/rightsizing.py): a
        vm pin is kept whether or not vm could run the repository today (vm_run_problem is
        for new decisions; leaving the pin's resources out would delete them)."""
        _require_deployable(profile)
        intent = read_intent(spec.prompt)
        region = spec.region
        if region not in self.catalog.regions(self.settings.cloud):
            raise DecisionError(
                f"spec.region: no prices for region {region!r}; priced regions: "
                f"{', '.join(self.catalog.regions(self.settings.cloud))}"
            )
        need = cap.need_of(profile, intent, memory_need_gib(profile), self.learned)
        services = max(len(profile.services), intent.services or 1)
        feasible = self._feasible(profile, spec, intent, need, services, pinned)
        try:
            stores = plan_stores(
                profile.datastores,
                spec,
                # The cloud's own allowlists (FunctionInput.for_cloud): none on azure yet.
                self.settings.data_stores,
                intent.high_availability,
                profile.datastore_env,
                self.settings.cloud,
            )
        except DataStoreRefused as e:
            raise DecisionError(str(e)) from None
        if stores.composed:  # the strategies they are wired for (config/datastores.py)
            wired = ", ".join(s.value for s in store_strategies(self.settings.cloud))
            for other in [s for s in Strategy if s not in store_strategies(self.settings.cloud)]:
                feasible[other] = feasible[other] or (
                    f"composed data stores are not wired for {other.value} (they are for "
                    f"{wired}); bind the app's stores with spec.services.<kind>.secretRef"
                )
        wanted = None if spec.strategy is StrategyChoice.AUTO else Strategy(spec.strategy.value)
        if wanted is not None and feasible[wanted] is not None:
            raise DecisionError(f"spec.strategy {wanted.value}: {feasible[wanted]}")

        vm_types = _fitting_types(
            self.catalog, region, self.settings.vm.allowed_instance_types, need.memory_gib
        )
        node_types = _fitting_types(
            self.catalog,
            region,
            self.settings.kubernetes.allowed_node_types,
            max(4.0, need.memory_gib + cap.NODE_RESERVED_GIB),
        )
        options: dict[Strategy, list[Decision]] = {
            Strategy.VM: self._vm(profile, intent, need, region, vm_types),
            Strategy.KUBERNETES: self._k8s(
                profile,
                intent,
                need,
                services,
                region,
                node_types,
                ingress_on_nodes(spec.cloud_provider, spec.policies),
            ),
            Strategy.SERVERLESS: self._serverless(profile, need),
        }
        if stores.composed:  # priced with every configuration: in the budget and alternatives
            options = {
                st: [d.model_copy(update={"data_stores": stores.composed}) for d in ds]
                for st, ds in options.items()
            }
        for strategy, decisions in options.items():
            if not decisions and feasible[strategy] is None:
                feasible[strategy] = (
                    f"no allowed size carries {need.peak_vcpu:.2g} vCPU at peak with "
                    f">= {need.memory_gib:g} GiB per instance"
                )
        budget = spec.budget.max_monthly_cost if spec.budget else intent.budget_hint
        hard = bool(spec.budget and spec.budget.enforcement_mode == "hard")

        candidates, searched = self._candidates(
            options,
            feasible,
            wanted,
            intent,
            need,
            region,
            budget,
            hard,
            not spec.image,
            secret_count(spec.env_from, spec.services),
            REQUIRE_HTTPS in spec.policies,
        )
        if not candidates:
            reasons = "; ".join(f"{s.value}: {w}" for s, w in feasible.items() if w)
            raise DecisionError(f"no strategy fits in {region}: {reasons}")
        candidates.sort(key=lambda c: (-c.score, c.cost.monthly_total))
        best = candidates[0]
        warnings: list[str] = []
        if budget is not None and best.cost.monthly_total > budget:
            if hard:
                best = _cheapest_within(candidates, budget, searched, need.memory_gib, region)
                candidates.remove(best)
                candidates.insert(0, best)
                warnings.append(best.why[-1])
            else:
                warnings.append(
                    f"the cheapest configuration that meets the application's needs costs "
                    f"${best.cost.monthly_total:.2f}/month, over the ${budget:.2f} budget"
                )

        reason = self._reason(best, candidates[1:], profile, intent, need, self.settings.cloud)
        margin = (
            (candidates[1].cost.monthly_total - best.cost.monthly_total)
            / max(1.0, candidates[1].cost.monthly_total)
            if len(candidates) > 1
            else 1.0
        )
        confidence = round(
            min(0.95, 0.45 + 0.3 * profile.confidence + 0.2 * min(1.0, max(0.0, margin))), 2
        )
        alternatives = [
            Alternative(
                strategy=c.decision.strategy,
                reason="; ".join([describe(c.decision), *c.why]),
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
        return RulesOutcome(
            decision,
            best.cost,
            candidates[1:],
            warnings,
            intent=intent,
            need=need,
            assumptions=self._usage(need, best.decision),
            notes=stores.notes,
        )

    @staticmethod
    def _reason(
        best: Candidate,
        others: list[Candidate],
        profile: AppProfile,
        intent: Intent,
        need: cap.Need,
        cloud: str = "aws",
    ) -> str:
        """The decision explained by the intent and capacity figures it used (in the words
        of the cloud it runs on)."""
        d = best.decision
        t = terms(cloud)
        what = profile.framework or profile.language or "application"
        parts = [f"{what} app"]
        if d.vm:
            parts.append(
                f"{d.vm.desired_capacity}x {d.vm.instance_type} (>= {need.memory_gib:g} GiB "
                f"each) behind {t.load_balancer}, scaling {d.vm.min_size}-{d.vm.max_size}"
            )
        elif d.kubernetes:
            parts.append(
                f"{t.kubernetes_short} with {d.kubernetes.desired_nodes}x "
                f"{d.kubernetes.node_instance_type} nodes"
            )
        elif d.serverless:
            parts.append(
                f"{t.serverless_short} with {d.serverless.memory_mb} MB from the container image"
            )
        parts.append(f"intent: {intent.summary()}")
        parts.append(f"capacity: {need.summary()}")
        parts.extend(need.why)
        if intent.high_availability:
            parts.append(t.high_availability)
        heavy = heavy_dependencies(profile)
        if heavy:
            parts.append(f"memory sized for {', '.join(heavy[:3])}")
        parts.extend(best.why)
        parts.append(f"about ${best.cost.monthly_total:.2f}/month")
        if others:
            parts.append(
                "cheapest that fits; others: "
                + ", ".join(f"{describe(c.decision)} ${c.cost.monthly_total:.2f}" for c in others)
            )
        return "; ".join(parts)[:2000]
