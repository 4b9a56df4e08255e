"""An automatic choice of serverless builds its image from the repository (no spec.image):
the knowledge base, the check of an LLM answer and the pin check agree on when it may."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from function.analysis.profile import AppProfile
from function.decide import rules
from function.decide.answer_schema import answer_schema_for
from function.decide.rules import RulesEngine, serverless_image_problem
from function.decide.validate import Bounds, LlmDecision, check
from function.input import FunctionInput
from function.model import Strategy
from function.pricing.catalog import load_catalog
from function.pricing.estimate import UsageAssumptions
from function.xr import AppSpec
from tests.support import inproc as P

ROOT = Path(__file__).resolve().parents[2]

BUILDABLE = {
    "runtime": "python",
    "runtime_version": "3.12",
    "package_manager": "pip",
    "start_command": "gunicorn app:app",
}
SERVERLESS_ANSWER = {
    "strategy": "serverless",
    "serverless": {"memoryMb": 512, "timeoutSeconds": 10},
    "reason": "a few calls an hour: a function costs nearly nothing",
    "confidence": 0.8,
    "alternatives": [],
}


def profile(**extra: Any) -> AppProfile:
    return AppProfile.model_validate(
        {
            "name": "app",
            "url": "https://github.com/acme/app",
            "ref": "main",
            "commit": "a" * 40,
            "language": "python",
            "framework": "flask",
            "ports": [5000],
            "confidence": 0.9,
            "dependencies": ["flask", "gunicorn"],
            **extra,
        }
    )


def spec(**extra: Any) -> AppSpec:
    return AppSpec.model_validate(
        {"repository": {"url": "https://github.com/acme/app"}, "prompt": "a few calls an hour"}
        | extra
    )


def bounds(p: AppProfile, s: AppSpec) -> Bounds:
    settings = FunctionInput()
    kb = RulesEngine(settings, load_catalog(), UsageAssumptions()).decide(p, s)
    return Bounds(settings, s, load_catalog(), UsageAssumptions(), p, kb.decision)


def test_one_rule_for_every_caller() -> None:
    assert serverless_image_problem(profile(**BUILDABLE), spec()) is None
    assert serverless_image_problem(profile(), spec(image="r/app:1")) is None
    problem = serverless_image_problem(profile(), spec())
    assert problem and "cannot be built from the repository" in problem
    gcp = spec(cloudProvider="gcp", region="us-central1")
    problem = serverless_image_problem(profile(**BUILDABLE), gcp)
    assert problem == rules.SERVERLESS_NEEDS_IMAGE


def test_the_knowledge_base_chooses_serverless_and_prices_the_build() -> None:
    b = bounds(profile(**BUILDABLE), spec())
    assert b.baseline.strategy is Strategy.SERVERLESS
    assert b.baseline.decided_by == "knowledge-base"


def test_a_dockerfile_is_enough() -> None:
    p = profile(dockerfile={"present": True, "path": "Dockerfile"})
    assert serverless_image_problem(p, spec()) is None
    assert bounds(p, spec()).baseline.strategy is Strategy.SERVERLESS


@pytest.mark.parametrize(
    ("extra", "allowed"),
    # a start command (vm runs it) but no runtime to build an image with
    [(BUILDABLE, True), ({"start_command": "gunicorn app:app"}, False)],
    ids=["buildable", "nothing-to-build-from"],
)
def test_an_llm_answer_of_serverless_is_checked_by_the_same_rule(
    extra: dict[str, Any], allowed: bool
) -> None:
    b = bounds(profile(**extra), spec())
    assert (Strategy.SERVERLESS in b.allowed_strategies()) is allowed
    branches = str(answer_schema_for(b, 0.5))
    assert ("'serverless'" in branches) is allowed
    checked = check(LlmDecision.model_validate(SERVERLESS_ANSWER), b)
    if allowed:
        assert not checked.errors, checked.errors
        assert checked.decision is not None and checked.decision.strategy is Strategy.SERVERLESS
    else:
        assert any("not allowed" in e for e in checked.errors), checked.errors


def test_an_automatic_choice_needs_a_known_low_duty_cycle() -> None:
    """No traffic stated: the assumed traffic is a steadily used service, so an automatic
    choice stays off serverless and says why; the team's words or spec.strategy lift it."""
    unstated = bounds(profile(**BUILDABLE), spec(prompt="deploy the flask app"))
    assert unstated.baseline.strategy is not Strategy.SERVERLESS
    assert any(
        a.strategy is Strategy.SERVERLESS and "no traffic stated" in a.reason
        for a in unstated.baseline.alternatives
    ), unstated.baseline.alternatives
    asked = bounds(profile(**BUILDABLE), spec(prompt="deploy the flask app, serverless please"))
    assert asked.baseline.strategy is Strategy.SERVERLESS
    pinned = bounds(
        profile(**BUILDABLE), spec(prompt="deploy the flask app", strategy="serverless")
    )
    assert pinned.baseline.strategy is Strategy.SERVERLESS


@pytest.mark.parametrize(
    ("prompt", "why"),
    [
        ("a few calls an hour, clients keep websocket connections open", "long-lived"),
        ("a few calls an hour, p95 under 300 ms", "cold starts"),
        ("200 requests per second on average", None),
    ],
    ids=["long-lived", "cold-starts", "high-duty-cycle"],
)
def test_a_buildable_repository_is_not_enough(prompt: str, why: str | None) -> None:
    """Long-lived connections, a tight SLO on rare calls, or a steady high traffic (a
    function then costs more than instances) keep the choice off serverless."""
    b = bounds(profile(**BUILDABLE), spec(prompt=prompt))
    assert b.baseline.strategy is not Strategy.SERVERLESS
    alt = next(a for a in b.baseline.alternatives if a.strategy is Strategy.SERVERLESS)
    if why is not None:
        assert why in alt.reason, alt.reason


def test_local_state_still_decides() -> None:
    """SQLite on local disk keeps it off, for the knowledge base and an LLM's answer alike."""
    sqlite = bounds(profile(**BUILDABLE, datastores=["sqlite"]), spec())
    assert sqlite.baseline.strategy is not Strategy.SERVERLESS
    assert Strategy.SERVERLESS not in sqlite.allowed_strategies()
    alt = next(a for a in sqlite.baseline.alternatives if a.strategy is Strategy.SERVERLESS)
    assert "SQLite" in alt.reason, alt.reason


async def test_a_pinned_decision_is_not_redecided_by_the_rule(
    repos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deployment pinned to vm before the rule (serverless then needed spec.image) keeps
    its vm decision for the same inputs; a fresh one of the same spec is serverless."""
    xr = P.load_xr(ROOT / "examples" / "legacy" / "xr.yaml")
    xr["spec"]["prompt"] = "a few calls an hour, under $500/month"
    inp = P.function_input("legacy", repos)
    fresh = await P.reconcile(xr, {}, inp)
    assert fresh.status["strategy"] == "serverless", fresh.results
    with monkeypatch.context() as m:  # the rule as it was: no image, no serverless
        m.setattr(rules, "serverless_image_problem", lambda p, s: None if s.image else "no image")
        before = await P.reconcile(xr, {}, inp)
    assert before.status["strategy"] == "vm", before.results
    again = await P.reconcile(
        P.with_status(xr, before.status), P.observed_from(before.desired), inp
    )
    assert again.status["strategy"] == "vm"
    assert again.status["decision"]["inputsHash"] == before.status["decision"]["inputsHash"]
    assert set(again.desired) >= set(before.desired)
