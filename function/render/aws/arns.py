"""CloudWatch dimension values read from the ARNs of observed resources.

Alarms name their resources by dimension (AutoScalingGroupName, LoadBalancer, ...),
which only exist once the provider has created them: each helper returns None until then.
"""

from __future__ import annotations

from typing import Any

Observed = dict[str, dict[str, Any]]


def observed_arn(observed: Observed, name: str) -> str | None:
    at = ((observed.get(name) or {}).get("status") or {}).get("atProvider") or {}
    arn = at.get("arn") if isinstance(at, dict) else None
    return str(arn) if arn else None


def _after(arn: str | None, marker: str) -> str | None:
    if not arn or marker not in arn:
        return None
    rest = arn.split(marker, 1)[1]
    return rest or None


def autoscaling_group_name(arn: str | None) -> str | None:
    """arn:aws:autoscaling:<region>:<acct>:autoScalingGroup:<uuid>:autoScalingGroupName/<name>"""
    return _after(arn, ":autoScalingGroupName/")


def load_balancer_dimension(arn: str | None) -> str | None:
    """The ALB's arnSuffix (app/<name>/<id>) from arn:...:loadbalancer/app/<name>/<id>."""
    return _after(arn, ":loadbalancer/")


def lambda_function_name(arn: str | None) -> str | None:
    """arn:aws:lambda:<region>:<acct>:function:<name>[:<qualifier>]"""
    rest = _after(arn, ":function:")
    return rest.split(":", 1)[0] if rest else None


def eks_cluster_name(arn: str | None) -> str | None:
    """arn:aws:eks:<region>:<acct>:cluster/<name>"""
    return _after(arn, ":cluster/")
