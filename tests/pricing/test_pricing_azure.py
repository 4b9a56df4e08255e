"""Azure prices: every allowed size and unit priced in every allowed region, with sources,
an as-of date and derivations that follow their rule; the cost model per strategy."""

from __future__ import annotations

from datetime import date

import pytest

from function.input import FunctionInput
from function.model import Decision, KubernetesParams, ServerlessParams, Strategy, VmParams
from function.pricing.catalog import PriceKey, load_catalog, unit_keys
from function.pricing.estimate import UsageAssumptions, container_apps_size, estimate
from function.render.azure.serverless import container_size

AZURE = FunctionInput().azure


def test_every_allowed_size_and_unit_is_priced_in_every_allowed_region() -> None:
    catalog = load_catalog()
    assert set(AZURE.regions) <= set(catalog.regions("azure"))
    for region in catalog.regions("azure"):
        assert catalog.cloud_of(region) == "azure"
        for t in {*AZURE.vm.allowed_instance_types, *AZURE.kubernetes.allowed_node_types}:
            assert catalog.instance(region, t).hourly > 0, (region, t)
        for key in unit_keys("azure"):
            assert catalog.unit(region, key).price > 0, (region, key)


def test_every_azure_figure_has_a_source_and_an_as_of_date() -> None:
    catalog = load_catalog()
    for region in catalog.regions("azure"):
        entries = [p.provenance for p in catalog.instance_types(region)] + [
            catalog.unit(region, key).provenance for key in unit_keys("azure")
        ]
        for prov in entries:
            assert prov.source.startswith("https://azure.microsoft.com/pricing/details/")
            assert prov.offer_file is not None
            assert prov.offer_file.startswith("https://prices.azure.com/api/retail/prices")
            assert f"armRegionName eq '{region}'" in prov.offer_file
            assert isinstance(prov.as_of, date) and prov.as_of <= date.today()


def test_westeurope_vm_sizes_are_derived_from_eastus_by_their_stated_rule() -> None:
    catalog = load_catalog()
    for price in catalog.instance_types("westeurope"):
        prov = price.provenance
        assert prov.derived and prov.rule and prov.rule.startswith("eastus price ")
        base = catalog.instance("eastus", price.instance_type).hourly
        assert price.hourly == pytest.approx(base * 1.17)
    for price in catalog.instance_types("eastus"):
        assert not price.provenance.derived
    assert catalog.instance("eastus", "Standard_B2s").hourly == 0.0416
    assert catalog.instance("eastus", "Standard_D2s_v5").hourly == 0.096
    assert catalog.unit("eastus", PriceKey.AZURE_LB_HOUR).price == 0.025


def _d(strategy: Strategy) -> Decision:
    return {
        Strategy.VM: Decision(
            strategy=Strategy.VM,
            reason="r",
            confidence=0.5,
            vm=VmParams(
                instance_type="Standard_B2s",
                min_size=2,
                max_size=4,
                desired_capacity=2,
                volume_gb=30,
            ),
        ),
        Strategy.KUBERNETES: Decision(
            strategy=Strategy.KUBERNETES,
            reason="r",
            confidence=0.5,
            kubernetes=KubernetesParams(
                node_instance_type="Standard_D2s_v5", min_nodes=2, max_nodes=4, desired_nodes=2
            ),
        ),
        Strategy.SERVERLESS: Decision(
            strategy=Strategy.SERVERLESS,
            reason="r",
            confidence=0.5,
            serverless=ServerlessParams(memory_mb=1024, timeout_seconds=30),
        ),
    }[strategy]


def test_vm_cost_items() -> None:
    e = estimate(_d(Strategy.VM), "eastus", load_catalog())
    items = {i.resource: i.monthly for i in e.breakdown}
    assert items == {
        "vmss-instances": 60.74,  # 2 x 0.0416 x 730
        "os-disks": 4.5,  # 60 GiB x 0.075
        "load-balancer": 18.25,
        "load-balancer-data": 0.05,
        "public-ip": 3.65,
    }
    assert e.monthly_total == pytest.approx(sum(items.values()))


def test_kubernetes_control_plane_is_free_unless_the_standard_tier() -> None:
    catalog = load_catalog()
    free = estimate(_d(Strategy.KUBERNETES), "eastus", catalog)
    std = estimate(
        _d(Strategy.KUBERNETES), "eastus", catalog, UsageAssumptions(aks_standard_tier=True)
    )
    assert {i.resource: i.monthly for i in free.breakdown}["aks-control-plane"] == 0
    assert std.monthly_total - free.monthly_total == pytest.approx(73.0)
    assert {i.resource: i.monthly for i in free.breakdown}["aks-nodes"] == 140.16


def test_serverless_prices_the_rendered_container_size() -> None:
    e = estimate(_d(Strategy.SERVERLESS), "eastus", load_catalog())
    items = {i.resource: i.monthly for i in e.breakdown}
    # 1M requests x 200 ms: 0.5 vCPU -> 100,000 vCPU-s, 1 GiB -> 200,000 GiB-s
    assert items == {
        "container-apps-requests": 0.4,
        "container-apps-cpu": 2.4,
        "container-apps-memory": 0.6,
    }
    for mb in (128, 700, 1024, 3008, 4096, 8192):
        cpu, memory = container_size(mb)
        assert container_apps_size(mb) == (cpu, float(memory.removesuffix("Gi")))


def test_key_vault_operations_are_in_the_estimate_and_nothing_per_secret() -> None:
    """Key Vault Standard: $0.03 per 10,000 operations, no fee per secret stored
    (https://azure.microsoft.com/pricing/details/key-vault/); 4 secrets read at 10,000
    starts a month are 4 x 10,000 / 10,000 x 0.03 = 0.12 USD."""
    catalog = load_catalog()
    a = UsageAssumptions(app_starts_per_month=10_000)
    got = estimate(_d(Strategy.SERVERLESS), "westeurope", catalog, a, secrets=4)
    items = {i.resource: i for i in got.breakdown}
    assert items["key-vault-operations"].monthly == 0.12
    assert items["key-vault-operations"].quantity == 4
    plain = estimate(_d(Strategy.SERVERLESS), "westeurope", catalog, a)
    assert round(got.monthly_total - plain.monthly_total, 2) == 0.12


@pytest.mark.parametrize("region", ["eastus", "westeurope"])
def test_an_azure_vm_under_require_https_adds_its_application_gateway(region: str) -> None:
    """render/azure/gateway.py: a Standard_v2 gateway with two warm instances for a
    decision that keeps two (20 reserved capacity units), and its public IP; the load
    balancer stays (the instances' outbound path and health probe)."""
    catalog = load_catalog()
    plain = estimate(_d(Strategy.VM), region, catalog)
    https = estimate(_d(Strategy.VM), region, catalog, https=True)
    added = {i.resource for i in https.breakdown} - {i.resource for i in plain.breakdown}
    assert added == {"app-gateway", "app-gateway-capacity", "gateway-public-ip"}
    items = {i.resource: i for i in https.breakdown}
    hour = catalog.unit(region, PriceKey.APP_GATEWAY_V2_HOUR).price
    cu = catalog.unit(region, PriceKey.APP_GATEWAY_V2_CAPACITY_UNIT_HOUR).price
    assert items["app-gateway"].monthly == pytest.approx(730 * hour, abs=0.01)
    assert items["app-gateway-capacity"].quantity == 730 * 20
    assert items["app-gateway-capacity"].monthly == pytest.approx(730 * 20 * cu, abs=0.01)
    assert "load-balancer" in items
    assert https.monthly_total == pytest.approx(
        plain.monthly_total + sum(items[k].monthly for k in added), abs=0.02
    )
    # Only the Azure vm: serverless and kubernetes add nothing, nor does another cloud.
    for s in (Strategy.SERVERLESS, Strategy.KUBERNETES):
        assert estimate(_d(s), region, catalog, https=True) == estimate(_d(s), region, catalog)
    prov = catalog.unit(region, PriceKey.APP_GATEWAY_V2_HOUR).provenance
    assert prov.source == "https://azure.microsoft.com/pricing/details/application-gateway/"
