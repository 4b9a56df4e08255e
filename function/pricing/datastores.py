"""Monthly cost of composed data stores (RDS, ElastiCache), itemised, from datastores.yaml.

Figures and their sources: datastores.yaml (published for the base region; other regions
derived from the EC2 catalog's ratio, and marked so in the line item's description).
"""

from __future__ import annotations

import functools
from datetime import date
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from function.model import DataStoreParams
from function.pricing.catalog import HOURS_PER_MONTH, PriceCatalog, PricingError


class _Source(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid")
    page: str = Field(pattern=r"^https://")
    offer_file: str


class DataStorePrices(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", frozen=True)

    as_of: date
    base_region: str
    same_as_base: list[str]
    ratio_of: str
    services: dict[str, _Source]
    hourly: dict[str, dict[str, float]]
    rds_gp3_gb_month: float
    nat_gateway_hourly: float
    nat_gateway_gb: float
    public_ipv4_hourly: float


@functools.cache
def prices() -> DataStorePrices:
    text = resources.files("function.pricing").joinpath("datastores.yaml").read_text()
    raw: dict[str, Any] = yaml.safe_load(text)
    return DataStorePrices.model_validate(raw)


def _factor(region: str, catalog: PriceCatalog) -> tuple[float, str | None]:
    p = prices()
    if region == p.base_region or region in p.same_as_base:
        return 1.0, None
    here = catalog.instance(region, p.ratio_of).hourly
    base = catalog.instance(p.base_region, p.ratio_of).hourly
    factor = here / base
    return factor, f"derived: {p.base_region} x {factor:.4g} (EC2 {p.ratio_of} ratio)"


def store_items(
    store: DataStoreParams, region: str, catalog: PriceCatalog
) -> list[tuple[str, str, str, float, float]]:
    """(resource, description, unit, quantity, unit price) lines for one composed store.

    Raises PricingError for a class or node type without a price.
    """
    p = prices()
    table = p.hourly.get(store.kind, {})
    if store.size not in table:
        raise PricingError(
            f"no price for {store.kind} {store.size!r}; priced: {', '.join(sorted(table))}"
        )
    factor, derived = _factor(region, catalog)
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
    factor, derived = _factor(region, catalog)
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
