"""Composed data stores on Azure (render/azure/datastores.py): Azure Database for PostgreSQL
flexible server with a password the provider generates and Key Vault holds (no manifest
has it, the function never sees it), TLS required, a firewall that admits only the
deployment's own observed outbound addresses; sized within `azure.dataStores`, priced,
kept on deletion when it is a production store; MySQL and Redis refused naming the field.
Every manifest validates against provider-upjet-azure v2.7.0's CRDs in both scopes."""

from __future__ import annotations

import copy
import dataclasses
import json
import urllib.parse
from typing import Any

import pytest

from function.config.datastores import DataStoreRefused, plan_stores
from function.config.env import ServiceSpec
from function.decide.rules import DecisionError, RulesEngine
from function.input import AzureDataStoreSettings, FunctionInput
from function.model import DataStoreParams, Strategy
from function.pricing.catalog import PricingError, load_catalog
from function.pricing.datastores import azure_prices, store_items
from function.pricing.estimate import UsageAssumptions
from function.render.azure.datastores import (
    ADMIN,
    DATABASE_COMPONENT,
    KEEP,
    PASSWORD_COPY,
    SERVER,
    firewall_component,
    password_secret,
)
from function.render.azure.names import RULES
from function.render.common import RenderContext, UnsupportedTarget
from function.render.dispatch import render_plan
from function.render.names import EXTERNAL_NAME
from function.render.replace import ReplacementRefused
from function.xr import AppSpec
from tests.multicloud.test_seam import profile
from tests.render.test_azure_config import (
    SCOPES,
    SEEN,
    VAULT_URI,
    _named,
    cfg_ctx,
    launch_config,
    strategy_observed,
)
from tests.render.test_render_azure import SETTINGS
from tests.support.crdcheck import assert_all_valid

COMPOSE = {"azure": {**SETTINGS["azure"], "dataStores": {"compose": True}}}
FQDN = "team-a-flask-app-2eb4c43f-pg.postgres.database.azure.com"
LB_IP = "20.50.60.70"
APP_IPS = ["20.71.1.1", "20.71.1.2"]
PG = DataStoreParams(
    kind="postgres",
    size="B_Standard_B1ms",
    storage_gb=32,
    max_storage_gb=32,
    engine_version="17",
    multi_az=False,
    production=True,
    backup_retention_days=7,
    env_name="DATABASE_URL",
)
STRATEGIES = pytest.mark.parametrize("strategy", [Strategy.VM, Strategy.SERVERLESS])


def _at(**fields: Any) -> dict[str, Any]:
    return {"status": {"atProvider": fields}}


def _ctx(
    strategy: Strategy, namespaced: bool, store: DataStoreParams = PG, **settings: Any
) -> RenderContext:
    c = cfg_ctx(strategy, namespaced, spec={"services": {"postgres": {}}}, settings=COMPOSE)
    if settings:
        c = cfg_ctx(strategy, namespaced, spec={"services": {"postgres": {}}}, settings=settings)
    return dataclasses.replace(c, decision=c.decision.model_copy(update={"data_stores": [store]}))


def _egress(strategy: Strategy) -> dict[str, dict[str, Any]]:
    if strategy is Strategy.VM:
        return {"public-ip": _at(ipAddress=LB_IP)}
    return {"container-app": _at(id="/subscriptions/s/app", outboundIpAddresses=APP_IPS)}


def _stage(strategy: Strategy, stage: str) -> dict[str, dict[str, Any]]:
    """first: nothing observed; vault: the identity and vault, not the server's FQDN;
    running: the server's FQDN and the workload's outbound addresses too."""
    if stage == "first":
        return {}
    obs = strategy_observed(strategy)
    obs.pop("container-app", None)
    if stage == "vault":
        return obs
    return obs | {SERVER: _at(id="/subscriptions/s/pg", fqdn=FQDN)} | _egress(strategy)


def _workload(strategy: Strategy) -> str:
    return "vm-scale-set" if strategy is Strategy.VM else "container-app"


def _rules(desired: dict[str, Any]) -> dict[str, str]:
    return {
        n: b["spec"]["forProvider"]["startIpAddress"]
        for n, b in desired.items()
        if b["kind"] == "FlexibleServerFirewallRule"
    }


@SCOPES
@STRATEGIES
@pytest.mark.parametrize("stage", ["first", "vault", "running"])
def test_every_store_manifest_validates_in_order(
    strategy: Strategy, namespaced: bool, stage: str
) -> None:
    c = _ctx(strategy, namespaced)
    desired = render_plan(c, _stage(strategy, stage)).desired
    assert_all_valid(_named(desired))
    groups = {b["apiVersion"].split("/")[0] for b in desired.values()}
    assert all(g.endswith("azure.m.upbound.io") == namespaced for g in groups)
    kinds = {b["kind"] for b in desired.values()}
    assert {"FlexibleServer", "FlexibleServerDatabase"} <= kinds
    assert ("Secret" in kinds) is (stage != "first")  # the copy needs the vault
    # The app waits for the URL's host (the server's FQDN).
    assert (_workload(strategy) in desired) is (stage == "running")
    if stage != "running":
        assert any("FQDN" in n or "outbound addresses" in n for n in c.notes), c.notes


@SCOPES
@STRATEGIES
def test_the_password_is_generated_copied_to_key_vault_and_in_no_manifest(
    strategy: Strategy, namespaced: bool
) -> None:
    c = _ctx(strategy, namespaced)
    desired = render_plan(c, _stage(strategy, "running")).desired
    server = desired[SERVER]["spec"]["forProvider"]
    assert server["autoGeneratePassword"] is True
    assert server["administratorLogin"] == ADMIN
    ref = server["administratorPasswordSecretRef"]
    assert ref["name"] == password_secret(c)
    # legacy: the tenant's own namespace, never another; namespaced: the MR's own
    assert ref.get("namespace") == (None if namespaced else "team-a")
    copy_fp = desired[PASSWORD_COPY]["spec"]["forProvider"]
    assert copy_fp["valueSecretRef"] == ref
    assert copy_fp["keyVaultIdSelector"]["matchLabels"]["scia.io/component"] == "key-vault"
    text = json.dumps(desired)
    assert "administratorPasswordWo" not in text and '"value"' not in json.dumps(copy_fp)
    launch = launch_config(strategy, desired)
    (db,) = [s for s in launch["sources"] if s["from"] == "azure-db"]
    assert db == {
        "from": "azure-db",
        "name": "DATABASE_URL",
        "engine": "postgres",
        "host": FQDN,
        "port": 5432,
        "user": ADMIN,
        "database": "app",
        "vault": VAULT_URI,
        "id": copy_fp["name"],
        "version": "",
    }


def test_a_new_password_version_rolls_the_app_out() -> None:
    c = _ctx(Strategy.SERVERLESS, True)
    obs = _stage(Strategy.SERVERLESS, "running")
    before = launch_config(Strategy.SERVERLESS, render_plan(c, obs).desired)
    obs[PASSWORD_COPY] = _at(version="0a1b2c3d")
    after = launch_config(
        Strategy.SERVERLESS, render_plan(_ctx(Strategy.SERVERLESS, True), obs).desired
    )
    assert before["version"] != after["version"]
    assert [s["version"] for s in after["sources"] if s["from"] == "azure-db"] == ["0a1b2c3d"]


@SCOPES
@STRATEGIES
def test_tls_is_required_and_only_the_deployments_own_addresses_get_in(
    strategy: Strategy, namespaced: bool
) -> None:
    desired = render_plan(_ctx(strategy, namespaced), _stage(strategy, "running")).desired
    want = [LB_IP] if strategy is Strategy.VM else APP_IPS
    assert sorted(_rules(desired).values()) == want
    for name, body in desired.items():
        if body["kind"] == "FlexibleServerFirewallRule":
            fp = body["spec"]["forProvider"]
            assert fp["startIpAddress"] == fp["endIpAddress"] != "0.0.0.0"
            assert name == firewall_component(fp["startIpAddress"])
    url = urllib.parse.urlsplit("postgresql://u:p@" + FQDN + ":5432/app?sslmode=require")
    assert url.query == "sslmode=require"  # what the launcher appends (tests/config)


@STRATEGIES
def test_no_rule_before_the_addresses_are_observed_and_observed_rules_are_kept(
    strategy: Strategy,
) -> None:
    obs = _stage(strategy, "vault") | {SERVER: _at(id="/s/pg", fqdn=FQDN)}
    c = _ctx(strategy, False)
    first = render_plan(c, obs).desired
    assert _rules(first) == {}
    assert any("outbound addresses are observed" in n for n in c.notes), c.notes
    running = render_plan(_ctx(strategy, False), obs | _egress(strategy)).desired
    rules = {n: running[n] for n in _rules(running)}
    # The source stops reporting (status pruned, a provider restart): the rules stay.
    blind = obs | {n: {**b, **_at()} for n, b in rules.items()}
    if strategy is Strategy.SERVERLESS:
        blind["container-app"] = _at(id="/subscriptions/s/app")
    kept = render_plan(_ctx(strategy, False), blind).desired
    assert _rules(kept) == _rules(running)


def test_private_or_unspecified_addresses_are_never_admitted() -> None:
    obs = _stage(Strategy.SERVERLESS, "running")
    obs["container-app"] = _at(
        id="/s/app", outboundIpAddresses=["0.0.0.0", "10.0.0.4", "not-an-ip", "20.9.9.9"]
    )
    desired = render_plan(_ctx(Strategy.SERVERLESS, True), obs).desired
    assert list(_rules(desired).values()) == ["20.9.9.9"]


@SCOPES
def test_a_production_store_and_its_resource_group_outlive_the_deployment(
    namespaced: bool,
) -> None:
    obs = _stage(Strategy.VM, "running")
    kept = render_plan(_ctx(Strategy.VM, namespaced), obs).desired
    for name in (SERVER, DATABASE_COMPONENT, "resource-group"):
        assert kept[name]["spec"]["managementPolicies"] == KEEP
        assert "Delete" not in kept[name]["spec"]["managementPolicies"]
    scratch = PG.model_copy(update={"production": False})
    gone = render_plan(_ctx(Strategy.VM, namespaced, scratch), obs).desired
    for name in (SERVER, DATABASE_COMPONENT, "resource-group"):
        assert "managementPolicies" not in gone[name]["spec"]


def test_high_availability_is_zone_redundant_on_a_sku_that_has_a_standby() -> None:
    ha = PG.model_copy(update={"size": "GP_Standard_D2ds_v5", "multi_az": True})
    desired = render_plan(_ctx(Strategy.VM, False, ha), _stage(Strategy.VM, "running")).desired
    fp = desired[SERVER]["spec"]["forProvider"]
    assert fp["highAvailability"] == {"mode": "ZoneRedundant"}
    assert fp["skuName"] == "GP_Standard_D2ds_v5" and fp["storageMb"] == 32 * 1024
    assert fp["backupRetentionDays"] == 7 and fp["publicNetworkAccessEnabled"] is True


def _plan(settings: AzureDataStoreSettings, ha: bool, services: dict[str, Any]) -> Any:
    spec = AppSpec.model_validate(
        {"repository": {"url": "https://github.com/acme/a"}, "services": services}
    )
    return plan_stores([], spec, settings, ha, None, "azure")


def test_sizes_come_from_the_allowlist_and_high_availability_skips_burstable() -> None:
    ds = AzureDataStoreSettings(compose=True)
    assert _plan(ds, False, {"postgres": {}}).composed[0].size == "B_Standard_B1ms"
    assert _plan(ds, True, {"postgres": {}}).composed[0].size == "GP_Standard_D2ds_v5"
    only_b = AzureDataStoreSettings.model_validate(
        {"compose": True, "postgres": {"allowedInstanceClasses": ["B_Standard_B1ms"]}}
    )
    with pytest.raises(DataStoreRefused, match=r"azure\.dataStores\.postgres\.allowed"):
        _plan(only_b, True, {"postgres": {}})


@pytest.mark.parametrize("kind", ["mysql", "redis"])
def test_mysql_and_redis_are_refused_on_azure_naming_the_field(kind: str) -> None:
    ds = AzureDataStoreSettings(compose=True)
    with pytest.raises(DataStoreRefused, match=rf"invalid spec\.services\.{kind}: Azure"):
        _plan(ds, False, {kind: {}})
    # Found by the analysis but not asked for: a note, nothing composed.
    spec = AppSpec.model_validate({"repository": {"url": "https://github.com/acme/a"}})
    plan = plan_stores([kind], spec, ds, False, None, "azure")
    assert not plan.composed and any(f"spec.services.{kind}.secretRef" in n for n in plan.notes)


def test_the_decision_composes_postgres_on_vm_or_serverless_and_prices_it() -> None:
    settings = FunctionInput.model_validate(COMPOSE).for_cloud("azure")
    spec = AppSpec.model_validate(
        {
            "repository": {"url": "https://github.com/acme/app"},
            "cloudProvider": "azure",
            "region": "westeurope",
            "image": "acmeapps.azurecr.io/api:1",
            "services": {"postgres": {}},
        }
    )
    kb = RulesEngine(settings, load_catalog(), UsageAssumptions()).decide(profile(), spec)
    assert kb.decision.strategy in (Strategy.VM, Strategy.SERVERLESS)
    assert [s.size for s in kb.decision.data_stores or []] == ["B_Standard_B1ms"]
    lines = {i.resource: i for i in kb.cost.breakdown}
    assert "postgres-flexible-server" in lines and "postgres-flexible-server-storage" in lines
    assert "derived: eastus x" in lines["postgres-flexible-server"].description
    aks = next(a for a in kb.decision.alternatives if a.strategy is Strategy.KUBERNETES)
    assert "not wired for kubernetes" in aks.reason


def test_a_composed_mysql_fails_the_decision_naming_the_field() -> None:
    settings = FunctionInput.model_validate(COMPOSE).for_cloud("azure")
    spec = AppSpec.model_validate(
        {
            "repository": {"url": "https://github.com/acme/app"},
            "cloudProvider": "azure",
            "services": {"mysql": {}},
        }
    )
    with pytest.raises(DecisionError, match=r"spec\.services\.mysql: Azure Database for MySQL"):
        RulesEngine(settings, load_catalog(), UsageAssumptions()).decide(
            profile().model_copy(update={"datastores": ["mysql"]}), spec
        )


def test_kubernetes_with_composed_stores_is_refused_naming_the_field() -> None:
    with pytest.raises(UnsupportedTarget, match=r"spec\.services: composed data stores"):
        render_plan(_ctx(Strategy.KUBERNETES, False), {})


def test_prices_have_sources_and_every_default_sku_is_priced() -> None:
    p = azure_prices()
    assert all(s.page.startswith("https://azure.microsoft.com/") for s in p.services.values())
    catalog = load_catalog()
    for sku in AzureDataStoreSettings().postgres.allowed_instance_classes:
        lines = store_items(PG.model_copy(update={"size": sku}), "eastus", catalog)
        assert lines[0][4] == p.postgres_hourly[sku]
    ha = store_items(PG.model_copy(update={"multi_az": True}), "eastus", catalog)
    assert ha[0][3] == 2 * 730 and ha[1][3] == 64.0  # compute and storage twice
    with pytest.raises(PricingError, match="no price for postgres 'B_Standard_B9'"):
        store_items(PG.model_copy(update={"size": "B_Standard_B9"}), "eastus", catalog)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("storageGb", 20, "storageGb"),
        ("backupRetentionDays", 3, "backupRetentionDays"),
        ("engineVersion", "9.6", "engineVersion"),
        ("allowedInstanceClasses", ["db.t4g.micro"], "allowedInstanceClasses"),
    ],
)
def test_the_input_is_held_to_what_a_flexible_server_takes(
    field: str, value: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=rf"azure\.dataStores\.postgres\.{message}"):
        FunctionInput.model_validate({"azure": {"dataStores": {"postgres": {field: value}}}})


def test_data_stores_enter_the_inputs_hash_only_when_set() -> None:
    plain = FunctionInput().for_cloud("azure").decision_fingerprint()
    assert "data_stores" not in json.dumps(plain)
    composed = FunctionInput.model_validate(COMPOSE).for_cloud("azure").decision_fingerprint()
    assert composed["azure"]["data_stores"]["compose"] is True


def test_the_server_name_is_a_valid_global_dns_label_and_the_database_is_app() -> None:
    desired = render_plan(_ctx(Strategy.VM, False), _stage(Strategy.VM, "running")).desired
    name = desired[SERVER]["metadata"]["annotations"][EXTERNAL_NAME]
    assert RULES["FlexibleServer"].valid(name) and name.endswith("-pg")
    assert desired[DATABASE_COMPONENT]["metadata"]["annotations"][EXTERNAL_NAME] == "app"
    long = dataclasses.replace(
        _ctx(Strategy.VM, False),
        identity=_ctx(Strategy.VM, False).identity.model_copy(update={"deployment_name": "x" * 90}),
    )
    other = render_plan(long, _stage(Strategy.VM, "running")).desired
    assert RULES["FlexibleServer"].valid(other[SERVER]["metadata"]["annotations"][EXTERNAL_NAME])


def test_a_new_region_for_the_server_is_refused_never_replaced() -> None:
    """A replacement would be an empty database, and retiring the old one deletes the data."""
    c = _ctx(Strategy.VM, False)
    obs = _stage(Strategy.VM, "running")
    desired = render_plan(c, obs).desired
    seen = copy.deepcopy(desired[SERVER])
    seen["spec"]["forProvider"]["geoRedundantBackupEnabled"] = True
    seen["status"] = {"atProvider": {"id": "/s/pg", "fqdn": FQDN}}
    with pytest.raises(ReplacementRefused, match=r"holds the application's data"):
        render_plan(_ctx(Strategy.VM, False), obs | {SERVER: seen})


def test_bound_stores_still_work_beside_nothing_composed() -> None:
    c = cfg_ctx(
        Strategy.VM,
        False,
        spec={"services": {"postgres": {"secretRef": {"name": "db", "key": "u"}}}},
    )
    desired = render_plan(c, strategy_observed(Strategy.VM) | SEEN).desired
    assert not {"FlexibleServer"} & {b["kind"] for b in desired.values()}
    assert ServiceSpec  # the bound form (config/env.py) is the team's own store


def test_a_rule_for_an_address_no_longer_reported_is_retired_on_purpose() -> None:
    """Container Apps' outbound addresses can change: the new one is admitted and the old
    one's rule leaves on purpose (Plan.retired: the reconcile lets it go, never a fault)."""
    obs = _stage(Strategy.SERVERLESS, "running")
    first = render_plan(_ctx(Strategy.SERVERLESS, True), obs).desired
    seen = {n: {**first[n], **_at(id=f"/s/{n}")} for n in _rules(first)}
    moved = obs | seen
    moved["container-app"] = _at(id="/s/app", outboundIpAddresses=[APP_IPS[0], "20.71.9.9"])
    plan = render_plan(_ctx(Strategy.SERVERLESS, True), moved)
    assert sorted(_rules(plan.desired).values()) == [APP_IPS[0], "20.71.9.9"]
    gone = firewall_component(APP_IPS[1])
    assert gone not in plan.desired and "20.71.1.2" in plan.retired[gone]
