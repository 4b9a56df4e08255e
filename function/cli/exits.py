"""Exit codes of `scia` (docs/cli.md) and the errors that carry them."""

from __future__ import annotations

from enum import IntEnum

import click


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # the command ran and failed: invalid file or records, the API refused
    USAGE = 2  # click's own code for a wrong command line
    NOT_FOUND = 3  # no such claim, revision or file
    UNREACHABLE = 4  # the cluster or the memory database could not be reached


class CliFailure(click.ClickException):
    """One clear line on stderr (`Error: ...`) and exit code 1."""

    exit_code = int(ExitCode.FAILED)


class NotFound(CliFailure):
    exit_code = int(ExitCode.NOT_FOUND)


class Unreachable(CliFailure):
    exit_code = int(ExitCode.UNREACHABLE)
