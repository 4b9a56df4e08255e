"""Scaling that matches the decision: a target-tracking policy whenever min < max.

A decision "scaling N-M" (min N, max M) is kept true by an autoscaling Policy of type
TargetTrackingScaling on the group's average CPU (predefined metric
ASGAverageCPUUtilization). The group's desired capacity (the node group's desired size)
is then set only at creation (spec.initProvider), so the provider never reverts what
the policy chose (provider-upjet-aws issue 756).
"""

from __future__ import annotations

from typing import Any

from function.render.common import RenderContext

SCALING_POLICY = "scaling-policy"
TARGET_CPU_PERCENT = 60.0
WARMUP_SECONDS = 300


def cpu_target_tracking(
    ctx: RenderContext, group: dict[str, Any], component: str = SCALING_POLICY
) -> dict[str, Any]:
    """A Policy keeping the group's average CPU near TARGET_CPU_PERCENT.

    `group` names the auto scaling group: {"autoscalingGroupNameSelector": ...} or
    {"autoscalingGroupName": "<name>"}.
    """
    return ctx.resource(
        "autoscaling",
        "Policy",
        component,
        {
            **group,
            "policyType": "TargetTrackingScaling",
            "estimatedInstanceWarmup": WARMUP_SECONDS,
            "targetTrackingConfiguration": {
                "predefinedMetricSpecification": {
                    "predefinedMetricType": "ASGAverageCPUUtilization"
                },
                "targetValue": TARGET_CPU_PERCENT,
            },
        },
    )
