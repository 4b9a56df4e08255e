"""The spec a caller sends: a typed GraphQL input, checked like the function checks an XR."""

from __future__ import annotations

from typing import Any

import strawberry
from pydantic import ValidationError

from function.api.errors import ApiFailure, ErrorCode, from_validation
from function.xr import CROSSPLANE_SPEC_FIELDS, AppSpec

# Fields Crossplane puts in an XR's or a claim's spec: not the tenant's input.
CROSSPLANE_FIELDS = CROSSPLANE_SPEC_FIELDS


@strawberry.input
class RepositoryInput:
    url: str
    ref: str | None = None


@strawberry.input
class BudgetInput:
    max_monthly_cost: float
    alert_threshold: float | None = None
    enforcement_mode: str | None = None


@strawberry.input(
    description="spec of an AppDeployment (xrds/*/definition.yaml); unset fields "
    "take the XRD's defaults."
)
class DeploymentSpecInput:
    repository: RepositoryInput | None = None
    prompt: str | None = None
    cloud_provider: str | None = None
    cloud_provider_ref_name: str | None = None
    region: str | None = None
    budget: BudgetInput | None = None
    policies: list[str] | None = None
    strategy: str | None = None
    image: str | None = None


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def spec_dict(s: DeploymentSpecInput) -> dict[str, Any]:
    """The camelCase spec with only the fields the caller set."""
    out: dict[str, Any] = {}
    if s.repository is not None:
        out["repository"] = _drop_none({"url": s.repository.url, "ref": s.repository.ref})
    if s.budget is not None:
        out["budget"] = _drop_none(
            {
                "maxMonthlyCost": s.budget.max_monthly_cost,
                "alertThreshold": s.budget.alert_threshold,
                "enforcementMode": s.budget.enforcement_mode,
            }
        )
    if s.cloud_provider_ref_name is not None:
        out["cloudProviderRef"] = {"name": s.cloud_provider_ref_name}
    for key, value in (
        ("prompt", s.prompt),
        ("cloudProvider", s.cloud_provider),
        ("region", s.region),
        ("policies", s.policies),
        ("strategy", s.strategy),
        ("image", s.image),
    ):
        if value is not None:
            out[key] = value
    return out


def tenant_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec without Crossplane's own fields."""
    return {k: v for k, v in spec.items() if k not in CROSSPLANE_FIELDS}


def validate(spec: dict[str, Any]) -> AppSpec:
    """AppSpec (function/xr.py) or INVALID errors naming each field (spec.…)."""
    if "repository" not in spec:
        raise ApiFailure.one(ErrorCode.INVALID, "required", "spec.repository.url")
    try:
        return AppSpec.model_validate(spec)
    except ValidationError as e:
        raise from_validation(e, "spec") from None
