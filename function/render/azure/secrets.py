"""The application's configuration on Azure, by reference only, and the identity that reads it.

- spec.envFrom keys and spec.services.*.secretRef: per key, a Key Vault `Secret`
  (`config-<slug>-<hash>`) in a vault of the deployment's own (`key-vault`, RBAC
  authorization, standard SKU, 7 days' soft delete, no purge protection: the secrets are
  copies, the Kubernetes Secret is the source) whose `valueSecretRef` names the tenant's
  Kubernetes Secret and key: provider-upjet-azure copies the value, no manifest holds it,
  and the function never sees it. Legacy (cluster-scoped) secrets name the tenant's
  namespace explicitly (never another); namespaced ones read their own.
- The app runs as a user-assigned managed identity of its own (`app-identity`), granted
  `Key Vault Secrets User` on that vault only (`app-key-vault-read`, a role assignment
  whose scope is the vault's id): it reads these secrets and nothing else.
- Writing the copies needs `Key Vault Secrets Officer` (data plane) for the principal the
  provider signs in as: with `input.azure.secretsWriterObjectId` it is granted on the
  vault (`key-vault-writer`); without it the platform must hold it at a broader scope
  (docs/configuration.md, "Azure").
- spec.env: configuration, written in plain text in the XR by the team, given to the
  launcher in its configuration (`{"from": "values"}`), as on GCP.
- a composed PostgreSQL server's administrator password (render/azure/datastores.py): the
  provider generates it into a Kubernetes Secret, copied into the vault the same way; the
  launcher's `azure-db` source reads it and assembles the store's URL with the server's
  observed FQDN (the app is composed once that is known).

The launcher (function/config/scia_launch.py, `azure-secret`) reads each secret at start
with the identity: the instance metadata service on a VM scale set, AKS workload identity
(a federated token exchanged at Entra ID) on AKS, the managed identity endpoint
(`IDENTITY_ENDPOINT`) on Container Apps. Container Apps' own Key Vault references
(`secret[].keyVaultSecretId`) are not used: provider-upjet-azure takes each secret's
*name* from a Kubernetes Secret too (`nameSecretRef`), which the function would have to
write.

The vault's tenant id, its URI, the identity's ids and each secret's version are observed
(`status.atProvider`): the vault is composed once the identity's tenant is known, and the
workload once the vault's URI and the identity's client id are (a note says so meanwhile).
Rolling out: each source names the observed `version` of its secret, and the launch
configuration's `version` hashes them, so a new value (the provider writes a new secret
version) rolls out like a new commit.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from function.config.env import secret_entries, service_env_name
from function.render.azure.base import (
    Observed,
    at_provider,
    observed_id,
    resource,
    role_assignment,
    select,
)
from function.render.azure.datastores import StoreCopy, store_copies
from function.render.common import RenderContext, Resources

APP_IDENTITY = "app-identity"
VAULT = "key-vault"
READ_GRANT = "app-key-vault-read"
WRITE_GRANT = "key-vault-writer"
READER_ROLE = "Key Vault Secrets User"
WRITER_ROLE = "Key Vault Secrets Officer"
LAUNCH_ENV = "SCIA_LAUNCH_CONFIG"


@dataclass(frozen=True)
class VaultRef:
    """One value the app gets from Key Vault: variable, secret name, version to read."""

    env_name: str
    secret: str
    version: str
    component: str


@dataclass(frozen=True)
class DbRef:
    """A composed store the launcher assembles a URL for: its copy's secret and version."""

    store: StoreCopy
    version: str


@dataclass
class AzureConfig:
    """What carries spec.env, spec.envFrom and bound stores to the app on Azure."""

    resources: Resources = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # spec.env, plain configuration
    secrets: list[VaultRef] = field(default_factory=list)
    databases: list[DbRef] = field(default_factory=list)  # composed stores' URLs
    identity_id: str | None = None  # the app identity's resource id, once observed
    client_id: str | None = None  # its client id (the launcher asks tokens for it)
    vault_uri: str | None = None  # https://<name>.vault.azure.net/, once observed
    waiting: bool = False  # a stand-in while the real one's ids are not observed
    pending: bool = False  # secrets or stores to copy, before the vault can be composed

    @property
    def empty(self) -> bool:
        return not self.env and not self.secrets and not self.databases

    @property
    def ready(self) -> bool:
        """The workload may be composed with this configuration: nothing to read, or the
        identity and the vault it reads are known."""
        if self.waiting or self.pending:
            return False
        if self.empty:
            return True
        if not self.identity_id or not self.client_id:
            return False
        if any(d.store.host is None for d in self.databases):
            return False  # the URL names the server's FQDN, once observed
        return not (self.secrets or self.databases) or self.vault_uri is not None


def _digest(text: str, n: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def secret_name(env_name: str) -> str:
    """A Key Vault secret name for `env_name`: 1-127 alphanumerics and hyphens; Key Vault
    names are case-insensitive, so a hash of the exact name keeps `A_B` and `a_b` apart."""
    slug = re.sub(r"[^a-z0-9]+", "-", env_name.lower()).strip("-")[:100] or "v"
    return f"{slug}-{_digest(env_name, 8)}"


def component_for(env_name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", env_name.lower()).strip("-")[:40] or "v"
    return f"config-{slug}-{_digest(env_name, 6)}"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _refs(ctx: RenderContext) -> list[tuple[str, str, str]]:
    spec = ctx.spec
    refs = [(n, s, k) for n, _, s, k in secret_entries(spec.env_from)]
    refs += [
        (
            service_env_name(kind, svc, ctx.analysis.datastore_env),
            svc.secret_ref.name,
            svc.secret_ref.key,
        )
        for kind, svc in sorted(spec.services.items())
        if svc.secret_ref is not None
    ]
    return refs


def render_azure_config(ctx: RenderContext, observed: Observed) -> AzureConfig:
    """The app's identity, its vault with a copy of every referenced Secret key, and the
    role assignments; spec.env as plain configuration."""
    cfg = AzureConfig(env={v.name: v.value for v in ctx.spec.env})
    refs = _refs(ctx)
    copies = store_copies(ctx, observed)
    if cfg.empty and not refs and not copies:
        return cfg
    cfg.resources[APP_IDENTITY] = resource(ctx, "managedidentity", "UserAssignedIdentity",
                                           APP_IDENTITY, {})  # fmt: skip
    ident = at_provider(observed, APP_IDENTITY)
    cfg.identity_id = _text(ident.get("id"))
    cfg.client_id = _text(ident.get("clientId"))
    principal = _text(ident.get("principalId"))
    if not refs and not copies:
        _wait_note(ctx, cfg)
        return cfg
    tenant_id = _text(ident.get("tenantId"))
    if not tenant_id and VAULT not in observed:
        ctx.notes.append(
            f"the Key Vault ({VAULT}) is composed once the app identity's tenant id is "
            f"observed ({APP_IDENTITY})"
        )
        cfg.pending = True
        _wait_note(ctx, cfg)
        return cfg
    vault: dict[str, Any] = {
        "skuName": "standard",
        "rbacAuthorizationEnabled": True,
        "softDeleteRetentionDays": 7,
        "purgeProtectionEnabled": False,
        "publicNetworkAccessEnabled": True,
        "enabledForDeployment": False,
        "enabledForDiskEncryption": False,
        "enabledForTemplateDeployment": False,
    }
    kept_tenant = _text((((observed.get(VAULT) or {}).get("spec") or {}).get("forProvider") or
                         {}).get("tenantId"))  # fmt: skip
    vault["tenantId"] = tenant_id or kept_tenant
    cfg.resources[VAULT] = resource(ctx, "keyvault", "Vault", VAULT, vault)
    vault_at = at_provider(observed, VAULT)
    cfg.vault_uri = _text(vault_at.get("vaultUri"))
    vault_id = observed_id(observed, VAULT)
    writer = ctx.settings.azure.secrets_writer_object_id
    if vault_id and writer:
        cfg.resources[WRITE_GRANT] = role_assignment(
            ctx, WRITE_GRANT, vault_id, WRITER_ROLE, writer
        )
    if vault_id and principal:
        cfg.resources[READ_GRANT] = role_assignment(
            ctx, READ_GRANT, vault_id, READER_ROLE, principal
        )
    ns = None if ctx.identity.namespaced else ctx.identity.tenant
    for env_name, secret, key in refs:
        component = component_for(env_name)
        ref: dict[str, str] = {"name": secret, "key": key}
        if ns is not None:
            ref["namespace"] = ns  # the tenant's own namespace, never another
        name = secret_name(env_name)
        cfg.resources[component] = resource(
            ctx,
            "keyvault",
            "Secret",
            component,
            {
                "name": name,
                "keyVaultIdSelector": select(VAULT),
                "valueSecretRef": ref,
                "contentType": "text/plain",
            },
        )
        version = _text(at_provider(observed, component).get("version"))
        cfg.secrets.append(VaultRef(env_name, name, version or "", component))
    for copy in copies:
        ref = {"name": copy.secret_name, "key": copy.key}
        if ns is not None:
            ref["namespace"] = ns
        cfg.resources[copy.component] = resource(
            ctx,
            "keyvault",
            "Secret",
            copy.component,
            {
                "name": copy.vault_name,
                "keyVaultIdSelector": select(VAULT),
                "valueSecretRef": ref,
                "contentType": "text/plain",
            },
        )
        version = _text(at_provider(observed, copy.component).get("version"))
        cfg.databases.append(DbRef(copy, version or ""))
    if any(c.host is None for c in copies):
        ctx.notes.append(
            "the app is composed once the PostgreSQL server's FQDN is observed "
            "(postgres-server): its URL names it"
        )
    _wait_note(ctx, cfg)
    return cfg


def _wait_note(ctx: RenderContext, cfg: AzureConfig) -> None:
    if not cfg.ready:
        ctx.notes.append(
            "the app (it reads its configuration as its own identity) is composed once the "
            f"app identity's ids ({APP_IDENTITY}) and the vault's URI ({VAULT}) are observed"
        )


def for_workload(cfg: AzureConfig) -> AzureConfig:
    """What the workload is rendered with: `cfg` once ready; meanwhile a waiting stand-in
    without configuration, so a first workload waits and one that runs already keeps
    running as it was (never left out, never given a launch configuration it cannot read)."""
    return cfg if cfg.ready else AzureConfig(waiting=True)


def launch_json(ctx: RenderContext, cfg: AzureConfig) -> str | None:
    """The launcher's configuration (function/config/scia_launch.py): spec.env's values
    (configuration), the identity's client id, and each secret's vault, name and version,
    never a secret's value. Its `version` hashes them all, so a change is a new rollout.
    None without configuration."""
    if cfg.empty:
        return None
    sources: list[dict[str, Any]] = []
    if cfg.env:
        sources.append({"from": "values", "values": dict(sorted(cfg.env.items()))})
    sources += [
        {
            "from": "azure-secret",
            "name": s.env_name,
            "vault": cfg.vault_uri or "",
            "id": s.secret,
            "version": s.version,
        }
        for s in cfg.secrets
    ]
    sources += [
        {
            "from": "azure-db",
            "name": d.store.env_name,
            "engine": "postgres",
            "host": d.store.host or "",
            "port": d.store.port,
            "user": d.store.user,
            "database": d.store.database,
            "vault": cfg.vault_uri or "",
            "id": d.store.vault_name,
            "version": d.version,
        }
        for d in cfg.databases
    ]
    config: dict[str, Any] = {"region": ctx.region, "sources": sources}
    if cfg.client_id:
        config["azure"] = {"clientId": cfg.client_id}
    config["version"] = _digest(json.dumps(config, sort_keys=True), 16)
    return json.dumps(config, sort_keys=True, separators=(",", ":"))


def config_version(launch: str | None) -> str | None:
    """The launch configuration's version (None without one)."""
    return str(json.loads(launch)["version"]) if launch else None
