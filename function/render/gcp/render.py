"""GCP's renderer for dispatch.py: network, then the strategy's resources."""

from __future__ import annotations

from function.model import Strategy
from function.render.common import RenderContext, Resources, UnsupportedTarget
from function.render.gcp.common import Observed
from function.render.gcp.kubernetes import render_gcp_kubernetes
from function.render.gcp.network import render_gcp_network
from function.render.gcp.serverless import render_gcp_serverless
from function.render.gcp.vm import render_gcp_vm


def render_gcp(ctx: RenderContext, observed: Observed) -> Resources:
    # The app's configuration (function/render/aws/secrets.py) is composed on AWS only so
    # far: refused rather than silently dropped.
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
    if strategy is Strategy.SERVERLESS:
        return render_gcp_serverless(ctx, observed)
    resources, refs = render_gcp_network(ctx)
    if strategy is Strategy.VM:
        return resources | render_gcp_vm(ctx, refs, observed)
    return resources | render_gcp_kubernetes(ctx, refs, observed)
