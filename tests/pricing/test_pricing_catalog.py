"""The shipped price catalog: coverage, provenance, sanity, lookups, errors and overrides."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from pydantic import ValidationError

from function.model import Decision, KubernetesParams, ServerlessParams, Strategy, VmParams
from function.pricing import (
    HOURS_PER_MONTH,
    PriceKey,
    PricingError,
    PricingOverrides,
    load_catalog,
)
from function.pricing.catalog import unit_keys
from function.pricing.estimate import estimate

REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-west-3", "eu-central-1", "ap-southeast-1"]
FAMILIES = ["t3", "t4g", "m6i", "m7i", "c6i", "c7i", "r6i"]
BURSTABLE_SIZES = ["nano", "micro", "small", "medium", "large", "xlarge", "2xlarge"]
FIXED_SIZES = ["large", "xlarge", "2xlarge", "4xlarge"]


def expected_types() -> list[str]:
    return [
        f"{family}.{size}"
        for family in FAMILIES
        for size in (BURSTABLE_SIZES if family in ("t3", "t4g") else FIXED_SIZES)
    ]


def test_regions_and_types_are_the_required_ones() -> None:
    catalog = load_catalog()
    assert catalog.regions("aws") == sorted(REGIONS)
    assert catalog.instance_type_names("aws") == sorted(expected_types())
    assert catalog.families("aws") == sorted(FAMILIES)


@pytest.mark.parametrize("region", REGIONS)
def test_every_type_is_priced_in_every_region(region: str) -> None:
    catalog = load_catalog()
    for instance_type in catalog.instance_type_names("aws"):
        price = catalog.instance(region, instance_type)
        assert price.hourly > 0, f"{instance_type} in {region}"
    for key in unit_keys("aws"):
        assert catalog.unit(region, key).price > 0, f"{key} in {region}"


def test_every_figure_has_a_source_and_an_as_of_date() -> None:
    catalog = load_catalog()
    for region in catalog.regions("aws"):
        entries = [p.provenance for p in catalog.instance_types(region)] + [
            catalog.unit(region, key).provenance for key in unit_keys("aws")
        ]
        for prov in entries:
            assert prov.source.startswith("https://aws.amazon.com/")
            assert prov.offer_file is not None
            assert prov.offer_file.startswith("https://pricing.us-east-1.amazonaws.com/offers/")
            assert f"/{region}/" in prov.offer_file
            assert isinstance(prov.as_of, date)
            assert prov.as_of <= date.today()


def test_derived_figures_say_how_and_follow_their_rule() -> None:
    catalog = load_catalog()
    derived_seen = 0
    for region in catalog.regions("aws"):
        for price in catalog.instance_types(region):
            prov = price.provenance
            if region in ("us-east-1", "us-west-2"):
                assert not prov.derived
            if prov.derived:
                derived_seen += 1
                assert prov.rule is not None
                assert prov.rule.startswith("us-east-1 price ")
                base = catalog.instance("us-east-1", price.instance_type).hourly
                multiplier = float(prov.rule.split(" x ")[1].split(" ")[0])
                assert price.hourly == pytest.approx(base * multiplier)
            else:
                assert prov.rule is None
    # m7i and c7i outside the US, t4g in Paris
    assert derived_seen == 4 * 8 + 7


def test_published_figures_match_the_aws_tables() -> None:
    catalog = load_catalog()
    assert catalog.instance("us-east-1", "t3.micro").hourly == 0.0104
    assert catalog.instance("us-east-1", "m6i.large").hourly == 0.096
    assert catalog.instance("us-east-1", "c7i.xlarge").hourly == 0.1785
    assert catalog.instance("eu-central-1", "t3.medium").hourly == 0.048
    assert catalog.instance("eu-west-1", "r6i.2xlarge").hourly == 0.564
    assert catalog.unit("us-east-1", PriceKey.EBS_GP3_GB_MONTH).price == 0.08
    assert catalog.unit("eu-west-1", PriceKey.EKS_CLUSTER_HOUR).price == 0.10
    assert catalog.unit("us-east-1", PriceKey.LAMBDA_GB_SECOND_ARM64).price == 0.0000133334


def test_instance_price_fields() -> None:
    price = load_catalog().instance("us-west-2", "r6i.xlarge")
    assert (price.vcpu, price.memory_gib, price.arch) == (4, 32.0, "x86_64")
    assert price.hourly == 0.252
    assert price.monthly == pytest.approx(0.252 * 730)
    assert HOURS_PER_MONTH == 730


def test_t4g_is_arm64_and_the_rest_x86_64() -> None:
    catalog = load_catalog()
    for region in catalog.regions("aws"):
        for price in catalog.instance_types(region):
            assert price.arch == ("arm64" if price.family == "t4g" else "x86_64")
    small = catalog.instance("ap-southeast-1", "t4g.small")
    assert (small.vcpu, small.memory_gib, small.arch) == (2, 2.0, "arm64")
    # Graviton is cheaper than the matching Intel burstable size
    for region in catalog.regions("aws"):
        for size in BURSTABLE_SIZES:
            assert (
                catalog.instance(region, f"t4g.{size}").hourly
                < catalog.instance(region, f"t3.{size}").hourly
            )


def test_us_regions_are_the_cheapest() -> None:
    catalog = load_catalog()
    for instance_type in catalog.instance_type_names("aws"):
        east = catalog.instance("us-east-1", instance_type).hourly
        assert catalog.instance("us-west-2", instance_type).hourly == east
        for region in ("eu-west-1", "eu-west-3", "eu-central-1", "ap-southeast-1"):
            assert east <= catalog.instance(region, instance_type).hourly, (region, instance_type)
        assert catalog.instance("eu-central-1", instance_type).hourly <= east * 1.25
    for key in unit_keys("aws"):
        assert catalog.unit("us-east-1", key).price <= catalog.unit("eu-central-1", key).price


def test_sizes_double_within_a_family() -> None:
    catalog = load_catalog()
    for region in catalog.regions("aws"):
        for family in FAMILIES:
            sizes = BURSTABLE_SIZES if family in ("t3", "t4g") else FIXED_SIZES
            prices = [catalog.instance(region, f"{family}.{s}").hourly for s in sizes]
            for smaller, bigger in itertools.pairwise(prices):
                assert bigger == pytest.approx(2 * smaller, rel=1e-3), (region, family)


def test_instance_types_filters_families_and_sorts_cheapest_first() -> None:
    catalog = load_catalog()
    prices = catalog.instance_types("eu-west-1", families=["c6i", "r6i"])
    assert {p.family for p in prices} == {"c6i", "r6i"}
    assert len(prices) == 8
    assert [p.hourly for p in prices] == sorted(p.hourly for p in prices)
    assert prices[0].instance_type == "c6i.large"
    assert len(catalog.instance_types("eu-west-1")) == len(expected_types())


def test_unknown_region_is_named_with_the_known_ones() -> None:
    catalog = load_catalog()
    with pytest.raises(PricingError, match="'mars-north-1'") as err:
        catalog.instance("mars-north-1", "t3.micro")
    assert "us-east-1" in str(err.value)
    assert "ap-southeast-1" in str(err.value)
    with pytest.raises(PricingError, match="'mars-north-1'"):
        catalog.unit("mars-north-1", PriceKey.ALB_HOUR)
    with pytest.raises(PricingError, match="'mars-north-1'"):
        catalog.instance_types("mars-north-1")


def test_unknown_instance_type_is_named_with_the_known_ones() -> None:
    catalog = load_catalog()
    with pytest.raises(PricingError, match=r"unknown instance type 'x9.huge'") as err:
        catalog.instance("us-east-1", "x9.huge")
    assert "t3.micro" in str(err.value)
    with pytest.raises(PricingError, match="unknown instance families g5; known families: c6i"):
        catalog.instance_types("us-east-1", families=["t3", "g5"])


def test_default_catalog_is_loaded_once() -> None:
    assert load_catalog() is load_catalog()
    assert load_catalog(PricingOverrides()) is load_catalog()


def test_overrides_from_function_input() -> None:
    overrides = PricingOverrides.model_validate(
        {
            "instanceTypes": {"m8g.large": {"vcpu": 2, "memoryGib": 8, "arch": "arm64"}},
            "instanceHourly": {
                "eu-west-3": {"m8g.large": 0.1, "t3.micro": 0.009},
            },
            "unitPrices": {"eu-west-3": {"albHour": 0.02, "ebsGp3GbMonth": 0.05}},
        }
    )
    default = load_catalog()
    catalog = load_catalog(overrides)

    m8g = catalog.instance("eu-west-3", "m8g.large")
    assert (m8g.vcpu, m8g.memory_gib, m8g.arch, m8g.hourly) == (2, 8.0, "arm64", 0.1)
    assert m8g.provenance.source == "function input (pricing.overrides)"
    assert m8g.provenance.as_of is None
    assert catalog.instance("eu-west-3", "t3.micro").hourly == 0.009
    assert catalog.unit("eu-west-3", PriceKey.ALB_HOUR).price == 0.02
    assert catalog.unit("eu-west-3", PriceKey.EBS_GP3_GB_MONTH).price == 0.05
    # only what was overridden changed
    assert catalog.instance("eu-west-3", "t3.small") == default.instance("eu-west-3", "t3.small")
    assert catalog.instance("us-east-1", "t3.micro").hourly == 0.0104
    assert catalog.unit("eu-west-1", PriceKey.ALB_HOUR).price == 0.0252
    # the shipped catalog is untouched
    assert default.instance("eu-west-3", "t3.micro").hourly == 0.0118
    # an extra type priced in one region only is not silently priced elsewhere
    with pytest.raises(PricingError, match=r"'m8g\.large' has no price in region 'us-east-1'"):
        catalog.instance("us-east-1", "m8g.large")
    assert "m8g" in catalog.families()


def test_override_for_an_unknown_type_or_region_is_an_error() -> None:
    with pytest.raises(PricingError, match=r"'z1d\.large'.*instanceTypes"):
        load_catalog(
            PricingOverrides.model_validate({"instanceHourly": {"us-east-1": {"z1d.large": 0.2}}})
        )
    with pytest.raises(PricingError, match="unknown region 'us-east-9'"):
        load_catalog(
            PricingOverrides.model_validate({"unitPrices": {"us-east-9": {"albHour": 0.02}}})
        )


def test_overrides_reject_bad_input() -> None:
    with pytest.raises(ValidationError):
        PricingOverrides.model_validate({"unitPrices": {"us-east-1": {"albHourly": 0.02}}})
    with pytest.raises(ValidationError):
        PricingOverrides.model_validate({"instanceHourly": {"us-east-1": {"t3.micro": -1}}})
    with pytest.raises(ValidationError):
        PricingOverrides.model_validate({"instanceTypes": {"t3.micro": {"vcpu": 2}}})
    with pytest.raises(ValidationError):
        PricingOverrides.model_validate({"instanceHorly": {}})


def test_broken_catalog_data_is_rejected_with_the_reason() -> None:
    from function.pricing.catalog import _build, _read_data

    data = _read_data()[0]  # catalog.yaml: AWS
    paris = data.regions["eu-west-3"]

    no_unit = paris.model_copy(
        update={"units": {k: v for k, v in paris.units.items() if k != PriceKey.NAT_GATEWAY_GB}}
    )
    broken = data.model_copy(update={"regions": {**data.regions, "eu-west-3": no_unit}})
    with pytest.raises(PricingError, match=r"eu-west-3 lacks unit prices: natGatewayGb$"):
        _build(broken)

    no_rule = paris.model_copy(update={"derivation": None})
    broken = data.model_copy(update={"regions": {**data.regions, "eu-west-3": no_rule}})
    with pytest.raises(PricingError, match=r"eu-west-3 derives t4g\.nano but has no derivation"):
        _build(broken)

    stray = paris.model_copy(update={"instances": {**paris.instances, "x1.large": 1.0}})
    broken = data.model_copy(update={"regions": {**data.regions, "eu-west-3": stray}})
    with pytest.raises(PricingError, match=r"types without a spec: \['x1\.large'\]"):
        _build(broken)


def test_gcp_secret_manager_is_priced_from_its_page() -> None:
    """$0.06 per active secret version a month (automatic replication billed as one
    location), $0.03 per 10,000 access operations (https://cloud.google.com/secret-manager/
    pricing); its Cloud Billing service id is not named, so no offer file."""
    catalog = load_catalog()
    for region in catalog.regions("gcp"):
        unit = catalog.unit(region, PriceKey.SECRET_MANAGER_VERSION_MONTH)
        assert unit.price == 0.06
        assert unit.provenance.source == "https://cloud.google.com/secret-manager/pricing"
        assert unit.provenance.offer_file is None and unit.provenance.as_of is not None
    d = Decision(
        strategy=Strategy.SERVERLESS,
        reason="r",
        confidence=0.5,
        serverless=ServerlessParams(memory_mb=512, timeout_seconds=30),
    )
    got = estimate(d, "europe-west1", catalog, secrets=5)
    items = {i.resource: i.monthly for i in got.breakdown}
    assert items["secret-manager-versions"] == 0.3
    assert items["secret-manager-access"] == 0.0  # 500 accesses: 0.0015 USD


def test_gcp_load_balancer_items_name_the_load_balancer_composed() -> None:
    """A vm is behind a global external Application Load Balancer, a GKE Service behind a
    passthrough Network Load Balancer (render/gcp/kubernetes.py `cloud.google.com/l4-rbs`)."""
    catalog = load_catalog()
    vm = Decision(
        strategy=Strategy.VM,
        reason="r",
        confidence=0.5,
        vm=VmParams(instance_type="e2-small", min_size=1, max_size=2, desired_capacity=1),
    )
    gke = Decision(
        strategy=Strategy.KUBERNETES,
        reason="r",
        confidence=0.5,
        kubernetes=KubernetesParams(
            node_instance_type="e2-standard-2", min_nodes=1, max_nodes=2, desired_nodes=1
        ),
    )
    for d, what in ((vm, "Application Load Balancer"), (gke, "passthrough Network Load")):
        rows = {i.resource: i.description for i in estimate(d, "europe-west1", catalog).breakdown}
        assert what in rows["lb-forwarding-rule"], rows["lb-forwarding-rule"]
