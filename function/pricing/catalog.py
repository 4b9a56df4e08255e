"""The price catalog of every cloud: shipped data plus overrides from the function input.

One data file per cloud (`catalog.yaml`: AWS, `catalog-<cloud>.yaml`: the others), each with
its sources, as-of date, base region and derivations. Region names and instance type names
differ between clouds (us-east-1 / us-central1 / eastus; t3.medium / e2-medium /
Standard_B2s), so one catalog keyed by region serves all: `cloud_of(region)` says which
cloud's unit prices (PriceKey) a region has, and estimate.py prices a decision accordingly.

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
# t3.medium (AWS), e2-standard-2 (GCP), Standard_B2s (Azure)
InstanceTypeName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)]


def family_of(instance_type: str) -> str:
    """t3.medium -> t3, e2-standard-2 -> e2, Standard_B2s -> Standard_B2s's series (B)."""
    if "." in instance_type:
        return instance_type.split(".", 1)[0]
    if instance_type.startswith("Standard_"):
        rest = instance_type.removeprefix("Standard_")
        return "Standard_" + "".join(c for c in rest.split("_", 1)[0] if c.isalpha())[:2]
    return instance_type.split("-", 1)[0]


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
    # GCP
    PD_BALANCED_GB_MONTH = "pdBalancedGbMonth"
    GKE_CLUSTER_HOUR = "gkeClusterHour"
    LB_FORWARDING_RULE_HOUR = "lbForwardingRuleHour"
    LB_DATA_GB = "lbDataGb"
    CLOUD_NAT_VM_HOUR = "cloudNatVmHour"
    CLOUD_NAT_GB = "cloudNatGb"
    CLOUD_RUN_REQUESTS_PER_MILLION = "cloudRunRequestsPerMillion"
    CLOUD_RUN_VCPU_SECOND = "cloudRunVcpuSecond"
    CLOUD_RUN_GIB_SECOND = "cloudRunGibSecond"
    ARTIFACT_REGISTRY_GB_MONTH = "artifactRegistryGbMonth"
    # AWS, images built from the repository
    CODEBUILD_SMALL_MINUTE_X86_64 = "codebuildSmallMinuteX86_64"
    CODEBUILD_SMALL_MINUTE_ARM64 = "codebuildSmallMinuteArm64"
    ECR_STORAGE_GB_MONTH = "ecrStorageGbMonth"
    # Azure
    STANDARD_SSD_GB_MONTH = "standardSsdGbMonth"
    AZURE_LB_HOUR = "azureLbHour"
    AZURE_LB_DATA_GB = "azureLbDataGb"
    PUBLIC_IP_HOUR = "publicIpHour"
    AKS_STANDARD_CLUSTER_HOUR = "aksStandardClusterHour"
    CONTAINER_APPS_VCPU_SECOND = "containerAppsVcpuSecond"
    CONTAINER_APPS_GIB_SECOND = "containerAppsGibSecond"
    CONTAINER_APPS_REQUESTS_PER_MILLION = "containerAppsRequestsPerMillion"
    LOG_ANALYTICS_GB = "logAnalyticsGb"
    ACR_BASIC_DAY = "acrBasicDay"
    # Application Gateway v2 (Standard_v2): require-https on the vm (render/azure/gateway.py)
    APP_GATEWAY_V2_HOUR = "appGatewayV2Hour"
    APP_GATEWAY_V2_CAPACITY_UNIT_HOUR = "appGatewayV2CapacityUnitHour"
    # The app's secrets (spec.envFrom, bound stores): each cloud's secret store
    SECRETS_MANAGER_SECRET_MONTH = "secretsManagerSecretMonth"  # noqa: S105 (a price key)
    SECRETS_MANAGER_API_PER_10K = "secretsManagerApiPer10k"
    SECRET_MANAGER_VERSION_MONTH = "secretManagerVersionMonth"  # noqa: S105 (a price key)
    SECRET_MANAGER_ACCESS_PER_10K = "secretManagerAccessPer10k"  # noqa: S105 (a price key)
    KEY_VAULT_OPERATIONS_PER_10K = "keyVaultOperationsPer10k"
    # AWS, the kubernetes Service's Network Load Balancer, and every strategy's logs
    NLB_HOUR = "nlbHour"
    NLB_LCU_HOUR = "nlbLcuHour"
    CLOUDWATCH_LOGS_INGESTED_GB = "cloudwatchLogsIngestedGb"
    CLOUDWATCH_LOGS_STORED_GB_MONTH = "cloudwatchLogsStoredGbMonth"


# PriceKey -> (cloud, service in the cloud's data file `services`, billing unit)
_UNIT_OF: dict[PriceKey, tuple[str, str, str]] = {
    PriceKey.EBS_GP3_GB_MONTH: ("aws", "ebs", "GB-month"),
    PriceKey.EKS_CLUSTER_HOUR: ("aws", "eks", "cluster-hour"),
    PriceKey.ALB_HOUR: ("aws", "elb", "ALB-hour"),
    PriceKey.ALB_LCU_HOUR: ("aws", "elb", "LCU-hour"),
    PriceKey.NAT_GATEWAY_HOUR: ("aws", "natGateway", "gateway-hour"),
    PriceKey.NAT_GATEWAY_GB: ("aws", "natGateway", "GB processed"),
    PriceKey.LAMBDA_REQUESTS_PER_MILLION: ("aws", "lambda", "1M requests"),
    PriceKey.LAMBDA_GB_SECOND_X86_64: ("aws", "lambda", "GB-second"),
    PriceKey.LAMBDA_GB_SECOND_ARM64: ("aws", "lambda", "GB-second"),
    PriceKey.CODEBUILD_SMALL_MINUTE_X86_64: ("aws", "codebuild", "build-minute"),
    PriceKey.CODEBUILD_SMALL_MINUTE_ARM64: ("aws", "codebuild", "build-minute"),
    PriceKey.ECR_STORAGE_GB_MONTH: ("aws", "ecr", "GB-month"),
    PriceKey.NLB_HOUR: ("aws", "elb", "NLB-hour"),
    PriceKey.NLB_LCU_HOUR: ("aws", "elb", "NLCU-hour"),
    PriceKey.CLOUDWATCH_LOGS_INGESTED_GB: ("aws", "cloudwatchLogs", "GB ingested"),
    PriceKey.CLOUDWATCH_LOGS_STORED_GB_MONTH: ("aws", "cloudwatchLogs", "GB-month"),
    PriceKey.PD_BALANCED_GB_MONTH: ("gcp", "persistentDisk", "GiB-month"),
    PriceKey.GKE_CLUSTER_HOUR: ("gcp", "gke", "cluster-hour"),
    PriceKey.LB_FORWARDING_RULE_HOUR: ("gcp", "loadBalancing", "forwarding-rule-hour"),
    PriceKey.LB_DATA_GB: ("gcp", "loadBalancing", "GiB processed"),
    PriceKey.CLOUD_NAT_VM_HOUR: ("gcp", "cloudNat", "VM-hour"),
    PriceKey.CLOUD_NAT_GB: ("gcp", "cloudNat", "GiB processed"),
    PriceKey.CLOUD_RUN_REQUESTS_PER_MILLION: ("gcp", "cloudRun", "1M requests"),
    PriceKey.CLOUD_RUN_VCPU_SECOND: ("gcp", "cloudRun", "vCPU-second"),
    PriceKey.CLOUD_RUN_GIB_SECOND: ("gcp", "cloudRun", "GiB-second"),
    PriceKey.ARTIFACT_REGISTRY_GB_MONTH: ("gcp", "artifactRegistry", "GiB-month"),
    PriceKey.STANDARD_SSD_GB_MONTH: ("azure", "managedDisks", "GiB-month"),
    PriceKey.AZURE_LB_HOUR: ("azure", "loadBalancer", "load-balancer-hour"),
    PriceKey.AZURE_LB_DATA_GB: ("azure", "loadBalancer", "GB processed"),
    PriceKey.PUBLIC_IP_HOUR: ("azure", "publicIp", "IP-hour"),
    PriceKey.AKS_STANDARD_CLUSTER_HOUR: ("azure", "aks", "cluster-hour"),
    PriceKey.CONTAINER_APPS_VCPU_SECOND: ("azure", "containerApps", "vCPU-second"),
    PriceKey.CONTAINER_APPS_GIB_SECOND: ("azure", "containerApps", "GiB-second"),
    PriceKey.CONTAINER_APPS_REQUESTS_PER_MILLION: ("azure", "containerApps", "1M requests"),
    PriceKey.LOG_ANALYTICS_GB: ("azure", "logAnalytics", "GB ingested"),
    PriceKey.ACR_BASIC_DAY: ("azure", "containerRegistry", "registry-day"),
    PriceKey.APP_GATEWAY_V2_HOUR: ("azure", "applicationGateway", "gateway-hour"),
    PriceKey.APP_GATEWAY_V2_CAPACITY_UNIT_HOUR: (
        "azure",
        "applicationGateway",
        "capacity-unit-hour",
    ),
    PriceKey.SECRETS_MANAGER_SECRET_MONTH: ("aws", "secretsManager", "secret-month"),
    PriceKey.SECRETS_MANAGER_API_PER_10K: ("aws", "secretsManager", "10K API calls"),
    PriceKey.SECRET_MANAGER_VERSION_MONTH: ("gcp", "secretManager", "active version-month"),
    PriceKey.SECRET_MANAGER_ACCESS_PER_10K: ("gcp", "secretManager", "10K access operations"),
    PriceKey.KEY_VAULT_OPERATIONS_PER_10K: ("azure", "keyVault", "10K operations"),
}


def unit_keys(cloud: str) -> set[PriceKey]:
    """The unit prices every region of `cloud` must have."""
    return {k for k, (c, _, _) in _UNIT_OF.items() if c == cloud}


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

    source: str  # the cloud's pricing page, or OVERRIDE_SOURCE
    offer_file: str | None  # the region's machine-readable price list; None for overrides
    # and for a service whose price list is not named in the catalog (its page is)
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
        return family_of(self.instance_type)

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
    as_of: date  # AWS's data file
    instance_specs: dict[str, InstanceSpec]
    by_region: dict[str, RegionPrices]
    # region -> cloud; a region missing here is AWS's (catalogs built before other clouds)
    cloud_of_region: dict[str, str] = Field(default_factory=dict)
    as_of_by_cloud: dict[str, date] = Field(default_factory=dict)

    def cloud_of(self, region: str) -> str:
        """The cloud whose region this is; PricingError for a region no cloud prices."""
        self._region(region)
        return self.cloud_of_region.get(region, "aws")

    def regions(self, cloud: str | None = None) -> list[str]:
        """Priced regions, of one cloud or of all."""
        return sorted(r for r in self.by_region if cloud is None or self.cloud_of(r) == cloud)

    def instance_type_names(self, cloud: str | None = None) -> list[str]:
        """Instance types with a spec, of one cloud (priced in one of its regions) or all."""
        if cloud is None:
            return sorted(self.instance_specs)
        return sorted({t for r in self.regions(cloud) for t in self.by_region[r].instances})

    def families(self, cloud: str | None = None) -> list[str]:
        return sorted({family_of(name) for name in self.instance_type_names(cloud)})

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
            known = self.families(self.cloud_of(region))  # the region's cloud's families
            unknown = sorted(set(families) - set(known))
            if unknown:
                raise PricingError(
                    f"unknown instance families {', '.join(unknown)}; "
                    f"known families: {', '.join(known)}"
                )
        chosen = [p for p in prices.instances.values() if families is None or p.family in families]
        return sorted(chosen, key=lambda p: (p.hourly, p.instance_type))

    def unit(self, region: str, key: PriceKey) -> UnitPrice:
        found = self._region(region).units.get(key)
        if found is None:
            raise PricingError(
                f"region {region!r} ({self.cloud_of(region)}) has no {key.value} price"
            )
        return found

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
    # None: the service's machine-readable price list is not named here (its id in the
    # cloud's billing catalog was not known when the figures were transcribed from `page`).
    offer_file: str | None = Field(default=None, pattern=r"^https://.*\{region\}")


class _Derivation(_Camel):
    multiplier: float = Field(gt=0)
    basis: str = Field(min_length=1)


class _RegionData(_Camel):
    derivation: _Derivation | None = None
    derived_families: list[str] = Field(default_factory=list)
    instances: dict[str, NonNegativePrice]
    units: dict[PriceKey, NonNegativePrice | Literal["derived"]]


class _CatalogData(_Camel):
    cloud: Literal["aws", "gcp", "azure"] = "aws"
    currency: Literal["USD"]
    as_of: date
    base_region: str
    services: dict[str, _ServiceSource]
    instance_types: dict[InstanceTypeName, InstanceSpec]
    regions: dict[str, _RegionData]


# The service whose page and price list give a cloud's instance-hour prices.
_COMPUTE_SERVICE = {"aws": "ec2", "gcp": "computeEngine", "azure": "virtualMachines"}


def _data_files() -> list[str]:
    """catalog.yaml (AWS) first, then catalog-<cloud>.yaml of every other cloud shipped."""
    root = resources.files(__package__ or "function.pricing")
    others = sorted(
        f.name for f in root.iterdir() if f.name.startswith("catalog-") and f.name.endswith(".yaml")
    )
    return ["catalog.yaml", *others]


def _read_data() -> list[_CatalogData]:
    root = resources.files(__package__ or "function.pricing")
    out = []
    for name in _data_files():
        raw = yaml.safe_load(root.joinpath(name).read_text(encoding="utf-8"))
        try:
            out.append(_CatalogData.model_validate(raw))
        except ValidationError as e:
            raise PricingError(f"{name} is invalid: {e}") from e
    return out


def _build(files: _CatalogData | list[_CatalogData]) -> PriceCatalog:
    datas = files if isinstance(files, list) else [files]
    specs: dict[str, InstanceSpec] = {}
    by_region: dict[str, RegionPrices] = {}
    cloud_of: dict[str, str] = {}
    as_of: dict[str, date] = {}
    for data in datas:
        what = f"the {data.cloud} catalog"
        if data.cloud in as_of:
            raise PricingError(f"{what} is given twice")
        base = data.regions.get(data.base_region)
        if base is None or base.derivation is not None:
            raise PricingError(f"{what}: base region {data.base_region!r} must be published")
        keys = unit_keys(data.cloud)
        needed = {_UNIT_OF[k][1] for k in keys} | {_COMPUTE_SERVICE[data.cloud]}
        if needed - set(data.services):
            raise PricingError(f"{what}: services missing: {sorted(needed - set(data.services))}")
        clash = sorted(set(specs) & set(data.instance_types))
        if clash or set(by_region) & set(data.regions):
            raise PricingError(
                f"{what}: instance types or regions another cloud has: "
                f"{clash or sorted(set(by_region) & set(data.regions))}"
            )
        specs.update(data.instance_types)
        as_of[data.cloud] = data.as_of
        for name, region in data.regions.items():
            by_region[name] = _build_region(name, region, base, data)
            cloud_of[name] = data.cloud
    if "aws" not in as_of:
        raise PricingError("the aws catalog (catalog.yaml) is missing")
    return PriceCatalog(
        currency="USD",
        as_of=as_of["aws"],
        instance_specs=specs,
        by_region=by_region,
        cloud_of_region=cloud_of,
        as_of_by_cloud=as_of,
    )


def _build_region(
    name: str, region: _RegionData, base: _RegionData, data: _CatalogData
) -> RegionPrices:
    def published(service: str) -> Provenance:
        src = data.services[service]
        offer = src.offer_file.format(region=name) if src.offer_file else None
        return Provenance(source=src.page, offer_file=offer, as_of=data.as_of)

    def derived(service: str, base_value: object, what: str) -> tuple[float, Provenance]:
        if region.derivation is None:
            raise PricingError(f"{data.cloud} catalog: {name} derives {what} but has no derivation")
        if not isinstance(base_value, float | int):
            raise PricingError(
                f"{data.cloud} catalog: {what} has no published {data.base_region} price"
            )
        d = region.derivation
        rule = f"{data.base_region} price {base_value:g} x {d.multiplier:g} ({d.basis})"
        value = round(base_value * d.multiplier, 10)
        return value, published(service).model_copy(update={"derived": True, "rule": rule})

    what = f"the {data.cloud} catalog"
    compute = _COMPUTE_SERVICE[data.cloud]
    unknown = sorted(set(region.instances) - set(data.instance_types))
    if unknown:
        raise PricingError(f"{what}: {name} prices types without a spec: {unknown}")
    instances: dict[str, InstancePrice] = {}
    for type_name, spec in data.instance_types.items():
        if family_of(type_name) in region.derived_families:
            hourly, prov = derived(compute, base.instances.get(type_name), type_name)
        elif type_name in region.instances:
            hourly, prov = region.instances[type_name], published(compute)
        else:
            continue  # not priced in this region; lookups say so
        instances[type_name] = _instance_price(name, type_name, spec, hourly, prov)

    keys = unit_keys(data.cloud)
    missing = sorted(k.value for k in keys - set(region.units))
    if missing:
        raise PricingError(f"{what}: {name} lacks unit prices: {', '.join(missing)}")
    foreign = sorted(k.value for k in set(region.units) - keys)
    if foreign:
        raise PricingError(f"{what}: {name} has other clouds' unit prices: {', '.join(foreign)}")
    units: dict[PriceKey, UnitPrice] = {}
    for key, value in region.units.items():
        _, service, unit = _UNIT_OF[key]
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
            if key not in unit_keys(catalog.cloud_of(name)):
                raise PricingError(
                    f"pricing override {key.value} in {name}: not a price of "
                    f"{catalog.cloud_of(name)}; its keys: "
                    f"{', '.join(sorted(k.value for k in unit_keys(catalog.cloud_of(name))))}"
                )
            units[key] = UnitPrice(
                region=name, key=key, unit=_UNIT_OF[key][2], price=price, provenance=_OVERRIDDEN
            )
        by_region[name] = RegionPrices(instances=instances, units=units)
    return PriceCatalog(
        currency=catalog.currency,
        as_of=catalog.as_of,
        instance_specs=specs,
        by_region=by_region,
        cloud_of_region=dict(catalog.cloud_of_region),
        as_of_by_cloud=dict(catalog.as_of_by_cloud),
    )
