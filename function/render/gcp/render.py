"""GCP's renderer for dispatch.py: network, then the strategy's resources."""

from __future__ import annotations

from typing import Any

from function.config.launcher import IMAGE_NEEDS_LAUNCHER
from function.model import Strategy
from function.render.common import RenderContext, Resources, UnsupportedTarget
from function.render.gcp.common import Observed
from function.render.gcp.datastores import render_gcp_datastores
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
from function.render.names import gcp_external_name


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
    # Cloud Run always runs as the app's own account (never the default compute one); the
    # same account is the composed stores' IAM database user.
    config = render_gcp_config(ctx, observed, own_account=strategy is Strategy.SERVERLESS)
    if strategy is Strategy.SERVERLESS and not ctx.decision.data_stores:
        return config.resources | render_gcp_serverless(ctx, observed, config)
    resources, refs = render_gcp_network(ctx)
    if ctx.decision.data_stores:  # Cloud SQL (render/gcp/datastores.py)
        stores = render_gcp_datastores(ctx, refs, observed, config.service_account)
        resources |= stores.resources
        config.env |= stores.env
        config.proxies = stores.proxies
        config.launch_sources = stores.launch_sources
        config.stores_waiting = list(stores.waiting)
    if strategy is Strategy.SERVERLESS:  # with stores: Direct VPC egress to reach them
        config.vpc_access = _vpc_access(ctx, observed)
        return resources | config.resources | render_gcp_serverless(ctx, observed, config)
    resources |= config.resources
    if not config.ready:  # the instances read their secrets as the app's account
        if not any(name.startswith("instance-template") for name in observed):
            return resources
        config = GcpConfig()  # instances that run keep what they run meanwhile
    return resources | render_gcp_vm(ctx, refs, observed, config)


def _vpc_access(ctx: RenderContext, observed: Observed) -> dict[str, Any]:
    """Cloud Run's Direct VPC egress into the deployment's subnetwork, private ranges only
    (the stores' private IPs; the internet stays direct). The v2 service's network
    interfaces take names, no selector: a composed network's are the names
    apply_gcp_names gives them (the observed ones once they exist)."""
    net = ctx.settings.gcp.network
    if net.existing:
        network, sub = net.network, net.subnetwork_in(ctx.region)
    else:
        who = {
            "tenant": ctx.identity.tenant,
            "deployment": ctx.identity.deployment_name,
            "uid": ctx.identity.uid,
        }
        network = gcp_external_name("Network", "network", observed, **who)
        sub = gcp_external_name("Subnetwork", "subnetwork", observed, **who)
    return {
        "networkInterfaces": [{"network": network, "subnetwork": sub}],
        "egress": "PRIVATE_RANGES_ONLY",
    }
