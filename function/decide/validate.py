"""What an LLM may answer, and the check that keeps its answer inside policy.

The LLM chooses among allowed options only: a strategy and its sizes, a reason, a
confidence, alternatives. Ports, health checks, start commands, images and network come
from the analysis and the platform, never from the model, so no prompt can open a port
or reach a network the platform did not allow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from function.analysis.profile import AppProfile
from function.decide.rules import memory_need_gib
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


class LlmAlternative(_Answer):
    strategy: Strategy
    reason: str = Field(max_length=500)


class LlmDecision(_Answer):
    """The JSON the model must return (its schema is sent as the structured-output format)."""

    strategy: Strategy
    vm: LlmVm | None = None
    kubernetes: LlmKubernetes | None = None
    serverless: LlmServerless | None = None
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
class Bounds:
    """What the answer is checked against: the platform's input, the spec, prices, the app."""

    settings: FunctionInput
    spec: AppSpec
    catalog: PriceCatalog
    assumptions: UsageAssumptions
    profile: AppProfile
    baseline: Decision  # the knowledge base's decision: port, health check, start command

    def allowed_strategies(self) -> list[Strategy]:
        if self.spec.strategy is not StrategyChoice.AUTO:
            return [Strategy(self.spec.strategy.value)]
        out = [Strategy.VM, Strategy.KUBERNETES]
        if self.spec.image and "sqlite" not in self.profile.datastores:
            out.append(Strategy.SERVERLESS)
        return out


def parse_answer(content: str) -> tuple[LlmDecision | None, list[str]]:
    try:
        return LlmDecision.model_validate_json(content), []
    except ValidationError as e:
        errs = [
            f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['msg']}"
            for err in e.errors(include_url=False, include_input=False)[:8]
        ]
        return None, errs


def _check_type(b: Bounds, t: str, allowed: list[str], what: str, errors: list[str]) -> None:
    if t not in allowed:
        errors.append(f"{what} {t!r} is not allowed; choose one of {', '.join(allowed)}")
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
        if not errors:
            params["serverless"] = ServerlessParams(
                memory_mb=sl.memory_mb,
                timeout_seconds=sl.timeout_seconds,
                architecture=sl.architecture,
            )
    if not answer.reason.strip():
        errors.append("reason: must not be empty")
    if not 0.0 <= answer.confidence <= 1.0:
        errors.append(f"confidence {answer.confidence} must be within [0, 1]")
    if errors:
        return Checked(None, None, errors)

    alternatives = [
        Alternative(strategy=a.strategy, reason=a.reason.strip()[:500])
        for a in answer.alternatives
        if a.strategy is not s and a.reason.strip()
    ]
    decision = Decision(
        strategy=s,
        port=b.baseline.port,
        health_check_path=b.baseline.health_check_path,
        start_command=b.baseline.start_command,
        reason=answer.reason.strip()[:2000],
        confidence=round(answer.confidence, 3),
        alternatives=alternatives,
        decided_by="llm",
        **params,
    )
    cost = estimate(decision, b.spec.region, b.catalog, b.assumptions)
    budget = b.spec.budget
    if budget is not None and cost.monthly_total > budget.max_monthly_cost:
        msg = (
            f"estimated ${cost.monthly_total:.2f}/month exceeds the budget "
            f"${budget.max_monthly_cost:.2f}/month"
        )
        if budget.enforcement_mode == "hard":
            return Checked(None, cost, [msg + " (enforcementMode hard)"])
        warnings.append(msg)
    return Checked(decision, cost, [], warnings)
