"""The `scia` command group (also installed as `kubectl-scia`, so `kubectl scia ...` works)."""

from __future__ import annotations

import click

from function.__version__ import __version__
from function.cli.analyze import analyze
from function.cli.claims import explain, feedback, history, rollback
from function.cli.import_cmds import import_group
from function.cli.memory_cmds import memory


@click.group()
@click.version_option(__version__, prog_name="scia")
def cli() -> None:
    """function-scia tools: see what the function sees, and steer what it remembers.

    Exit codes: 0 ok, 1 failed, 2 usage, 3 not found, 4 cluster or database unreachable.
    """


for command in (analyze, explain, history, feedback, rollback, import_group, memory):
    cli.add_command(command)

if __name__ == "__main__":  # pragma: no cover
    cli()
