"""examples/datastores on GCP through the real `crossplane render`: flask-app on vm (legacy)
and counter-app on Cloud Run (namespaced), each with its store bound and its secrets in
Secret Manager. The pinned decision is reused, every resource validates against the
provider CRDs, the observed state reads Running, values travel by reference only."""

from __future__ import annotations

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
CASES = {"flask-gcp-vm": ("legacy", "vm"), "counter-gcp-run": ("namespaced", "serverless")}


def _launch(script: str) -> dict[str, Any]:
    line = script.split("<<'SCIA_LAUNCH_CONFIG_EOF'\n", 1)[1].split("\n", 1)[0]
    found: dict[str, Any] = json.loads(line)
    return found


@pytest.mark.parametrize("stem", sorted(CASES))
def test_gcp_example_renders_pinned_valid_and_running(env: Env, stem: str) -> None:
    scope, strategy = CASES[stem]
    pinned = yaml.safe_load((EXAMPLES / f"xr-{stem}.yaml").read_text())
    xr, resources, results = split(
        env.render(EXAMPLES / f"xr-{stem}.yaml", scope, EXAMPLES / f"observed-{stem}.yaml")
    )
    assert not [r for r in results if r.get("severity") == "SEVERITY_FATAL"], results
    assert not any("decided revision" in r["message"] for r in results)  # the pin is reused
    status = xr["status"]
    assert status["decision"]["revision"] == pinned["status"]["decision"]["revision"]
    assert status["decision"]["renderer"] == RENDERER_VERSION
    assert (status["strategy"], status["phase"]) == (strategy, "Running")
    without = {k: v for k, v in pinned.items() if k != "status"}
    assert status_errors(XRDS[scope], without, status) == []
    observed = [
        d for d in yaml.safe_load_all((EXAMPLES / f"observed-{stem}.yaml").read_text()) if d
    ]
    assert set(resources) == {
        d["metadata"]["annotations"]["crossplane.io/composition-resource-name"] for d in observed
    }
    assert_resources_valid(resources)
    groups = {b["apiVersion"].split("/")[0] for b in resources.values()}
    assert all(g.endswith(".gcp.m.upbound.io") == (scope == "namespaced") for g in groups)

    spec = pinned["spec"]
    wanted = [
        k.get("as", k["key"]) for s in spec.get("envFrom", []) for k in s["secretRef"]["keys"]
    ]
    wanted += ["REDIS_URL" if kind == "redis" else "DATABASE_URL" for kind in spec["services"]]
    versions = [b for b in resources.values() if b["kind"] == "SecretVersion"]
    assert len(versions) == len(wanted)
    for v in versions:  # copies by reference: a Secret's name and key, never a value
        ref = v["spec"]["forProvider"]["secretDataSecretRef"]
        assert set(ref) <= {"name", "key", "namespace"}
        assert ref.get("namespace", pinned["metadata"].get("namespace")) in ("team-a", "team-b")
    grant = resources["app-secret-access"]["spec"]["forProvider"]
    assert grant["role"] == "roles/secretmanager.secretAccessor" and "condition" in grant
    email = grant["member"].removeprefix("serviceAccount:")

    if strategy == "serverless":
        tpl = resources["cloud-run-service"]["spec"]["forProvider"]["template"]
        assert tpl["serviceAccount"] == email
        env_vars = {e["name"]: e for e in tpl["containers"][0]["env"]}
        for name in wanted:
            assert set(env_vars[name]["valueSource"]["secretKeyRef"]) == {"secret", "version"}
        holder = "cloud-run-service"
    else:
        holder = next(n for n in resources if n.startswith("instance-template"))
        fp = resources[holder]["spec"]["forProvider"]
        assert fp["serviceAccount"]["email"] == email
        launch = _launch(fp["metadataStartupScript"])
        assert {s["name"] for s in launch["sources"] if s["from"] == "gcp-secret"} == set(wanted)
    # spec.env: in the workload's own definition, nowhere else.
    for var in spec.get("env", []):
        holders = [n for n, b in resources.items() if var["value"] in json.dumps(b)]
        assert holders == [holder], (var, holders)
    costs = {c["resource"] for c in status["cost"]["breakdown"]}
    assert costs and not [c for c in costs if c.startswith(("rds", "redis"))]
