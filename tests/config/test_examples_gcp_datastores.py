"""examples/datastores with composed stores on GCP through the real `crossplane render`:
flask-app with Cloud SQL on vm (legacy) and on Cloud Run (namespaced), counter-app with
Memorystore on vm (namespaced), each provisioning (the instance being created: the app waits
for it, nothing is deleted) and Running. The pinned decision is reused, every resource
validates against the provider CRDs, the store is in the cost; no password exists for Cloud
SQL (the app reaches it through the Cloud SQL Auth Proxy as its own service account), and
Memorystore's AUTH string travels by reference only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import inproc as P
from tests.support.render_env import Env, assert_resources_valid, split
from tests.support.xrstatus import XRDS, status_errors

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "datastores"
SQL = {"flask-gcp-sql": ("legacy", "vm"), "flask-gcp-run-sql": ("namespaced", "serverless")}
REDIS = {"counter-gcp-redis": ("namespaced", "vm")}
CASES = SQL | REDIS


def _render(
    env: Env, stem: str, observed: Path, xr: str = ""
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[dict[str, Any]]]:
    scope, _ = CASES[stem]
    comp = env.composition(scope, **P.compose_stores(scope))
    return split(env.render(EXAMPLES / (xr or f"xr-{stem}.yaml"), scope, observed, comp))


def _names(path: Path) -> set[str]:
    return {
        d["metadata"]["annotations"]["crossplane.io/composition-resource-name"]
        for d in yaml.safe_load_all(path.read_text())
        if d
    }


@pytest.mark.parametrize("stem", sorted(SQL))
def test_running_reaches_cloud_sql_without_a_password(env: Env, stem: str) -> None:
    scope, strategy = CASES[stem]
    pinned = yaml.safe_load((EXAMPLES / f"xr-{stem}.yaml").read_text())
    observed = EXAMPLES / f"observed-{stem}.yaml"
    xr, resources, results = _render(env, stem, observed)
    assert not [r for r in results if r.get("severity") == "SEVERITY_FATAL"], results
    assert not any("decided revision" in r["message"] for r in results)  # the pin is reused
    status = xr["status"]
    assert status["decision"]["revision"] == pinned["status"]["decision"]["revision"]
    assert (status["strategy"], status["phase"]) == (strategy, "Running")
    without = {k: v for k, v in pinned.items() if k != "status"}
    assert status_errors(XRDS[scope], without, status) == []
    assert set(resources) == _names(observed)
    assert_resources_valid(resources)
    groups = {b["apiVersion"].split("/")[0] for b in resources.values()}
    assert all(g.endswith(".gcp.m.upbound.io") == (scope == "namespaced") for g in groups)

    db = resources["db-postgres"]["spec"]["forProvider"]
    assert db["settings"]["ipConfiguration"]["ipv4Enabled"] is False
    assert db["settings"]["connectorEnforcement"] == "REQUIRED"
    user = resources["db-postgres-app-user"]["spec"]["forProvider"]
    assert user["type"] == "CLOUD_IAM_SERVICE_ACCOUNT"
    assert "password" not in json.dumps(resources).lower()
    conn = "acme-prod:europe-west1:db-postgres"  # what the observed instance reports
    if strategy == "serverless":
        tpl = resources["cloud-run-service"]["spec"]["forProvider"]["template"]
        app, proxy = tpl["containers"]
        assert proxy["args"][-1] == conn and app["dependsOn"] == [proxy["name"]]
        url = {e["name"]: e for e in app["env"]}["DATABASE_URL"]["value"]
        assert tpl["vpcAccess"]["egress"] == "PRIVATE_RANGES_ONLY"
        email = tpl["serviceAccount"]
    else:
        holder = next(n for n in resources if n.startswith("instance-template"))
        fp = resources[holder]["spec"]["forProvider"]
        script = fp["metadataStartupScript"]
        assert f"--port=5432 {conn}" in script
        launch = json.loads(script.split("<<'SCIA_LAUNCH_CONFIG_EOF'\n", 1)[1].split("\n", 1)[0])
        url = next(s for s in launch["sources"] if s["from"] == "values")["values"]["DATABASE_URL"]
        email = fp["serviceAccount"]["email"]
    login = email.removesuffix(".gserviceaccount.com").replace("@", "%40")
    assert url == f"postgresql://{login}@127.0.0.1:5432/app"  # no password in the URL
    costs = {c["resource"] for c in status["cost"]["breakdown"]}
    assert {"cloudsql-postgres", "cloudsql-postgres-storage"} <= costs
    if strategy == "serverless":
        assert "cloud-run-sql-proxy-cpu" in costs


@pytest.mark.parametrize("stem", sorted(CASES))
def test_provisioning_waits_for_the_instance_and_deletes_nothing(env: Env, stem: str) -> None:
    observed = EXAMPLES / f"observed-{stem}-provisioning.yaml"
    xr, resources, results = _render(env, stem, observed, f"xr-{stem}-provisioning.yaml")
    assert not [r for r in results if r.get("severity") == "SEVERITY_FATAL"], results
    assert xr["status"]["phase"] != "Running"
    assert _names(observed) <= set(resources)  # nothing that exists is left out
    assert_resources_valid(resources)
    assert "cloud-run-service" not in resources
    assert not [n for n in resources if n.startswith("instance-template")]
    if stem in REDIS:  # the instance and its AUTH copy; the app waits for host, port and CA
        assert {"memorystore-redis", "redis-auth", "redis-auth-version"} <= set(resources)
        assert any("memorystore-redis's host, port and CA" in r["message"] for r in results)
        return
    # The database, its IAM user, but not the app: it waits for the instance's name.
    assert {"db-postgres", "db-postgres-database", "db-postgres-app-user"} <= set(resources)
    assert any("connectionName" in r["message"] for r in results), results


@pytest.mark.parametrize("stem", sorted(REDIS))
def test_running_reaches_memorystore_with_auth_and_tls(env: Env, stem: str) -> None:
    """The AUTH string travels by reference (the provider's connection Secret -> Secret
    Manager); the launcher's configuration names the copy, the host, the port and the CA."""
    scope, _ = CASES[stem]
    pinned = yaml.safe_load((EXAMPLES / f"xr-{stem}.yaml").read_text())
    observed = EXAMPLES / f"observed-{stem}.yaml"
    xr, resources, results = _render(env, stem, observed)
    assert not [r for r in results if r.get("severity") == "SEVERITY_FATAL"], results
    assert not any("decided revision" in r["message"] for r in results)  # the pin is reused
    status = xr["status"]
    assert status["decision"]["revision"] == pinned["status"]["decision"]["revision"]
    assert (status["strategy"], status["phase"]) == ("vm", "Running")
    without = {k: v for k, v in pinned.items() if k != "status"}
    assert status_errors(XRDS[scope], without, status) == []
    assert set(resources) == _names(observed)
    assert_resources_valid(resources)
    inst = resources["memorystore-redis"]
    fp = inst["spec"]["forProvider"]
    assert fp["authEnabled"] is True and fp["transitEncryptionMode"] == "SERVER_AUTHENTICATION"
    assert fp["connectMode"] == "PRIVATE_SERVICE_ACCESS"
    conn = inst["spec"]["writeConnectionSecretToRef"]
    ref = resources["redis-auth-version"]["spec"]["forProvider"]["secretDataSecretRef"]
    assert ref == {**conn, "key": "attribute.auth_string"}  # no manifest holds the value
    secret_id = resources["redis-auth"]["metadata"]["annotations"]["crossplane.io/external-name"]
    holder = next(n for n in resources if n.startswith("instance-template"))
    script = resources[holder]["spec"]["forProvider"]["metadataStartupScript"]
    launch = json.loads(script.split("<<'SCIA_LAUNCH_CONFIG_EOF'\n", 1)[1].split("\n", 1)[0])
    (source,) = [s for s in launch["sources"] if s["from"] == "gcp-redis"]
    assert (source["name"], source["host"], source["port"]) == ("REDIS_URL", "10.100.0.3", 6378)
    assert source["auth"] == secret_id and source["ca"] == P.MEMORYSTORE_CA
    costs = {c["resource"] for c in status["cost"]["breakdown"]}
    assert "memorystore-redis" in costs
