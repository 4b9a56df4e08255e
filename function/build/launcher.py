"""The launcher in images built from the repository (pure).

Issue 16's launcher (function/config/scia_launch.py) fetches the app's configuration
(spec.env, spec.envFrom, bound and composed data stores) where the app starts, with the
role of whatever runs it, and assembles DATABASE_URL / REDIS_URL. On vm the user data
installs it on the instance. On Lambda and Kubernetes it must be in the image, so every
image built here carries it:

- `/usr/local/lib/scia/scia_launch.py`: the launcher (Python 3.9+ standard library);
- `/usr/local/bin/scia-entrypoint`: the image's ENTRYPOINT, a POSIX shell script. With
  `SCIA_LAUNCH_CONFIG` in the environment (the launch configuration: region, version,
  names and ids, never a value; render/aws/secrets.py) it runs
  `python3 scia_launch.py @env -- "$@"`, which fetches the values and execs the command
  with them; without it, it execs the command as it is (an image runs the same with no
  configuration, and on vm, where the instance's launcher passes the values to
  `docker run --env-file`).

A generated Dockerfile (function/build/dockerfile.py) writes both files with COPY
heredocs, installs python3 from the distribution when the runtime image has none, and
declares `ENTRYPOINT ["/usr/local/bin/scia-entrypoint"]` with the analysed start command as
CMD. A repository's own Dockerfile is built as it is, then wrapped by one more build
(`wrapper_dockerfile`): FROM the built image (the build argument `SCIA_APP_IMAGE`), the two
files, and ENTRYPOINT/CMD re-declared from the analysed final stage (an ENTRYPOINT set
in a child image resets the CMD it inherits, so both are written out). A Dockerfile whose
final stage declares neither (the command comes from its base image, which the analysis
cannot see), or whose base has no shell (scratch, distroless), is not wrapped:
`wrap_problem` says why, and a team that needs configuration there runs the launcher
itself or declares CMD.

No python3 in a repository's image: the entrypoint fails with a clear message when (and
only when) the deployment has configuration to fetch.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

LAUNCHER_PATH = "/usr/local/lib/scia/scia_launch.py"
ENTRYPOINT_PATH = "/usr/local/bin/scia-entrypoint"
APP_IMAGE_ARG = "SCIA_APP_IMAGE"
_EOF = "SCIA_LAUNCH_EOF"
# Base images without /bin/sh: the entrypoint script cannot run there.
_NO_SHELL_PREFIXES = ("gcr.io/distroless/", "distroless/", "cgr.dev/chainguard/")

ENTRYPOINT_SCRIPT = f"""#!/bin/sh
# scia-entrypoint (function-scia): with SCIA_LAUNCH_CONFIG set (names and ids of the app's
# configuration, never values), scia-launch fetches the values with the role of whatever
# runs this container and execs the command with them; without it, the command runs as is.
if [ -n "${{SCIA_LAUNCH_CONFIG:-}}" ]; then
  if ! command -v python3 >/dev/null 2>&1; then
    echo "scia-entrypoint: python3 is not in the image; the configuration cannot be fetched" >&2
    exit 1
  fi
  exec python3 {LAUNCHER_PATH} @env -- "$@"
fi
exec "$@"
"""


@functools.cache
def launcher_source() -> str:
    """The launcher's Python source, as shipped in this package."""
    text = resources.files("function.config").joinpath("scia_launch.py").read_text()
    if any(line.strip() == _EOF for line in text.splitlines()):  # pragma: no cover
        raise ValueError(f"the launcher's source holds the heredoc delimiter {_EOF}")
    return text


def _heredoc(path: str, text: str, mode: str) -> list[str]:
    """COPY of `text` to `path` (a quoted heredoc: nothing in it is expanded)."""
    body = text if text.endswith("\n") else text + "\n"
    return [f"COPY --chmod={mode} <<'{_EOF}' {path}", *body.splitlines(), _EOF]


def install_lines() -> list[str]:
    """Dockerfile lines writing the launcher and the entrypoint (root-owned, read-only to
    the app's user: it runs them, it cannot change them)."""
    return [
        *_heredoc(LAUNCHER_PATH, launcher_source(), "0644"),
        *_heredoc(ENTRYPOINT_PATH, ENTRYPOINT_SCRIPT, "0755"),
    ]


def python_install_line() -> str:
    """RUN (as root) installing python3 from the distribution when the image has none
    (Debian and Ubuntu based images: every runtime image of dockerfile.BASE_IMAGES)."""
    command = (
        "command -v python3 >/dev/null 2>&1 || (apt-get update && apt-get install -y "
        "--no-install-recommends python3 && rm -rf /var/lib/apt/lists/*)"
    )
    return "RUN " + json.dumps(["/bin/sh", "-c", command])


def entrypoint_line() -> str:
    return "ENTRYPOINT " + json.dumps([ENTRYPOINT_PATH])


def wrap_problem(
    base: str | None, entrypoint: list[str] | None, cmd: list[str] | None
) -> str | None:
    """Why a repository Dockerfile's image cannot be wrapped, or None."""
    image = (base or "").removeprefix("docker.io/")
    if image == "scratch" or image.startswith(_NO_SHELL_PREFIXES):
        return f"its final stage's base image {image!r} has no shell for the launcher's entrypoint"
    if not entrypoint and not cmd:
        return (
            "its final stage declares no CMD or ENTRYPOINT (the command comes from the base "
            "image): declare CMD so the launcher can start it"
        )
    return None


def wrapper_dockerfile(entrypoint: list[str] | None, cmd: list[str] | None) -> str:
    """The Dockerfile that adds the launcher to an image built from a repository's own
    Dockerfile (the build argument SCIA_APP_IMAGE names it), keeping its command.

    Raises ValueError when there is no command to keep (see `wrap_problem`).
    """
    if not entrypoint and not cmd:
        raise ValueError("no CMD or ENTRYPOINT to keep")
    lines = [
        "# syntax=docker/dockerfile:1",
        "# Generated by function-scia: the launcher around an image built from the repository.",
        f"ARG {APP_IMAGE_ARG}",
        f"FROM ${{{APP_IMAGE_ARG}}}",
        *install_lines(),
        "ENTRYPOINT " + json.dumps([ENTRYPOINT_PATH, *(entrypoint or [])]),
    ]
    if cmd:
        lines.append("CMD " + json.dumps(cmd))
    return "\n".join(lines) + "\n"
