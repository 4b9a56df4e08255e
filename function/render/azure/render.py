"""Azure: the strategy's resources for a decision (dispatch.py adds generations and names)."""

from __future__ import annotations

from function.config.datastores import store_strategies
from function.config.launcher import IMAGE_NEEDS_LAUNCHER
from function.model import Strategy
from function.render.azure.base import RESOURCE_GROUP, Observed
from function.render.azure.datastores import KEEP, render_azure_datastores
from function.render.azure.kubernetes import render_kubernetes
from function.render.azure.secrets import for_workload, render_azure_config
from function.render.azure.serverless import render_serverless
from function.render.azure.vm import render_vm
from function.render.common import RenderContext, Resources, UnsupportedTarget


def render_azure(ctx: RenderContext, observed: Observed) -> Resources:
    # Composed data stores: PostgreSQL on vm and serverless (render/azure/datastores.py);
    # another kind or strategy is refused naming the field rather than silently dropped.
    # spec.env, spec.envFrom and bound stores (a secretRef) reach every strategy through Key
    # Vault and the launcher (render/azure/secrets.py).
    composed = {s.kind for s in ctx.decision.data_stores or []}
    for kind, svc in sorted(ctx.spec.services.items()):
        if svc.secret_ref is None and kind not in composed:
            raise UnsupportedTarget(
                f"spec.services.{kind}: this decision composes no {kind} on azure; bind one "
                "with secretRef"
            )
    strategy = ctx.decision.strategy
    if composed and strategy not in store_strategies("azure"):
        raise UnsupportedTarget(
            f"spec.services: composed data stores are wired for vm and serverless on azure, "
            f"not {strategy.value} (an AKS cluster reports its outbound addresses as resource "
            "ids, which a firewall rule cannot name); bind them with secretRef"
        )
    stores = render_azure_datastores(ctx, observed)
    config = render_azure_config(ctx, observed)
    if not config.empty and ctx.spec.image and strategy is not Strategy.VM:
        ctx.notes.append(IMAGE_NEEDS_LAUNCHER)
    workload = for_workload(config)
    if strategy is Strategy.VM:
        out = config.resources | render_vm(ctx, observed, workload)
    elif strategy is Strategy.KUBERNETES:
        out = config.resources | render_kubernetes(ctx, observed, workload)
    else:
        out = config.resources | render_serverless(ctx, observed, workload)
    out |= stores.resources
    if stores.production and RESOURCE_GROUP in out:
        # Deleting the group would delete the server in it: a production store keeps both.
        out[RESOURCE_GROUP]["spec"]["managementPolicies"] = list(KEEP)
    return out
