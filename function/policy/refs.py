"""References an AppDeployment spec can carry (no dependency on the XR model: xr.py imports it)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CloudProviderRef(BaseModel):
    """spec.cloudProviderRef of an AppDeployment: a CloudProvider in the same namespace."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
