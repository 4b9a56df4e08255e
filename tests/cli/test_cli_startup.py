"""`scia` starts quickly: commands are imported when they run, and --help lists them all."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import click

from function.cli.main import COMMANDS, cli

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import json, sys
from click.testing import CliRunner
from function.cli.main import cli
result = CliRunner().invoke(cli, sys.argv[1:])
assert result.exit_code == 0, result.output
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after(*args: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(json.loads(out.stdout))


def test_help_imports_no_command() -> None:
    loaded = _modules_after("--help")
    heavy = {"pydantic", "psycopg", "kubernetes", "ollama", "httpx", "function.analysis"}
    assert not heavy & loaded
    assert not {m for m in loaded if m.startswith("function.cli.") and m != "function.cli.main"}


def test_analyze_loads_no_database_cluster_or_llm_client() -> None:
    loaded = _modules_after("analyze", str(ROOT / "examples" / "apps" / "flask-app"))
    assert "function.analysis.local" in loaded
    assert not {"psycopg", "kubernetes", "ollama", "onnxruntime", "numpy"} & loaded
    # A folder needs no git, fetching, TLS or metrics: only the worker's side of the analyzer.
    assert (
        not {
            "function.analysis.analyzer",
            "function.analysis.fetch",
            "function.analysis.gitrun",
            "prometheus_client",
            "ssl",
            "yaml",
        }
        & loaded
    )


def test_the_listed_help_is_each_commands_own() -> None:
    for name, (module, attribute, short) in COMMANDS.items():
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        assert command.name == name
        assert (command.help or "").split("\n\n")[0].replace("\n", " ").strip() == short
    ctx = click.Context(cli)
    assert cli.list_commands(ctx) == sorted(COMMANDS)
    assert cli.get_command(ctx, "nope") is None
