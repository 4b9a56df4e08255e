"""Render the pinned example XRs in-process and write the desired resources as YAML.

    PYTHONPATH=<checkout of a release> python tests/golden/make.py OUT_DIR [--repos DIR]

Run against the checkout of a release to keep what that release rendered for the pins
it made (tests/golden/renderer-N/); tests/reconcile/test_golden_renders.py compares the
current renderer with them. Uses only APIs every release has (Reconciler, ReconcileRequest).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import tempfile
from pathlib import Path
from typing import Any

import yaml

from examples import render as R
from function.decide.engine import DecisionEngine
from function.decide.jobs import DecisionJobs
from function.reconcile import Reconciler, ReconcileRequest

EXAMPLES = Path(R.__file__).resolve().parent
ROOT = EXAMPLES.parent
# (XR, observed) pairs whose XR carries a pin made by the release.
PINNED = [
    ("legacy", "xr-running.yaml", "observed-running.yaml"),
    ("legacy", "xr-provisioning.yaml", "observed-provisioning.yaml"),
    ("namespaced", "xr-serverless-running.yaml", "observed-serverless-running.yaml"),
    ("namespaced", "xr-serverless-provisioning.yaml", "observed-serverless-provisioning.yaml"),
]


def function_input(scope: str, repos: Path) -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / "compositions" / f"{scope}.yaml").read_text())
    inp: dict[str, Any] = copy.deepcopy(doc["spec"]["pipeline"][0]["input"])
    inp["urlRewrites"] = [{"prefix": R.MIRRORED_PREFIX, "replacement": f"file://{repos}/"}]
    inp.setdefault("analysis", {})["allowFileUrls"] = True
    inp.setdefault("decision", {})["waitSeconds"] = 30
    return inp


def observed(path: Path) -> dict[str, dict[str, Any]]:
    return {
        d["metadata"]["annotations"]["crossplane.io/composition-resource-name"]: d
        for d in yaml.safe_load_all(path.read_text())
        if d
    }


async def render_all(repos: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for scope, xr_file, observed_file in PINNED:
        rec = Reconciler(DecisionEngine(), DecisionJobs())
        xr = yaml.safe_load((EXAMPLES / scope / xr_file).read_text())
        result = await rec.reconcile(
            ReconcileRequest(
                xr=xr,
                observed=observed(EXAMPLES / scope / observed_file),
                input=function_input(scope, repos),
            )
        )
        if result.fatal:
            raise SystemExit(f"{scope}/{xr_file}: {result.results}")
        out[f"{scope}-{Path(xr_file).stem}"] = {"desired": result.desired}
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--repos", type=Path)
    args = parser.parse_args()
    repos = args.repos or Path(tempfile.mkdtemp(prefix="golden-repos-"))
    if args.repos is None:
        R.build_repositories(repos)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, doc in asyncio.run(render_all(repos)).items():
        (args.out / f"{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
