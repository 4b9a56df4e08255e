"""GCP's renderer for dispatch.py: network, then the strategy's resources."""

from __future__ import annotations

from function.config.launcher import IMAGE_NEEDS_LAUNCHER
from function.model import Strategy
from function.render.common import RenderContext, Resources, UnsupportedTarget
from function.render.gcp.common import Observed
from function.render.gcp.kubernetes import render_gcp_kubernetes
from function.render.gcp.network import render_gcp_network
from function.render.gcp.secrets import (
    GKE_CONFIG_NEEDS,
    GcpConfig,
    gke_account,
    gke_principal,
    render_gcp_config,
)
from function.render.gcp.serverless import render_gcp_serverless
from function.render.gcp.vm import render_gcp_vm
from function.render.kube.objects import app_namespace


def render_gcp(ctx: RenderContext, observed: Observed) -> Resources:
    # The app's configuration reaches every strategy (render/gcp/secrets.py); GKE's pods
    # read it with Workload Identity, which needs the project's pool and number.
    strategy = ctx.decision.strategy
    if strategy is Strategy.KUBERNETES:
        principal = gke_principal(ctx, app_namespace(ctx), gke_account(ctx))
        if principal is None:
            for field, given in (
                ("spec.env", ctx.spec.env),
                ("spec.envFrom", ctx.spec.env_from),
                ("spec.services", ctx.spec.services),
            ):
                if given:
                    raise UnsupportedTarget(f"{field}: {GKE_CONFIG_NEEDS}")
        config = render_gcp_config(ctx, observed, principal)
        if not config.empty and ctx.spec.image:
            ctx.notes.append(IMAGE_NEEDS_LAUNCHER)
        resources, refs = render_gcp_network(ctx)
        return resources | config.resources | render_gcp_kubernetes(ctx, refs, observed, config)
    config = render_gcp_config(ctx, observed)
    if strategy is Strategy.SERVERLESS:
        return config.resources | render_gcp_serverless(ctx, observed, config)
    resources, refs = render_gcp_network(ctx)
    resources |= config.resources
    if not config.ready:  # the instances read their secrets as the app's account
        if not any(name.startswith("instance-template") for name in observed):
            return resources
        config = GcpConfig()  # instances that run keep what they run meanwhile
    return resources | render_gcp_vm(ctx, refs, observed, config)
