"""The AWS price catalog: shipped data (catalog.yaml) plus overrides from the function input.

Lookups never return a silent zero: an unknown region or instance type raises PricingError
naming it and listing what is known.
"""

from __future__ import annotations

import functools
from datetime import date
from enum import StrEnum
from importlib import resources
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, computed_field
from pydantic.alias_generators import to_camel

HOURS_PER_MONTH = 730
OVERRIDE_SOURCE = "function input (pricing.overrides)"

Arch = Literal["x86_64", "arm64"]
NonNegativePrice = Annotated[float, Field(ge=0)]
InstanceTypeName = Annotated[str, Field(pattern=r"^[a-z0-9-]+\.[a-z0-9-]+$", max_length=64)]


class PricingError(ValueError):
    """A price was asked for that the catalog does not have, or the catalog data is wrong."""


class PriceKey(StrEnum):
    """The non-instance unit prices, as spelled in catalog.yaml and in overrides."""

    EBS_GP3_GB_MONTH = "ebsGp3GbMonth"
    EKS_CLUSTER_HOUR = "eksClusterHour"
    ALB_HOUR = "albHour"
    ALB_LCU_HOUR = "albLcuHour"
    NAT_GATEWAY_HOUR = "natGatewayHour"
    NAT_GATEWAY_GB = "natGatewayGb"
    LAMBDA_REQUESTS_PER_MILLION = "lambdaRequestsPerMillion"
    LAMBDA_GB_SECOND_X86_64 = "lambdaGbSecondX86_64"
    LAMBDA_GB_SECOND_ARM64 = "lambdaGbSecondArm64"


# PriceKey -> (service in catalog.yaml `services`, billing unit)
_UNIT_OF: dict[PriceKey, tuple[str, str]] = {
    PriceKey.EBS_GP3_GB_MONTH: ("ebs", "GB-month"),
    PriceKey.EKS_CLUSTER_HOUR: ("eks", "cluster-hour"),
    PriceKey.ALB_HOUR: ("elb", "ALB-hour"),
    PriceKey.ALB_LCU_HOUR: ("elb", "LCU-hour"),
    PriceKey.NAT_GATEWAY_HOUR: ("natGateway", "gateway-hour"),
    PriceKey.NAT_GATEWAY_GB: ("natGateway", "GB processed"),
    PriceKey.LAMBDA_REQUESTS_PER_MILLION: ("lambda", "1M requests"),
    PriceKey.LAMBDA_GB_SECOND_X86_64: ("lambda", "GB-second"),
    PriceKey.LAMBDA_GB_SECOND_ARM64: ("lambda", "GB-second"),
}


class _Camel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="forbid",
        frozen=True,
    )


class InstanceSpec(_Camel):
    """Size and CPU architecture of an instance type."""

    vcpu: int = Field(ge=1, le=1024)
    memory_gib: float = Field(gt=0, le=32768)
    arch: Arch


class PricingOverrides(_Camel):
    """Prices given in the function input (`pricing.overrides`); they win over the catalog.

    instanceTypes: extra (or corrected) instance types, priced through instanceHourly.
    instanceHourly: region -> instance type -> USD per hour.
    unitPrices: region -> price key (see PriceKey) -> USD per unit.
    """

    instance_types: dict[InstanceTypeName, InstanceSpec] = Field(default_factory=dict)
    instance_hourly: dict[str, dict[InstanceTypeName, NonNegativePrice]] = Field(
        default_factory=dict
    )
    unit_prices: dict[str, dict[PriceKey, NonNegativePrice]] = Field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.instance_types or self.instance_hourly or self.unit_prices)


class Provenance(BaseModel):
    """Where a figure comes from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str  # the AWS pricing page, or OVERRIDE_SOURCE
    offer_file: str | None  # the region's Price List API offer file; None for overrides
    as_of: date | None  # None only for overrides
    derived: bool = False
    rule: str | None = None  # how a derived figure was computed


_OVERRIDDEN = Provenance(source=OVERRIDE_SOURCE, offer_file=None, as_of=None)


class InstancePrice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    region: str
    instance_type: str
    vcpu: int
    memory_gib: float
    arch: Arch
    hourly: float
    provenance: Provenance

    @computed_field  # type: ignore[prop-decorator]
    @property
    def family(self) -> str:
        return self.instance_type.split(".", 1)[0]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def monthly(self) -> float:
        return self.hourly * HOURS_PER_MONTH


class UnitPrice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    region: str
    key: PriceKey
    unit: str
    price: float
    provenance: Provenance


class RegionPrices(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    instances: dict[str, InstancePrice]
    units: dict[PriceKey, UnitPrice]


class PriceCatalog(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    currency: Literal["USD"]
    as_of: date
    instance_specs: dict[str, InstanceSpec]
    by_region: dict[str, RegionPrices]

    def regions(self) -> list[str]:
        return sorted(self.by_region)

    def families(self) -> list[str]:
        return sorted({name.split(".", 1)[0] for name in self.instance_specs})

    def instance(self, region: str, instance_type: str) -> InstancePrice:
        prices = self._region(region)
        found = prices.instances.get(instance_type)
        if found is not None:
            return found
        if instance_type not in self.instance_specs:
            raise PricingError(
                f"unknown instance type {instance_type!r}; known types: "
                f"{', '.join(sorted(self.instance_specs))}"
            )
        raise PricingError(
            f"instance type {instance_type!r} has no price in region {region!r}; "
            f"priced there: {', '.join(sorted(prices.instances))}"
        )

    def instance_types(self, region: str, families: list[str] | None = None) -> list[InstancePrice]:
        """Instance types priced in the region, cheapest first, optionally of some families."""
        prices = self._region(region)
        if families is not None:
            unknown = sorted(set(families) - set(self.families()))
            if unknown:
                raise PricingError(
                    f"unknown instance families {', '.join(unknown)}; "
                    f"known families: {', '.join(self.families())}"
                )
        chosen = [p for p in prices.instances.values() if families is None or p.family in families]
        return sorted(chosen, key=lambda p: (p.hourly, p.instance_type))

    def unit(self, region: str, key: PriceKey) -> UnitPrice:
        return self._region(region).units[key]

    def _region(self, region: str) -> RegionPrices:
        prices = self.by_region.get(region)
        if prices is None:
            raise PricingError(
                f"unknown region {region!r}; known regions: {', '.join(self.regions())}"
            )
        return prices


# ---- the shipped data file ------------------------------------------------------------------


class _ServiceSource(_Camel):
    page: str = Field(pattern=r"^https://")
    offer_file: str = Field(pattern=r"^https://.*\{region\}")


class _Derivation(_Camel):
    multiplier: float = Field(gt=0)
    basis: str = Field(min_length=1)


class _RegionData(_Camel):
    derivation: _Derivation | None = None
    derived_families: list[str] = Field(default_factory=list)
    instances: dict[str, NonNegativePrice]
    units: dict[PriceKey, NonNegativePrice | Literal["derived"]]


class _CatalogData(_Camel):
    currency: Literal["USD"]
    as_of: date
    base_region: str
    services: dict[str, _ServiceSource]
    instance_types: dict[InstanceTypeName, InstanceSpec]
    regions: dict[str, _RegionData]


def _read_data() -> _CatalogData:
    text = resources.files(__package__ or "function.pricing").joinpath("catalog.yaml")
    raw = yaml.safe_load(text.read_text(encoding="utf-8"))
    try:
        return _CatalogData.model_validate(raw)
    except ValidationError as e:
        raise PricingError(f"catalog.yaml is invalid: {e}") from e


def _build(data: _CatalogData) -> PriceCatalog:
    base = data.regions.get(data.base_region)
    if base is None or base.derivation is not None:
        raise PricingError(f"catalog.yaml: base region {data.base_region!r} must be published")
    needed = {service for service, _ in _UNIT_OF.values()} | {"ec2"}
    if needed - set(data.services):
        raise PricingError(f"catalog.yaml: services missing: {sorted(needed - set(data.services))}")
    return PriceCatalog(
        currency=data.currency,
        as_of=data.as_of,
        instance_specs=dict(data.instance_types),
        by_region={
            name: _build_region(name, region, base, data) for name, region in data.regions.items()
        },
    )


def _build_region(
    name: str, region: _RegionData, base: _RegionData, data: _CatalogData
) -> RegionPrices:
    def published(service: str) -> Provenance:
        src = data.services[service]
        return Provenance(
            source=src.page, offer_file=src.offer_file.format(region=name), as_of=data.as_of
        )

    def derived(service: str, base_value: object, what: str) -> tuple[float, Provenance]:
        if region.derivation is None:
            raise PricingError(f"catalog.yaml: {name} derives {what} but has no derivation")
        if not isinstance(base_value, float | int):
            raise PricingError(f"catalog.yaml: {what} has no published {data.base_region} price")
        d = region.derivation
        rule = f"{data.base_region} price {base_value:g} x {d.multiplier:g} ({d.basis})"
        value = round(base_value * d.multiplier, 10)
        return value, published(service).model_copy(update={"derived": True, "rule": rule})

    unknown = sorted(set(region.instances) - set(data.instance_types))
    if unknown:
        raise PricingError(f"catalog.yaml: {name} prices types without a spec: {unknown}")
    instances: dict[str, InstancePrice] = {}
    for type_name, spec in data.instance_types.items():
        if type_name.split(".", 1)[0] in region.derived_families:
            hourly, prov = derived("ec2", base.instances.get(type_name), type_name)
        elif type_name in region.instances:
            hourly, prov = region.instances[type_name], published("ec2")
        else:
            continue  # not priced in this region; lookups say so
        instances[type_name] = _instance_price(name, type_name, spec, hourly, prov)

    missing = sorted(k.value for k in set(PriceKey) - set(region.units))
    if missing:
        raise PricingError(f"catalog.yaml: {name} lacks unit prices: {', '.join(missing)}")
    units: dict[PriceKey, UnitPrice] = {}
    for key, value in region.units.items():
        service, unit = _UNIT_OF[key]
        if value == "derived":
            price, prov = derived(service, base.units.get(key), key.value)
        else:
            price, prov = value, published(service)
        units[key] = UnitPrice(region=name, key=key, unit=unit, price=price, provenance=prov)
    return RegionPrices(instances=instances, units=units)


def _instance_price(
    region: str, type_name: str, spec: InstanceSpec, hourly: float, provenance: Provenance
) -> InstancePrice:
    return InstancePrice(
        region=region,
        instance_type=type_name,
        vcpu=spec.vcpu,
        memory_gib=spec.memory_gib,
        arch=spec.arch,
        hourly=hourly,
        provenance=provenance,
    )


@functools.cache
def _default_catalog() -> PriceCatalog:
    return _build(_read_data())


def load_catalog(overrides: PricingOverrides | None = None) -> PriceCatalog:
    """The shipped catalog (read once per process), with the function input's overrides applied."""
    catalog = _default_catalog()
    if overrides is None or overrides.is_empty():
        return catalog
    return _apply(catalog, overrides)


def _apply(catalog: PriceCatalog, overrides: PricingOverrides) -> PriceCatalog:
    for region in [*overrides.instance_hourly, *overrides.unit_prices]:
        catalog._region(region)  # raises on an unknown region, naming the known ones
    specs = {**catalog.instance_specs, **overrides.instance_types}
    by_region: dict[str, RegionPrices] = {}
    for name, prices in catalog.by_region.items():
        instances = {
            t: _instance_price(name, t, specs[t], p.hourly, p.provenance)
            for t, p in prices.instances.items()
        }
        for type_name, hourly in overrides.instance_hourly.get(name, {}).items():
            spec = specs.get(type_name)
            if spec is None:
                raise PricingError(
                    f"pricing override for unknown instance type {type_name!r} in {name}: "
                    "declare its vcpu, memoryGib and arch under instanceTypes"
                )
            instances[type_name] = _instance_price(name, type_name, spec, hourly, _OVERRIDDEN)
        units = dict(prices.units)
        for key, price in overrides.unit_prices.get(name, {}).items():
            units[key] = UnitPrice(
                region=name, key=key, unit=_UNIT_OF[key][1], price=price, provenance=_OVERRIDDEN
            )
        by_region[name] = RegionPrices(instances=instances, units=units)
    return PriceCatalog(
        currency=catalog.currency,
        as_of=catalog.as_of,
        instance_specs=specs,
        by_region=by_region,
    )
