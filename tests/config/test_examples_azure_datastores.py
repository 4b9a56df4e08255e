"""examples/datastores with a composed PostgreSQL flexible server on Azure through the real
`crossplane render`: flask-app on a VM scale set (legacy) and on Container Apps
(namespaced), each provisioning (the server being created: the app waits for its FQDN,
nothing is deleted) and Running. The pinned decision is reused, every resource validates
against the provider CRDs, the store is in the cost, no manifest holds the password (the
provider generates it, Key Vault holds the copy the launcher reads), and the firewall
admits only the deployment's own outbound addresses."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import inproc as P
from tests.support import store_examples as S
from tests.support.render_env import Env
from tests.support.store_examples import EXAMPLES

pytestmark = pytest.mark.e2e
CASES = {"flask-azure-pg": ("legacy", "vm"), "flask-azure-app-pg": ("namespaced", "serverless")}


def _launch(strategy: str, resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if strategy == "serverless":
        tpl = resources["container-app"]["spec"]["forProvider"]["template"]
        env = {e["name"]: e["value"] for e in tpl["container"][0]["env"]}
        return dict(json.loads(env["SCIA_LAUNCH_CONFIG"]))
    ext = resources["vm-scale-set"]["spec"]["forProvider"]["extension"][0]
    script = base64.b64decode(json.loads(ext["settings"])["script"]).decode()
    return dict(json.loads(script.split("SCIA_LAUNCH_CONFIG_EOF'\n", 1)[1].split("\n", 1)[0]))


@pytest.mark.parametrize("stem", sorted(CASES))
def test_running_reaches_the_flexible_server_with_a_password_no_manifest_holds(
    env: Env, stem: str
) -> None:
    scope, strategy = CASES[stem]
    observed = EXAMPLES / f"observed-{stem}.yaml"
    rendered = S.render(env, scope, stem, observed)
    _, resources, _ = rendered
    status = S.assert_running_on_the_pin(
        rendered, stem=stem, scope=scope, strategy=strategy, group_suffix="azure.m.upbound.io"
    )

    server = resources["postgres-server"]["spec"]["forProvider"]
    assert server["autoGeneratePassword"] is True and server["publicNetworkAccessEnabled"]
    copy_fp = resources["postgres-admin-password"]["spec"]["forProvider"]
    assert copy_fp["valueSecretRef"] == server["administratorPasswordSecretRef"]
    assert "administratorPasswordWo" not in json.dumps(resources)
    # Only the deployment's own outbound addresses, as the observed workload reports them.
    seen = S.observed_docs(observed)
    if strategy == "vm":
        want = [seen["public-ip"]["status"]["atProvider"]["ipAddress"]]
    else:
        want = seen["container-app"]["status"]["atProvider"]["outboundIpAddresses"]
    rules = [
        b["spec"]["forProvider"]
        for b in resources.values()
        if b["kind"] == "FlexibleServerFirewallRule"
    ]
    assert sorted(r["startIpAddress"] for r in rules) == sorted(want)
    assert all(r["startIpAddress"] == r["endIpAddress"] != "0.0.0.0" for r in rules)
    (db,) = [s for s in _launch(strategy, resources)["sources"] if s["from"] == "azure-db"]
    fqdn = seen["postgres-server"]["status"]["atProvider"]["fqdn"]
    assert (db["host"], db["database"], db["id"]) == (fqdn, "app", copy_fp["name"])
    costs = {c["resource"] for c in status["cost"]["breakdown"]}
    assert {"postgres-flexible-server", "postgres-flexible-server-storage"} <= costs
    # A production store (vm) and its group outlive the deployment; a scratch one does not.
    keep = "managementPolicies" in resources["postgres-server"]["spec"]
    assert keep is (strategy == "vm")
    assert ("managementPolicies" in resources["resource-group"]["spec"]) is keep


@pytest.mark.parametrize("stem", sorted(CASES))
def test_provisioning_waits_for_the_server_and_deletes_nothing(env: Env, stem: str) -> None:
    observed = EXAMPLES / f"observed-{stem}-provisioning.yaml"
    rendered = S.render(env, CASES[stem][0], stem, observed, f"xr-{stem}-provisioning.yaml")
    S.assert_provisioning_keeps_what_exists(rendered, observed)
    _, resources, results = rendered
    assert {"postgres-server", "postgres-database", "postgres-admin-password"} <= set(resources)
    # The app waits for its URL's host: the server's FQDN.
    assert "container-app" not in resources and "vm-scale-set" not in resources
    assert any("FQDN" in r["message"] for r in results), results


async def test_new_outbound_addresses_replace_the_rules_without_a_fault(repos: Path) -> None:
    """The container app reports other outbound addresses (Azure moved the environment):
    the reconcile admits the new ones and lets the old rule go on purpose, keeping the pin
    (keep.py would refuse an unplanned deletion)."""
    stem = "flask-azure-app-pg"
    scope, _ = CASES[stem]
    xr = P.load_xr(EXAMPLES / f"xr-{stem}.yaml")
    observed = P.load_observed(EXAMPLES / f"observed-{stem}.yaml")
    at = observed["container-app"]["status"]["atProvider"]
    old = list(at["outboundIpAddresses"])
    at["outboundIpAddresses"] = [old[0], "20.103.9.9"]
    inp = P.function_input(scope, repos, **P.compose_stores(scope))
    out = await P.reconcile(xr, observed, inp)
    assert not out.fatal, out.results
    assert out.status["decision"]["revision"] == xr["status"]["decision"]["revision"]
    rules = sorted(
        b["spec"]["forProvider"]["startIpAddress"]
        for b in out.desired.values()
        if b["kind"] == "FlexibleServerFirewallRule"
    )
    assert rules == sorted([old[0], "20.103.9.9"])
