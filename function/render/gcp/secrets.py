"""The application's configuration on GCP, by reference only, and the identity that reads it.

- spec.envFrom keys and spec.services.*.secretRef: per key, a Secret Manager `Secret`
  (automatic replication) and a `SecretVersion` whose `secretDataSecretRef` names the
  tenant's Kubernetes Secret and key: provider-upjet-gcp copies the value, no manifest
  holds it, and the function never sees it. Legacy (cluster-scoped) versions name the
  tenant's namespace explicitly (never another); namespaced ones read their own.
- The app runs as a service account of its own (`app-service-account`, cloudplatform
  `ServiceAccount`, `scia-app-<hash of the XR's uid>`; on Cloud Run always, even with no
  configuration, so it never runs as the project's default compute account), granted
  `roles/secretmanager.secretAccessor` on the project with an IAM condition that limits it
  to this deployment's secrets (`resource.name.extract("/secrets/{id}/")` starts with
  `scia-<hash>-`, the prefix every secret id here has): the CRDs in ../shared/crds have no
  per-secret IAM kind (SecretIAMMember), and the condition keeps the grant to these
  secrets (https://cloud.google.com/secret-manager/docs/access-control#conditions).
- spec.env: configuration, written in plain text in the XR by the team; on Cloud Run it is
  the container's own `env` (plain `value`), as in the Cloud Run console; on a vm it is in
  the launcher's configuration in the startup script. Secrets are never there: on Cloud
  Run they are `valueSource.secretKeyRef` references that Cloud Run resolves at each
  revision with the service's identity; on a vm the launcher
  (function/config/scia_launch.py, `gcp-secret`) reads them at each start with the
  instances' service account (the metadata server's token).

The service account's email is observed (`status.atProvider.email`): the grant and every
workload that runs as it are composed once it is known (a note says so meanwhile).
Rolling out: each secret reference names the observed version number of its
`SecretVersion` (`status.atProvider.version`; `latest` until then), so a new value (the
provider writes a new version) makes a new Cloud Run revision like a new commit.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from function.config.env import secret_entries, service_env_name
from function.render.common import RenderContext, Resources, select
from function.render.gcp.common import Observed, at_provider, labels, waiting
from function.render.gcp.datastores import SqlProxy
from function.render.names import EXTERNAL_NAME

APP_SERVICE_ACCOUNT = "app-service-account"
READ_GRANT = "app-secret-access"
ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"
GKE_CONFIG_NEEDS = (
    "on GKE the pods read the app's configuration with Workload Identity, which needs "
    "gcp.project and gcp.projectNumber in the function input; set them, or deploy on vm "
    "or serverless"
)


@dataclass(frozen=True)
class SecretRef:
    """One value the app gets from Secret Manager: variable, secret id, version to read."""

    env_name: str
    secret_id: str
    version: str
    component: str


@dataclass
class GcpConfig:
    """What carries spec.env, spec.envFrom and bound stores to the app on GCP."""

    resources: Resources = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # spec.env, plain configuration
    secrets: list[SecretRef] = field(default_factory=list)
    service_account: str | None = None  # the observed email, once known
    # Composed stores (render/gcp/datastores.py): the Cloud SQL Auth Proxies the app runs
    # beside it, Cloud Run's Direct VPC egress, and what they still wait for.
    # `identity_needed`: the app's own service account is composed (and so awaited) even
    # with no secret to read: for the stores' IAM database user, and always on Cloud Run
    # (render_gcp_config's `own_account`).
    identity_needed: bool = False
    proxies: list[SqlProxy] = field(default_factory=list)
    launch_sources: list[dict[str, Any]] = field(default_factory=list)  # Memorystore's URL
    vpc_access: dict[str, Any] | None = None
    stores_waiting: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.env and not self.secrets and not self.launch_sources

    @property
    def ready(self) -> bool:
        """Whether the workload may be composed with this configuration: nothing to read
        and no account of its own to run as, or the account is known, and its composed
        stores are reachable."""
        needs = bool(self.secrets) or self.identity_needed
        return (not needs or self.service_account is not None) and not self.stores_waiting


def _digest(text: str, n: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def secret_prefix(ctx: RenderContext) -> str:
    """`scia-<12 hex of the XR's uid>-`: every secret id of this deployment starts with it
    (Secret Manager ids: `[A-Za-z0-9_-]{1,255}`)."""
    return f"scia-{_digest(ctx.identity.uid, 12)}-"


def service_account_id(ctx: RenderContext) -> str:
    """The app's service account id: 6-30 characters, `[a-z][-a-z0-9]*[a-z0-9]`."""
    return f"scia-app-{_digest(ctx.identity.uid, 12)}"


def component_for(env_name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", env_name.lower()).strip("-")[:40] or "v"
    return f"config-{slug}-{_digest(env_name, 6)}"


def access_condition(ctx: RenderContext) -> dict[str, str]:
    """The IAM condition limiting the accessor role to this deployment's secrets."""
    prefix = secret_prefix(ctx)
    return {
        "title": f"scia secrets {prefix}*"[:100],
        "description": f"secrets of {ctx.who}"[:256],
        "expression": f'resource.name.extract("/secrets/{{id}}/").startsWith("{prefix}")',
    }


def gke_principal(ctx: RenderContext, namespace: str, account: str) -> str | None:
    """The Workload Identity principal of a Kubernetes ServiceAccount of this deployment's
    GKE cluster (None without gcp.project and gcp.projectNumber)."""
    g = ctx.settings.gcp
    if not g.project or not g.project_number:
        return None
    return (
        f"principal://iam.googleapis.com/projects/{g.project_number}/locations/global/"
        f"workloadIdentityPools/{g.project}.svc.id.goog/subject/ns/{namespace}/sa/{account}"
    )


def gke_account(ctx: RenderContext) -> str:
    """The app's Kubernetes ServiceAccount on GKE: unique per deployment (`scia-app-<hash>`),
    since every cluster of a project shares the workload pool, and a principal shared by
    two deployments would read the other's secrets."""
    return f"scia-app-{_digest(ctx.identity.uid, 10)}"


def render_gcp_config(
    ctx: RenderContext,
    observed: Observed,
    principal: str | None = None,
    *,
    own_account: bool = False,
) -> GcpConfig:
    """Secret Manager copies of every referenced Secret key, the app's service account and
    its conditioned read grant; spec.env as plain configuration.

    `principal` (GKE: the app's Kubernetes ServiceAccount's Workload Identity principal,
    `gke_principal`): the grant goes to it, and no Google service account is composed
    (the pods' token is the account's own federated one, from the GKE metadata server).
    `own_account` (Cloud Run): the app's service account is composed even with nothing to
    read, so the service never runs as the project's default compute service account
    (often a project Editor); it has no role unless it reads secrets or stores."""
    spec = ctx.spec
    cfg = GcpConfig(env={v.name: v.value for v in spec.env})
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
    stores = bool(ctx.decision.data_stores)  # the stores' IAM database user
    cfg.identity_needed = stores or own_account
    if not refs and not cfg.identity_needed:
        return cfg
    lab = labels(ctx)
    prefix = secret_prefix(ctx)
    for env_name, secret, key in refs:
        component = component_for(env_name)
        secret_id = f"{prefix}{env_name}"
        body = ctx.resource(
            "secretmanager",
            "Secret",
            component,
            {"replication": {"auto": {}}, "labels": lab},
        )
        body["metadata"]["annotations"] = {EXTERNAL_NAME: secret_id}
        ref: dict[str, str] = {"name": secret, "key": key}
        if not ctx.identity.namespaced:
            ref["namespace"] = ctx.identity.tenant  # the tenant's own namespace, never another
        cfg.resources[component] = body
        cfg.resources[f"{component}-version"] = ctx.resource(
            "secretmanager",
            "SecretVersion",
            f"{component}-version",
            {"secretSelector": select(component), "secretDataSecretRef": ref, "enabled": True},
        )
        version = at_provider(observed, f"{component}-version", "version")
        cfg.secrets.append(
            SecretRef(env_name, secret_id, str(version) if version else "latest", component)
        )
    if principal is not None:
        if refs:
            cfg.resources[READ_GRANT] = _grant(ctx, principal)
        return cfg
    account = ctx.resource(
        "cloudplatform",
        "ServiceAccount",
        APP_SERVICE_ACCOUNT,
        {
            "displayName": f"scia app {ctx.identity.deployment_name}"[:100],
            "description": (
                f"identity of {ctx.who}: reads its own "
                f"{'secrets and databases' if stores else 'secrets'} only"
                if refs or stores
                else f"identity of {ctx.who}: no roles"
            )[:256],
        },
    )
    account["metadata"]["annotations"] = {EXTERNAL_NAME: service_account_id(ctx)}
    cfg.resources[APP_SERVICE_ACCOUNT] = account
    email = at_provider(observed, APP_SERVICE_ACCOUNT, "email")
    if not email:
        why = (
            "it reads its secrets and stores"
            if stores
            else "it reads its secrets"
            if refs
            else "it runs as its own service account"
        )
        waiting(ctx, f"the app ({why})", f"{APP_SERVICE_ACCOUNT}'s email")
        return cfg
    cfg.service_account = str(email)
    # A composed Redis's AUTH string is read from its Secret Manager copy (datastores.py);
    # a deployment with composed Cloud SQL only needs the identity, not the grant.
    if refs or any(s.kind == "redis" for s in ctx.decision.data_stores or []):
        cfg.resources[READ_GRANT] = _grant(ctx, f"serviceAccount:{email}")
    return cfg


def _grant(ctx: RenderContext, member: str) -> dict[str, Any]:
    """`member` may read this deployment's secrets (the accessor role, conditioned)."""
    grant: dict[str, Any] = {
        "role": ACCESSOR_ROLE,
        "member": member,
        "condition": access_condition(ctx),
    }
    if ctx.settings.gcp.project:
        grant["project"] = ctx.settings.gcp.project
    return ctx.resource("cloudplatform", "ProjectIAMMember", READ_GRANT, grant)


def launch_json(ctx: RenderContext, cfg: GcpConfig) -> str | None:
    """The launcher's configuration on a vm (function/config/scia_launch.py): spec.env's
    values (configuration) and each secret's id and version, never a secret's value. Its
    `version` hashes them, so a change is a new instance template generation (a rollout).
    None without configuration."""
    if cfg.empty:
        return None
    sources: list[dict[str, Any]] = []
    if cfg.env:
        sources.append({"from": "values", "values": dict(sorted(cfg.env.items()))})
    sources += [
        {"from": "gcp-secret", "name": s.env_name, "id": s.secret_id, "version": s.version}
        for s in cfg.secrets
    ]
    sources += cfg.launch_sources
    config: dict[str, Any] = {"region": ctx.region, "sources": sources}
    if ctx.settings.gcp.project:
        config["project"] = ctx.settings.gcp.project
    config["version"] = _digest(json.dumps(sources, sort_keys=True), 16)
    return json.dumps(config, sort_keys=True, separators=(",", ":"))


def cloud_run_launch(ctx: RenderContext, cfg: GcpConfig) -> str | None:
    """The launcher's configuration on Cloud Run (`SCIA_LAUNCH_CONFIG`): only what Cloud
    Run cannot resolve itself (a composed Redis's URL); None without it."""
    if not cfg.launch_sources:
        return None
    config: dict[str, Any] = {"region": ctx.region, "sources": cfg.launch_sources}
    if ctx.settings.gcp.project:
        config["project"] = ctx.settings.gcp.project
    config["version"] = _digest(json.dumps(cfg.launch_sources, sort_keys=True), 16)
    return json.dumps(config, sort_keys=True, separators=(",", ":"))


def cloud_run_env(cfg: GcpConfig) -> list[dict[str, Any]]:
    """Cloud Run container `env`: spec.env values, then secret references (never values)."""
    out: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in sorted(cfg.env.items())]
    out += [
        {"name": s.env_name, "valueSource": {"secretKeyRef": {"secret": s.secret_id,
                                                              "version": s.version}}}
        for s in cfg.secrets
    ]  # fmt: skip
    return out
