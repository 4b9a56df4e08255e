"""The composite resource (XR) as the pipeline sees it: a validated spec and its identity.

The XRD validates most of this at `kubectl apply`; the function checks again because
`crossplane render`, older XRD versions and hand-made requests skip the API server.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from function.clouds import Cloud, region_problem, terms
from function.config.env import EnvFromSource, EnvVar, ServiceSpec, check_config
from function.errors import InputError, check_finite, describe_validation_error
from function.guard.text import bad_char
from function.policy.refs import CloudProviderRef

MAX_PROMPT_CHARS = 4000
REDECIDE_ANNOTATION = "scia.io/redecide"
KNOWN_POLICIES = ("require-https", "enable-monitoring")
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$")
_PATH = re.compile(r"^[A-Za-z0-9._][A-Za-z0-9._/ -]{0,254}$")


class _Camel(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


class Repository(_Camel):
    url: str = Field(min_length=1, max_length=2048)
    ref: str = Field(default="main", min_length=1, max_length=255)
    path: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="the service folder of a monorepo; unset: the analysis's primary service",
    )

    @field_validator("path")
    @classmethod
    def _path_shape(cls, v: str | None) -> str | None:
        if v is None:
            return v
        clean = v.strip("/") or "."
        parts = clean.split("/")
        if not _PATH.match(clean) or any(p in ("", "..") for p in parts):
            raise ValueError("must be a relative folder of the repository (no '..')")
        return clean

    @field_validator("url")
    @classmethod
    def _url_shape(cls, v: str) -> str:
        if any(c.isspace() for c in v) or any(ord(c) < 32 for c in v):
            raise ValueError("must not contain spaces or control characters")
        if not re.match(r"^(https|http|ssh|git|file)://|^[\w.-]+@[\w.-]+:", v):
            raise ValueError("must be an https://, ssh://, git:// or git@host:path URL")
        return v

    @field_validator("ref")
    @classmethod
    def _ref_shape(cls, v: str) -> str:
        if not _REF.match(v) or ".." in v or v.endswith(".lock"):
            raise ValueError("must be a branch, tag or commit name")
        return v


class Budget(_Camel):
    max_monthly_cost: float = Field(ge=10, le=1_000_000, description="USD per month; at least $10")
    alert_threshold: float = Field(default=0.8, gt=0, le=1)
    enforcement_mode: Literal["soft", "hard"] = "soft"


class StrategyChoice(StrEnum):
    AUTO = "auto"
    VM = "vm"
    KUBERNETES = "kubernetes"
    SERVERLESS = "serverless"


class AppSpec(_Camel):
    """spec of an XAppDeployment / AppDeployment (Crossplane's own spec fields are dropped)."""

    repository: Repository
    prompt: str = Field(default="", max_length=MAX_PROMPT_CHARS)
    cloud_provider: Cloud = "aws"
    cloud_provider_ref: CloudProviderRef | None = None
    # Spelled per cloud (us-east-1, us-central1, eastus): checked below; unset, the
    # CloudProvider's defaultRegion applies, else the cloud's default.
    region: str = Field(default="us-east-1", max_length=32)
    budget: Budget | None = None
    policies: list[str] = Field(default_factory=list, max_length=16)
    strategy: StrategyChoice = StrategyChoice.AUTO
    image: str | None = Field(default=None, max_length=1024, pattern=r"^[a-z0-9.\-/:@_]+$")
    rollback_to_revision: int | None = Field(default=None, ge=1)
    env: list[EnvVar] = Field(default_factory=list, max_length=100)
    env_from: list[EnvFromSource] = Field(default_factory=list, max_length=20)
    services: dict[str, ServiceSpec] = Field(default_factory=dict, max_length=8)

    @field_validator("prompt")
    @classmethod
    def _prompt_text(cls, v: str) -> str:
        bad = bad_char(v, multiline=True)
        if bad:
            raise ValueError(bad)
        return v

    @field_validator("region")
    @classmethod
    def _region_spelling(cls, v: str, info: ValidationInfo) -> str:
        """A given region is spelled like one of the chosen cloud's."""
        cloud = info.data.get("cloud_provider")
        if not isinstance(cloud, str):  # spec.cloudProvider is refused itself
            if not re.fullmatch(r"[a-z][a-z0-9-]{1,31}", v):
                raise ValueError("a region is lowercase letters, digits and '-'")
            return v
        if problem := region_problem(cloud, v):
            raise ValueError(problem)
        return v

    @model_validator(mode="after")
    def _region_of_cloud(self) -> AppSpec:
        """Unset, the region is the cloud's default (parse_xr checks a given one's spelling)."""
        if "region" not in self.model_fields_set and self.cloud_provider != "aws":
            self.region = terms(self.cloud_provider).default_region
        return self

    @field_validator("policies")
    @classmethod
    def _policies(cls, v: list[str]) -> list[str]:
        for p in v:
            if p not in KNOWN_POLICIES:
                raise ValueError(f"unknown policy {p!r}; known: {', '.join(KNOWN_POLICIES)}")
        return sorted(set(v))


# Fields Crossplane itself puts in the spec of an XR (v1 and v2) or a claim (a real API
# server returns them, defaulted: e.g. a claim's compositeDeletePolicy, compositionUpdatePolicy);
# they are not the tenant's input.
CROSSPLANE_SPEC_FIELDS = {
    "crossplane",
    "compositeDeletePolicy",
    "resourceRef",
    "compositionRef",
    "compositionSelector",
    "compositionRevisionRef",
    "compositionRevisionSelector",
    "compositionUpdatePolicy",
    "claimRef",
    "resourceRefs",
    "writeConnectionSecretToRef",
    "publishConnectionDetailsTo",
    "environmentConfigRefs",
}


class XrIdentity(BaseModel):
    """Who the XR is: name, uid, tenant namespace, and which managed-resource scope it composes."""

    name: str
    uid: str
    tenant: str
    namespaced: bool
    deployment_name: str
    annotations: dict[str, str] = Field(default_factory=dict)

    @property
    def redecide_token(self) -> str | None:
        return self.annotations.get(REDECIDE_ANNOTATION)


class ParsedXr(BaseModel):
    identity: XrIdentity
    spec: AppSpec
    status: dict[str, Any]
    region_given: bool = True  # False: the CloudProvider's defaultRegion may apply


# Kubernetes limits: names (DNS subdomains) 253, namespaces and label values 63. The uid is
# a UUID; 128 is what the deployment memory keeps.
MAX_NAME = 253
MAX_NAMESPACE = 63
MAX_UID = 128
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
CLAIM_NAME_LABEL = "crossplane.io/claim-name"
CLAIM_NAMESPACE_LABEL = "crossplane.io/claim-namespace"


def _mapping(value: object, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(field, "must be an object")
    return value


def _name(value: object, field: str, limit: int, namespace: bool = False) -> str | None:
    """A Kubernetes name (or namespace) from the XR, checked; None when absent or empty."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InputError(field, "must be a string")
    if len(value) > limit:
        raise InputError(field, f"is {len(value)} characters; at most {limit} are allowed")
    bad = bad_char(value)
    if bad or any(c.isspace() for c in value):
        raise InputError(field, bad or "must not contain spaces")
    if namespace and not _NAMESPACE.match(value):
        raise InputError(field, "must be a DNS label (lowercase letters, digits and '-')")
    return value


def _identity(meta: dict[str, Any], spec: dict[str, Any]) -> XrIdentity:
    name = _name(meta.get("name"), "metadata.name", MAX_NAME)
    if name is None:
        raise InputError("metadata.name", "the composite resource has no name")
    namespace = _name(meta.get("namespace"), "metadata.namespace", MAX_NAMESPACE, namespace=True)
    uid = _name(meta.get("uid"), "metadata.uid", MAX_UID)
    labels = _mapping(meta.get("labels"), "metadata.labels")
    claim_ref = _mapping(spec.get("claimRef"), "spec.claimRef")
    # Both places are checked, whichever is used: each reaches names, tags and the memory.
    ref_name = _name(claim_ref.get("name"), "spec.claimRef.name", MAX_NAME)
    label_name = _name(
        labels.get(CLAIM_NAME_LABEL), f"metadata.labels[{CLAIM_NAME_LABEL!r}]", MAX_NAME
    )
    ref_namespace = _name(
        claim_ref.get("namespace"), "spec.claimRef.namespace", MAX_NAMESPACE, namespace=True
    )
    label_namespace = _name(
        labels.get(CLAIM_NAMESPACE_LABEL),
        f"metadata.labels[{CLAIM_NAMESPACE_LABEL!r}]",
        MAX_NAMESPACE,
        namespace=True,
    )
    claim_name = ref_name or label_name
    claim_namespace = ref_namespace or label_namespace
    tenant = namespace or claim_namespace or "cluster"
    annotations = _mapping(meta.get("annotations"), "metadata.annotations")
    token = annotations.get(REDECIDE_ANNOTATION)
    _name(
        None if token is None else str(token),
        f"metadata.annotations[{REDECIDE_ANNOTATION!r}]",
        MAX_NAMESPACE,
    )
    return XrIdentity(
        name=name,
        uid=uid or f"no-uid/{tenant}/{name}"[:MAX_UID],
        tenant=tenant,
        namespaced=namespace is not None,
        deployment_name=claim_name or name,
        annotations={str(k): str(v) for k, v in annotations.items()},
    )


def parse_xr(xr: dict[str, Any]) -> ParsedXr:
    """Validate an observed XR. Raises InputError naming the offending field."""
    meta = xr.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        raise InputError("metadata.name", "the composite resource has no name")
    spec = xr.get("spec")
    if not isinstance(spec, dict):
        raise InputError("spec", "the composite resource has no spec")
    tenant_spec = {k: v for k, v in spec.items() if k not in CROSSPLANE_SPEC_FIELDS}
    check_finite(tenant_spec, "spec")
    try:
        app = AppSpec.model_validate(tenant_spec)
    except ValidationError as e:
        field, reason = describe_validation_error(e, prefix="spec")
        raise InputError(field, reason) from None
    check_config(app.env, app.env_from, app.services)
    status = xr.get("status") if isinstance(xr.get("status"), dict) else {}
    return ParsedXr(
        identity=_identity(meta, spec),
        spec=app,
        status=status or {},
        region_given="region" in tenant_spec,
    )
