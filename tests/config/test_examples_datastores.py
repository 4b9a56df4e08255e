"""examples/datastores through the real `crossplane render`: the pinned decision is reused,
every resource validates against the provider CRDs, the app gets its store, its
configuration and its secrets by reference, and the observed state reads Running."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from function.pinning import RENDERER_VERSION
from tests.support.render_env import Env, assert_resources_valid, split
from tests.support.xrstatus import XRDS, status_errors

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "datastores"
CASES = {
    "flask-postgres": ("legacy", "vm"),
    "counter-redis": ("namespaced", "vm"),
    "flask-serverless-bound": ("namespaced", "serverless"),
}


def _render(
    env: Env, stem: str
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[dict[str, Any]]]:
    scope, _ = CASES[stem]
    comp = env.composition(scope, dataStores={"compose": True})
    return split(
        env.render(EXAMPLES / f"xr-{stem}.yaml", scope, EXAMPLES / f"observed-{stem}.yaml", comp)
    )


def _launch(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if "launch-template" in resources:
        script = base64.b64decode(
            resources["launch-template"]["spec"]["forProvider"]["userData"]
        ).decode()
        line = script.split("<<'SCIA_LAUNCH_CONFIG_EOF'\n", 1)[1].split("\n", 1)[0]
    else:
        line = resources["lambda-function"]["spec"]["forProvider"]["environment"]["variables"][
            "SCIA_LAUNCH_CONFIG"
        ]
    doc: dict[str, Any] = json.loads(line)
    return doc


@pytest.mark.parametrize("stem", sorted(CASES))
def test_example_renders_pinned_valid_and_running(env: Env, stem: str) -> None:
    scope, strategy = CASES[stem]
    pinned = yaml.safe_load((EXAMPLES / f"xr-{stem}.yaml").read_text())
    xr, resources, results = split(
        env.render(
            EXAMPLES / f"xr-{stem}.yaml",
            scope,
            EXAMPLES / f"observed-{stem}.yaml",
            env.composition(scope, dataStores={"compose": True}),
        )
    )
    assert not [r for r in results if r.get("severity") == "SEVERITY_FATAL"], results
    assert not any("decided revision" in r["message"] for r in results)  # the pin is reused
    status = xr["status"]
    assert status["decision"]["revision"] == pinned["status"]["decision"]["revision"]
    assert status["decision"]["renderer"] == RENDERER_VERSION
    assert (status["strategy"], status["phase"]) == (strategy, "Running")
    without = {k: v for k, v in pinned.items() if k != "status"}
    assert status_errors(XRDS[scope], without, status) == []  # declared: the apply succeeds
    observed = [
        d for d in yaml.safe_load_all((EXAMPLES / f"observed-{stem}.yaml").read_text()) if d
    ]
    assert set(resources) == {
        d["metadata"]["annotations"]["crossplane.io/composition-resource-name"] for d in observed
    }
    assert_resources_valid(resources)
    groups = {b["apiVersion"].split("/")[0] for b in resources.values()}
    assert all(g.endswith(".aws.m.upbound.io") == (scope == "namespaced") for g in groups)
    launch = _launch(resources)
    names = {s.get("name") for s in launch["sources"]}
    spec = pinned["spec"]
    for key in (k for src in spec.get("envFrom", []) for k in src["secretRef"]["keys"]):
        assert key.get("as", key["key"]) in names
    store = next(iter(spec["services"]))
    assert ("REDIS_URL" if store == "redis" else "DATABASE_URL") in names
    # Configuration values are in the SSM parameter only; secrets only by reference.
    for var in spec.get("env", []):
        holders = [n for n, b in resources.items() if var["value"] in json.dumps(b)]
        assert holders == ["config-env"], (var, holders)
    refs = [
        b["spec"]["forProvider"]["secretStringSecretRef"]
        for b in resources.values()
        if b["kind"] == "SecretVersion"
    ]
    bound = [s for s in spec["services"].values() if s.get("secretRef")]
    assert len(refs) == sum(len(src["secretRef"]["keys"]) for src in spec.get("envFrom", [])) + len(
        bound
    )
    assert all(set(r) <= {"name", "key", "namespace"} for r in refs)


def test_composed_stores_are_in_the_cost(env: Env) -> None:
    xr, resources, _ = _render(env, "flask-postgres")
    lines = {i["resource"] for i in xr["status"]["cost"]["breakdown"]}
    assert {"rds-postgres", "rds-postgres-storage"} <= lines
    assert resources["db-postgres"]["spec"]["forProvider"]["multiAz"] is True
    xr, resources, _ = _render(env, "counter-redis")
    assert "redis" in {i["resource"] for i in xr["status"]["cost"]["breakdown"]}
    assert resources["cache"]["spec"]["forProvider"]["numCacheClusters"] == 1
