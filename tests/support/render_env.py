"""Rendering through the real `crossplane render` and the real function server, for tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from examples import render as R
from tests.support.crdcheck import default_index

ROOT = Path(__file__).resolve().parents[2]


class Env:
    def __init__(self, work: Path, crossplane: Path, functions: Path, repos: Path) -> None:
        self.work, self.crossplane, self.functions, self.repos = work, crossplane, functions, repos

    def composition(self, scope: str, **overrides: Any) -> Path:
        path = R.mirrored_composition(
            ROOT / "compositions" / f"{scope}.yaml", self.repos, self.work, 60
        )
        if overrides:
            doc = yaml.safe_load(path.read_text())
            doc["spec"]["pipeline"][0]["input"].update(overrides)
            path = self.work / f"composition-{scope}-{abs(hash(str(overrides)))}.yaml"
            path.write_text(yaml.safe_dump(doc))
        return path

    def render(
        self,
        xr: Path | dict[str, Any],
        scope: str,
        observed: Path | None = None,
        composition: Path | None = None,
    ) -> list[dict[str, Any]]:
        if isinstance(xr, dict):
            p = self.work / f"xr-{abs(hash(str(xr)))}.yaml"
            p.write_text(yaml.safe_dump(xr))
            xr = p
        return R.render(
            self.crossplane, xr, composition or self.composition(scope), self.functions, observed
        )


def split(
    docs: list[dict[str, Any]],
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[dict[str, Any]]]:
    xr = docs[0]
    resources = {
        d["metadata"]["annotations"]["crossplane.io/composition-resource-name"]: d
        for d in docs[1:]
        if d.get("kind") != "Result"
    }
    results = [d for d in docs[1:] if d.get("kind") == "Result"]
    return xr, resources, results


def assert_resources_valid(resources: dict[str, dict[str, Any]]) -> None:
    index = default_index()
    errors = []
    for body in resources.values():
        meta = body["metadata"]
        named = {
            **body,
            "metadata": {**meta, "name": meta.get("name") or meta["generateName"] + "x1"},
        }
        errors += index.validate(named)
    assert not errors, "\n".join(errors)
