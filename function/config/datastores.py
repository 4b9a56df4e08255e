"""Which data stores an app gets, and how big: bound (spec.services.*.secretRef) or composed.

The analysis says which stores the app uses (postgres, mysql, redis; mongodb and others are
not composed). A store the team binds with a secretRef is theirs: nothing is composed. A
store that is not bound is composed when the platform allows it (input
`dataStores.compose`), sized by the knowledge base within the input's allowlists: the
smallest allowed class (the first of the allowlist, in order), on two zones when the team
asks for high availability. The model never sizes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from function.config.env import SERVICE_KINDS, service_env_name
from function.input import DataStoreSettings
from function.model import DataStoreParams, Strategy
from function.xr import AppSpec

# The strategies composed stores are wired for (render/dispatch.py): on AWS vm (the app's
# security group), kubernetes (the EKS cluster security group), serverless (the function in
# the VPC, render/aws/lambda_vpc.py); on GCP vm and serverless (render/gcp/datastores.py:
# GKE does not deliver the app's configuration yet); on Azure vm and serverless
# (render/azure/datastores.py: firewall rules for the scale set's and the container app's
# observed outbound addresses; an AKS cluster's outbound addresses are ids, not addresses).
STORE_STRATEGIES: tuple[Strategy, ...] = (Strategy.VM, Strategy.KUBERNETES, Strategy.SERVERLESS)
_STORE_STRATEGIES_BY_CLOUD: dict[str, tuple[Strategy, ...]] = {
    "aws": STORE_STRATEGIES,
    "gcp": (Strategy.VM, Strategy.SERVERLESS),
    "azure": (Strategy.VM, Strategy.SERVERLESS),
}
# Why a kind is not composed on a cloud that composes others (bind it by secretRef instead).
_NOT_COMPOSED: dict[tuple[str, str], str] = {
    # provider-upjet-azure v2.7.0's MySQL FlexibleServer has no autoGeneratePassword (only
    # the PostgreSQL one does) and there is no MySQL database kind (render/azure/datastores.py).
    ("azure", "mysql"): "Azure Database for MySQL is not composed on azure (the provider "
    "cannot generate its administrator password, so one would have to be written into a "
    "manifest, and it has no database kind)",
    ("azure", "redis"): "Azure Cache for Redis is not composed on azure yet",
}
# Clouds whose composed stores are built (elsewhere a store is bound by secretRef).
STORE_CLOUDS = tuple(_STORE_STRATEGIES_BY_CLOUD)


def store_strategies(cloud: str) -> tuple[Strategy, ...]:
    """The strategies composed data stores are wired for on `cloud` (none: not composed)."""
    return _STORE_STRATEGIES_BY_CLOUD.get(cloud, ())


@dataclass
class StorePlan:
    composed: list[DataStoreParams] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class DataStoreRefused(Exception):
    """A data store is needed but can be neither bound nor composed; names the field."""


def plan_stores(
    found: Sequence[str],
    spec: AppSpec,
    settings: DataStoreSettings,
    high_availability: bool,
    env_names: dict[str, str] | None = None,
    cloud: str = "aws",
) -> StorePlan:
    """The composed stores for the app (analysis `found` plus spec.services), and notes for
    the stores that are neither bound nor composed. Raises DataStoreRefused when the team
    asks for a composed store (spec.services.<kind> without secretRef) the platform does
    not allow (a kind a cloud does not compose: _NOT_COMPOSED)."""
    plan = StorePlan()
    wanted = [k for k in SERVICE_KINDS if k in found or k in spec.services]
    for kind in wanted:
        svc = spec.services.get(kind)
        if svc is not None and svc.secret_ref is not None:
            continue  # bound: the team's own store
        if cloud not in STORE_CLOUDS and svc is not None:
            raise DataStoreRefused(
                f"invalid spec.services.{kind}: data stores are composed on "
                f"{' and '.join(STORE_CLOUDS)} only so far; on {cloud} bind an existing one "
                f"with spec.services.{kind}.secretRef (a Secret key holding its URL)"
            )
        if not settings.compose:
            if svc is not None:
                where = "dataStores.compose" if cloud == "aws" else f"{cloud}.dataStores.compose"
                raise DataStoreRefused(
                    f"invalid spec.services.{kind}: the platform does not compose data stores "
                    f"(function input {where}); bind an existing one with "
                    f"spec.services.{kind}.secretRef (a Secret key holding its URL)"
                )
            plan.notes.append(
                f"the application uses {kind}: bind one with spec.services.{kind}.secretRef "
                "(the platform does not compose data stores)"
            )
            continue
        if (cloud, kind) in _NOT_COMPOSED:
            reason = (
                f"{_NOT_COMPOSED[cloud, kind]}; bind an existing one with "
                f"spec.services.{kind}.secretRef (a Secret key holding its URL)"
            )
            if svc is not None:
                raise DataStoreRefused(f"invalid spec.services.{kind}: {reason}")
            plan.notes.append(f"the application uses {kind}: {reason}")
            continue
        production = svc.production if svc is not None else True
        env_name = service_env_name(kind, svc, env_names)
        if kind == "redis":
            plan.composed.append(
                DataStoreParams(
                    kind="redis",
                    size=settings.redis.allowed_node_types[0],
                    engine_version=settings.redis.engine_version,
                    multi_az=high_availability,
                    production=production,
                    backup_retention_days=7 if production else 0,
                    env_name=env_name,
                )
            )
        else:
            rds = settings.postgres if kind == "postgres" else settings.mysql
            plan.composed.append(
                DataStoreParams(
                    kind=kind,
                    size=_sql_size(cloud, rds.allowed_instance_classes, high_availability),
                    storage_gb=rds.storage_gb,
                    # Azure's storage grows on its own, with no cap to set.
                    max_storage_gb=rds.storage_gb
                    if cloud == "azure"
                    else max(rds.max_storage_gb, rds.storage_gb),
                    engine_version=rds.engine_version,
                    multi_az=high_availability,
                    production=production,
                    backup_retention_days=rds.backup_retention_days,
                    env_name=env_name,
                )
            )
    for other in sorted(set(found) - set(SERVICE_KINDS) - {"sqlite"}):
        plan.notes.append(
            f"the application uses {other}, which the platform neither binds nor composes; "
            "pass its connection string with spec.envFrom"
        )
    return plan


def burstable(cloud: str, size: str) -> bool:
    """An Azure flexible server SKU of the Burstable tier (no high availability there)."""
    return cloud == "azure" and size.startswith("B_")


def _sql_size(cloud: str, allowed: list[str], high_availability: bool) -> str:
    """The first allowed size; with high availability on Azure the first that is not
    Burstable (a Burstable flexible server has no standby)."""
    if not high_availability or cloud != "azure":
        return allowed[0]
    for size in allowed:
        if not burstable(cloud, size):
            return size
    raise DataStoreRefused(
        "invalid azure.dataStores.postgres.allowedInstanceClasses: high availability needs a "
        "General Purpose or Memory Optimized SKU (a Burstable flexible server has no "
        f"standby), and the platform allows only {', '.join(allowed)}"
    )
