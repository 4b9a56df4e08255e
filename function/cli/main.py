"""The `scia` command group."""

from __future__ import annotations

import click

from function.__version__ import __version__
from function.cli.analyze import analyze


@click.group()
@click.version_option(__version__, prog_name="scia")
def cli() -> None:
    """function-scia tools: see what the function sees."""


cli.add_command(analyze)

if __name__ == "__main__":  # pragma: no cover
    cli()
