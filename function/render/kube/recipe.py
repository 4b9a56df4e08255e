"""What a cluster's build Job builds for one service (pure): its name, its Dockerfile (the
repository's, else the one generated from the pinned analysis, function/build/dockerfile.py)
and the image it pushes (`<registry>:<commit>`, or `<registry>:<service>-<commit>` for a
monorepo's services). Shared by EKS (render/aws/eks_app.py) and GKE/AKS (render/kube/app.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from function.build.dockerfile import DockerfileError, recipe_for_pin, unbuildable
from function.render.common import RenderContext
from function.render.kube import build as kbuild
from function.render.kube import workload as kw


@dataclass(frozen=True)
class Unbuildable:
    """Why a service's image cannot be built from the pinned analysis, and what the team can
    do (build/dockerfile.py `unbuildable`): a failed build, not one to wait for."""

    note: str


def build_name(commit: str, unit: kw.Unit) -> str:
    """The build Job's name: one per (commit, service), a DNS label."""
    return f"build-{commit[:12]}-{unit.name}"[:63].rstrip("-")


def build_spec(
    ctx: RenderContext,
    unit: kw.Unit,
    index: int,
    registry_url: str,
    single: bool,
    token_secret: str | None,
) -> kbuild.BuildSpec | Unbuildable:
    """What to build for `unit` (the `index`-th service; `single`: the only one), pushed to
    `registry_url` (a repository URL without tag), or why it cannot be built (naming the
    pinned analysis field, the reason and what to do). `token_secret`: where a private
    repository's token is."""
    a = ctx.analysis
    summary = a if single or index >= len(a.services) else a.for_service(a.services[index])
    try:
        recipe = recipe_for_pin(summary)
    except DockerfileError as e:
        where = "status.decision.analysis" + ("" if summary is a else f".services[{index}]")
        return Unbuildable(f"{unit.name}: {unbuildable(e, where + '.', 'kubernetes')}")
    tag = ctx.commit if single else f"{unit.name}-{ctx.commit}"
    return kbuild.BuildSpec(
        name=build_name(ctx.commit, unit),
        repository_url=ctx.spec.repository.url,
        commit=ctx.commit,
        context=recipe.context,
        image=f"{registry_url}:{tag}",
        region=ctx.region,
        dockerfile_path=recipe.dockerfile_path,
        dockerfile=recipe.dockerfile,
        dockerignore=recipe.dockerignore,
        git_token_secret=token_secret,
        wrapper=recipe.wrapper,
        wrap_problem=recipe.wrap_problem,
    )
