"""vm runs the repository on the instance: its Dockerfile with Docker, else the analysed
start command on the analysed port. A repository with neither a Dockerfile nor a start
command (npm's own default excepted), or with no port, is refused when deciding, with the
field, the reason and what to do, like an image that cannot be built (test_unbuildable_results
in tests/build); every strategy agrees: when none can run it the decision fails as a whole,
otherwise vm is "not possible" among the alternatives. The knowledge base and the check of
an LLM's answer ask the same rule (rules.vm_run_problem)."""

from __future__ import annotations

from typing import Any

import pytest

from function.decide.answer_schema import answer_schema_for
from function.decide.rules import DecisionError, RulesEngine, vm_run_problem
from function.decide.validate import Bounds, LlmDecision, check
from function.input import FunctionInput
from function.model import Strategy
from function.pricing.catalog import load_catalog
from function.pricing.estimate import UsageAssumptions
from tests.decide.test_rules import profile, spec

CLOUDS = {"aws": "us-east-1", "gcp": "us-central1", "azure": "eastus"}
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"
# A Flask app whose image could be generated but for the field the case removes.
RUNNABLE = {"runtime": "python", "runtime_version": "3.12", "package_manager": "pip"}
NOT_RUNNABLE = [
    pytest.param({"start_command": None}, "start_command", id="no-start-command"),
    pytest.param({"ports": []}, "ports", id="no-port"),
]
VM_ANSWER = {
    "strategy": "vm",
    "vm": {"instanceType": "t3.small", "minSize": 1, "maxSize": 2, "desiredCapacity": 1},
    "reason": "one small instance is enough",
    "confidence": 0.8,
    "alternatives": [],
}


def engine(cloud: str = "aws") -> RulesEngine:
    return RulesEngine(FunctionInput().for_cloud(cloud), load_catalog(), UsageAssumptions())


def _says_what_to_do(message: str, field: str) -> None:
    assert f"vm cannot run the repository (analysis.{field}:" in message, message
    assert "Dockerfile" in message, message
    if field == "start_command":
        assert "Procfile `web:` line" in message and "scripts.start" in message, message
    else:
        assert "PORT" in message and "EXPOSE" in message, message


@pytest.mark.parametrize(("change", "field"), NOT_RUNNABLE)
@pytest.mark.parametrize("cloud", list(CLOUDS))
def test_vm_asked_for_is_refused_saying_what_to_do(
    cloud: str, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(DecisionError) as err:
        engine(cloud).decide(
            profile(**(RUNNABLE | change)),
            spec(strategy="vm", cloudProvider=cloud, region=CLOUDS[cloud]),
        )
    message = str(err.value)
    assert message.startswith("spec.strategy vm: vm cannot run the repository"), message
    _says_what_to_do(message, field)


@pytest.mark.parametrize(("change", "field"), NOT_RUNNABLE)
@pytest.mark.parametrize("cloud", list(CLOUDS))
def test_nothing_runs_it_the_decision_fails_naming_every_strategys_reason(
    cloud: str, change: dict[str, Any], field: str
) -> None:
    """No Dockerfile, no spec.image: no image can be built either."""
    with pytest.raises(DecisionError) as err:
        engine(cloud).decide(
            profile(**(RUNNABLE | change)), spec(cloudProvider=cloud, region=CLOUDS[cloud])
        )
    message = str(err.value)
    assert message.startswith(f"no strategy fits in {CLOUDS[cloud]}: vm: vm cannot run"), message
    _says_what_to_do(message, field)
    assert "kubernetes: the image cannot be built from the repository" in message, message
    assert "spec.image" in message


@pytest.mark.parametrize(("change", "field"), NOT_RUNNABLE)
@pytest.mark.parametrize("cloud", list(CLOUDS))
def test_others_run_the_teams_image_vm_is_not_possible_among_the_alternatives(
    cloud: str, change: dict[str, Any], field: str
) -> None:
    """spec.image runs on a cluster (and serverless); vm runs the repository, not an image."""
    out = engine(cloud).decide(
        profile(**(RUNNABLE | change)),
        spec(cloudProvider=cloud, region=CLOUDS[cloud], image=IMAGE),
    )
    assert out.decision.strategy is not Strategy.VM
    why = {a.strategy: a.reason for a in out.decision.alternatives}
    assert why[Strategy.VM].startswith("not possible: vm cannot run the repository"), why
    _says_what_to_do(why[Strategy.VM], field)


@pytest.mark.parametrize("cloud", list(CLOUDS))
def test_a_dockerfile_is_run_with_docker_whatever_the_analysis_found(cloud: str) -> None:
    dockerfile = {"present": True, "path": "Dockerfile"}
    p = profile(**(RUNNABLE | {"start_command": None, "dockerfile": dockerfile}))
    assert vm_run_problem(p) is None
    out = engine(cloud).decide(p, spec(strategy="vm", cloudProvider=cloud, region=CLOUDS[cloud]))
    assert out.decision.strategy is Strategy.VM


def test_a_node_app_keeps_npms_default_start_a_static_site_has_no_server() -> None:
    node = {"language": "javascript", "framework": "express", "runtime": "node"}
    p = profile(**(node | {"start_command": None, "ports": [3000]}))
    assert vm_run_problem(p) is None  # `npm start` runs `node server.js` (render/startup.py)
    assert engine().decide(p, spec(strategy="vm")).decision.strategy is Strategy.VM
    no_port = profile(**(node | {"start_command": None, "ports": []}))
    problem = vm_run_problem(no_port)
    assert problem is not None
    _says_what_to_do(problem, "ports")
    site = profile(
        language="javascript", framework="vite", start_command=None, ports=[], static_site=True
    )
    problem = vm_run_problem(site)
    assert problem and "(analysis.start_command: a static site has no server" in problem
    assert "nginx" in problem and "Dockerfile" in problem


def test_the_runnable_baseline_is_decided_vm() -> None:
    out = engine().decide(profile(**RUNNABLE), spec(strategy="vm"))
    assert out.decision.strategy is Strategy.VM


@pytest.mark.parametrize(("change", "field"), NOT_RUNNABLE)
def test_an_llm_answer_of_vm_is_checked_by_the_same_rule(
    change: dict[str, Any], field: str
) -> None:
    """The knowledge base decides kubernetes (spec.image); the model may not answer vm."""
    settings = FunctionInput()
    p = profile(**(RUNNABLE | change))
    s = spec(image=IMAGE)
    kb = RulesEngine(settings, load_catalog(), UsageAssumptions()).decide(p, s)
    b = Bounds(settings, s, load_catalog(), UsageAssumptions(), p, kb.decision)
    assert Strategy.VM not in b.allowed_strategies()
    assert "'vm'" not in str(answer_schema_for(b, 0.5))
    checked = check(LlmDecision.model_validate(VM_ANSWER), b)
    assert any("strategy 'vm' is not allowed" in e for e in checked.errors), checked.errors
    runnable = profile(**RUNNABLE)
    kb = RulesEngine(settings, load_catalog(), UsageAssumptions()).decide(runnable, s)
    b = Bounds(settings, s, load_catalog(), UsageAssumptions(), runnable, kb.decision)
    assert Strategy.VM in b.allowed_strategies()
    assert not check(LlmDecision.model_validate(VM_ANSWER), b).errors
