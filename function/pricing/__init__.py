"""AWS price catalog and monthly cost estimates of deployment decisions."""

from function.pricing.catalog import (
    HOURS_PER_MONTH,
    InstancePrice,
    InstanceSpec,
    PriceCatalog,
    PriceKey,
    PricingError,
    PricingOverrides,
    Provenance,
    UnitPrice,
    load_catalog,
)
from function.pricing.estimate import CostEstimate, CostItem, UsageAssumptions, estimate

__all__ = [
    "HOURS_PER_MONTH",
    "CostEstimate",
    "CostItem",
    "InstancePrice",
    "InstanceSpec",
    "PriceCatalog",
    "PriceKey",
    "PricingError",
    "PricingOverrides",
    "Provenance",
    "UnitPrice",
    "UsageAssumptions",
    "estimate",
    "load_catalog",
]
