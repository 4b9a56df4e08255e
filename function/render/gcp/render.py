"""GCP's renderer for dispatch.py: network, then the strategy's resources."""

from __future__ import annotations

from function.model import Strategy
from function.render.common import RenderContext, Resources, UnsupportedTarget
from function.render.gcp.common import Observed
from function.render.gcp.kubernetes import render_gcp_kubernetes
from function.render.gcp.network import render_gcp_network
from function.render.gcp.secrets import GcpConfig, render_gcp_config
from function.render.gcp.serverless import render_gcp_serverless
from function.render.gcp.vm import render_gcp_vm


def render_gcp(ctx: RenderContext, observed: Observed) -> Resources:
    # The app's configuration reaches Cloud Run and vm (render/gcp/secrets.py); GKE does
    # not get it yet: refused naming the field rather than silently dropped.
    strategy = ctx.decision.strategy
    if strategy is Strategy.KUBERNETES:
        for field, given in (
            ("spec.env", ctx.spec.env),
            ("spec.envFrom", ctx.spec.env_from),
            ("spec.services", ctx.spec.services),
        ):
            if given:
                raise UnsupportedTarget(
                    f"{field}: on gcp the app's configuration is delivered on vm and "
                    "serverless (Cloud Run) only so far; remove it, or deploy on vm, "
                    "serverless or aws"
                )
    config = render_gcp_config(ctx, observed)
    if strategy is Strategy.SERVERLESS:
        return config.resources | render_gcp_serverless(ctx, observed, config)
    resources, refs = render_gcp_network(ctx)
    if strategy is Strategy.VM:
        resources |= config.resources
        if not config.ready:  # the instances read their secrets as the app's account
            if not any(name.startswith("instance-template") for name in observed):
                return resources
            config = GcpConfig()  # instances that run keep what they run meanwhile
        return resources | render_gcp_vm(ctx, refs, observed, config)
    return resources | render_gcp_kubernetes(ctx, refs, observed)
