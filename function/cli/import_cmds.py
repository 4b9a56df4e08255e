"""`scia import v1 FILE`: a v1 deployment export into the deployment memory."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any, Literal

import click

from function.cli.exits import CliFailure, ExitCode, NotFound
from function.cli.memorydb import dsn_option, open_store, resolve_dsn, runtime
from function.cli.output import OUTPUT_OPTION, emit, table
from function.v1import import (
    ImportSummary,
    V1FileError,
    ValidatedExport,
    import_records,
    read_export,
    validate_export,
)


@click.group("import")
def import_group() -> None:
    """Load deployments from other systems into the memory."""


def summary_text(s: dict[str, Any]) -> str:
    out = (
        f"{s['total']} records: {s['created']} created, {s['updated']} updated, "
        f"{s['skipped']} skipped\n"
    )
    if s["problems"]:
        out += table(
            ["INDEX", "NAME", "PROBLEM"],
            [[p["index"], p["name"], p["message"]] for p in s["problems"]],
        )
    return out


async def _run(
    dsn: str,
    validated: ValidatedExport,
    namespace: str,
    scope: Literal["private", "shared"],
    show_progress: bool,
) -> ImportSummary:
    async with open_store(dsn, runtime()) as (store, embedder):
        with click.progressbar(
            length=len(validated.records),
            label="importing",
            file=sys.stderr,
            hidden=not show_progress,
        ) as bar:
            return await import_records(
                store, dsn, validated, namespace, scope, progress=bar.update, embed=embedder.embed
            )


@import_group.command("v1")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--namespace",
    default="imported",
    show_default=True,
    help="namespace the records are stored under",
)
@click.option(
    "--scope",
    type=click.Choice(["shared", "private"]),
    default="shared",
    show_default=True,
    help="shared: every tenant's decisions may learn from them; private: only --namespace's",
)
@click.option("--progress/--no-progress", default=True, help="progress bar on stderr")
@dsn_option
@OUTPUT_OPTION
def import_v1(
    file: Path, namespace: str, scope: str, progress: bool, dsn: str | None, output: str
) -> None:
    """Import a v1 export (docs/v1-export-format.md), idempotently.

    Every record is checked first; bad ones are reported with their index and skipped.
    Exit 0 when every record was imported, 1 when some were skipped (the rest are in).
    """
    if not file.exists():
        raise NotFound(f"{file}: no such file")
    try:
        validated = validate_export(read_export(file))
    except V1FileError as e:
        raise CliFailure(f"{e}; nothing imported") from None
    chosen: Literal["private", "shared"] = "shared" if scope == "shared" else "private"
    summary = asyncio.run(_run(resolve_dsn(dsn), validated, namespace, chosen, progress))
    emit(summary.to_dict(), output, summary_text)
    if summary.skipped:
        sys.exit(int(ExitCode.FAILED))
