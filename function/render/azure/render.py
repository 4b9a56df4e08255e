"""Azure: the strategy's resources for a decision (dispatch.py adds generations and names)."""

from __future__ import annotations

from function.model import Strategy
from function.render.azure.base import Observed
from function.render.azure.kubernetes import render_kubernetes
from function.render.azure.serverless import render_serverless
from function.render.azure.vm import render_vm
from function.render.common import RenderContext, Resources


def render_azure(ctx: RenderContext, observed: Observed) -> Resources:
    strategy = ctx.decision.strategy
    if strategy is Strategy.VM:
        return render_vm(ctx, observed)
    if strategy is Strategy.KUBERNETES:
        return render_kubernetes(ctx, observed)
    return render_serverless(ctx, observed)
