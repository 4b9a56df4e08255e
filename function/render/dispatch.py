"""The one place that maps cloud x strategy to a renderer, and applies what every render needs.

render_plan: the strategy's bodies (rendered against an observed view, see replace.py),
then generations for immutable-field changes (replace.py), then the cloud's names
(names.py). Each cloud registers a `CloudRenderer` in RENDERERS: its strategies' bodies
and its naming rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from function.config.launcher import IMAGE_NEEDS_LAUNCHER
from function.model import Strategy
from function.policy.admission import ENABLE_MONITORING
from function.policy.https import REQUIRE_HTTPS, render_refusal
from function.render.aws.datastores import (
    app_group_source,
    cluster_group_source,
    render_datastores,
)
from function.render.aws.kubernetes import render_kubernetes
from function.render.aws.lambda_vpc import SECURITY_GROUP as LAMBDA_GROUP
from function.render.aws.lambda_vpc import render_lambda_vpc
from function.render.aws.network import render_network
from function.render.aws.secrets import AppConfig, StoreSource
from function.render.aws.secrets import render_config as _render_config
from function.render.aws.serverless import render_serverless
from function.render.aws.vm import render_vm
from function.render.azure.names import apply_names as apply_azure_names
from function.render.azure.render import render_azure
from function.render.common import RenderContext, Resources, UnsupportedTarget
from function.render.gcp.render import render_gcp
from function.render.names import apply_gcp_names, apply_names
from function.render.replace import Plan, plan

__all__ = ["RENDERERS", "CloudRenderer", "Plan", "UnsupportedTarget", "render", "render_plan"]

Observed = dict[str, dict[str, Any]]


class ApplyNames(Protocol):
    def __call__(
        self,
        desired: dict[str, dict[str, Any]],
        observed: dict[str, dict[str, Any]],
        *,
        tenant: str,
        deployment: str,
        uid: str,
    ) -> None: ...


class HttpsNotAvailable(UnsupportedTarget):
    """require-https on a cloud and strategy that serve no HTTPS as composed
    (policy/https.py): refused before anything is rendered, so the answer is fatal and
    Crossplane keeps every composed resource as it is."""


@dataclass(frozen=True)
class CloudRenderer:
    """A cloud's part of rendering: the bodies of a decision's resources (against an
    observed view) and the names its resources get (in place, keeping observed names)."""

    bodies: Callable[[RenderContext, Observed], Resources]
    names: ApplyNames


def _config(
    ctx: RenderContext, observed: Observed, sources: list[StoreSource] | None = None
) -> AppConfig:
    """render/aws/secrets.py's configuration, with a note when a team's own image must run
    the launcher itself (serverless, kubernetes: vm installs it on the instance)."""
    config = _render_config(ctx, observed, sources)
    if not config.empty and ctx.spec.image and ctx.decision.strategy is not Strategy.VM:
        ctx.notes.append(IMAGE_NEEDS_LAUNCHER)
    return config


def _render_aws(ctx: RenderContext, observed: Observed) -> Resources:
    strategy = ctx.decision.strategy
    if strategy is Strategy.SERVERLESS:
        if not ctx.decision.data_stores:
            config = _config(ctx, observed)
            return config.resources | render_serverless(ctx, observed, config)
        # Composed stores: the function runs in their VPC (render/aws/lambda_vpc.py).
        resources, refs = render_network(ctx)
        stores, sources = render_datastores(ctx, refs, app_group_source(LAMBDA_GROUP))
        config = _config(ctx, observed, sources)
        return (
            resources
            | stores
            | render_lambda_vpc(ctx, refs)
            | config.resources
            | render_serverless(ctx, observed, config)
        )
    resources, refs = render_network(ctx)
    if strategy is Strategy.VM:
        stores, sources = render_datastores(ctx, refs, app_group_source("app-security-group"))
        config = _config(ctx, observed, sources)
        return resources | stores | config.resources | render_vm(ctx, refs, observed, config)
    stores, sources = render_datastores(ctx, refs, cluster_group_source(observed))
    config = _config(ctx, observed, sources)
    return resources | stores | config.resources | render_kubernetes(ctx, refs, observed, config)


RENDERERS: dict[str, CloudRenderer] = {
    "aws": CloudRenderer(_render_aws, apply_names),
    "gcp": CloudRenderer(render_gcp, apply_gcp_names),
    "azure": CloudRenderer(render_azure, apply_azure_names),
}


def alerts_notify_nobody(ctx: RenderContext) -> str | None:
    """A note when enable-monitoring composes alerts but the input names no one they
    notify on this cloud (they still fire, and show in the cloud's console), else None."""
    if not ctx.has_policy(ENABLE_MONITORING):
        return None
    cloud = ctx.spec.cloud_provider
    field, target = {
        "aws": ("policy.monitoring.alarmTopicArn", ctx.policy.monitoring.alarm_topic_arn),
        "gcp": ("gcp.notificationChannels", ctx.settings.gcp.notification_channels),
        "azure": ("azure.actionGroupId", ctx.settings.azure.action_group_id),
    }.get(cloud, ("", "none"))
    if target:
        return None
    return (
        f"enable-monitoring: the alerts fire but notify nobody: input {field} names no "
        "target (they show in the cloud's console only)"
    )


def render_plan(ctx: RenderContext, observed: Observed) -> Plan:
    """Desired managed resources for a decision, what leaves on purpose, and why.

    Raises UnsupportedTarget (message names the field) when the decision cannot be
    rendered: a cloud without a renderer, require-https on a strategy that cannot serve
    only HTTPS there (HttpsNotAvailable), an image the platform cannot run, an immutable
    change that cannot be replaced side by side.
    """
    cloud = RENDERERS.get(ctx.spec.cloud_provider)
    if cloud is None:
        raise UnsupportedTarget(
            f"cloudProvider {ctx.spec.cloud_provider!r} is not supported yet; "
            f"supported: {', '.join(sorted(RENDERERS))}"
        )

    if ctx.has_policy(REQUIRE_HTTPS) and (
        refused := render_refusal(ctx.spec.cloud_provider, ctx.decision.strategy)
    ):
        raise HttpsNotAvailable(refused)

    def once(view: Observed) -> Resources:
        ctx.notes.clear()  # the last pass (the one planned) leaves its notes
        ctx.report.clear()
        ctx.retiring.clear()
        return cloud.bodies(ctx, view)

    result = plan(once, observed)
    result.notes[:0] = list(dict.fromkeys(ctx.notes))
    result.retired |= {n: why for n, why in ctx.retiring.items() if n not in result.desired}
    if unnotified := alerts_notify_nobody(ctx):
        result.notes.append(unnotified)
    cloud.names(
        result.desired,
        observed,
        tenant=ctx.identity.tenant,
        deployment=ctx.identity.deployment_name,
        uid=ctx.identity.uid,
    )
    return result


def render(ctx: RenderContext, observed: Observed) -> Resources:
    """Desired managed resources for a decision, keyed by composition-resource name."""
    return render_plan(ctx, observed).desired
