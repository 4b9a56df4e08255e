"""The vm refusal (rules.vm_run_problem) is for new decisions only: an existing vm pin whose
repository has no start command keeps every resource it has (Crossplane deletes what the
function leaves out), is not flagged by the pin check, is sized again by right-sizing like
any pin, and a new commit that cannot be decided keeps it with a warning that says why. A
new XR of such a repository gets a clear failed result. Both XRD scopes, reconciled
in-process through the real analyzer and Reconciler."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest

from examples import render as R
from function.decide import rightsizing
from function.guard import pincheck
from function.input import FunctionInput
from function.pinning import read_pin
from function.pricing.catalog import load_catalog
from function.xr import parse_xr
from tests.analysis.analysis_fixtures import commit
from tests.support import inproc as P

EXAMPLES = {
    "legacy": (
        R.EXAMPLES / "legacy" / "xr-running.yaml",
        R.EXAMPLES / "legacy" / "observed-running.yaml",
    ),
    "namespaced": (
        R.EXAMPLES / "vm" / "namespaced" / "xr.yaml",
        R.EXAMPLES / "vm" / "namespaced" / "observed-running.yaml",
    ),
}
# The flask app as a factory the analyzer finds no start command for, and no Procfile.
FACTORY = (
    "from flask import Flask\n\n\ndef make():\n    web = Flask(__name__)\n\n"
    "    @web.get('/healthz')\n    def healthz():\n        return 'ok'\n\n    return web\n"
)


def _without_start_command(xr: dict[str, Any]) -> dict[str, Any]:
    """The pin as one made before vm refused a repository without a start command."""
    xr = copy.deepcopy(xr)
    decision = xr["status"]["decision"]
    decision["analysis"].pop("startCommand", None)
    decision["parameters"].pop("startCommand", None)
    return xr


def _load(scope: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    xr_path, observed_path = EXAMPLES[scope]
    xr = P.load_xr(xr_path)
    assert xr["status"]["decision"]["parameters"]["strategy"] == "vm"
    return _without_start_command(xr), P.load_observed(observed_path)


def _pushed(repos: Path, tmp_path: Path) -> Path:
    """A copy of the example repositories where flask-app's next commit drops the Procfile
    and builds its app in a factory: the analysis finds no start command."""
    copied = tmp_path / "repos"
    shutil.copytree(repos, copied)
    app = copied / "flask-app"
    (app / "Procfile").unlink()
    commit(app, {"app.py": FACTORY}, "the app is made by a factory")
    return copied


def _vm_names(desired: dict[str, dict[str, Any]]) -> set[str]:
    kinds = {"LaunchTemplate", "AutoscalingGroup", "LB", "LBTargetGroup"}
    return {n for n, b in desired.items() if b.get("kind") in kinds}


@pytest.mark.parametrize("scope", ["legacy", "namespaced"])
async def test_an_existing_pin_without_a_start_command_keeps_its_resources(
    scope: str, repos: Path
) -> None:
    xr, observed = _load(scope)
    inp = P.function_input(scope, repos)
    out = await P.reconcile(xr, observed, inp)
    assert not out.fatal, out.results
    assert set(observed) <= set(out.desired), set(observed) - set(out.desired)
    assert {"launch-template", "autoscaling-group"} <= _vm_names(out.desired)
    assert out.status["decision"]["revision"] == xr["status"]["decision"]["revision"]
    assert out.status["strategy"] == "vm"
    assert not any("vm cannot run" in str(m) for _, m in out.results), out.results
    # the pin check does not carry the new rule; right-sizing sizes the pin, never refuses it
    parsed = parse_xr(xr)
    settings = FunctionInput.model_validate(inp).for_cloud(parsed.spec.cloud_provider)
    pin = read_pin(xr["status"])
    assert pin is not None and pin.analysis.start_command is None
    assert pincheck.pin_violations(pin, parsed.spec, settings, load_catalog()) == []
    rec = rightsizing.recommend(
        pin,
        parsed.spec,
        settings,
        load_catalog(),
        {
            "scia.io/observed-revision": str(pin.revision),
            "scia.io/observed-cpu-utilisation": "0.7",
            "scia.io/observed-rps": "20",
        },
    )
    assert rec is not None and "no allowed size carries it" not in (rec.risk or ""), rec


@pytest.mark.parametrize("scope", ["legacy", "namespaced"])
async def test_a_new_commit_without_a_start_command_keeps_the_pin_and_says_why(
    scope: str, repos: Path, tmp_path: Path
) -> None:
    xr, observed = _load(scope)
    pushed = _pushed(repos, tmp_path)
    out = await P.reconcile(xr, observed, P.function_input(scope, pushed))
    assert not out.fatal, out.results
    assert set(observed) <= set(out.desired), set(observed) - set(out.desired)
    assert out.status["decision"]["revision"] == xr["status"]["decision"]["revision"]
    assert out.status["decision"]["commit"] == xr["status"]["decision"]["commit"]
    warnings = [str(m) for s, m in out.results if s == "Warning"]
    refused = [w for w in warnings if "vm cannot run the repository" in w]
    assert refused, warnings
    assert "analysis.start_command" in refused[0] and "keeping decision revision" in refused[0]


@pytest.mark.parametrize("scope", ["legacy", "namespaced"])
async def test_a_new_deployment_without_a_start_command_fails_saying_what_to_do(
    scope: str, repos: Path, tmp_path: Path
) -> None:
    xr, _ = _load(scope)
    xr = P.without_status(xr)
    pushed = _pushed(repos, tmp_path)
    out = await P.reconcile(xr, {}, P.function_input(scope, pushed))
    assert out.desired == {}
    assert out.status["phase"] == "Failed", out.status
    message = out.status["message"]
    assert "vm cannot run the repository (analysis.start_command:" in message, message
    assert "Procfile `web:` line" in message and "Dockerfile" in message, message
    decided = [c for c in out.conditions if c.type == "Decided"]
    assert decided and decided[0].reason == "DecisionFailed"
