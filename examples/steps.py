"""What the rollout example generators (`examples.build.generate`, `examples.vm.generate`)
share: the example repository's next commit, the observed files, and the run through the
real `crossplane render` and function server for each scope."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from examples import render as demo

Resources = dict[str, dict[str, Any]]
SCOPES = {"legacy": "XAppDeployment", "namespaced": "AppDeployment"}
# (scope, work folder, (first commit, next commit), crossplane, composition, functions file)
WriteScope = Callable[[str, Path, tuple[str, str], Path, Path, Path], None]


def write_observed(path: Path, what: str, resources: Resources, generator: str) -> None:
    """One step's observed composed resources, for `crossplane render -o`."""
    header = (
        f"# Observed composed resources: {what} (for crossplane render -o).\n"
        f"# Written by `python -m {generator}`.\n"
    )
    path.write_text(header + yaml.safe_dump_all(list(resources.values()), sort_keys=False))


def next_commit(repo: Path, file: str, edit: Callable[[str], str], message: str) -> str:
    """A second commit of an example repository on the branch `next` (main stays on the
    first), `file` changed by `edit`: the commit the team pins for the rollout steps."""
    demo.git(repo, "checkout", "-q", "-b", "next")
    changed = repo / file
    changed.write_text(edit(changed.read_text()))
    demo.git(repo, "commit", "-q", "-am", message)
    sha = demo.git(repo, "rev-parse", "HEAD")
    demo.git(repo, "checkout", "-q", "main")
    return sha


def generate(
    app: str, advance: Callable[[Path], str], scopes: Iterable[str], write_scope: WriteScope
) -> int:
    """Build the example repositories, make `app`'s next commit with `advance`, and write
    each scope's steps with `write_scope` against a running function server."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        commits = demo.build_repositories(work / "repos")
        first = commits[app]
        second = advance(work / "repos" / app)
        port = demo.free_port()
        functions = demo.functions_file(port, work)
        crossplane = demo.crossplane_binary()
        with demo.function_server(port, log=work / "function.log"):
            for scope in scopes:
                comp = demo.mirrored_composition(
                    demo.REPO_ROOT / "compositions" / f"{scope}.yaml", work / "repos", work, 60
                )
                write_scope(scope, work, (first, second), crossplane, comp, functions)
    return 0


def team_b_xr(scope: str, name: str, uid: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Team b's XR `name` with `spec`: an AppDeployment in namespace team-b (namespaced), or
    the XAppDeployment of team b's claim `name` (legacy)."""
    meta: dict[str, Any] = {"name": name, "uid": uid}
    if scope == "namespaced":
        meta["namespace"] = "team-b"
    else:
        meta["labels"] = {"crossplane.io/claim-name": name,
                          "crossplane.io/claim-namespace": "team-b"}  # fmt: skip
    return {"apiVersion": "scia.io/v1alpha1", "kind": SCOPES[scope], "metadata": meta,
            "spec": spec}  # fmt: skip
