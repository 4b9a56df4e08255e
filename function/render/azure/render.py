"""Azure: the strategy's resources for a decision (dispatch.py adds generations and names)."""

from __future__ import annotations

from function.config.launcher import IMAGE_NEEDS_LAUNCHER
from function.model import Strategy
from function.render.azure.base import Observed
from function.render.azure.kubernetes import render_kubernetes
from function.render.azure.secrets import for_workload, render_azure_config
from function.render.azure.serverless import render_serverless
from function.render.azure.vm import render_vm
from function.render.common import RenderContext, Resources, UnsupportedTarget


def render_azure(ctx: RenderContext, observed: Observed) -> Resources:
    # Composed data stores are not built on Azure yet: refused naming the field rather than
    # silently dropped. spec.env, spec.envFrom and bound stores (a secretRef) reach every
    # strategy through Key Vault and the launcher (render/azure/secrets.py).
    for kind, svc in sorted(ctx.spec.services.items()):
        if svc.secret_ref is None:
            raise UnsupportedTarget(
                f"spec.services.{kind}: composed data stores are delivered on aws only so "
                "far; bind one with secretRef, or deploy on aws"
            )
    config = render_azure_config(ctx, observed)
    strategy = ctx.decision.strategy
    if not config.empty and ctx.spec.image and strategy is not Strategy.VM:
        ctx.notes.append(IMAGE_NEEDS_LAUNCHER)
    workload = for_workload(config)
    if strategy is Strategy.VM:
        return config.resources | render_vm(ctx, observed, workload)
    if strategy is Strategy.KUBERNETES:
        return config.resources | render_kubernetes(ctx, observed, workload)
    return config.resources | render_serverless(ctx, observed, workload)
