"""What an LLM may answer, and the check that keeps its answer inside policy.

The LLM chooses among allowed options only: a strategy and its sizes, a reason, a
confidence, alternatives. Ports, health checks, start commands, images and network come
from the analysis and the platform, never from the model, so no prompt can open a port
or reach a network the platform did not allow.

The budget binds the model as it binds the knowledge base: over a soft budget, an
answer is accepted only when no configuration that meets the application's needs fits.
The model's words are untrusted output: the decision's reason is the product's own
account of what was validated; the model's reason is kept only as a short, cleaned,
labelled note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from function.analysis.profile import AppProfile
from function.clouds import DEFAULT_NODE_DISK_GB, node_disk_gb, terms
from function.config.datastores import burstable
from function.config.env import secret_count
from function.decide.rules import (
    RulesOutcome,
    describe,
    memory_need_gib,
    serverless_image_problem,
    vm_run_problem,
)
from function.guard.text import clean_model_text, labelled_model_text
from function.input import FunctionInput
from function.model import (
    Alternative,
    DataStoreParams,
    Decision,
    KubernetesParams,
    ServerlessParams,
    Strategy,
    VmParams,
)
from function.policy.https import REQUIRE_HTTPS, https_problem
from function.pricing.catalog import PriceCatalog, PricingError
from function.pricing.estimate import CostEstimate, UsageAssumptions, estimate
from function.xr import AppSpec, StrategyChoice

_TYPE_SHAPE = re.compile(r"^[a-z][a-z0-9-]{0,15}\.[a-z0-9-]{1,15}$")


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


class LlmVm(_Answer):
    instance_type: str = Field(max_length=40)
    min_size: int
    max_size: int
    desired_capacity: int


class LlmKubernetes(_Answer):
    node_instance_type: str = Field(max_length=40)
    min_nodes: int
    max_nodes: int
    desired_nodes: int


class LlmServerless(_Answer):
    memory_mb: int
    timeout_seconds: int
    architecture: Literal["x86_64", "arm64"] = "x86_64"


class LlmStore(_Answer):
    kind: Literal["postgres", "mysql", "redis"]
    size: str = Field(max_length=40)
    multi_az: bool = False


class LlmAlternative(_Answer):
    strategy: Strategy
    reason: str = Field(max_length=500)


class LlmDecision(_Answer):
    """The JSON the model must return (its schema is sent as the structured-output format)."""

    strategy: Strategy
    vm: LlmVm | None = None
    kubernetes: LlmKubernetes | None = None
    serverless: LlmServerless | None = None
    data_stores: list[LlmStore] | None = Field(default=None, max_length=3)
    reason: str = Field(max_length=2000)
    confidence: float
    alternatives: list[LlmAlternative] = Field(default_factory=list, max_length=4)


def answer_schema() -> dict[str, object]:
    return LlmDecision.model_json_schema(by_alias=True)


@dataclass
class Checked:
    decision: Decision | None
    cost: CostEstimate | None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Viable:
    """A configuration the knowledge base priced that meets the application's needs."""

    decision: Decision
    monthly: float


def viable_options(kb: RulesOutcome) -> tuple[Viable, ...]:
    """The knowledge base's choice and its other candidates (each the cheapest
    configuration of its strategy that meets the needs)."""
    return (
        Viable(kb.decision, kb.cost.monthly_total),
        *(Viable(c.decision, c.cost.monthly_total) for c in kb.alternatives),
    )


@dataclass(frozen=True)
class Bounds:
    """What the answer is checked against: the platform's input, the spec, prices, the app."""

    settings: FunctionInput
    spec: AppSpec
    catalog: PriceCatalog
    assumptions: UsageAssumptions
    profile: AppProfile
    baseline: Decision  # the knowledge base's decision: port, health check, start command
    # Configurations that meet the needs (viable_options); the baseline counts when empty.
    viable: tuple[Viable, ...] = ()

    def cheapest_within(self, budget: float) -> Viable | None:
        """The cheapest allowed configuration that meets the needs within `budget`."""
        allowed = set(self.allowed_strategies())
        options = list(self.viable)
        if not options:
            try:
                monthly = estimate(
                    self.baseline,
                    self.spec.region,
                    self.catalog,
                    self.assumptions,
                    existing_network=self.settings.network.existing,
                    https=REQUIRE_HTTPS in self.spec.policies,
                )
            except PricingError:
                return None
            options = [Viable(self.baseline, monthly.monthly_total)]
        fitting = [v for v in options if v.monthly <= budget and v.decision.strategy in allowed]
        return min(fitting, key=lambda v: v.monthly, default=None)

    def allowed_strategies(self) -> list[Strategy]:
        if self.spec.strategy is not StrategyChoice.AUTO:
            return [Strategy(self.spec.strategy.value)]
        https = self.settings.policy.https
        # require-https: what cannot serve only HTTPS here, or has no certificate in the
        # input, is never offered (policy/https.py; rules.py decides the same way).
        out = [
            s
            for s in (Strategy.VM, Strategy.KUBERNETES)
            if https_problem(self.spec.cloud_provider, s, self.spec.policies, https) is None
        ]
        if Strategy.VM in out and vm_run_problem(self.profile) is not None:
            out.remove(Strategy.VM)  # nothing to run on the instance (no start command, port)
        runs = serverless_image_problem(self.profile, self.spec) is None
        if runs and "sqlite" not in self.profile.datastores:
            out.append(Strategy.SERVERLESS)
        return out


def parse_answer(content: str) -> tuple[LlmDecision | None, list[str]]:
    try:
        return LlmDecision.model_validate_json(content), []
    except ValidationError as e:
        errs = [
            f"{_loc(err['loc'])}: {err['msg']}"
            for err in e.errors(include_url=False, include_input=False)[:8]
        ]
        return None, errs


def _loc(loc: tuple[int | str, ...]) -> str:
    """Where in the answer an error is. Keys are model text: cut and cleaned, never verbatim."""
    parts = [str(p) if isinstance(p, int) else clean_model_text(str(p), 30) for p in loc]
    return ".".join(repr(p) if not p.isidentifier() else p for p in parts) or "answer"


def _check_type(b: Bounds, t: str, allowed: list[str], what: str, errors: list[str]) -> None:
    if t not in allowed:
        # The answer's value is model text: echoed only when it has an instance type's shape.
        shown = f" {t!r}" if _TYPE_SHAPE.match(t) else ""
        errors.append(f"{what}{shown} is not allowed; choose one of {', '.join(allowed)}")
        return
    try:
        price = b.catalog.instance(b.spec.region, t)
    except PricingError as e:
        errors.append(str(e))
        return
    need = memory_need_gib(b.profile)
    if what == "kubernetes.nodeInstanceType":
        need = max(need, 4.0)
    if price.memory_gib < need:
        errors.append(f"{what} {t!r} has {price.memory_gib:g} GiB; the app needs >= {need:g} GiB")


def _sizes(lo: int, want: int, hi: int, limit: int, what: str, errors: list[str]) -> None:
    if not 1 <= lo <= want <= hi:
        errors.append(f"{what}: need 1 <= min ({lo}) <= desired ({want}) <= max ({hi})")
    if hi > limit:
        errors.append(f"{what}: max {hi} exceeds the platform limit {limit}")


def check(answer: LlmDecision, b: Bounds) -> Checked:
    """Turn a parsed answer into a Decision, or say exactly what is wrong with it."""
    errors: list[str] = []
    warnings: list[str] = []
    allowed = b.allowed_strategies()
    s = answer.strategy
    if s not in allowed:
        errors.append(
            f"strategy {s.value!r} is not allowed here; "
            f"allowed: {', '.join(a.value for a in allowed)}"
        )
    params: dict[str, object] = {}
    if s is Strategy.VM:
        if answer.vm is None:
            errors.append("vm: parameters are required for strategy vm")
        else:
            v = answer.vm
            _check_type(
                b, v.instance_type, b.settings.vm.allowed_instance_types, "vm.instanceType", errors
            )
            _sizes(
                v.min_size,
                v.desired_capacity,
                v.max_size,
                b.settings.vm.max_instances,
                "vm",
                errors,
            )
            if not errors:
                params["vm"] = VmParams(
                    instance_type=v.instance_type,
                    min_size=v.min_size,
                    max_size=v.max_size,
                    desired_capacity=v.desired_capacity,
                    volume_gb=b.settings.vm.volume_gb,
                )
    elif s is Strategy.KUBERNETES:
        if answer.kubernetes is None:
            errors.append("kubernetes: parameters are required for strategy kubernetes")
        else:
            k = answer.kubernetes
            _check_type(
                b,
                k.node_instance_type,
                b.settings.kubernetes.allowed_node_types,
                "kubernetes.nodeInstanceType",
                errors,
            )
            _sizes(
                k.min_nodes,
                k.desired_nodes,
                k.max_nodes,
                b.settings.kubernetes.max_nodes,
                "kubernetes",
                errors,
            )
            if not errors:
                params["kubernetes"] = KubernetesParams(
                    node_instance_type=k.node_instance_type,
                    min_nodes=k.min_nodes,
                    max_nodes=k.max_nodes,
                    desired_nodes=k.desired_nodes,
                    kubernetes_version=b.settings.kubernetes.version,
                    disk_gb=node_disk_gb(b.settings.cloud, DEFAULT_NODE_DISK_GB),
                )
    elif answer.serverless is None:
        errors.append("serverless: parameters are required for strategy serverless")
    else:
        sl = answer.serverless
        top_mb, top_s = b.settings.serverless.max_memory_mb, b.settings.serverless.timeout_seconds
        if not 128 <= sl.memory_mb <= top_mb:
            errors.append(f"serverless.memoryMb {sl.memory_mb} outside 128..{top_mb}")
        if not 1 <= sl.timeout_seconds <= top_s:
            errors.append(f"serverless.timeoutSeconds {sl.timeout_seconds} outside 1..{top_s}")
        if sl.architecture != "x86_64" and b.settings.cloud != "aws":
            errors.append(
                f"serverless.architecture {sl.architecture}: "
                f"{terms(b.settings.cloud).serverless_short} runs x86_64 images only"
            )
        if not errors:
            params["serverless"] = ServerlessParams(
                memory_mb=sl.memory_mb,
                timeout_seconds=sl.timeout_seconds,
                architecture=sl.architecture,
            )
    stores = _stores(answer, b, errors)
    errors += _reason_and_confidence(answer)
    if errors:
        return Checked(None, None, errors)

    decision = Decision(
        strategy=s,
        port=b.baseline.port,
        health_check_path=b.baseline.health_check_path,
        start_command=b.baseline.start_command,
        data_stores=stores,
        reason="pending",
        confidence=round(answer.confidence, 3),
        alternatives=_alternatives(s, b.baseline, b.settings.cloud),
        decided_by="llm",
        model_note=labelled_model_text(answer.reason, MODEL_NOTE_CHARS),
        **params,
    )
    cost = estimate(
        decision,
        b.spec.region,
        b.catalog,
        b.assumptions,
        built_image=not b.spec.image,
        existing_network=b.settings.network.existing,
        secrets=secret_count(b.spec.env_from, b.spec.services),
        https=REQUIRE_HTTPS in b.spec.policies,
    )
    refused, note = _budget(cost, b, warnings)
    if refused:
        return Checked(None, cost, [refused])
    account_text = account(decision, cost, b.settings.cloud)
    decision = decision.model_copy(update={"reason": account_text + note})
    return Checked(decision, cost, [], warnings)


def _reason_and_confidence(answer: LlmDecision) -> list[str]:
    errors = []
    if not answer.reason.strip():
        errors.append("reason: must not be empty")
    if not 0.0 <= answer.confidence <= 1.0:
        errors.append(f"confidence {answer.confidence} must be within [0, 1]")
    return errors


def store_allowlist(settings: FunctionInput, kind: str) -> list[str]:
    ds = settings.data_stores
    if kind == "redis":
        return ds.redis.allowed_node_types
    return (ds.postgres if kind == "postgres" else ds.mysql).allowed_instance_classes


def _stores(answer: LlmDecision, b: Bounds, errors: list[str]) -> list[DataStoreParams] | None:
    """The composed stores: the knowledge base's, resized where the model chose another
    size (and Multi-AZ) within the input's allowlist; the model cannot add or drop one."""
    base = b.baseline.data_stores
    if not answer.data_stores:
        return base
    if not base:
        errors.append("dataStores: this application has no composed data store to size")
        return None
    chosen = {s.kind: s for s in answer.data_stores}
    unknown = sorted(set(chosen) - {s.kind for s in base})
    if unknown:
        errors.append(f"dataStores: {', '.join(unknown)} is not a composed store here")
    out = []
    for i, store in enumerate(base):
        pick = chosen.get(store.kind)
        if pick is None:
            out.append(store)
            continue
        allowed = store_allowlist(b.settings, store.kind)
        if pick.size not in allowed:
            errors.append(
                f"dataStores[{i}].size {pick.size!r} is not allowed for {store.kind}; "
                f"allowed: {', '.join(allowed)}"
            )
            continue
        if pick.multi_az and burstable(b.settings.cloud, pick.size):
            errors.append(
                f"dataStores[{i}]: {pick.size} is a Burstable flexible server, which has no "
                "standby (multiAz needs a General Purpose or Memory Optimized SKU)"
            )
            continue
        out.append(store.model_copy(update={"size": pick.size, "multi_az": pick.multi_az}))
    return out


def _budget(cost: CostEstimate, b: Bounds, warnings: list[str]) -> tuple[str | None, str]:
    """(why the answer is refused, or None; a note for the reason) under spec.budget.

    Hard: over the budget is refused. Soft: over the budget is refused when a
    configuration that meets the needs fits it, else accepted with a warning.
    """
    budget = b.spec.budget
    if budget is None or cost.monthly_total <= budget.max_monthly_cost:
        return None, ""
    msg = (
        f"estimated ${cost.monthly_total:.2f}/month exceeds the budget "
        f"${budget.max_monthly_cost:.2f}/month"
    )
    if budget.enforcement_mode == "hard":
        return msg + " (enforcementMode hard)", ""
    cheaper = b.cheapest_within(budget.max_monthly_cost)
    if cheaper is not None:
        return (
            f"{msg}, while {describe(cheaper.decision)} at ${cheaper.monthly:.2f}/month "
            "meets the application's needs within it; a soft budget may be exceeded only "
            "when nothing that meets the needs fits (spec.budget)"
        ), ""
    warnings.append(msg + "; no allowed configuration that meets the needs fits it")
    return None, "; over the soft budget: nothing allowed that meets the needs fits it"


MODEL_NOTE_CHARS = 300


def _summary(d: Decision, cloud: str = "aws") -> str:
    t = terms(cloud)
    if d.vm:
        v = d.vm
        return (
            f"vm: {v.desired_capacity}x {v.instance_type} behind a load balancer, "
            f"scaling {v.min_size}-{v.max_size}"
        )
    if d.kubernetes:
        k = d.kubernetes
        return (
            f"kubernetes: {t.kubernetes_short} {k.kubernetes_version} with {k.desired_nodes}x "
            f"{k.node_instance_type} nodes, scaling {k.min_nodes}-{k.max_nodes}"
        )
    if d.serverless:
        sl = d.serverless
        return (
            f"serverless: {t.serverless_short} with {sl.memory_mb} MB ({sl.architecture}), "
            f"timeout {sl.timeout_seconds} s"
        )
    return d.strategy.value


def account(d: Decision, cost: CostEstimate, cloud: str = "aws") -> str:
    """The product's own account of a model's decision that passed the checks.

    Built only from validated parameters and the price estimate, never from model text.
    """
    return (
        f"{_summary(d, cloud)}, serving port {d.port}; chosen by the LLM among the platform's "
        "allowed options and checked against its rules (strategy, instance types, sizes, "
        f"budget); about ${cost.monthly_total:.2f}/month"
    )


def _alternatives(chosen: Strategy, baseline: Decision, cloud: str = "aws") -> list[Alternative]:
    """The alternatives shown with a model's decision: the knowledge base's, in its words."""
    out: list[Alternative] = []
    if baseline.strategy is not chosen:
        out.append(
            Alternative(
                strategy=baseline.strategy,
                reason=f"the knowledge base's choice: {_summary(baseline, cloud)}",
            )
        )
    for a in baseline.alternatives:
        if a.strategy is not chosen and all(o.strategy is not a.strategy for o in out):
            out.append(a)
    return out[:4]
