"""Upgrading the function never changes what a pin renders unnoticed.

tests/golden/renderer-1/ holds what the previous release (renderer 1, commit e701222)
rendered for the pins it made (the pinned examples, made by tests/golden/make.py run
against that release). The current renderer renders the same pins; every difference —
a resource added or removed, a field changed — must be listed in CHANGELOG.md's table for
the current renderer version, and the pin records which renderer rendered it.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from function.pinning import RENDERER_VERSION
from tests.golden.make import PINNED
from tests.support import inproc as P

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
PREVIOUS = RENDERER_VERSION - 1
EXAMPLES = ROOT / "examples"


def diff_paths(old: Any, new: Any, path: str = "") -> list[str]:
    """Paths (dotted, lists whole) where `new` differs from `old`."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new)):
            sub = f"{path}.{key}" if path else str(key)
            if key not in old or key not in new:
                out.append(sub)
            else:
                out += diff_paths(old[key], new[key], sub)
        return out
    return [] if _same(old, new) else [path]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return float(a) == float(b)
    return bool(a == b)


def changelog_entries(version: int) -> list[tuple[str, str]]:
    """(resource glob, path prefix) rows of CHANGELOG.md's table for `version`."""
    text = (ROOT / "CHANGELOG.md").read_text()
    heading = f"### Renderer {version}:"
    assert heading in text, f"CHANGELOG.md has no '{heading}' table"
    section = text.split(heading, 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| `([^`]+)` \|", section, re.M)
    assert rows, f"CHANGELOG.md '{heading}' lists no rows"
    return rows


def listed(resource: str, path: str, rows: list[tuple[str, str]]) -> bool:
    """Is the change of `path` on `resource` covered by a row (path `*`: the whole
    resource was added or removed)?"""
    return any(
        fnmatch.fnmatchcase(resource, glob) and (path == prefix or path.startswith(prefix + "."))
        for glob, prefix in rows
    )


@pytest.mark.parametrize(
    ("scope", "xr_file", "observed_file"), PINNED, ids=[f"{s}-{x}" for s, x, _ in PINNED]
)
async def test_every_change_to_a_previous_pins_render_is_in_the_changelog(
    scope: str, xr_file: str, observed_file: str, repos: Path
) -> None:
    golden = yaml.safe_load(
        (GOLDEN / f"renderer-{PREVIOUS}" / f"{scope}-{Path(xr_file).stem}.yaml").read_text()
    )["desired"]
    xr = P.load_xr(EXAMPLES / scope / xr_file)
    pin = xr["status"]["decision"]
    assert "renderer" not in pin, "the example pins were made by renderer 1"
    out = await P.reconcile(
        xr, P.load_observed(EXAMPLES / scope / observed_file), P.function_input(scope, repos)
    )
    assert not out.fatal, out.results
    decision = out.status["decision"]
    assert decision["revision"] == pin["revision"], "the pin is rendered, not replaced"
    assert decision["parameters"] == pin["parameters"]
    assert decision["renderer"] == RENDERER_VERSION
    assert any(f"rendered by renderer {RENDERER_VERSION} (was 1)" in m for _, m in out.results)
    rows = changelog_entries(RENDERER_VERSION)
    changes = [
        (name, path)
        for name in sorted(set(golden) | set(out.desired))
        for path in (
            ["*"]
            if name not in golden or name not in out.desired
            else diff_paths(golden[name], out.desired[name])
        )
    ]
    missing = [f"{n} {p}" for n, p in changes if not listed(n, p, rows)]
    assert not missing, (
        f"changes to what a pin made by renderer {PREVIOUS} renders, not listed in "
        f"CHANGELOG.md's '### Renderer {RENDERER_VERSION}:' table (add a row per change; "
        "see docs/upgrading.md):\n" + "\n".join(missing)
    )


def test_a_pin_rendered_again_keeps_its_render() -> None:
    """The check can fail: an unlisted change is reported."""
    rows = [("autoscaling-group", "spec.forProvider.launchTemplate")]
    assert listed("autoscaling-group", "spec.forProvider.launchTemplate.version", rows)
    assert not listed("autoscaling-group", "spec.forProvider.minSize", rows)
    assert not listed("target-group", "spec.forProvider.launchTemplate", rows)
    assert not listed("autoscaling-group", "*", rows)
    assert not listed("autoscaling-group", "*", rows)
    assert diff_paths({"a": {"b": 1, "c": [1]}}, {"a": {"b": 1.0, "c": [2]}}) == ["a.c"]


@pytest.mark.parametrize(
    ("scope", "xr_file", "observed_file", "new"),
    [
        ("legacy", "xr-running.yaml", "observed-running.yaml", "scaling-policy"),
        (
            "namespaced",
            "xr-serverless-running.yaml",
            "observed-serverless-running.yaml",
            "function-invoke-permission",
        ),
    ],
)
async def test_a_resource_a_new_renderer_adds_is_timed_from_the_upgrade_not_the_decision(
    scope: str, xr_file: str, observed_file: str, new: str, repos: Path
) -> None:
    """A renderer-1 pin decided days ago, rendered by renderer 2: the resource renderer 2
    newly composes is not observed yet. It is waiting (Provisioning), never Failed."""
    xr = P.load_xr(EXAMPLES / scope / xr_file)
    observed = P.load_observed(EXAMPLES / scope / observed_file)
    assert new in observed  # the example is of an already upgraded cluster
    del observed[new]
    inp = P.function_input(scope, repos)
    out = await P.reconcile(xr, observed, inp)
    assert not out.fatal, out.results
    assert new in out.desired
    assert out.status["phase"] == "Provisioning", out.status["message"]
    assert out.status.get("outcome") != "failed"
    assert not [h for h in out.status.get("history") or [] if h.get("outcome") == "failed"]
    assert not [m for s, m in out.results if s == "Warning"], out.results
    decision = out.status["decision"]
    assert decision["renderer"] == RENDERER_VERSION and decision["renderedAt"]
    # The next reconcile (status written) keeps the upgrade time: still not Failed.
    again = await P.reconcile({**xr, "status": out.status}, observed, inp)
    assert again.status["phase"] == "Provisioning"
    assert again.status["decision"]["renderedAt"] == decision["renderedAt"]
