"""Deploy on push (function/redeploy.py): a new commit re-analyses, the architecture stays
unless a fact that matters changed, and the history says which."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from examples import render as R
from tests.support import inproc as P

ROOT = Path(__file__).resolve().parents[2]


def mirror(repos: Path, tmp: Path) -> Path:
    """A private copy of the example repositories (the session's stay untouched)."""
    own = tmp / "repos"
    shutil.copytree(repos, own)
    return own


def push(repo: Path, path: str, text: str, message: str) -> None:
    (repo / path).write_text(text)
    R.git(repo, "add", "-A")
    R.git(repo, "commit", "-q", "-m", message)


async def test_a_new_commit_keeps_strategy_and_sizes_when_no_fact_changed(
    repos: Path, tmp_path: Path
) -> None:
    own = mirror(repos, tmp_path)
    xr = P.without_status(P.load_xr(ROOT / "examples" / "legacy" / "xr.yaml"))
    # A budget-free prompt that asks for the cheapest: a new decision would differ.
    inp = P.function_input("legacy", own)
    first, pinned, observed = await P.converge(xr, inp)
    before = first.status["decision"]
    push(own / "flask-app", "README.md", "# flask app\n\nnow with docs\n", "docs")
    out = await P.reconcile(pinned, observed, inp)
    d = out.status["decision"]
    assert d["revision"] == before["revision"] + 1
    assert d["commit"] != before["commit"]
    assert d["parameters"]["strategy"] == before["parameters"]["strategy"]
    assert d["parameters"]["vm"] == before["parameters"]["vm"]
    assert "unchanged; strategy and sizes of revision 1 kept" in d["trigger"]
    assert out.status["history"][-1]["trigger"] == d["trigger"]
    assert any("strategy and sizes of revision 1 kept" in m for _, m in out.results)
    # The new commit reaches the instances: the launch template's user data changes.
    old_lt = first.desired["launch-template"]["spec"]["forProvider"]["userData"]
    assert out.desired["launch-template"]["spec"]["forProvider"]["userData"] != old_lt


async def test_a_new_commit_that_changes_the_port_decides_again(
    repos: Path, tmp_path: Path
) -> None:
    own = mirror(repos, tmp_path)
    xr = P.without_status(P.load_xr(ROOT / "examples" / "legacy" / "xr.yaml"))
    inp = P.function_input("legacy", own)
    _, pinned, observed = await P.converge(xr, inp)
    app = (own / "flask-app" / "app.py").read_text().replace("5000", "8000")
    push(own / "flask-app", "app.py", app, "port 8000")
    out = await P.reconcile(pinned, observed, inp)
    d: dict[str, Any] = out.status["decision"]
    assert d["revision"] == 2
    assert d["trigger"].endswith("changed port 5000 -> 8000: decided again")
    assert d["analysis"]["port"] == 8000 and d["parameters"]["port"] == 8000
    assert any("decided revision 2" in m for _, m in out.results)
