"""Render every example through the real function with the real `crossplane render`.

    python examples/render.py [--crossplane PATH] [--keep] [-o summary|yaml]

The example XRs name repositories under https://github.com/acme/. There is no network
here, so this script builds those repositories from examples/apps/ as local git
repositories and renders with a copy of each composition whose function input mirrors
https://github.com/acme/ to them (`urlRewrites`, the same mirror feature a platform team
uses for an internal git mirror) and allows file:// URLs. Everything else is the
product as shipped: the function server on loopback, the compositions, the XRs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

EXAMPLES = Path(__file__).resolve().parent
REPO_ROOT = EXAMPLES.parent
MIRRORED_PREFIX = "https://github.com/acme/"
CACHE = Path(os.environ.get("SCIA_CACHE", Path.home() / ".cache" / "function-scia"))


@dataclass(frozen=True)
class Example:
    name: str
    xr: Path
    composition: Path
    observed: Path | None = None


def examples() -> list[Example]:
    out = []
    for scope in ("legacy", "namespaced"):
        comp = REPO_ROOT / "compositions" / f"{scope}.yaml"
        for xr in sorted((EXAMPLES / scope).glob("xr*.yaml")):
            observed = xr.with_name(xr.name.replace("xr", "observed", 1))
            out.append(
                Example(f"{scope}/{xr.stem}", xr, comp, observed if observed.exists() else None)
            )
    return out


# The build examples' XR once the team pinned the next commit, and the steps rendered with it
# (the others go with examples/build/<scope>/xr.yaml, the first commit).
BUILD_NEXT_XR = "xr-next-commit.yaml"
BUILD_NEXT_STEPS = ("build-failed", "rolled-back")


def build_examples() -> list[Example]:
    """examples/build/<scope>/xr.yaml with each of its observed steps (building, built,
    rolling out, running), and xr-next-commit.yaml (the next commit pinned) with the
    build-failed and rolled-back steps, one Example per step."""
    out = []
    for scope in ("legacy", "namespaced"):
        comp = REPO_ROOT / "compositions" / f"{scope}.yaml"
        folder = EXAMPLES / "build" / scope
        for observed in sorted(folder.glob("observed-*.yaml")):
            step = observed.stem.removeprefix("observed-")
            xr = folder / (BUILD_NEXT_XR if step in BUILD_NEXT_STEPS else "xr.yaml")
            out.append(Example(f"{scope}/build-{step}", xr, comp, observed))
    return out


# The vm rollout examples (examples/vm/<scope>): the XR of each step (its status carries
# what the previous reconcile wrote, status.rollout included) and its observed state.
VM_STEPS = {
    "running": "xr.yaml",
    "rolling-out": "xr-next-commit.yaml",
    "running-next": "xr-next-commit.yaml",
    "rolled-back": "xr-next-commit-applied.yaml",
}


def vm_examples() -> list[Example]:
    """examples/vm/<scope>: the first commit running, the next commit rolling out and
    running, and the next commit rolled back by the instance refresh, one Example per step."""
    out = []
    for scope in ("legacy", "namespaced"):
        comp = REPO_ROOT / "compositions" / f"{scope}.yaml"
        folder = EXAMPLES / "vm" / scope
        for step, xr in VM_STEPS.items():
            observed = folder / f"observed-{step}.yaml"
            if observed.exists():
                out.append(Example(f"{scope}/vm-{step}", folder / xr, comp, observed))
    return out


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "scia",
        "GIT_AUTHOR_EMAIL": "scia@example.com",
        "GIT_COMMITTER_NAME": "scia",
        "GIT_COMMITTER_EMAIL": "scia@example.com",
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def build_repositories(dest: Path) -> dict[str, str]:
    """A git repository per examples/apps/<name>, committed with fixed dates; name -> commit."""
    commits = {}
    for app in sorted((EXAMPLES / "apps").iterdir()):
        repo = dest / app.name
        if repo.exists():
            shutil.rmtree(repo)
        shutil.copytree(app, repo)
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"{app.name}: example application")
        commits[app.name] = git(repo, "rev-parse", "HEAD")
    return commits


def mirrored_composition(composition: Path, repos: Path, dest: Path, wait_seconds: float) -> Path:
    doc = yaml.safe_load(composition.read_text())
    for step in doc["spec"]["pipeline"]:
        if step["functionRef"]["name"] != "function-scia":
            continue
        inp = step["input"]
        inp["urlRewrites"] = [{"prefix": MIRRORED_PREFIX, "replacement": f"file://{repos}/"}]
        inp.setdefault("analysis", {})["allowFileUrls"] = True
        inp.setdefault("decision", {})["waitSeconds"] = wait_seconds
    out = dest / f"composition-{composition.stem}.yaml"
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out


def functions_file(port: int, dest: Path) -> Path:
    doc = yaml.safe_load((EXAMPLES / "functions.yaml").read_text())
    doc["metadata"]["annotations"]["render.crossplane.io/runtime-development-target"] = (
        f"127.0.0.1:{port}"
    )
    out = dest / "functions.yaml"
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def function_server(
    port: int,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    args: tuple[str, ...] = ("--memory", "off"),
    module: str = "function.main",
) -> Iterator[subprocess.Popen[bytes]]:
    """`function-scia --insecure` on 127.0.0.1:port, until the block ends (`module`: the
    module run with `python -m`, a test's wrapper of function.main)."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            module,
            "--insecure",
            "--address",
            f"127.0.0.1:{port}",
            *args,
        ],
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        stdout=out,
        stderr=out,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"function-scia exited with {proc.returncode} (log: {log})")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("function-scia did not start listening within 120 s")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log:
            out.close()  # type: ignore[union-attr]


def crossplane_binary(explicit: str | None = None) -> Path:
    path = Path(explicit or os.environ.get("SCIA_CROSSPLANE") or CACHE / "bin" / "crossplane")
    if not path.exists():
        raise SystemExit(f"{path} not found: run .ci/build-crossplane-cli first")
    return path


def render(
    crossplane: Path,
    xr: Path,
    composition: Path,
    functions: Path,
    observed: Path | None = None,
    extra: tuple[str, ...] = (),
    timeout: float = 180,
) -> list[dict[str, Any]]:
    cmd = [
        str(crossplane),
        "render",
        str(xr),
        str(composition),
        str(functions),
        "--include-function-results",
        *extra,
    ]
    if observed is not None:
        cmd += ["--observed-resources", str(observed)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"crossplane render {xr.name} failed:\n{done.stderr.strip()}")
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def summarize(docs: list[dict[str, Any]]) -> str:
    xr = docs[0]
    status = xr.get("status", {})
    lines = [
        f"{xr['kind']} {xr['metadata'].get('namespace', '')}/{xr['metadata']['name']}".replace(
            " /", " "
        ),
        f"  phase:      {status.get('phase')}",
        f"  strategy:   {status.get('strategy')}  "
        f"(decided by {status.get('decision', {}).get('decidedBy')}, "
        f"confidence {status.get('confidence')})",
        f"  reason:     {status.get('reason')}",
        f"  cost:       ${status.get('cost', {}).get('estimatedMonthly')}/month",
    ]
    for used in status.get("decision", {}).get("similar", []):
        lines.append(
            f"  remembered: {used['deployment']} ({used['strategy']}, {used['outcome']}, "
            f"similarity {used['similarity']})"
        )
    for alt in status.get("alternativeStrategies", []):
        cost = alt.get("estimatedMonthlyCost")
        lines.append(
            f"  instead:    {alt['strategy']}: {alt['reason']}"
            + (f" (${cost}/month)" if cost else "")
        )
    resources = [d for d in docs[1:] if d.get("kind") != "Result"]
    lines.append(f"  resources ({len(resources)}):")
    for d in resources:
        name = d["metadata"].get("annotations", {}).get("crossplane.io/composition-resource-name")
        lines.append(f"    {name:<32} {d['apiVersion']} {d['kind']}")
    for d in docs[1:]:
        if d.get("kind") == "Result":
            lines.append(f"  result:     [{d.get('severity')}] {d.get('message')}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--crossplane")
    ap.add_argument("--wait-seconds", type=float, default=30.0)
    ap.add_argument("-o", "--output", choices=["summary", "yaml"], default="summary")
    ap.add_argument(
        "--memory-dir",
        default=str(CACHE / "pgdata"),
        help="data folder of the embedded PostgreSQL (the deployment memory); kept between runs",
    )
    ap.add_argument("--no-memory", action="store_true", help="run without the deployment memory")
    args = ap.parse_args()
    server_args: tuple[str, ...] = ("--memory", "off")
    if not args.no_memory:
        server_args = ("--memory", "on", "--embedded-memory", args.memory_dir)
        print(f"deployment memory: embedded PostgreSQL + pgvector in {args.memory_dir}\n")
    crossplane = crossplane_binary(args.crossplane)
    with tempfile.TemporaryDirectory(prefix="scia-render-") as tmp:
        work = Path(tmp)
        repos = work / "repos"
        repos.mkdir()
        build_repositories(repos)
        port = free_port()
        functions = functions_file(port, work)
        with function_server(port, log=work / "function.log", args=server_args):
            for ex in examples():
                comp = mirrored_composition(ex.composition, repos, work, args.wait_seconds)
                docs = render(crossplane, ex.xr, comp, functions, ex.observed)
                print(f"# {ex.name}")
                print(
                    summarize(docs)
                    if args.output == "summary"
                    else yaml.safe_dump_all(docs, sort_keys=False)
                )
                print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
