"""examples/datastores with composed stores on GCP through the real `crossplane render`:
flask-app with Cloud SQL on vm (legacy) and on Cloud Run (namespaced), counter-app with
Memorystore on vm (namespaced), each provisioning (the instance being created: the app waits
for it, nothing is deleted) and Running. The pinned decision is reused, every resource
validates against the provider CRDs, the store is in the cost; no password exists for Cloud
SQL (the app reaches it through the Cloud SQL Auth Proxy as its own service account), and
Memorystore's AUTH string travels by reference only."""

from __future__ import annotations

import json

import pytest

from tests.support import inproc as P
from tests.support import store_examples as S
from tests.support.render_env import Env
from tests.support.store_examples import EXAMPLES

pytestmark = pytest.mark.e2e
SQL = {"flask-gcp-sql": ("legacy", "vm"), "flask-gcp-run-sql": ("namespaced", "serverless")}
REDIS = {"counter-gcp-redis": ("namespaced", "vm")}
CASES = SQL | REDIS


@pytest.mark.parametrize("stem", sorted(SQL))
def test_running_reaches_cloud_sql_without_a_password(env: Env, stem: str) -> None:
    scope, strategy = CASES[stem]
    rendered = S.render(env, scope, stem, EXAMPLES / f"observed-{stem}.yaml")
    _, resources, _ = rendered
    status = S.assert_running_on_the_pin(
        rendered, stem=stem, scope=scope, strategy=strategy, group_suffix=".gcp.m.upbound.io"
    )

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
    rendered = S.render(env, CASES[stem][0], stem, observed, f"xr-{stem}-provisioning.yaml")
    S.assert_provisioning_keeps_what_exists(rendered, observed)
    _, resources, results = rendered
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
    rendered = S.render(env, scope, stem, EXAMPLES / f"observed-{stem}.yaml")
    _, resources, _ = rendered
    status = S.assert_running_on_the_pin(
        rendered, stem=stem, scope=scope, strategy="vm", group_suffix=".gcp.m.upbound.io"
    )
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
