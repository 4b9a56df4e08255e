"""The inputs of ../shared/cases/crossplane as render inputs: XR, pin, function input, observed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from function.model import Decision
from function.pinning import read_pin
from function.reconcile import parse_input
from function.render.common import RenderContext
from function.xr import parse_xr

REPO_ROOT = Path(__file__).resolve().parents[2]
CASES = REPO_ROOT.parent / "shared" / "cases" / "crossplane"

Observed = dict[str, dict[str, Any]]


def case_dir(name: str) -> Path:
    matches = sorted(CASES.glob(f"{name}-*"))
    assert matches, f"case {name} not found under {CASES}"
    return matches[0]


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def composition_input(path: Path) -> dict[str, Any]:
    """The function input of the composition's pipeline step."""
    comp = load_yaml(path)
    return dict(comp["spec"]["pipeline"][0]["input"])


def observed(path: Path) -> Observed:
    """Observed composed resources keyed by composition-resource name (as Crossplane sends)."""
    out: Observed = {}
    for doc in yaml.safe_load_all(path.read_text()):
        if doc:
            name = doc["metadata"]["annotations"]["crossplane.io/composition-resource-name"]
            out[name] = doc
    return out


def pinned_context(
    xr_path: Path,
    composition: Path,
    *,
    commit: str | None = None,
    update: dict[str, Any] | None = None,
) -> RenderContext:
    """The render context of the XR's pinned decision (optionally a later revision of it)."""
    xr = parse_xr(load_yaml(xr_path))
    pin = read_pin(xr.status)
    assert pin is not None, f"{xr_path} has no pinned decision"
    decision: Decision = pin.parameters.model_copy(update=update or {})
    return RenderContext(
        identity=xr.identity,
        spec=xr.spec,
        settings=parse_input(composition_input(composition)),
        decision=decision,
        commit=commit or pin.commit,
        analysis=pin.analysis,
        policy=parse_input(composition_input(composition)).policy,
    )


def context(xr_path: Path, composition: Path, decision: Decision, commit: str) -> RenderContext:
    """The render context of an XR without a pin (a first reconcile) and a given decision."""
    xr = parse_xr(load_yaml(xr_path))
    settings = parse_input(composition_input(composition))
    return RenderContext(
        identity=xr.identity,
        spec=xr.spec,
        settings=settings,
        decision=decision,
        commit=commit,
        policy=settings.policy,
    )
