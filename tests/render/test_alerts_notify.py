"""enable-monitoring with no one to notify says so, on every cloud."""

from __future__ import annotations

import copy

import pytest

from function.model import Strategy
from function.render.common import RenderContext
from function.render.dispatch import render_plan
from tests.render.test_render_azure import SETTINGS as AZURE_SETTINGS
from tests.render.test_render_azure import azure_ctx
from tests.render.test_render_gcp import ctx as gcp_ctx

GROUP = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ops/providers/"
    "microsoft.insights/actionGroups/oncall"
)


def _notes(ctx: RenderContext) -> list[str]:
    return [n for n in render_plan(ctx, {}).notes if "notify nobody" in n]


@pytest.mark.parametrize("namespaced", [False, True])
def test_azure_alerts_without_an_action_group_are_said_to_notify_nobody(namespaced: bool) -> None:
    c = azure_ctx(Strategy.VM, namespaced, policies=("enable-monitoring",))
    [note] = _notes(c)
    assert "azure.actionGroupId" in note
    settings = copy.deepcopy(AZURE_SETTINGS)
    settings["azure"]["actionGroupId"] = GROUP
    c = azure_ctx(Strategy.VM, namespaced, policies=("enable-monitoring",), settings=settings)
    assert _notes(c) == []
    assert _notes(azure_ctx(Strategy.VM, namespaced)) == []


def test_gcp_alerts_without_notification_channels_are_said_to_notify_nobody() -> None:
    [note] = _notes(gcp_ctx(Strategy.VM, False, spec={"policies": ["enable-monitoring"]}))
    assert "gcp.notificationChannels" in note


def test_aws_alarms_without_a_topic_are_said_to_notify_nobody() -> None:
    import dataclasses

    from function.policy.settings import PolicySettings
    from tests.render.test_render_aws import ctx as aws_ctx

    base = aws_ctx(Strategy.VM, False)
    spec = base.spec.model_copy(update={"policies": ["enable-monitoring"]})
    [note] = _notes(dataclasses.replace(base, spec=spec))
    assert "policy.monitoring.alarmTopicArn" in note
    topic = PolicySettings.model_validate(
        {"monitoring": {"alarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:oncall"}}
    )
    assert _notes(dataclasses.replace(base, spec=spec, policy=topic)) == []
