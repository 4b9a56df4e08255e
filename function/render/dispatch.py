"""The one place that maps cloud x strategy to a renderer, and applies what every render needs.

render_plan: the strategy's bodies (rendered against an observed view, see replace.py),
then generations for immutable-field changes (replace.py), then AWS names (names.py).
"""

from __future__ import annotations

from typing import Any

from function.model import Strategy
from function.render.aws.kubernetes import render_kubernetes
from function.render.aws.network import render_network
from function.render.aws.serverless import render_serverless
from function.render.aws.vm import render_vm
from function.render.common import RenderContext, Resources, UnsupportedTarget
from function.render.names import apply_names
from function.render.replace import Plan, plan

__all__ = ["Plan", "UnsupportedTarget", "render", "render_plan"]

Observed = dict[str, dict[str, Any]]


def _render_strategy(ctx: RenderContext, observed: Observed) -> Resources:
    strategy = ctx.decision.strategy
    if strategy is Strategy.SERVERLESS:
        return render_serverless(ctx, observed)
    resources, refs = render_network(ctx)
    if strategy is Strategy.VM:
        return resources | render_vm(ctx, refs, observed)
    return resources | render_kubernetes(ctx, refs, observed)


def render_plan(ctx: RenderContext, observed: Observed) -> Plan:
    """Desired managed resources for a decision, what leaves on purpose, and why.

    Raises UnsupportedTarget (message names the field) when the decision cannot be
    rendered: another cloud, an image Lambda cannot run, an immutable change that
    cannot be replaced side by side.
    """
    if ctx.spec.cloud_provider != "aws":
        raise UnsupportedTarget(
            f"cloudProvider {ctx.spec.cloud_provider!r} is not supported yet; only 'aws' is"
        )

    def once(view: Observed) -> Resources:
        ctx.notes.clear()  # the last pass (the one planned) leaves its notes
        return _render_strategy(ctx, view)

    result = plan(once, observed)
    result.notes[:0] = list(dict.fromkeys(ctx.notes))
    apply_names(
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
