"""The vm strategy's boot script, for every cloud: fetch the repository at its commit, start
the app under systemd (or in Docker when the repository has a Dockerfile).

AWS runs it as EC2 user data (Amazon Linux 2023, dnf), GCP as the instance template's
startup script (Debian 12, apt). What differs between images is only how packages are
installed (`Distro`); the fetch, the user, the unit and the quoting are the same.

Every value that came from the tenant or the repository (URL, commit, start and build
commands) is shell-quoted, so it can only ever be an argument, never script structure.

The build: the analysed build command (`AnalysisSummary.build_command`, e.g. `CGO_ENABLED=0
go build -o bin/goweb .`) runs in the checkout as the unprivileged `app` user, in a login
shell like the start command (`sudo -u app -H /bin/bash -lc "$BUILD_COMMAND"`); a repository
whose analysis has none gets its language's default lines (`Distro.build`, best effort as
before). A failed analysed build ends the script with a line saying so in the setup log: no
unit is started, the health check fails, and the rollout is not healthy (on AWS the instance
refresh rolls back). Root only installs the toolchain (`Distro.runtime`, fixed lines: nothing
of the repository runs as root). A Python app gets a virtualenv the app user owns
(`/opt/venv`, active in its login shells, as in the generated image), so `pip install`
works on Debian's externally managed Python too; a Ruby app installs its gems under the app
user's home (`GEM_HOME`).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from function.config.launcher import ENV_FILE, LAUNCH_CONFIG, LAUNCHER, launcher_install
from function.pinning import AnalysisSummary


@dataclass(frozen=True)
class LogShipping:
    """How the app's output leaves the instance (a cloud's log service).

    setup: lines run right after git is installed (before the fetch, so a failed fetch or
    build is shipped too); docker_options: `docker run` options (a log driver), ending in
    a space; unit: lines in the systemd unit's [Service] section."""

    setup: tuple[str, ...] = ()
    docker_options: str = ""
    unit: tuple[str, ...] = ()


@dataclass(frozen=True)
class Distro:
    """How one image family installs what an app needs."""

    name: str
    install: str  # the command that installs packages, followed by their names
    git: str  # the line that installs git
    docker: str  # the line that installs and starts Docker
    # language -> root lines that install the toolchain (fixed: nothing of the repository)
    runtime: dict[str, str] = field(default_factory=dict)
    # language -> lines that build the app when the analysis found no build command (each
    # runs as the app user: APP_SHELL)
    build: dict[str, str] = field(default_factory=dict)


# How a line runs as the app user: a login shell, like the unit's start command (PATH and
# the environment of APP_PROFILE), with the app user's home.
APP_SHELL = "sudo -u app -H /bin/bash -lc"

# What the app user's login shells get (/etc/profile.d), per language: the Python app's
# virtualenv (as the generated image's /opt/venv), a Ruby app's gems under its home.
VENV = "/opt/venv"
APP_PROFILE_FILE = "/etc/profile.d/scia-app.sh"
APP_PROFILE = {
    "python": f'export VIRTUAL_ENV={VENV} PATH="{VENV}/bin:$PATH"',
    "ruby": 'export GEM_HOME="$HOME/.gem" PATH="$HOME/.gem/bin:$PATH"',
}
# Root lines after the toolchain (fixed), per language.
_PREPARE = {
    "python": [f"install -d -o app -g app {VENV}", f"{APP_SHELL} 'python3 -m venv {VENV}'"],
    "ruby": [f"{APP_SHELL} 'gem install bundler'"],
}
# Node package managers npm does not bring (the package manager is one of the analysis's
# fixed names, never repository text).
_COREPACK = "{ command -v corepack >/dev/null || npm install -g corepack; } && corepack enable"


def _as_app(command: str) -> str:
    return f"{APP_SHELL} {shlex.quote(command)}"


# The build lines when the analysis found no build command: best effort, as before (a
# failure is not fatal; the start command then fails if it needed them). Same on every image.
_DEFAULT_BUILD = {
    "python": f"[ -f requirements.txt ] && {_as_app('pip install -r requirements.txt')} || true",
    "javascript": f"[ -f package.json ] && {_as_app('npm ci --omit=dev')} || true",
    "typescript": f"[ -f package.json ] && {_as_app('npm ci && npm run build')} || true",
    "go": f"{_as_app('go build -o app .')} || true",
    "ruby": f"{_as_app('bundle install')} || true",
    "rust": f"{_as_app('cargo build --release')} || true",
}
AL2023 = Distro(
    name="Amazon Linux 2023",
    install="dnf install -y",
    git="dnf install -y git",
    docker="dnf install -y docker && systemctl enable --now docker",
    runtime={
        "python": "dnf install -y python3 python3-pip git",
        "javascript": "dnf install -y nodejs npm git",
        "typescript": "dnf install -y nodejs npm git",
        "go": "dnf install -y golang git",
        "java": "dnf install -y java-21-amazon-corretto-devel maven git",
        "ruby": "dnf install -y ruby ruby-devel git gcc make",
        "php": "dnf install -y php php-cli php-mbstring php-xml composer git"
        " || dnf install -y php git",
        "rust": "dnf install -y cargo git",
    },
    build=_DEFAULT_BUILD,
)

_APT = "DEBIAN_FRONTEND=noninteractive apt-get install -y -q"
DEBIAN12 = Distro(
    name="Debian 12",
    install=_APT,
    git=f"apt-get update -q && {_APT} git sudo",
    docker=f"{_APT} docker.io && systemctl enable --now docker",
    runtime={
        # Debian's Python is externally managed (PEP 668): the app's packages go to its
        # virtualenv (APP_PROFILE), which the system packages cannot clash with.
        "python": f"{_APT} python3 python3-pip python3-venv git",
        "javascript": f"{_APT} nodejs npm git",
        "typescript": f"{_APT} nodejs npm git",
        "go": f"{_APT} golang git",
        "java": f"{_APT} openjdk-17-jdk maven git",
        "ruby": f"{_APT} ruby ruby-dev git gcc make",
        "php": f"{_APT} php-cli php-mbstring php-xml composer git",
        "rust": f"{_APT} cargo git",
    },
    build=_DEFAULT_BUILD,
)


def build_lines(summary: AnalysisSummary, distro: Distro) -> list[str]:
    """The lines that install the app's toolchain (root, fixed) and build it (the app user).

    The analysed build command (`summary.build_command`, repository content: untrusted) is
    only ever the single-quoted value of BUILD_COMMAND, run by the app user's login shell;
    when it fails, the script prints why to the setup log and exits 1 (no unit starts).
    Without one, the language's default lines (`distro.build`) run, best effort."""
    language = (summary.language or "").lower()
    lines = distro.runtime.get(language, distro.git).splitlines()
    if language in APP_PROFILE:
        lines += [
            f"cat > {APP_PROFILE_FILE} <<'PROFILE'",
            f'if [ "$(id -un)" = app ]; then {APP_PROFILE[language]}; fi',
            "PROFILE",
        ]
    lines += _PREPARE.get(language, [])
    if language in ("javascript", "typescript") and summary.package_manager in ("yarn", "pnpm"):
        lines.append(_COREPACK)
    build = (summary.build_command or "").strip()
    if not build:
        return lines + distro.build.get(language, "").splitlines()
    return [
        *lines,
        f"BUILD_COMMAND={shlex.quote(build)}",
        "printf 'function-scia: building as the app user: %s\\n' \"$BUILD_COMMAND\"",
        f'{APP_SHELL} "$BUILD_COMMAND" || {{',
        "  printf 'function-scia: the build command failed (exit %s): %s; the app is not "
        'started\\n\' "$?" "$BUILD_COMMAND" >&2',
        "  exit 1",
        "}",
    ]


# What the unit runs when the analysis found no start command and there is no Dockerfile:
# it fails, saying why, in the instance's setup log; the health check then fails and the
# rollout is not healthy. (It used to run `python3 -m http.server`, which answered the
# health check by publishing the checkout, .git included.)
NO_START_COMMAND = (
    "echo 'function-scia: the analysis found no start command and the repository has no "
    "Dockerfile: add a Dockerfile, or a start command (a Procfile web: line, package.json "
    "scripts.start)' >&2; exit 1"
)


def _default_start(summary: AnalysisSummary) -> str:
    """npm's own default for a Node app (`npm start` runs `node server.js` when package.json
    has no start script); for anything else, nothing is made up (NO_START_COMMAND)."""
    if (summary.language or "").lower() in ("javascript", "typescript"):
        return "npm start"
    return NO_START_COMMAND


def _docker_build(dockerfile: str | None) -> list[str]:
    """The docker build lines: the root Dockerfile as before, another one with its folder
    as the context (a path outside the repository is never used)."""
    inside = dockerfile and not dockerfile.startswith("/") and ".." not in dockerfile.split("/")
    if not dockerfile or dockerfile == "Dockerfile" or not inside:
        return ['docker build -t app:"$COMMIT" /srv/app']
    folder = dockerfile.rsplit("/", 1)[0] if "/" in dockerfile else "."
    return [
        f"DOCKERFILE={shlex.quote(dockerfile)}",
        f"CONTEXT={shlex.quote(folder)}",
        'docker build -f "/srv/app/$DOCKERFILE" -t app:"$COMMIT" "/srv/app/$CONTEXT"',
    ]


def startup_script(
    repo_url: str,
    commit: str,
    summary: AnalysisSummary,
    port: int,
    start_command: str | None,
    use_docker: bool,
    distro: Distro,
    launch_config: str | None = None,
    dockerfile: str | None = None,
    logs: LogShipping | None = None,
    sidecars: tuple[list[str], list[str]] = ([], []),
) -> str:
    """The boot script (text): the app at `commit`, listening on `port`.

    `logs`: where the app's output goes besides the instance (LogShipping); None keeps it
    on the instance (journald, `docker logs`).

    With `use_docker`, the repository's Dockerfile is built on the instance from the
    fetched commit and run with Docker; `dockerfile` is its path in the repository (its
    folder is the build context, function/build/dockerfile.py), None or "Dockerfile" for
    the root one.

    `launch_config` (JSON, names and ids only: function/render/aws/secrets.py) installs the
    launcher, which fetches the app's configuration with the instance role at each start.

    `sidecars`: (boot lines, systemd units) of local services the app reaches on 127.0.0.1
    (GCP's Cloud SQL Auth Proxies, render/gcp/datastores.py): installed before the app, which
    starts after them; a Docker app then shares the host's network to reach them.
    """
    q = shlex.quote
    start = start_command or summary.start_command or _default_start(summary)
    lines = [
        "#!/bin/bash",
        "# Written by function-scia. Fetches the application at a pinned commit and runs it.",
        "set -euo pipefail",
    ]
    if distro is not AL2023:
        lines.append(distro.git)  # useradd and sudo come with the image on AL2023
    lines += [
        "id app >/dev/null 2>&1 || useradd --system --create-home app",
    ]
    if distro is AL2023:
        lines.append(distro.git)
    logs = logs or LogShipping()
    lines += logs.setup
    lines += [
        f"REPO={q(repo_url)}",
        f"COMMIT={q(commit)}",
        f"PORT={port}",
        "install -d -o app -g app /srv/app",
        "cd /srv/app",
        'sudo -u app git init -q . && sudo -u app git remote add origin "$REPO" || true',
        'sudo -u app git fetch -q --depth 1 origin "$COMMIT"',
        'sudo -u app git checkout -q --detach "$COMMIT"',
    ]
    side_lines, side_units = sidecars
    # A composed Memorystore's CA, written by the launcher (render/gcp/datastores.py).
    ca_file = launch_config is not None and '"caFile"' in launch_config
    lines += side_lines
    launch = ""
    if launch_config is not None:
        lines += launcher_install(launch_config)
        launch = f"/usr/bin/python3 {LAUNCHER} {LAUNCH_CONFIG} "
    if use_docker:
        env_file = ""
        if launch_config is not None:
            lines.append(f"{launch}--env-file {ENV_FILE}")
            env_file = f"--env-file {ENV_FILE} "
        lines += [
            distro.docker,
            *_docker_build(dockerfile),
            "docker rm -f app >/dev/null 2>&1 || true",
            f"docker run -d --name app --restart=always {env_file}{logs.docker_options}"
            '-e PORT="$PORT" '
            + ("-v /srv/app/.scia:/srv/app/.scia:ro " if ca_file else "")
            + ("--network host " if side_units else '-p "$PORT:$PORT" ')
            + 'app:"$COMMIT"',
        ]
    else:
        lines += build_lines(summary, distro)
        lines += [
            "cat > /etc/systemd/system/app.service <<'UNIT'",
            "[Unit]",
            "Description=application deployed by function-scia",
            f"After={' '.join(['network-online.target', *side_units])}",
            *([f"Wants={' '.join(side_units)}"] if side_units else []),
            "[Service]",
            "User=app",
            "WorkingDirectory=/srv/app",
            f"Environment=PORT={port}",
            f"ExecStart={launch}{'-- ' if launch else ''}/bin/bash -lc {q(start)}",
            "Restart=always",
            *logs.unit,
            "[Install]",
            "WantedBy=multi-user.target",
            "UNIT",
            "systemctl daemon-reload",
            "systemctl enable --now app.service",
        ]
    return "\n".join(lines) + "\n"
