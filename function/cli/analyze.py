"""`scia analyze <path-or-url>`: print a repository's profile with its evidence."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from function.analysis.profile import AppProfile, ServiceProfile


def render_table(profile: AppProfile) -> str:
    """A plain-text report: the facts, then the evidence for each."""
    lines = [f"repository  {profile.url}"]
    if profile.commit:
        lines.append(f"commit      {profile.commit}  (ref {profile.ref or 'HEAD'})")
    lines.append(f"files       {profile.file_count} ({profile.analyzed_bytes} bytes read)")
    lines.append("")
    services = profile.services or [profile]
    for service in services:
        lines += _service_lines(service, monorepo=len(services) > 1)
        lines.append("")
    if not profile.deployable:
        lines.append(f"not deployable: {profile.not_deployable_reason}")
    for warning in profile.warnings:
        lines.append(f"warning: {warning}")
    return "\n".join(lines).rstrip() + "\n"


def _service_lines(service: ServiceProfile, *, monorepo: bool) -> list[str]:
    docker = service.dockerfile
    rows: list[tuple[str, str]] = [
        ("service", f"{service.name} ({service.path})" if monorepo else service.name),
        ("deployable", "yes" if service.deployable else f"no: {service.not_deployable_reason}"),
        ("languages", ", ".join(service.languages) or "-"),
        ("framework", service.framework or "-"),
        ("runtime", " ".join(x for x in (service.runtime, service.runtime_version) if x) or "-"),
        ("package mgr", service.package_manager or "-"),
        ("ports", ", ".join(str(p) for p in service.ports) or "-"),
        ("static site", "yes" if service.static_site else "no"),
        ("data stores", ", ".join(service.datastores) or "-"),
        ("health check", service.health_check_path or "-"),
        ("build", service.build_command or "-"),
        ("start", service.start_command or "-"),
        ("dockerfile", f"{docker.path} (FROM {docker.base_image})" if docker.present else "-"),
        ("dependencies", ", ".join(service.dependencies[:10]) or "-"),
        ("confidence", f"{service.confidence:.2f}"),
    ]
    width = max(len(key) for key, _ in rows)
    out = [f"{key.ljust(width)}  {value}" for key, value in rows]
    if service.evidence:
        out.append("evidence:")
        for item in service.evidence:
            where = f"{item.file}:{item.line}" if item.line else item.file
            how = f"{item.confidence:.2f}, {item.source}"
            out.append(f"  {item.fact:<18} {item.value:<24} {where}  ({how})")
    return out


def _is_local(target: str) -> bool:
    return "://" not in target and Path(target).exists()


@click.command()
@click.argument("target")
@click.option("--ref", default=None, help="branch, tag or commit (URLs and local git repos)")
@click.option(
    "-o", "--output", type=click.Choice(["table", "json", "yaml"]), default="table",
    show_default=True,
)  # fmt: skip
@click.option(
    "--allow-local",
    is_flag=True,
    help="allow file:// URLs and hosts on loopback or private addresses",
)
@click.option("--timeout", type=float, default=60.0, show_default=True, help="seconds")
def analyze(target: str, ref: str | None, output: str, allow_local: bool, timeout: float) -> None:
    """Analyze a local folder or a repository URL and print its profile."""
    # The detectors run in a worker process under limits (analysis/pool.py): start it
    # first, so its interpreter start-up overlaps this process importing the analyzer.
    from function.analysis.pool import default_pool

    default_pool().prestart()
    from function.analysis.errors import AnalysisError
    from function.analysis.local import analyze_path
    from function.analysis.settings import AnalysisSettings

    settings = AnalysisSettings(
        allow_file_urls=allow_local or _is_local(target),
        allow_private_addresses=allow_local,
        timeout_seconds=timeout,
    )
    try:
        if _is_local(target) and ref is None:
            profile = analyze_path(Path(target), settings)
        else:
            import asyncio

            from function.analysis.analyzer import Analyzer  # git and fetching: URLs, refs

            url = str(Path(target).resolve()) if _is_local(target) else target
            profile = asyncio.run(Analyzer(settings).analyze(url, ref or "HEAD"))
    except AnalysisError as error:
        raise click.ClickException(str(error)) from None
    if output == "json":
        click.echo(profile.model_dump_json(indent=2))
    elif output == "yaml":
        import yaml

        click.echo(yaml.safe_dump(profile.model_dump(mode="json"), sort_keys=False), nl=False)
    else:
        click.echo(render_table(profile), nl=False)
