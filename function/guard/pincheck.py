"""A pinned decision, checked against today's platform rules before it is rendered.

A pin was valid when it was made. Since then the platform may have narrowed the
allowlists, lowered a limit or blocked a port; `spec.rollbackToRevision` may bring back a
revision decided under older rules; and anyone with write access to the XR's /status can
edit the pin. So every render checks the decision it is about to render against the
current function input, spec and budget. A pin that fails is never rendered as it is:
the reconcile decides again within today's rules (keeping what exists, untouched, until
the new decision is ready) or refuses with a result naming the rule.

Pure: pin, spec, input and prices in, violations out.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from function.config.env import secret_count
from function.errors import InputError, check_finite, describe_validation_error
from function.guard.startcommand import MAX_START_COMMAND, metadata_reference
from function.guard.text import bad_char
from function.input import FunctionInput
from function.model import Decision, Strategy
from function.pinning import PinnedDecision
from function.policy.https import REQUIRE_HTTPS
from function.pricing.catalog import PriceCatalog, PricingError
from function.pricing.estimate import estimate
from function.xr import AppSpec, StrategyChoice

_COMMIT = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_K8S_VERSION = re.compile(r"^1\.\d{2}$")
MAX_HEALTH_CHECK_PATH = 255


@dataclass(frozen=True)
class Violation:
    """One platform rule a decision breaks: the pinned field, and the rule with the reason."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


def _allowed(value: str, allowed: list[str], field: str, rule: str) -> list[Violation]:
    if value in allowed:
        return []
    shown = ", ".join(allowed[:12]) + (", ..." if len(allowed) > 12 else "")
    return [Violation(field, f"{value[:60]!r} is not in {rule} (allowed now: {shown})")]


def _sizes(
    lo: int, want: int, hi: int, limit: int, field: str, rule: str, names: tuple[str, str, str]
) -> list[Violation]:
    out = []
    if not lo <= want <= hi:
        out.append(
            Violation(
                field,
                f"needs {names[0]} ({lo}) <= {names[1]} ({want}) <= {names[2]} ({hi})",
            )
        )
    if hi > limit:
        out.append(Violation(f"{field}.{names[2]}", f"{hi} exceeds {rule} ({limit})"))
    return out


def _vm(d: Decision, settings: FunctionInput, where: str) -> list[Violation]:
    vm = d.vm
    if vm is None:
        return [Violation(f"{where}.vm", "is missing; strategy vm needs its parameters")]
    s = settings.vm
    out = _allowed(
        vm.instance_type,
        s.allowed_instance_types,
        f"{where}.vm.instanceType",
        settings.field("vm.allowedInstanceTypes"),
    )
    out += _sizes(
        vm.min_size,
        vm.desired_capacity,
        vm.max_size,
        s.max_instances,
        f"{where}.vm",
        settings.field("vm.maxInstances"),
        ("minSize", "desiredCapacity", "maxSize"),
    )
    if vm.volume_gb > s.volume_gb:
        out.append(
            Violation(
                f"{where}.vm.volumeGb",
                f"{vm.volume_gb} GiB exceeds {settings.field('vm.volumeGb')} ({s.volume_gb} GiB)",
            )
        )
    return out


def _kubernetes(d: Decision, settings: FunctionInput, where: str) -> list[Violation]:
    k = d.kubernetes
    if k is None:
        return [
            Violation(f"{where}.kubernetes", "is missing; strategy kubernetes needs its parameters")
        ]
    s = settings.kubernetes
    out = _allowed(
        k.node_instance_type,
        s.allowed_node_types,
        f"{where}.kubernetes.nodeInstanceType",
        settings.field("kubernetes.allowedNodeTypes"),
    )
    out += _sizes(
        k.min_nodes,
        k.desired_nodes,
        k.max_nodes,
        s.max_nodes,
        f"{where}.kubernetes",
        settings.field("kubernetes.maxNodes"),
        ("minNodes", "desiredNodes", "maxNodes"),
    )
    if not _K8S_VERSION.match(k.kubernetes_version):
        out.append(
            Violation(
                f"{where}.kubernetes.kubernetesVersion",
                f"{k.kubernetes_version[:20]!r} is not a Kubernetes minor version like 1.33",
            )
        )
    return out


def _serverless(d: Decision, settings: FunctionInput, spec: AppSpec, where: str) -> list[Violation]:
    sl = d.serverless
    if sl is None:
        return [
            Violation(f"{where}.serverless", "is missing; strategy serverless needs its parameters")
        ]
    s = settings.serverless
    out = []
    if not spec.image and spec.cloud_provider != "aws":
        # On AWS an image is built from the repository at the pinned commit (the render
        # refuses, naming the field, a pin whose analysis cannot give one: docs/build.md).
        out.append(
            Violation(
                "spec.image",
                "strategy serverless runs a container image; none set (images are built "
                f"from the repository on AWS only, not on {spec.cloud_provider})",
            )
        )
    if sl.memory_mb > s.max_memory_mb:
        out.append(
            Violation(
                f"{where}.serverless.memoryMb",
                f"{sl.memory_mb} MB exceeds {settings.field('serverless.maxMemoryMb')} "
                f"({s.max_memory_mb})",
            )
        )
    if sl.timeout_seconds > s.timeout_seconds:
        out.append(
            Violation(
                f"{where}.serverless.timeoutSeconds",
                f"{sl.timeout_seconds} s exceeds {settings.field('serverless.timeoutSeconds')} "
                f"({s.timeout_seconds})",
            )
        )
    return out


def start_command_violations(
    command: str | None, field: str, what: str = "start command"
) -> list[Violation]:
    """What is wrong with a start (or, `what`, build) command a vm would run (None: the
    default one)."""
    problem = None if command is None else _command_problem(command, what)
    return [] if problem is None else [Violation(field, problem)]


@functools.lru_cache(maxsize=1024)
def _command_problem(command: str, what: str) -> str | None:
    """Memoized: a pinned reconcile checks the same command every time."""
    if len(command) > MAX_START_COMMAND:
        return f"is {len(command)} characters; at most {MAX_START_COMMAND}"
    bad = bad_char(command)
    if bad:
        return f"{bad}; a {what} is one line"
    ref = metadata_reference(command)
    if ref:
        return (
            f"names the instance metadata endpoint ({ref!r}); the platform never runs a "
            "command that can read the instance's credentials"
        )
    return None


def _common(d: Decision, settings: FunctionInput, where: str) -> list[Violation]:
    out = []
    if d.port in settings.blocked_ports:
        out.append(
            Violation(
                f"{where}.port",
                f"{d.port} is in input.blockedPorts, which the platform never exposes",
            )
        )
    path = d.health_check_path
    if not path.startswith("/") or len(path) > MAX_HEALTH_CHECK_PATH or bad_char(path):
        out.append(
            Violation(
                f"{where}.healthCheckPath",
                f"must be a path starting with '/', at most {MAX_HEALTH_CHECK_PATH} characters, "
                "without control characters",
            )
        )
    return out


def decision_violations(
    d: Decision,
    spec: AppSpec,
    settings: FunctionInput,
    where: str = "status.decision.parameters",
) -> list[Violation]:
    """The rules of today's input and spec that decision `d` breaks (prices aside)."""
    out = []
    if spec.strategy is not StrategyChoice.AUTO and spec.strategy.value != d.strategy.value:
        out.append(
            Violation(
                f"{where}.strategy",
                f"{d.strategy.value!r} is not what spec.strategy asks for "
                f"({spec.strategy.value!r})",
            )
        )
    if d.strategy is Strategy.VM:
        out += _vm(d, settings, where)
    elif d.strategy is Strategy.KUBERNETES:
        out += _kubernetes(d, settings, where)
    else:
        out += _serverless(d, settings, spec, where)
    return out + _common(d, settings, where)


def monthly_cost(
    d: Decision, spec: AppSpec, settings: FunctionInput, catalog: PriceCatalog
) -> float:
    """What the decision costs a month at today's prices (never what a pin claims).

    Raises PricingError for a type or region without prices, or missing parameters."""
    return estimate(
        d,
        spec.region,
        catalog,
        built_image=not spec.image,
        existing_network=settings.network.existing,
        secrets=secret_count(spec.env_from, spec.services),
        https=REQUIRE_HTTPS in spec.policies,
    ).monthly_total


def _hard_budget(
    d: Decision, spec: AppSpec, settings: FunctionInput, catalog: PriceCatalog, where: str
) -> list[Violation]:
    """A hard budget the decision breaks, priced from today's catalog."""
    budget = spec.budget
    if budget is None or budget.enforcement_mode != "hard":
        return []
    try:
        monthly = monthly_cost(d, spec, settings, catalog)
    except PricingError as e:
        return [Violation(f"{where}.strategy", f"cannot be priced: {str(e)[:200]}")]
    if monthly <= budget.max_monthly_cost:
        return []
    return [
        Violation(
            "spec.budget.maxMonthlyCost",
            f"the pinned decision costs ${monthly:.2f}/month at today's prices, over the hard "
            f"budget of ${budget.max_monthly_cost:.2f}/month",
        )
    ]


def pin_violations(
    pin: PinnedDecision,
    spec: AppSpec,
    settings: FunctionInput,
    catalog: PriceCatalog,
    where: str = "status.decision",
) -> list[Violation]:
    """Every rule of today's platform the pinned decision breaks; empty when it may render.

    Checked: the strategy against spec.strategy and its parameters' presence; instance
    and node types against the input's allowlists; sizes against its limits; the port
    against input.blockedPorts; the health check path; the start and build commands a vm
    runs (one line, no metadata endpoint); the commit (a full SHA: it reaches a shell and git);
    serverless needs spec.image outside AWS; and a hard budget, priced from today's catalog (never
    from the cost the pin claims).
    """
    params = f"{where}.parameters"
    d = pin.parameters
    out = decision_violations(d, spec, settings, params)
    if not _COMMIT.match(pin.commit):
        out.append(Violation(f"{where}.commit", "must be a full hexadecimal commit SHA"))
    if d.strategy is Strategy.VM:
        start, field = d.start_command, f"{params}.startCommand"
        if start is None:
            start, field = pin.analysis.start_command, f"{where}.analysis.startCommand"
        out += start_command_violations(start, field)
        if not pin.analysis.has_dockerfile:  # the boot script runs it (render/startup.py)
            out += start_command_violations(
                pin.analysis.build_command, f"{where}.analysis.buildCommand", "build command"
            )
    out += _store_violations(d, settings, params)
    if getattr(d, d.strategy.value) is not None:
        out += _hard_budget(d, spec, settings, catalog, params)
    try:  # free-form parts of the pin reach status as they are: JSON has no NaN
        check_finite({"costBreakdown": pin.cost_breakdown, "similar": pin.similar}, where)
    except InputError as e:
        out.append(Violation(e.field, e.reason))
    return out


def _store_violations(d: Decision, settings: FunctionInput, params: str) -> list[Violation]:
    """A composed data store's size must still be in the input's allowlist (a redecision
    resizes it in place). Turning `dataStores.compose` off does not touch existing stores:
    removing a database is never a side effect of a rule change."""
    out = []
    ds = settings.data_stores
    for i, store in enumerate(d.data_stores or []):
        allowed = (
            ds.redis.allowed_node_types
            if store.kind == "redis"
            else (ds.postgres if store.kind == "postgres" else ds.mysql).allowed_instance_classes
        )
        if store.size not in allowed:
            out.append(
                Violation(
                    f"{params}.dataStores[{i}].size",
                    f"{store.size!r} is not in input dataStores.{store.kind} allowlist "
                    f"({', '.join(allowed)})",
                )
            )
    return out


def rules_key(settings: FunctionInput) -> str:
    """A short digest of the whole input: a decision forced by a rule change is keyed by it,
    so a decision made under the old rules is never reused for it."""
    return hashlib.sha256(settings.model_dump_json().encode()).hexdigest()[:16]


def describe(violations: list[Violation], limit: int = 3) -> str:
    shown = "; ".join(str(v) for v in violations[:limit])
    more = len(violations) - limit
    return shown + (f" (and {more} more)" if more > 0 else "")


def refusal(pin: PinnedDecision, violations: list[Violation], failure: str | None) -> str:
    """The fatal message for a pin that may not be rendered while no new decision is ready."""
    head = (
        f"pinned decision revision {pin.revision} no longer passes the platform's rules: "
        f"{describe(violations)}"
    )
    if failure:
        tail = f"; deciding again within today's rules failed: {failure[:400]}"
    else:
        tail = "; a new decision within today's rules is being made"
    return head + tail + "; existing resources are left as they are"


def pin_problem(status: dict[str, Any]) -> str | None:
    """Why `status.decision` cannot be read as a pin, naming the field (None: absent or fine)."""
    raw = status.get("decision")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        return "status.decision: must be an object"
    try:
        PinnedDecision.model_validate(raw)
    except ValidationError as e:
        field, reason = describe_validation_error(e, prefix="status.decision")
        return f"{field}: {reason}"
    return None
