"""A repository whose image cannot be built gets a result that says what the team can do:
name the field and the reason, and point at spec.image (bring your own image) and/or a
Dockerfile, for every strategy that runs an image built from the repository (kubernetes on
every cloud, serverless on AWS), when deciding and when rendering a pinned decision, both XRD
scopes."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from examples import render as R
from function.decide.rules import DecisionError, RulesEngine
from function.input import FunctionInput
from function.pricing.catalog import load_catalog
from function.pricing.estimate import UsageAssumptions
from tests.decide.test_rules import profile, spec
from tests.support import inproc as P

# A deployable flask app (no Dockerfile) whose image cannot be generated, and the field.
UNBUILDABLE = [
    pytest.param({"start_command": None}, "start_command", id="no-start-command"),
    pytest.param({"ports": []}, "ports", id="no-port"),
    pytest.param({"runtime": "cobol", "language": "cobol"}, "runtime", id="unsupported-runtime"),
]
BUILDABLE = {"runtime": "python", "start_command": "gunicorn app:app", "build_command": None}


def engine(cloud: str = "aws") -> RulesEngine:
    """The knowledge base with the function input's defaults for `cloud`."""
    return RulesEngine(FunctionInput().for_cloud(cloud), load_catalog(), UsageAssumptions())


def _says_what_to_do(message: str, field: str) -> None:
    assert f"{field}:" in message, message
    assert "spec.image" in message and "Dockerfile" in message, message


@pytest.mark.parametrize(("change", "field"), UNBUILDABLE)
@pytest.mark.parametrize(
    ("strategy", "cloud"),
    [("kubernetes", "aws"), ("kubernetes", "gcp"), ("kubernetes", "azure"), ("serverless", "aws")],
)
def test_a_wanted_strategy_that_needs_an_image_says_what_to_do(
    strategy: str, cloud: str, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(DecisionError) as err:
        engine(cloud).decide(
            profile(**(BUILDABLE | change)), spec(strategy=strategy, cloudProvider=cloud)
        )
    message = str(err.value)
    assert message.startswith(f"spec.strategy {strategy}: the image cannot be built"), message
    _says_what_to_do(message, f"analysis.{field}")


def test_the_buildable_baseline_is_decided() -> None:
    for strategy in ("kubernetes", "serverless"):
        out = engine().decide(profile(**BUILDABLE), spec(strategy=strategy))
        assert out.decision.strategy.value == strategy


@pytest.mark.parametrize(("change", "field"), UNBUILDABLE)
@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_an_automatic_choice_never_picks_a_cluster_that_could_not_run_the_app(
    cloud: str, change: dict[str, Any], field: str
) -> None:
    try:
        out = engine(cloud).decide(profile(**(BUILDABLE | change)), spec(cloudProvider=cloud))
    except DecisionError as e:  # nothing else fits either: the reason still says what to do
        assert "Dockerfile" in str(e), e
        return
    assert out.decision.strategy.value != "kubernetes"
    why = {a.strategy.value: a.reason for a in out.decision.alternatives}
    _says_what_to_do(why["kubernetes"], f"analysis.{field}")


def test_a_team_image_needs_no_build() -> None:
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"
    out = engine().decide(
        profile(**(BUILDABLE | {"start_command": None})), spec(strategy="kubernetes", image=image)
    )
    assert out.decision.strategy.value == "kubernetes"


def test_a_repository_that_is_not_an_app_says_to_add_a_dockerfile() -> None:
    with pytest.raises(DecisionError) as err:
        engine().decide(profile(deployable=False, not_deployable_reason="a library"), spec())
    message = str(err.value)
    assert "not a deployable web application: a library" in message
    assert "Dockerfile that EXPOSEs the port" in message and "Procfile" in message


def _pinned(path: Path) -> dict[str, Any]:
    """The example XR with its pinned analysis made unbuildable: no Dockerfile and no start
    command (the pin's hashes do not cover the analysis: the pin is kept)."""
    xr = P.load_xr(path)
    analysis = xr["status"]["decision"]["analysis"]
    for key in list(analysis):
        if key.startswith("dockerfile"):
            del analysis[key]
    analysis.update(hasDockerfile=False, startCommand=None)
    xr["status"]["decision"]["parameters"].pop("startCommand", None)
    return xr


EXAMPLES = {
    "serverless": lambda scope: R.EXAMPLES / "build" / scope / "xr.yaml",
    "kubernetes": lambda scope: R.EXAMPLES / scope / "xr-kubernetes-building.yaml",
    "kubernetes-aks": lambda scope: R.EXAMPLES / scope / "xr-azure-build-building.yaml",
}


@pytest.mark.parametrize("scope", ["legacy", "namespaced"])
@pytest.mark.parametrize("strategy", list(EXAMPLES))
async def test_a_pinned_decision_that_cannot_build_says_what_to_do(
    strategy: str, scope: str, repos: Path
) -> None:
    path = EXAMPLES[strategy](scope)
    xr = _pinned(path)
    # kubernetes builds once the cluster and the registry are observed (its building step,
    # without the build Job of the image that could be built then)
    observed = {}
    if strategy.startswith("kubernetes"):
        seen = P.load_observed(path.with_name(path.name.replace("xr-", "observed-", 1)))
        job = f"build-{xr['status']['decision']['commit'][:12]}-"
        observed = {n: b for n, b in seen.items() if not n.startswith(job)}
        assert len(observed) < len(seen)
    out = await P.reconcile(copy.deepcopy(xr), observed, P.function_input(scope, repos))
    messages = [str(r[-1]) for r in out.results]
    found = [m for m in messages if "image cannot be built" in m]
    assert found, messages
    _says_what_to_do(found[0], "status.decision.analysis.start_command")
    assert "lambda-function" not in out.desired
    assert not any(n.endswith("-deployment") for n in out.desired)
    if strategy == "serverless":  # refused as a whole: the Lambda needs its image in ECR
        assert out.fatal and "Amazon ECR" in found[0]
    else:  # a failed build, not one to wait for: what ran before (nothing here) keeps running
        assert out.status["phase"] == "Failed"
        assert out.status["rollout"]["state"] == "BuildFailed"
        assert "image cannot be built" in out.status["message"]
