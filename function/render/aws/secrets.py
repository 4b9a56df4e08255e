"""The application's configuration in AWS, by reference only, and what may read it.

- spec.env: one SSM **String** parameter holding a JSON object of the values. They are
  the team's configuration, written in the XR in plain text already; secrets belong in
  spec.envFrom (README). They never go in user data, a Lambda environment, status, logs
  or the LLM prompt.
- spec.envFrom keys and spec.services.*.secretRef: per key, a Secrets Manager Secret and a
  SecretVersion whose `secretStringSecretRef` names the tenant's Kubernetes Secret: the
  provider copies the value, no manifest holds it, and the function never sees it. The
  legacy (cluster-scoped) resources name the tenant's namespace explicitly; namespaced
  ones read their own namespace. A secret is a copy of its Kubernetes Secret, so it is
  deleted without a recovery window (`recoveryWindowInDays: 0`: its name can be reused).
- The launch configuration (`launch_config`): names and ids only, for the launcher
  (function/config/scia_launch.py) that fetches the values where the app starts.
- `read_policy`: an inline role policy allowing exactly `ssm:GetParameter` on that
  parameter and `secretsmanager:GetSecretValue` on those secrets (Secrets Manager ARNs
  end in a random six-character suffix: `name-??????`), plus what composed data stores
  need (render/aws/datastores.py).

Rolling out: the configuration's `version` hashes the values of spec.env, every reference,
and the observed `versionId` of each SecretVersion (a new value in a Kubernetes Secret
makes the provider write a new version): the vm user data and the Lambda environment
carry it, so a change rolls out like a new commit (a new launch template version and an
instance refresh; a new Lambda configuration).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from function.config.env import secret_entries, service_env_name
from function.render.common import RenderContext, Resources, select
from function.render.names import EXTERNAL_NAME

Observed = dict[str, dict[str, Any]]
POLICY_NAME = "scia-app-config-read"


@dataclass(frozen=True)
class StoreSource:
    """A composed data store the launcher turns into a URL (render/aws/datastores.py)."""

    env_name: str
    kind: str  # "rds" | "redis"
    id: str
    engine: str
    database: str = ""
    statements: tuple[dict[str, Any], ...] = ()
    auth: str = ""  # redis: the Secrets Manager secret holding its AUTH token


@dataclass
class AppConfig:
    resources: Resources = field(default_factory=dict)
    sources: list[dict[str, Any]] = field(default_factory=list)
    statements: list[dict[str, Any]] = field(default_factory=list)
    version: str = ""
    region: str = ""

    @property
    def empty(self) -> bool:
        return not self.sources

    def launch_config(self) -> dict[str, Any]:
        return {"region": self.region, "version": self.version, "sources": self.sources}

    def launch_json(self) -> str:
        return json.dumps(self.launch_config(), sort_keys=True, separators=(",", ":"))


def _digest(text: str, n: int = 8) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def config_prefix(ctx: RenderContext) -> str:
    """scia/<tenant>/<deployment>-<hash of the uid>: unique per XR, readable in the console."""
    dep = re.sub(r"[^a-z0-9.-]", "-", ctx.identity.deployment_name.lower())[:63]
    return f"scia/{ctx.identity.tenant}/{dep}-{_digest(ctx.identity.uid)}"


def component_for(env_name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", env_name.lower()).strip("-")[:40] or "v"
    return f"config-{slug}-{_digest(env_name, 6)}"


def _arn(ctx: RenderContext, service: str, resource: str) -> str:
    return f"arn:aws:{service}:{ctx.region}:*:{resource}"


def secret_copy(
    ctx: RenderContext, component: str, name: str, secret: str, key: str, what: str
) -> Resources:
    """A Secrets Manager Secret `name` (composition resource `component`) and a SecretVersion
    copying key `key` of the Kubernetes Secret `secret` in the tenant's namespace: the
    provider reads the value, no manifest holds it."""
    ref: dict[str, str] = {"name": secret, "key": key}
    if not ctx.identity.namespaced:
        ref["namespace"] = ctx.identity.tenant  # the tenant's own namespace, never another
    return {
        component: ctx.resource(
            "secretsmanager",
            "Secret",
            component,
            {
                "name": name,
                "description": f"{what} of {ctx.who}: a copy of Secret {secret}, key {key}"[:2048],
                "recoveryWindowInDays": 0,
                "tags": ctx.tags,
            },
        ),
        f"{component}-version": ctx.resource(
            "secretsmanager",
            "SecretVersion",
            f"{component}-version",
            {"secretIdSelector": select(component), "secretStringSecretRef": ref},
        ),
    }


def _version_id(observed: Observed, component: str) -> str:
    at = ((observed.get(component) or {}).get("status") or {}).get("atProvider") or {}
    v = at.get("versionId") if isinstance(at, dict) else None
    return v if isinstance(v, str) else ""


def render_config(
    ctx: RenderContext, observed: Observed, stores: list[StoreSource] | None = None
) -> AppConfig:
    """What carries spec.env, spec.envFrom, bound and composed data stores to the app."""
    spec = ctx.spec
    prefix = config_prefix(ctx)
    cfg = AppConfig(region=ctx.region)
    secret_arns: list[str] = []
    hashed: list[Any] = []
    if spec.env:
        param = f"/{prefix}/env"
        values = {v.name: v.value for v in spec.env}
        body = ctx.resource(
            "ssm",
            "Parameter",
            "config-env",
            {
                "type": "String",
                "tier": "Standard",
                "insecureValue": json.dumps(values, sort_keys=True, separators=(",", ":")),
                "description": f"spec.env of {ctx.who} (configuration, not secrets)"[:1024],
                "tags": ctx.tags,
            },
        )
        body["metadata"]["annotations"] = {EXTERNAL_NAME: param}
        cfg.resources["config-env"] = body
        cfg.sources.append({"from": "ssm-json", "id": param})
        cfg.statements.append(
            {
                "Sid": "ReadEnv",
                "Effect": "Allow",
                "Action": ["ssm:GetParameter"],
                "Resource": [_arn(ctx, "ssm", f"parameter{param}")],
            }
        )
        hashed.append(values)
    refs = [(n, s, k, "spec.envFrom") for n, _, s, k in secret_entries(spec.env_from)]
    refs += [
        (
            service_env_name(kind, svc, ctx.analysis.datastore_env),
            svc.secret_ref.name,
            svc.secret_ref.key,
            f"{kind} URL",
        )
        for kind, svc in sorted(spec.services.items())
        if svc.secret_ref is not None
    ]
    for env_name, secret, key, what in refs:
        component = component_for(env_name)
        name = f"{prefix}/{env_name}"
        cfg.resources |= secret_copy(ctx, component, name, secret, key, what)
        cfg.sources.append({"from": "secret", "name": env_name, "id": name})
        secret_arns.append(_arn(ctx, "secretsmanager", f"secret:{name}-??????"))
        hashed.append([env_name, secret, key, _version_id(observed, f"{component}-version")])
    if secret_arns:
        cfg.statements.append(
            {
                "Sid": "ReadSecrets",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": secret_arns,
            }
        )
    for store in stores or []:
        source = {"from": store.kind, "name": store.env_name, "id": store.id}
        if store.kind == "rds":
            source |= {"engine": store.engine, "database": store.database}
        if store.auth:
            source["auth"] = store.auth
        cfg.sources.append(source)
        cfg.statements.extend(store.statements)
        hashed.append(source)
    cfg.version = _digest(json.dumps(hashed, sort_keys=True), 16) if cfg.sources else ""
    return cfg


def read_policy(ctx: RenderContext, component: str, role: str, cfg: AppConfig) -> Resources:
    """An inline policy on `role` (a composition resource name) reading exactly `cfg`."""
    if cfg.empty:
        return {}
    doc = {"Version": "2012-10-17", "Statement": cfg.statements}
    body = ctx.resource(
        "iam",
        "RolePolicy",
        component,
        {"policy": json.dumps(doc, sort_keys=True), "roleSelector": select(role)},
    )
    body["metadata"]["annotations"] = {EXTERNAL_NAME: POLICY_NAME}
    return {component: body}
