"""Record builders for the memory tests."""

from __future__ import annotations

from typing import Any

from function.memory.models import DeploymentRecord


def record(xr_uid: str, **fields: Any) -> DeploymentRecord:
    base: dict[str, Any] = {
        "namespace": "team-a",
        "deployment_name": f"app-{xr_uid}",
        "xr_uid": xr_uid,
        "revision": 1,
        "framework": "flask",
        "language": "python",
        "dependencies": ["flask", "gunicorn", "sqlalchemy"],
        "strategy": "serverless",
        "reason": "spiky low traffic HTTP API",
        "region": "eu-west-1",
        "outcome": "success",
        "monthly_cost": 20.0,
        "prompt": "a small REST API for an internal tool",
    }
    base.update(fields)
    return DeploymentRecord.model_validate(base)
