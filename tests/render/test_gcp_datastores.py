"""Composed data stores on GCP (render/gcp/datastores.py): Cloud SQL private to the VPC,
reached only through the Cloud SQL Auth Proxy with IAM database authentication, so no
password exists; sized within `gcp.dataStores`, priced, composed in order (peering, then
instance, then the app), never dropped once they exist; every manifest validates against
provider-upjet-gcp v3's CRDs in both scopes."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest

from function.analysis.profile import AppProfile
from function.config.datastores import DataStoreRefused, plan_stores
from function.config.env import ServiceSpec
from function.decide.rules import DecisionError, RulesEngine
from function.input import FunctionInput, GcpDataStoreSettings
from function.model import DataStoreParams, Strategy
from function.pricing.catalog import load_catalog
from function.pricing.datastores import gcp_prices, store_items
from function.pricing.estimate import UsageAssumptions, estimate
from function.render.common import RenderContext
from function.render.dispatch import render_plan
from function.render.gcp.datastores import (
    PSA_CONNECTION,
    SQL_CLIENT,
    SQL_INSTANCE_USER,
    db_user,
    instance_name,
    instance_prefix,
)
from function.render.gcp.secrets import APP_SERVICE_ACCOUNT
from function.render.names import EXTERNAL_NAME
from function.xr import AppSpec
from tests.render.test_render_gcp import _named, ctx
from tests.support.crdcheck import assert_all_valid

EMAIL = "scia-app-0123456789ab@acme-prod.iam.gserviceaccount.com"
COMPOSE = {"gcp": {"dataStores": {"compose": True}}}
PG = DataStoreParams(
    kind="postgres",
    size="db-f1-micro",
    storage_gb=20,
    max_storage_gb=100,
    engine_version="17",
    multi_az=False,
    production=True,
    backup_retention_days=7,
    env_name="DATABASE_URL",
)
MY = DataStoreParams(
    kind="mysql",
    size="db-custom-1-3840",
    storage_gb=20,
    max_storage_gb=50,
    engine_version="8.4",
    multi_az=True,
    production=False,
    backup_retention_days=3,
    env_name="MYSQL_URL",
)


def _at(**fields: Any) -> dict[str, Any]:
    return {"status": {"atProvider": fields}}


PEERED = {APP_SERVICE_ACCOUNT: _at(email=EMAIL), PSA_CONNECTION: _at(id="peering")}
RUNNING = PEERED | {
    "db-postgres": _at(connectionName="acme-prod:europe-west1:pg"),
    "db-mysql": _at(connectionName="acme-prod:europe-west1:my"),
}
STAGES = {"first": {}, "peered": PEERED, "running": RUNNING}


def _ctx(
    strategy: Strategy,
    namespaced: bool,
    stores: list[DataStoreParams] | None = None,
    settings: dict[str, Any] | None = None,
) -> RenderContext:
    c = ctx(strategy, namespaced, settings or COMPOSE)
    decision = c.decision.model_copy(update={"data_stores": stores or [PG, MY]})
    return dataclasses.replace(c, decision=decision)


def _workload(strategy: Strategy, desired: dict[str, Any]) -> str | None:
    if strategy is Strategy.SERVERLESS:
        return "cloud-run-service" if "cloud-run-service" in desired else None
    return next((n for n in desired if n.startswith("instance-template")), None)


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
@pytest.mark.parametrize("strategy", [Strategy.VM, Strategy.SERVERLESS])
@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_store_manifest_validates_in_order(
    strategy: Strategy, namespaced: bool, stage: str
) -> None:
    desired = render_plan(_ctx(strategy, namespaced), STAGES[stage]).desired
    assert_all_valid(_named(desired))
    kinds = {b["kind"] for b in desired.values()}
    assert {"GlobalAddress", "Connection", "Network", "Subnetwork"} <= kinds
    groups = {b["apiVersion"].split("/")[0] for b in desired.values()}
    assert all(g.endswith(".gcp.m.upbound.io") == namespaced for g in groups)
    if stage == "first":  # the instance waits for the peering (its creation fails before)
        assert not kinds & {"DatabaseInstance", "User", "Database"}
        assert _workload(strategy, desired) is None
    else:
        assert {"DatabaseInstance", "Database", "User", "ProjectIAMMember"} <= kinds
    # The app waits for its proxies' target: the instance's connection name.
    assert (_workload(strategy, desired) is not None) is (stage == "running")


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
def test_no_password_exists_and_only_the_apps_identity_gets_in(namespaced: bool) -> None:
    c = _ctx(Strategy.VM, namespaced)
    desired = render_plan(c, RUNNING).desired
    text = json.dumps(desired)
    for field in ("password", "Password", "rootPassword", "authString"):
        assert field not in text
    for kind, flag in (("postgres", "cloudsql.iam_authentication"),
                       ("mysql", "cloudsql_iam_authentication")):  # fmt: skip
        db = desired[f"db-{kind}"]
        fp = db["spec"]["forProvider"]
        s = fp["settings"]
        assert s["databaseFlags"] == [{"name": flag, "value": "on"}]
        ip = s["ipConfiguration"]
        assert ip["ipv4Enabled"] is False and ip["sslMode"] == "ENCRYPTED_ONLY"
        assert ip["privateNetworkSelector"]["matchLabels"] == {"scia.io/component": "network"}
        assert s["connectorEnforcement"] == "REQUIRED"  # only IAM-checked connectors
        assert db["metadata"]["annotations"][EXTERNAL_NAME] == instance_name(c, kind)
        user = desired[f"db-{kind}-app-user"]["spec"]["forProvider"]
        assert user["type"] == "CLOUD_IAM_SERVICE_ACCOUNT"
        assert user["instanceSelector"]["matchLabels"] == {"scia.io/component": f"db-{kind}"}
        name = desired[f"db-{kind}-app-user"]["metadata"]["annotations"][EXTERNAL_NAME]
        assert name == db_user(kind, EMAIL)[0]
        assert desired[f"db-{kind}-database"]["metadata"]["annotations"][EXTERNAL_NAME] == "app"
    # PostgreSQL names the account without the domain suffix; MySQL logs in by its local part.
    assert db_user("postgres", EMAIL) == ("scia-app-0123456789ab@acme-prod.iam",) * 2
    assert db_user("mysql", EMAIL) == (EMAIL, "scia-app-0123456789ab")
    prefix = instance_prefix(c)
    assert all(instance_name(c, k).startswith(prefix) for k in ("postgres", "mysql"))
    assert re.fullmatch(r"[a-z][-a-z0-9]{1,61}[a-z0-9]", instance_name(c, "postgres"))
    for component, role in ((SQL_CLIENT, "roles/cloudsql.client"),
                            (SQL_INSTANCE_USER, "roles/cloudsql.instanceUser")):  # fmt: skip
        grant = desired[component]["spec"]["forProvider"]
        assert (grant["role"], grant["member"]) == (role, f"serviceAccount:{EMAIL}")
        assert f'startsWith("{prefix}")' in grant["condition"]["expression"]
    other = dataclasses.replace(c, identity=c.identity.model_copy(update={"uid": "u-2"}))
    assert instance_prefix(other) != prefix  # another deployment's instances stay out


def test_sizes_backups_and_protection_follow_the_decision() -> None:
    desired = render_plan(_ctx(Strategy.VM, False), RUNNING).desired
    pg = desired["db-postgres"]["spec"]["forProvider"]
    my = desired["db-mysql"]["spec"]["forProvider"]
    assert pg["databaseVersion"] == "POSTGRES_17" and my["databaseVersion"] == "MYSQL_8_4"
    assert (pg["settings"]["tier"], my["settings"]["tier"]) == ("db-f1-micro", "db-custom-1-3840")
    assert pg["settings"]["availabilityType"] == "ZONAL"
    assert my["settings"]["availabilityType"] == "REGIONAL"  # high availability asked
    assert pg["deletionProtection"] is True and pg["settings"]["deletionProtectionEnabled"]
    assert my["deletionProtection"] is False
    assert pg["settings"]["backupConfiguration"]["pointInTimeRecoveryEnabled"] is True
    assert my["settings"]["backupConfiguration"]["binaryLogEnabled"] is True
    assert my["settings"]["backupConfiguration"]["backupRetentionSettings"] == {
        "retainedBackups": 3,
        "retentionUnit": "COUNT",
    }
    assert (my["settings"]["diskSize"], my["settings"]["diskAutoresizeLimit"]) == (20, 50)
    assert pg["region"] == "europe-west1"


def test_the_vm_runs_a_proxy_per_store_and_gets_plain_urls() -> None:
    desired = render_plan(_ctx(Strategy.VM, False), RUNNING).desired
    holder = _workload(Strategy.VM, desired)
    assert holder is not None
    fp = desired[holder]["spec"]["forProvider"]
    assert fp["serviceAccount"]["email"] == EMAIL
    script = fp["metadataStartupScript"]
    for kind, port, conn in (("postgres", 5432, "acme-prod:europe-west1:pg"),
                             ("mysql", 3306, "acme-prod:europe-west1:my")):  # fmt: skip
        assert (
            "ExecStart=/usr/local/bin/cloud-sql-proxy --auto-iam-authn --private-ip "
            f"--address=127.0.0.1 --port={port} {conn}"
        ) in script
        assert f"cloud-sql-proxy-{kind}.service" in script
    assert "cloud-sql-proxy/v2.14.3/cloud-sql-proxy.linux.$(dpkg --print-architecture)" in script
    assert "After=network-online.target cloud-sql-proxy-postgres.service" in script
    launch = json.loads(script.split("<<'SCIA_LAUNCH_CONFIG_EOF'\n", 1)[1].split("\n", 1)[0])
    values = next(s["values"] for s in launch["sources"] if s["from"] == "values")
    assert values == {
        "DATABASE_URL": "postgresql://scia-app-0123456789ab%40acme-prod.iam@127.0.0.1:5432/app",
        "MYSQL_URL": "mysql://scia-app-0123456789ab@127.0.0.1:3306/app",
    }


def test_a_docker_app_shares_the_hosts_network_to_reach_the_proxy() -> None:
    c = _ctx(Strategy.VM, False, [PG])
    c = dataclasses.replace(c, analysis=c.analysis.model_copy(update={"has_dockerfile": True}))
    desired = render_plan(c, RUNNING).desired
    holder = _workload(Strategy.VM, desired)
    assert holder is not None
    script = desired[holder]["spec"]["forProvider"]["metadataStartupScript"]
    assert "--network host" in script and '-p "$PORT:$PORT"' not in script
    # Without stores the container publishes its port as before.
    plain = dataclasses.replace(c, decision=c.decision.model_copy(update={"data_stores": None}))
    out = render_plan(plain, {}).desired
    tpl = next(n for n in out if n.startswith("instance-template"))
    assert '-p "$PORT:$PORT"' in out[tpl]["spec"]["forProvider"]["metadataStartupScript"]


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
def test_cloud_run_runs_the_proxy_as_a_sidecar_in_the_vpc(namespaced: bool) -> None:
    desired = render_plan(_ctx(Strategy.SERVERLESS, namespaced, [PG]), RUNNING).desired
    tpl = desired["cloud-run-service"]["spec"]["forProvider"]["template"]
    app, proxy = tpl["containers"]
    assert app["name"] == "app" and app["dependsOn"] == [proxy["name"]]
    assert proxy["image"] == "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.3"
    assert proxy["args"][:4] == ["--auto-iam-authn", "--private-ip", "--address=127.0.0.1",
                                 "--port=5432"]  # fmt: skip
    assert proxy["args"][-1] == "acme-prod:europe-west1:pg"
    assert proxy["startupProbe"]["httpGet"]["path"] == "/startup"
    env = {e["name"]: e for e in app["env"]}
    assert env["DATABASE_URL"]["value"].endswith("@127.0.0.1:5432/app")
    assert tpl["serviceAccount"] == EMAIL
    # One identity: the account Cloud Run always runs as is the database's IAM user.
    accounts = [n for n, b in desired.items() if b["kind"] == "ServiceAccount"]
    assert accounts == [APP_SERVICE_ACCOUNT]
    user = desired["db-postgres-app-user"]
    assert user["metadata"]["annotations"][EXTERNAL_NAME] == EMAIL.removesuffix(
        ".gserviceaccount.com"
    )
    assert (
        "secrets and databases"
        in desired[APP_SERVICE_ACCOUNT]["spec"]["forProvider"]["description"]
    )
    vpc = tpl["vpcAccess"]
    assert vpc["egress"] == "PRIVATE_RANGES_ONLY"
    (iface,) = vpc["networkInterfaces"]
    named = {b["kind"]: b["metadata"]["annotations"][EXTERNAL_NAME] for b in desired.values()
             if b["kind"] in ("Network", "Subnetwork")}  # fmt: skip
    assert (iface["network"], iface["subnetwork"]) == (named["Network"], named["Subnetwork"])


def test_an_existing_network_uses_the_platforms_peering() -> None:
    net = {
        "network": "projects/acme-prod/global/networks/shared",
        "subnetworks": ["projects/acme-prod/regions/europe-west1/subnetworks/apps"],
    }
    settings = {"gcp": {"dataStores": {"compose": True}, "network": net, "project": "acme-prod"}}
    c = _ctx(Strategy.SERVERLESS, False, [PG], settings)
    # With gcp.project the connection name is known: the app need not wait for it.
    desired = render_plan(c, {APP_SERVICE_ACCOUNT: _at(email=EMAIL)}).desired
    assert not {"GlobalAddress", "Connection", "Network"} & {b["kind"] for b in desired.values()}
    ip = desired["db-postgres"]["spec"]["forProvider"]["settings"]["ipConfiguration"]
    assert ip["privateNetwork"] == net["network"]
    tpl = desired["cloud-run-service"]["spec"]["forProvider"]["template"]
    assert (
        tpl["containers"][1]["args"][-1] == f"acme-prod:europe-west1:{instance_name(c, 'postgres')}"
    )
    assert tpl["vpcAccess"]["networkInterfaces"] == [
        {"network": net["network"], "subnetwork": net["subnetworks"][0]}
    ]
    grant = desired[SQL_CLIENT]["spec"]["forProvider"]
    assert grant["project"] == "acme-prod"


def test_an_existing_store_and_app_are_never_dropped_while_status_is_lost() -> None:
    """Once an instance exists it stays desired even when the peering's status is lost,
    and a running Cloud Run service is kept (not deleted) while a connection name is."""
    c = _ctx(Strategy.SERVERLESS, False, [PG])
    running = render_plan(c, RUNNING).desired
    observed = {n: dict(b) | {"status": {}} for n, b in running.items()}
    observed[APP_SERVICE_ACCOUNT] = _at(email=EMAIL)
    again = render_plan(c, observed).desired
    assert set(running) <= set(again)


def test_decisions_compose_cloud_sql_sized_within_the_gcp_allowlists_and_priced() -> None:
    settings = FunctionInput.model_validate(
        {"gcp": {"dataStores": {"compose": True,
                                "postgres": {"allowedInstanceClasses": ["db-g1-small"]}}}}
    ).for_cloud("gcp")  # fmt: skip
    catalog = load_catalog()
    engine = RulesEngine(settings, catalog, UsageAssumptions())
    spec = _spec(strategy="vm")
    profile = AppProfile.model_validate(
        {"name": "app", "url": "https://github.com/acme/app", "ref": "main",
         "commit": "a" * 40, "language": "python", "framework": "flask", "ports": [5000],
         "start_command": "gunicorn app:app --bind 0.0.0.0:5000", "confidence": 0.9,
         "datastores": ["postgres"]}
    )  # fmt: skip
    out = engine.decide(profile, spec)
    (store,) = out.decision.data_stores or []
    assert (store.kind, store.size, store.engine_version) == ("postgres", "db-g1-small", "17")
    cost = estimate(out.decision, "us-central1", catalog)
    lines = {i.resource: i for i in cost.breakdown}
    assert lines["cloudsql-postgres"].unit_price == gcp_prices().shared_core_hourly["db-g1-small"]
    assert lines["cloudsql-postgres-storage"].unit_price == gcp_prices().ssd_gb_month
    # kubernetes (GKE) does not deliver the app's configuration yet: not a candidate.
    with pytest.raises(DecisionError, match=r"spec\.strategy kubernetes"):
        engine.decide(profile, _spec(strategy="kubernetes"))
    # Without gcp.dataStores.compose the request is refused, naming the field.
    off = RulesEngine(FunctionInput().for_cloud("gcp"), catalog, UsageAssumptions())
    with pytest.raises(DecisionError, match=r"spec\.services\.postgres.*dataStores\.compose"):
        off.decide(profile, spec)


def _spec(**extra: Any) -> AppSpec:
    return AppSpec.model_validate(
        {"repository": {"url": "https://github.com/acme/app"}, "cloudProvider": "gcp",
         "region": "us-central1", "services": {"postgres": {}}, **extra}
    )  # fmt: skip


def test_prices_have_sources_regions_and_high_availability() -> None:
    catalog = load_catalog()
    p = gcp_prices()
    assert p.services["cloudSql"].page.startswith("https://cloud.google.com/sql/pricing")
    assert str(p.as_of) == "2025-01-01"
    ha = MY.model_copy(update={"size": "db-custom-2-7680"})
    (inst, disk) = store_items(ha, "us-east1", catalog)
    assert inst[3] == 2 * 730 and disk[3] == 2 * 20  # regional: billed twice
    assert inst[4] == pytest.approx(2 * p.vcpu_hourly + 7.5 * p.memory_gib_hourly)
    (inst_eu, _) = store_items(ha, "europe-west1", catalog)
    assert inst_eu[4] > inst[4] and "derived" in inst_eu[1]
    with pytest.raises(Exception, match="no price for postgres 'db-n1-standard-1'"):
        store_items(PG.model_copy(update={"size": "db-n1-standard-1"}), "us-central1", catalog)
    # Memorystore: by GB-hour of capacity, Standard (a replica) or Basic, with its own page.
    assert p.services["memorystore"].page.startswith("https://cloud.google.com/memorystore/")
    redis = DataStoreParams(kind="redis", size="M1-4GB", engine_version="7.2", multi_az=False,
                            production=False, backup_retention_days=1, env_name="REDIS_URL")  # fmt: skip
    ((name, _, unit, quantity, price),) = store_items(redis, "us-central1", catalog)
    assert (name, unit, quantity) == ("memorystore-redis", "GB-hour", 4 * 730)
    assert price == p.redis_gb_hourly["basic"]
    assert p.redis_gb_hourly["standard"] > p.redis_gb_hourly["basic"]
    with pytest.raises(Exception, match="no price for redis 'M1-8GB'"):
        store_items(redis.model_copy(update={"size": "M1-8GB"}), "us-central1", catalog)


REDIS = DataStoreParams(
    kind="redis",
    size="M1-2GB",
    engine_version="7.2",
    multi_az=True,
    production=True,
    backup_retention_days=7,
    env_name="REDIS_URL",
)
CA = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
REDIS_SEEN = PEERED | {
    "memorystore-redis": _at(host="10.100.0.3", port=6378, serverCaCerts=[{"cert": CA}]),
    "redis-auth-version": _at(version="2"),
}


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
@pytest.mark.parametrize("strategy", [Strategy.VM, Strategy.SERVERLESS])
def test_memorystore_auth_travels_by_reference_and_the_launcher_builds_the_url(
    strategy: Strategy, namespaced: bool
) -> None:
    c = _ctx(strategy, namespaced, [REDIS])
    waiting = render_plan(c, PEERED).desired  # the app waits for host, port and CA
    assert _workload(strategy, waiting) is None and "memorystore-redis" in waiting
    desired = render_plan(c, REDIS_SEEN).desired
    assert_all_valid(_named(desired))
    inst = desired["memorystore-redis"]
    fp = inst["spec"]["forProvider"]
    assert (fp["tier"], fp["memorySizeGb"], fp["redisVersion"]) == ("STANDARD_HA", 2, "REDIS_7_2")
    assert fp["authEnabled"] is True and fp["transitEncryptionMode"] == "SERVER_AUTHENTICATION"
    assert fp["connectMode"] == "PRIVATE_SERVICE_ACCESS"
    assert fp["persistenceConfig"]["persistenceMode"] == "RDB"  # production: snapshots
    conn = inst["spec"]["writeConnectionSecretToRef"]
    # The provider writes the AUTH string into a Secret of the tenant's namespace; Secret
    # Manager copies it from there by reference: no manifest holds it.
    ref = desired["redis-auth-version"]["spec"]["forProvider"]["secretDataSecretRef"]
    assert ref == {**conn, "key": "attribute.auth_string"}
    assert ("namespace" in conn) is (not namespaced)
    if not namespaced:
        assert conn["namespace"] == "team-a"
    assert "authString" not in json.dumps(desired)
    grant = desired["app-secret-access"]["spec"]["forProvider"]
    secret_id = desired["redis-auth"]["metadata"]["annotations"][EXTERNAL_NAME]
    assert secret_id.startswith(instance_prefix(c))
    assert f'startsWith("{instance_prefix(c)}")' in grant["condition"]["expression"]
    holder = _workload(strategy, desired)
    assert holder is not None
    if strategy is Strategy.VM:
        script = desired[holder]["spec"]["forProvider"]["metadataStartupScript"]
        launch = json.loads(script.split("<<'SCIA_LAUNCH_CONFIG_EOF'\n", 1)[1].split("\n", 1)[0])
    else:
        env = desired[holder]["spec"]["forProvider"]["template"]["containers"][0]["env"]
        launch = json.loads(next(e["value"] for e in env if e["name"] == "SCIA_LAUNCH_CONFIG"))
    (source,) = [s for s in launch["sources"] if s["from"] == "gcp-redis"]
    assert source == {
        "from": "gcp-redis", "name": "REDIS_URL", "host": "10.100.0.3", "port": 6378,
        "auth": secret_id, "version": "2", "ca": CA,
        "caFile": "/srv/app/.scia/redis-ca.pem" if strategy is Strategy.VM
        else "/tmp/scia/redis-ca.pem",
    }  # fmt: skip


def test_a_docker_app_gets_the_redis_ca_mounted() -> None:
    c = _ctx(Strategy.VM, False, [REDIS])
    c = dataclasses.replace(c, analysis=c.analysis.model_copy(update={"has_dockerfile": True}))
    desired = render_plan(c, REDIS_SEEN).desired
    holder = _workload(Strategy.VM, desired)
    assert holder is not None
    script = desired[holder]["spec"]["forProvider"]["metadataStartupScript"]
    assert "-v /srv/app/.scia:/srv/app/.scia:ro" in script


def test_every_ca_the_instance_lists_is_trusted() -> None:
    """Memorystore lists a new CA five years before the old one expires: the launcher's CA
    file holds both, so clients keep working through the rotation."""
    other = CA.replace("MIIBfake", "MIIBnext")
    seen = REDIS_SEEN | {
        "memorystore-redis": _at(
            host="10.100.0.3", port=6378, serverCaCerts=[{"cert": CA}, {"cert": other}]
        )
    }
    desired = render_plan(_ctx(Strategy.SERVERLESS, True, [REDIS]), seen).desired
    env = desired["cloud-run-service"]["spec"]["forProvider"]["template"]["containers"][0]["env"]
    launch = json.loads(next(e["value"] for e in env if e["name"] == "SCIA_LAUNCH_CONFIG"))
    (source,) = launch["sources"]
    assert source["ca"] == CA + other


@pytest.mark.parametrize("strategy", [Strategy.VM, Strategy.SERVERLESS])
def test_an_existing_memorystore_and_app_are_never_dropped_while_status_is_lost(
    strategy: Strategy,
) -> None:
    """The instance, its AUTH copy and the workload stay desired when the peering's and the
    instance's status are lost (a provider restart): nothing shrinks by accident."""
    c = _ctx(strategy, False, [REDIS])
    running = render_plan(c, REDIS_SEEN).desired
    assert _workload(strategy, running) is not None
    observed = {n: dict(b) | {"status": {}} for n, b in running.items()}
    observed[APP_SERVICE_ACCOUNT] = _at(email=EMAIL)
    again = render_plan(c, observed).desired
    assert set(running) <= set(again)


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
def test_memorystore_with_an_existing_network_and_without_high_availability(
    namespaced: bool,
) -> None:
    settings = {
        "gcp": {
            "network": {
                "network": "projects/acme-prod/global/networks/shared",
                "subnetworks": [
                    "projects/acme-prod/regions/europe-west1/subnetworks/apps",
                ],
            },
            "dataStores": {"compose": True},
        }
    }
    small = REDIS.model_copy(update={"multi_az": False, "production": False, "size": "M1-1GB"})
    c = _ctx(Strategy.VM, namespaced, [small], settings)
    desired = render_plan(c, REDIS_SEEN).desired
    assert_all_valid(_named(desired))
    assert PSA_CONNECTION not in desired  # the platform's own peering
    fp = desired["memorystore-redis"]["spec"]["forProvider"]
    assert fp["authorizedNetwork"] == "projects/acme-prod/global/networks/shared"
    assert (fp["tier"], fp["memorySizeGb"]) == ("BASIC", 1)
    assert "replicaCount" not in fp and "persistenceConfig" not in fp


def test_redis_on_gcp_is_composed_and_mysql_on_azure_refused_naming_the_field() -> None:
    gcp = GcpDataStoreSettings(compose=True)
    base = AppSpec.model_validate({"repository": {"url": "https://github.com/acme/x"}})
    plan = plan_stores(["redis", "postgres"], base, gcp, True, cloud="gcp")
    assert [(s.kind, s.size, s.multi_az) for s in plan.composed] == [
        ("postgres", "db-f1-micro", True), ("redis", "M1-1GB", True)]  # fmt: skip
    catalog = load_catalog()
    (line,) = store_items(plan.composed[1], "us-central1", catalog)
    assert line[4] == gcp_prices().redis_gb_hourly["standard"] and line[3] == 730
    with pytest.raises(DataStoreRefused, match=r"spec\.services\.mysql: Azure Database for MySQL"):
        plan_stores([], base.model_copy(update={"services": {"mysql": _svc()}}), gcp, False,
                    cloud="azure")  # fmt: skip


def _svc() -> ServiceSpec:
    return ServiceSpec()


def test_the_inputs_hash_of_existing_gcp_pins_does_not_move() -> None:
    plain = FunctionInput().for_cloud("gcp").decision_fingerprint()
    assert "data_stores" not in plain["gcp"]
    on = FunctionInput.model_validate(COMPOSE).for_cloud("gcp").decision_fingerprint()
    assert on["gcp"]["data_stores"]["compose"] is True
