"""Composed data stores on Azure: Azure Database for PostgreSQL flexible server.

Per store (decision.data_stores, sized within the input's `azure.dataStores` allowlist):

- a flexible server (`postgres-server`, the decision's SKU, PostgreSQL `engineVersion`,
  `storageGb` growing on its own, automated backups kept `backupRetentionDays`,
  zone-redundant high availability when the team asked for it) whose administrator
  password the provider generates (`autoGeneratePassword`) into a Kubernetes Secret of the
  tenant's namespace (`administratorPasswordSecretRef`, created by the provider: upjet's
  PasswordGenerator in provider-upjet-azure's config/*/postgresql/config.go); the database
  `app` (`postgres-database`);
- a copy of that password in the deployment's Key Vault (render/azure/secrets.py, a Key
  Vault `Secret` whose `valueSecretRef` names the generated Secret): no manifest holds the
  password and the function never sees it; the launcher reads it at start with the app's
  managed identity and assembles `postgresql://scia_admin:<password>@<fqdn>:5432/app?
  sslmode=require` (`azure-db` source, function/config/scia_launch.py) from the server's
  observed FQDN;
- the network: the server has a public endpoint (provider-upjet-azure v2.7.0 has no
  private endpoint, no private DNS zone virtual network link: a private server could not be
  resolved from the deployment's network) with TLS required (the flexible server's default,
  `require_secure_transport=on`, and `sslmode=require` in the URL) and firewall rules
  (`postgres-allow-<8 hex>`) admitting only the deployment's own observed outbound
  addresses: the scale set's load balancer public IP (vm: its outbound SNAT goes through
  that frontend), the container app's `outboundIpAddresses` (serverless: shared by the
  apps of the Container Apps environment's infrastructure). Never 0.0.0.0 ("Allow Azure
  services"), which would admit every Azure customer. A rule is composed once the address
  is observed; while the source reports none, the rules already observed are kept.
- deletion: a production store's server (and the resource group holding it) have no
  Delete in their management policies: deleting the deployment leaves them, with the data
  and its backups, in Azure (the AWS stores' deletion protection and final snapshot); a
  store with `production: false` is deleted with the deployment.

The administrator is the app's only database user (as RDS's master user on AWS). Entra ID
authentication for the app's identity is not composed: provider-upjet-azure v2.7.0 has no
flexible server Active Directory administrator kind.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from function.model import DataStoreParams
from function.render.azure.base import Observed, at_provider, resource, select
from function.render.common import RenderContext, Resources, UnsupportedTarget
from function.render.names import EXTERNAL_NAME

SERVER = "postgres-server"
DATABASE_COMPONENT = "postgres-database"
PASSWORD_COPY = "postgres-admin-password"  # noqa: S105 - a component name (the vault copy)
FIREWALL_PREFIX = "postgres-allow-"
ADMIN = "scia_admin"
DATABASE = "app"
PORT = 5432
PASSWORD_KEY = "password"  # noqa: S105 - the key of the generated password in its Secret
# Management policies of a production store and its resource group: no Delete.
KEEP = ["Observe", "Create", "Update", "LateInitialize"]
# The component whose observed addresses the firewall admits, and the atProvider field.
EGRESS = {"vm": ("public-ip", "ipAddress"), "serverless": ("container-app", "outboundIpAddresses")}


@dataclass(frozen=True)
class StoreCopy:
    """The Key Vault copy of a composed store's generated password, and what the launcher
    assembles the store's URL from (`host` once observed)."""

    env_name: str
    component: str  # the Key Vault Secret's component
    vault_name: str  # its name in the vault
    secret_name: str  # the Kubernetes Secret the provider generates the password into
    key: str
    host: str | None
    user: str = ADMIN
    database: str = DATABASE
    port: int = PORT


@dataclass
class AzureStores:
    """The composed stores' resources."""

    resources: Resources = field(default_factory=dict)
    production: bool = False  # a store the deployment's deletion must leave


def _digest(text: str, n: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def password_secret(ctx: RenderContext) -> str:
    """The Kubernetes Secret the provider generates the administrator password into: per
    XR (a DNS subdomain name), in the tenant's namespace."""
    return f"scia-pg-{_digest(ctx.identity.uid, 12)}-admin"


def postgres_stores(ctx: RenderContext) -> list[DataStoreParams]:
    """The decision's composed stores; refuses a kind Azure does not compose (a pin from
    elsewhere: the decision engine never makes one)."""
    stores = ctx.decision.data_stores or []
    for store in stores:
        if store.kind != "postgres":
            raise UnsupportedTarget(
                f"spec.services.{store.kind}: only PostgreSQL is composed on azure (MySQL's "
                "administrator password cannot be generated by the provider, Azure Cache "
                f"for Redis is not composed yet); bind it with spec.services.{store.kind}."
                "secretRef"
            )
    return stores


def store_copies(ctx: RenderContext, observed: Observed) -> list[StoreCopy]:
    """The password copies render/azure/secrets.py composes, one per composed store."""
    out = []
    for store in postgres_stores(ctx):
        fqdn = at_provider(observed, SERVER).get("fqdn")
        out.append(
            StoreCopy(
                env_name=store.env_name,
                component=PASSWORD_COPY,
                vault_name=f"postgres-admin-{_digest(ctx.identity.uid, 8)}",
                secret_name=password_secret(ctx),
                key=PASSWORD_KEY,
                host=fqdn if isinstance(fqdn, str) and fqdn else None,
            )
        )
    return out


def storage_mb(store: DataStoreParams) -> int:
    """The flexible server's storageMb for the store's GiB (input-validated sizes)."""
    return (store.storage_gb or 32) * 1024


def _server(ctx: RenderContext, store: DataStoreParams) -> dict[str, Any]:
    ref: dict[str, str] = {"name": password_secret(ctx), "key": PASSWORD_KEY}
    if not ctx.identity.namespaced:
        ref["namespace"] = ctx.identity.tenant  # the tenant's own namespace, never another
    fp: dict[str, Any] = {
        "version": store.engine_version,
        "skuName": store.size,
        "storageMb": storage_mb(store),
        "autoGrowEnabled": True,
        "backupRetentionDays": max(7, store.backup_retention_days or 7),
        "geoRedundantBackupEnabled": False,
        "administratorLogin": ADMIN,
        "autoGeneratePassword": True,
        "administratorPasswordSecretRef": ref,
        "authentication": {"passwordAuthEnabled": True, "activeDirectoryAuthEnabled": False},
        "publicNetworkAccessEnabled": True,
    }
    if store.multi_az:
        fp["highAvailability"] = {"mode": "ZoneRedundant"}
    body = resource(ctx, "dbforpostgresql", "FlexibleServer", SERVER, fp)
    if store.production:
        body["spec"]["managementPolicies"] = list(KEEP)
    return body


def _public(values: list[Any]) -> list[str]:
    out: set[str] = set()
    for value in values:
        try:
            ip = ipaddress.ip_address(str(value))
        except ValueError:
            continue
        if ip.version == 4 and ip.is_global:  # never 0.0.0.0, never a private range
            out.add(str(ip))
    return sorted(out)


def _rule_address(body: dict[str, Any]) -> Any:
    return ((body.get("spec") or {}).get("forProvider") or {}).get("startIpAddress")


def _addresses(ctx: RenderContext, observed: Observed) -> list[str]:
    """The deployment's own outbound IPv4 addresses, as observed; while the source reports
    none, those of the firewall rules already observed (never fewer by accident). A rule
    for an address the source no longer reports is retired on purpose (ctx.retiring)."""
    component, path = EGRESS.get(ctx.decision.strategy.value, ("", ""))
    seen = at_provider(observed, component).get(path) if component else None
    reported = _public(seen if isinstance(seen, list) else [seen] if seen else [])
    rules = {n: _rule_address(b) for n, b in observed.items() if n.startswith(FIREWALL_PREFIX)}
    if not reported:
        return _public(list(rules.values()))
    for name, address in sorted(rules.items()):
        if address not in reported:
            ctx.retiring[name] = (
                f"the firewall rule for {address} is removed: {component} no longer reports "
                "that outbound address"
            )
    return reported


def firewall_component(address: str) -> str:
    return f"{FIREWALL_PREFIX}{_digest(address, 8)}"


def render_azure_datastores(ctx: RenderContext, observed: Observed) -> AzureStores:
    """The composed PostgreSQL servers, their database and firewall rules (render/azure/
    render.py adds the password copy and the launcher's source through secrets.py)."""
    out = AzureStores()
    stores = postgres_stores(ctx)
    if not stores:
        return out
    store = stores[0]  # one per kind, and only postgres
    out.production = store.production
    out.resources[SERVER] = _server(ctx, store)
    database = resource(
        ctx,
        "dbforpostgresql",
        "FlexibleServerDatabase",
        DATABASE_COMPONENT,
        {"serverIdSelector": select(SERVER), "charset": "UTF8", "collation": "en_US.utf8"},
    )
    database["metadata"]["annotations"] = {EXTERNAL_NAME: DATABASE}
    if store.production:
        database["spec"]["managementPolicies"] = list(KEEP)
    out.resources[DATABASE_COMPONENT] = database
    addresses = _addresses(ctx, observed)
    for address in addresses:
        name = firewall_component(address)
        out.resources[name] = resource(
            ctx,
            "dbforpostgresql",
            "FlexibleServerFirewallRule",
            name,
            {
                "serverIdSelector": select(SERVER),
                "startIpAddress": address,
                "endIpAddress": address,
            },
        )
    if not addresses:
        source = EGRESS.get(ctx.decision.strategy.value, ("the app", ""))[0]
        ctx.notes.append(
            f"the PostgreSQL server's firewall admits the app once its outbound addresses are "
            f"observed ({source}); until then nothing can connect to it"
        )
    return out
