"""The `scia` command group (also installed as `kubectl-scia`, so `kubectl scia ...` works).

Commands are imported only when they run: `scia --help` loads click and nothing of the
product, and `scia analyze` never loads the database, Kubernetes or LLM clients. The
short help below is what `--help` lists; a test checks it against each command's own.
"""

from __future__ import annotations

import importlib

import click

from function.__version__ import __version__

# name -> (module, attribute, the first sentence of its help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "analyze": (
        "function.cli.analyze",
        "analyze",
        "Analyze a local folder or a repository URL and print its profile.",
    ),
    "explain": (
        "function.cli.claims",
        "explain",
        "Why this deployment: decision, reason, confidence, alternatives, cost, similar ones.",
    ),
    "feedback": (
        "function.cli.claims",
        "feedback",
        "Rate the current decision: +1 (good), -1 (bad) or 0 (withdraw).",
    ),
    "history": (
        "function.cli.claims",
        "history",
        "The decision revisions kept in status.history, newest last.",
    ),
    "import": (
        "function.cli.import_cmds",
        "import_group",
        "Load deployments from other systems into the memory.",
    ),
    "memory": (
        "function.cli.memory_cmds",
        "memory",
        "The deployment memory (PostgreSQL + pgvector).",
    ),
    "rollback": (
        "function.cli.claims",
        "rollback",
        "Re-pin an earlier revision's decision (sets spec.rollbackToRevision on the claim).",
    ),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = COMMANDS.get(cmd_name)
        if found is None:
            return None
        module, attribute, _ = found
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        width = formatter.width - 6 - max(len(n) for n in COMMANDS)
        rows = [
            (name, click.Command(name, help=COMMANDS[name][2]).get_short_help_str(width))
            for name in self.list_commands(ctx)
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="scia")
def cli() -> None:
    """function-scia tools: see what the function sees, and steer what it remembers.

    Exit codes: 0 ok, 1 failed, 2 usage, 3 not found, 4 cluster or database unreachable.
    """


if __name__ == "__main__":  # pragma: no cover
    cli()
