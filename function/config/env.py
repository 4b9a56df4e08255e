"""spec.env, spec.envFrom and spec.services: the shapes, and the checks that name the field.

- `env`: name/value pairs. Configuration, not secrets: the values are in the XR in plain
  text already, and are composed into one SSM String parameter (never user data, a Lambda
  environment, status, logs or the LLM prompt). Secrets go in `envFrom`.
- `envFrom`: Kubernetes Secrets in the tenant's own namespace, by name and keys; each key
  becomes an environment variable (`prefix` + key, or `as`). Only references are composed
  (a Secrets Manager SecretVersion's `secretStringSecretRef`): the value never passes
  through the function.
- `services`: data stores by kind (postgres, mysql, redis): bind an existing one through a
  Secret holding its connection URL (`secretRef`), or, when the platform allows it, have
  one composed (no `secretRef`).

Names follow POSIX's portable environment-variable syntax ([A-Za-z_][A-Za-z0-9_]*, IEEE Std
1003.1-2017 §8.1); names the platform sets itself (PORT, the launcher's SCIA_*, AWS_*, the
Lambda runtime's _HANDLER / LAMBDA_* reserved variables, docs.aws.amazon.com/lambda/latest/dg/
configuration-envvars.html#configuration-envvars-runtime, Cloud Run's K_SERVICE, K_REVISION,
K_CONFIGURATION) are refused.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from function.errors import InputError

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_ENV = 100
MAX_ENV_NAME = 128
# SSM standard parameters hold 4 KB (docs.aws.amazon.com/systems-manager/latest/userguide/
# parameter-store-advanced-parameters.html): the JSON of every spec.env value must fit.
MAX_ENV_JSON_BYTES = 4096
RESERVED_NAMES = frozenset(
    {"PORT", "_HANDLER", "_X_AMZN_TRACE_ID", "TZ", "LANG", "PATH", "HOME"}
    # Cloud Run sets these itself and refuses a service that sets them
    # (cloud.google.com/run/docs/container-contract#env-vars).
    | {"K_SERVICE", "K_REVISION", "K_CONFIGURATION"}
)
RESERVED_PREFIXES = ("AWS_", "LAMBDA_", "SCIA_")
_K8S_NAME = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
_SECRET_KEY = r"^[-._a-zA-Z0-9]+$"  # noqa: S105 (the syntax of a Kubernetes Secret data key)

ServiceKind = Literal["postgres", "mysql", "redis"]
SERVICE_KINDS: tuple[str, ...] = ("postgres", "mysql", "redis")
DEFAULT_ENV_NAME: dict[str, str] = {
    "postgres": "DATABASE_URL",
    "mysql": "DATABASE_URL",
    "redis": "REDIS_URL",
}


class _Camel(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True
    )


class EnvVar(_Camel):
    name: str = Field(min_length=1, max_length=MAX_ENV_NAME)
    value: str = Field(default="", max_length=MAX_ENV_JSON_BYTES)

    @field_validator("value")
    @classmethod
    def _no_nul(cls, v: str) -> str:
        if "\x00" in v:
            raise ValueError("must not contain NUL characters")
        return v


class SecretKey(_Camel):
    key: str = Field(min_length=1, max_length=253, pattern=_SECRET_KEY)
    as_: str | None = Field(default=None, alias="as", min_length=1, max_length=MAX_ENV_NAME)


class SecretSource(_Camel):
    name: str = Field(min_length=1, max_length=253, pattern=_K8S_NAME)
    keys: list[SecretKey] = Field(min_length=1, max_length=MAX_ENV)


class EnvFromSource(_Camel):
    secret_ref: SecretSource
    prefix: str = Field(default="", max_length=64)


class SecretKeyRef(_Camel):
    name: str = Field(min_length=1, max_length=253, pattern=_K8S_NAME)
    key: str = Field(default="url", min_length=1, max_length=253, pattern=_SECRET_KEY)


class ServiceSpec(_Camel):
    """One data store of the app: bound (secretRef) or composed (no secretRef)."""

    secret_ref: SecretKeyRef | None = None
    env_name: str | None = Field(default=None, min_length=1, max_length=MAX_ENV_NAME)
    production: bool = Field(
        default=True,
        description="a composed store gets deletion protection and a final snapshot",
    )


def secret_entries(sources: list[EnvFromSource]) -> list[tuple[str, str, str, str]]:
    """(env name, field path, Secret name, key) of every spec.envFrom key, in order."""
    out = []
    for i, src in enumerate(sources):
        for j, k in enumerate(src.secret_ref.keys):
            name = k.as_ or f"{src.prefix}{k.key}"
            out.append((name, f"spec.envFrom[{i}].secretRef.keys[{j}]", src.secret_ref.name, k.key))
    return out


def service_env_name(
    kind: str, spec: ServiceSpec | None, found: dict[str, str] | None = None
) -> str:
    """spec.services.<kind>.envName, else the name the code reads (the analysis), else
    DATABASE_URL / REDIS_URL."""
    return (spec.env_name if spec else None) or (found or {}).get(kind) or DEFAULT_ENV_NAME[kind]


def secret_count(env_from: list[EnvFromSource], services: dict[str, ServiceSpec]) -> int:
    """How many secrets the deployment's configuration copies into the cloud's secret store
    (each spec.envFrom key and each bound store's URL): what the estimate prices."""
    bound = sum(1 for s in services.values() if s.secret_ref is not None)
    return len(secret_entries(env_from)) + bound


def config_hash(
    env: list[EnvVar], env_from: list[EnvFromSource], services: dict[str, ServiceSpec]
) -> str | None:
    """A digest of the configuration a revision renders (values of spec.env included, so a
    change of one is a new revision), or None when there is none. Only the digest is kept
    in status: never a value."""
    bound = {k: s.model_dump(mode="json", by_alias=True) for k, s in services.items()}
    if not env and not env_from and not any(s.secret_ref for s in services.values()):
        return None
    doc = {
        "env": [[v.name, v.value] for v in env],
        "envFrom": [s.model_dump(mode="json", by_alias=True) for s in env_from],
        "services": bound,
    }
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _check_name(name: str, field: str) -> None:
    if not ENV_NAME.match(name):
        raise InputError(
            field,
            f"{name[:60]!r} is not an environment variable name (letters, digits and '_', "
            "not starting with a digit)",
        )
    if len(name) > MAX_ENV_NAME:
        raise InputError(field, f"is {len(name)} characters; at most {MAX_ENV_NAME}")
    upper = name.upper()
    if upper in RESERVED_NAMES or upper.startswith(RESERVED_PREFIXES):
        raise InputError(
            field,
            f"{name!r} is reserved: the platform sets PORT, SCIA_*, AWS_*, the Lambda "
            "runtime's and Cloud Run's (K_SERVICE, K_REVISION, K_CONFIGURATION) variables itself",
        )


def check_config(
    env: list[EnvVar], env_from: list[EnvFromSource], services: dict[str, ServiceSpec]
) -> None:
    """Raise InputError naming the field: a bad or reserved name, a duplicate, too much."""
    seen: dict[str, str] = {}

    def claim(name: str, field: str) -> None:
        _check_name(name, field)
        if name in seen:
            raise InputError(field, f"{name!r} is set twice (also by {seen[name]})")
        seen[name] = field

    for i, var in enumerate(env):
        claim(var.name, f"spec.env[{i}].name")
    entries = secret_entries(env_from)
    if len(env) + len(entries) > MAX_ENV:
        raise InputError("spec.envFrom", f"at most {MAX_ENV} variables in env and envFrom together")
    for name, field, _, _ in entries:
        claim(name, field)
    for kind, svc in services.items():
        if kind not in SERVICE_KINDS:
            raise InputError(
                f"spec.services.{kind}",
                f"{kind!r} is not a data store the platform binds or composes; known: "
                f"{', '.join(SERVICE_KINDS)} (pass other connection strings with spec.envFrom)",
            )
        claim(service_env_name(kind, svc), f"spec.services.{kind}.envName")
    size = len(json.dumps({v.name: v.value for v in env}, separators=(",", ":")).encode())
    if size > MAX_ENV_JSON_BYTES:
        raise InputError(
            "spec.env", f"the values take {size} bytes; at most {MAX_ENV_JSON_BYTES} in all"
        )
