"""The one place that maps cloud x strategy to a renderer."""

from __future__ import annotations

from typing import Any

from function.model import Strategy
from function.render.aws.kubernetes import render_kubernetes
from function.render.aws.network import render_network
from function.render.aws.serverless import render_serverless
from function.render.aws.vm import render_vm
from function.render.common import RenderContext, Resources


class UnsupportedTarget(Exception):
    pass


def render(ctx: RenderContext, observed: dict[str, dict[str, Any]]) -> Resources:
    """Desired managed resources for a decision, keyed by composition-resource name."""
    if ctx.spec.cloud_provider != "aws":
        raise UnsupportedTarget(
            f"cloudProvider {ctx.spec.cloud_provider!r} is not supported yet; only 'aws' is"
        )
    strategy = ctx.decision.strategy
    if strategy is Strategy.SERVERLESS:
        return render_serverless(ctx, observed)
    resources, refs = render_network(ctx)
    if strategy is Strategy.VM:
        return resources | render_vm(ctx, refs, observed)
    return resources | render_kubernetes(ctx, refs, observed)
