"""Monthly cost of composed data stores, itemised: RDS and ElastiCache (datastores.yaml),
Cloud SQL and Memorystore (datastores-gcp.yaml).

Figures and their sources: datastores.yaml (published for the base region; other regions
derived from the EC2 catalog's ratio, and marked so in the line item's description).
"""

from __future__ import annotations

import functools
import re
from datetime import date
from importlib import resources
from typing import ClassVar, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from function.model import DataStoreParams
from function.pricing.catalog import HOURS_PER_MONTH, PriceCatalog, PricingError


class _Source(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid")
    page: str = Field(pattern=r"^https://")
    offer_file: str


class _StorePriceTable(BaseModel):
    """What every store price table has: its date and sources, the region its prices are
    published for, the regions priced the same, and the instance type whose price ratio
    derives the other regions' prices."""

    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", frozen=True)
    compute: ClassVar[str]  # the cloud's name for its instances, for the derived-price note

    as_of: date
    base_region: str
    same_as_base: list[str]
    ratio_of: str
    services: dict[str, _Source]

    def factor(self, region: str, catalog: PriceCatalog) -> tuple[float, str | None]:
        """The table's factor for `region`, and how it was derived (None: the table's own
        prices): 1 in the base region and the regions priced like it, else the ratio of
        `ratio_of`'s hourly price there to the base region's."""
        if region == self.base_region or region in self.same_as_base:
            return 1.0, None
        base = catalog.instance(self.base_region, self.ratio_of).hourly
        factor = catalog.instance(region, self.ratio_of).hourly / base
        return factor, (
            f"derived: {self.base_region} x {factor:.4g} ({self.compute} {self.ratio_of} ratio)"
        )


_Table = TypeVar("_Table", bound=_StorePriceTable)


def _load(name: str, model: type[_Table]) -> _Table:
    """The price table `name` (a YAML file beside this module), validated."""
    text = resources.files("function.pricing").joinpath(name).read_text()
    return model.model_validate(yaml.safe_load(text))


class DataStorePrices(_StorePriceTable):
    compute = "EC2"

    hourly: dict[str, dict[str, float]]
    rds_gp3_gb_month: float
    nat_gateway_hourly: float
    nat_gateway_gb: float
    public_ipv4_hourly: float


@functools.cache
def prices() -> DataStorePrices:
    return _load("datastores.yaml", DataStorePrices)


def store_items(
    store: DataStoreParams, region: str, catalog: PriceCatalog
) -> list[tuple[str, str, str, float, float]]:
    """(resource, description, unit, quantity, unit price) lines for one composed store.

    Raises PricingError for a class or node type without a price. On GCP: gcp_store_items;
    on Azure: azure_store_items.
    """
    if catalog.cloud_of(region) == "gcp":
        return gcp_store_items(store, region, catalog)
    if catalog.cloud_of(region) == "azure":
        return azure_store_items(store, region, catalog)
    p = prices()
    table = p.hourly.get(store.kind, {})
    if store.size not in table:
        raise PricingError(
            f"no price for {store.kind} {store.size!r}; priced: {', '.join(sorted(table))}"
        )
    factor, derived = p.factor(region, catalog)
    note = f"; {derived}" if derived else ""
    hourly = round(table[store.size] * factor, 6)
    copies = 2 if store.multi_az else 1
    if store.kind == "redis":
        what = f"{copies} x {store.size} ElastiCache Redis node{'s' if copies > 1 else ''}"
        return [
            (
                "redis",
                f"{what}, on-demand, {HOURS_PER_MONTH} h/month{note}",
                "node-hour",
                copies * HOURS_PER_MONTH,
                hourly,
            )
        ]
    engine = "PostgreSQL" if store.kind == "postgres" else "MySQL"
    az = "Multi-AZ (one standby)" if store.multi_az else "Single-AZ"
    storage = store.storage_gb or 20
    gb = round(p.rds_gp3_gb_month * factor, 6)
    return [
        (
            f"rds-{store.kind}",
            f"RDS {engine} {store.size}, {az}, on-demand, {HOURS_PER_MONTH} h/month{note}",
            "instance-hour",
            copies * HOURS_PER_MONTH,
            hourly,
        ),
        (
            f"rds-{store.kind}-storage",
            f"{storage} GB gp3 x {copies} (RDS storage; backups up to this size free){note}",
            "GB-month",
            float(storage * copies),
            gb,
        ),
    ]


def nat_items(region: str, catalog: PriceCatalog) -> list[tuple[str, str, str, float, float]]:
    """The NAT gateway a serverless function with composed stores goes out through
    (render/aws/lambda_vpc.py): gateway-hours and its public IPv4 address-hours."""
    p = prices()
    factor, derived = p.factor(region, catalog)
    note = f"; {derived}" if derived else ""
    return [
        (
            "nat-gateway",
            f"NAT gateway of the function's private subnets, {HOURS_PER_MONTH} h/month "
            f"(data processing ${p.nat_gateway_gb}/GB not included){note}",
            "gateway-hour",
            float(HOURS_PER_MONTH),
            round(p.nat_gateway_hourly * factor, 6),
        ),
        (
            "nat-gateway-ip",
            f"the NAT gateway's public IPv4 address, {HOURS_PER_MONTH} h/month (the same "
            "price in every region)",
            "address-hour",
            float(HOURS_PER_MONTH),
            p.public_ipv4_hourly,
        ),
    ]


class _GcpStorePrices(_StorePriceTable):
    compute = "Compute Engine"

    shared_core_hourly: dict[str, float]
    vcpu_hourly: float
    memory_gib_hourly: float
    ssd_gb_month: float
    redis_gb_hourly: dict[Literal["basic", "standard"], float]


@functools.cache
def gcp_prices() -> _GcpStorePrices:
    return _load("datastores-gcp.yaml", _GcpStorePrices)


_CUSTOM_TIER = re.compile(r"^db-custom-(\d{1,2})-(\d{3,6})$")
_MEMORYSTORE_SIZE = re.compile(r"^M1-([1-4])GB$")


def cloud_sql_tier_hourly(tier: str) -> float | None:
    """A Cloud SQL tier's zonal hourly price in the base region (None: not priced):
    shared-core from the table, db-custom-<vCPUs>-<MiB> from the vCPU and memory rates."""
    p = gcp_prices()
    if tier in p.shared_core_hourly:
        return p.shared_core_hourly[tier]
    m = _CUSTOM_TIER.match(tier)
    if m is None:
        return None
    return int(m.group(1)) * p.vcpu_hourly + int(m.group(2)) / 1024 * p.memory_gib_hourly


def memorystore_gb(size: str) -> int | None:
    """`M1-<n>GB` -> n (the instance's memorySizeGb), None for another size."""
    m = _MEMORYSTORE_SIZE.match(size)
    return int(m.group(1)) if m else None


def gcp_store_items(
    store: DataStoreParams, region: str, catalog: PriceCatalog
) -> list[tuple[str, str, str, float, float]]:
    """(resource, description, unit, quantity, unit price) lines for one composed Cloud SQL
    instance or Memorystore instance. Raises PricingError for a size without a price."""
    p = gcp_prices()
    factor, derived = p.factor(region, catalog)
    note = f"; {derived}" if derived else ""
    if store.kind == "redis":
        gb = memorystore_gb(store.size)
        if gb is None:
            raise PricingError(f"no price for redis {store.size!r}; priced: M1-1GB .. M1-4GB")
        tier: Literal["basic", "standard"] = "standard" if store.multi_az else "basic"
        what = "Standard (a replica in another zone)" if store.multi_az else "Basic"
        return [
            (
                "memorystore-redis",
                f"Memorystore for Redis {what}, {gb} GB (M1), {HOURS_PER_MONTH} h/month{note}",
                "GB-hour",
                float(gb * HOURS_PER_MONTH),
                round(p.redis_gb_hourly[tier] * factor, 6),
            )
        ]
    hourly = cloud_sql_tier_hourly(store.size)
    if hourly is None:
        raise PricingError(
            f"no price for {store.kind} {store.size!r}; priced: "
            f"{', '.join(sorted(p.shared_core_hourly))}, db-custom-<vCPUs>-<MiB>"
        )
    engine = "PostgreSQL" if store.kind == "postgres" else "MySQL"
    copies = 2 if store.multi_az else 1
    ha = "high availability (regional, x2)" if store.multi_az else "zonal"
    storage = store.storage_gb or 20
    return [
        (
            f"cloudsql-{store.kind}",
            f"Cloud SQL for {engine} {store.size}, Enterprise, {ha}, on-demand, "
            f"{HOURS_PER_MONTH} h/month{note}",
            "instance-hour",
            copies * HOURS_PER_MONTH,
            round(hourly * factor, 6),
        ),
        (
            f"cloudsql-{store.kind}-storage",
            f"{storage} GB SSD x {copies} (Cloud SQL storage; backups not included){note}",
            "GB-month",
            float(storage * copies),
            round(p.ssd_gb_month * factor, 6),
        ),
    ]


class _AzureStorePrices(_StorePriceTable):
    compute = "Virtual Machines"

    postgres_hourly: dict[str, float]
    postgres_storage_gb_month: float


@functools.cache
def azure_prices() -> _AzureStorePrices:
    return _load("datastores-azure.yaml", _AzureStorePrices)


def azure_store_items(
    store: DataStoreParams, region: str, catalog: PriceCatalog
) -> list[tuple[str, str, str, float, float]]:
    """(resource, description, unit, quantity, unit price) lines for one composed Azure
    Database for PostgreSQL flexible server (compute and storage; x2 with high
    availability). Raises PricingError for another kind or a SKU without a price."""
    p = azure_prices()
    if store.kind != "postgres" or store.size not in p.postgres_hourly:
        raise PricingError(
            f"no price for {store.kind} {store.size!r} on azure; priced: postgres "
            f"{', '.join(sorted(p.postgres_hourly))}"
        )
    factor, derived = p.factor(region, catalog)
    note = f"; {derived}" if derived else ""
    copies = 2 if store.multi_az else 1
    ha = "zone-redundant high availability (x2)" if store.multi_az else "no standby"
    storage = store.storage_gb or 32
    return [
        (
            "postgres-flexible-server",
            f"Azure Database for PostgreSQL flexible server {store.size}, {ha}, "
            f"pay-as-you-go, {HOURS_PER_MONTH} h/month{note}",
            "server-hour",
            copies * HOURS_PER_MONTH,
            round(p.postgres_hourly[store.size] * factor, 6),
        ),
        (
            "postgres-flexible-server-storage",
            f"{storage} GiB x {copies} (flexible server storage; backups up to this size "
            f"included){note}",
            "GB-month",
            float(storage * copies),
            round(p.postgres_storage_gb_month * factor, 6),
        ),
    ]
