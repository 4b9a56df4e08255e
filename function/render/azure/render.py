"""Azure: the strategy's resources for a decision (dispatch.py adds generations and names)."""

from __future__ import annotations

from function.model import Strategy
from function.render.azure.base import Observed
from function.render.azure.kubernetes import render_kubernetes
from function.render.azure.serverless import render_serverless
from function.render.azure.vm import render_vm
from function.render.common import RenderContext, Resources, UnsupportedTarget


def render_azure(ctx: RenderContext, observed: Observed) -> Resources:
    # The app's configuration and data stores (function/render/aws/secrets.py, stores) are
    # composed on AWS only so far: refused naming the field rather than silently dropped.
    for field, given in (
        ("spec.env", ctx.spec.env),
        ("spec.envFrom", ctx.spec.env_from),
        ("spec.services", ctx.spec.services),
    ):
        if given:
            raise UnsupportedTarget(
                f"{field}: the app's configuration is delivered on aws only so far; "
                "remove it or deploy on aws"
            )
    strategy = ctx.decision.strategy
    if strategy is Strategy.VM:
        return render_vm(ctx, observed)
    if strategy is Strategy.KUBERNETES:
        return render_kubernetes(ctx, observed)
    return render_serverless(ctx, observed)
