"""examples/datastores on Azure through the real `crossplane render`: flask-app on a VM scale
set (legacy) and counter-app on Container Apps (namespaced), each with its store bound and
its secrets in a Key Vault of its own. The pinned decision is reused, every resource
validates against the provider CRDs, the observed state reads Running, values travel by
reference only, and the app's identity reads that vault only."""

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
CASES = {"flask-azure-vm": ("legacy", "vm"), "counter-azure-app": ("namespaced", "serverless")}


def _launch(resources: dict[str, Any], strategy: str) -> tuple[str, dict[str, Any]]:
    """The resource holding the launcher's configuration, and the configuration."""
    if strategy == "vm":
        fp = resources["vm-scale-set"]["spec"]["forProvider"]
        script = base64.b64decode(json.loads(fp["extension"][0]["settings"])["script"]).decode()
        line = script.split("<<'SCIA_LAUNCH_CONFIG_EOF'\n", 1)[1].split("\n", 1)[0]
        return "vm-scale-set", dict(json.loads(line))
    fp = resources["container-app"]["spec"]["forProvider"]
    env = {e["name"]: e["value"] for e in fp["template"]["container"][0]["env"]}
    return "container-app", dict(json.loads(env["SCIA_LAUNCH_CONFIG"]))


@pytest.mark.parametrize("stem", sorted(CASES))
def test_azure_example_renders_pinned_valid_and_running(env: Env, stem: str) -> None:
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
    assert all(g.endswith(".m.upbound.io") == (scope == "namespaced") for g in groups)

    spec = pinned["spec"]
    wanted = [
        k.get("as", k["key"]) for s in spec.get("envFrom", []) for k in s["secretRef"]["keys"]
    ]
    wanted += ["REDIS_URL" if kind == "redis" else "DATABASE_URL" for kind in spec["services"]]
    secrets = [b for b in resources.values() if b["kind"] == "Secret"]
    assert len(secrets) == len(wanted)
    for s in secrets:  # copies by reference: a Secret's name and key, never a value
        fp = s["spec"]["forProvider"]
        assert set(fp["valueSecretRef"]) <= {"name", "key", "namespace"}
        ns = fp["valueSecretRef"].get("namespace", pinned["metadata"].get("namespace"))
        assert ns in ("team-a", "team-b")
        assert "value" not in fp and "valueWo" not in fp
    vault = resources["key-vault"]["spec"]["forProvider"]
    assert vault["rbacAuthorizationEnabled"] is True
    grant = resources["app-key-vault-read"]["spec"]["forProvider"]
    assert grant["roleDefinitionName"] == "Key Vault Secrets User"
    vault_seen = next(
        d for d in observed
        if d["metadata"]["annotations"]["crossplane.io/composition-resource-name"] == "key-vault"
    )  # fmt: skip
    assert grant["scope"] == vault_seen["status"]["atProvider"]["id"]

    holder, launch = _launch(resources, strategy)
    assert {s["name"] for s in launch["sources"] if s["from"] == "azure-secret"} == set(wanted)
    assert launch["azure"]["clientId"]
    ids = resources[holder]["spec"]["forProvider"]["identity"]["identityIds"]
    identity = next(
        d for d in observed
        if d["metadata"]["annotations"]["crossplane.io/composition-resource-name"]
        == "app-identity"
    )  # fmt: skip
    assert identity["status"]["atProvider"]["id"] in ids
    # spec.env: in the launcher's configuration in the workload, nowhere else.
    for var in spec.get("env", []):
        holders = [n for n, b in resources.items() if var["value"] in json.dumps(b)]
        assert holders in ([holder], []), (var, holders)  # the vm's is base64 in its script
        assert {"from": "values", "values": {var["name"]: var["value"]}} in launch["sources"]
    costs = {c["resource"] for c in status["cost"]["breakdown"]}
    assert "key-vault-operations" in costs
