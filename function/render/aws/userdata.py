"""Cloud-init user data for the vm strategy: fetch the repository at its commit, start the app.

Every value that came from the tenant or the repository (URL, commit, start command) is
shell-quoted, so it can only ever be an argument, never script structure.
"""

from __future__ import annotations

import base64
import shlex

from function.config.launcher import ENV_FILE, LAUNCH_CONFIG, LAUNCHER, launcher_install
from function.pinning import AnalysisSummary

_RUNTIME_SETUP = {
    "python": "dnf install -y python3 python3-pip git\n"
    "[ -f requirements.txt ] && sudo -u app python3 -m pip install --user -r requirements.txt"
    " || true",
    "javascript": "dnf install -y nodejs npm git\n"
    "[ -f package.json ] && sudo -u app npm ci --omit=dev || true",
    "typescript": "dnf install -y nodejs npm git\n"
    "[ -f package.json ] && sudo -u app npm ci && sudo -u app npm run build || true",
    "go": "dnf install -y golang git\nsudo -u app go build -o app . || true",
    "java": "dnf install -y java-21-amazon-corretto-devel maven git",
    "ruby": "dnf install -y ruby ruby-devel git gcc make\n"
    "sudo -u app gem install bundler && sudo -u app bundle install || true",
    "php": "dnf install -y php php-cli php-mbstring php-xml composer git || dnf install -y php git",
    "rust": "dnf install -y cargo git\nsudo -u app cargo build --release || true",
}


def _default_start(summary: AnalysisSummary, port: int) -> str:
    lang = (summary.language or "").lower()
    if lang == "python":
        return f"python3 -m http.server {port}"
    if lang in ("javascript", "typescript"):
        return "npm start"
    return f"python3 -m http.server {port}"


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


def user_data(
    repo_url: str,
    commit: str,
    summary: AnalysisSummary,
    port: int,
    start_command: str | None,
    use_docker: bool,
    launch_config: str | None = None,
    dockerfile: str | None = None,
) -> str:
    """The user data script, base64-encoded as the launch template wants it.

    `launch_config` (JSON, names and ids only: function/render/aws/secrets.py) installs the
    launcher, which fetches the app's configuration with the instance role at each start.

    With `use_docker`, the repository's Dockerfile is built on the instance from the
    fetched commit and run with Docker; `dockerfile` is its path in the repository (its
    folder is the build context, function/build/dockerfile.py), None or "Dockerfile" for
    the root one."""
    q = shlex.quote
    start = start_command or summary.start_command or _default_start(summary, port)
    lines = [
        "#!/bin/bash",
        "# Written by function-scia. Fetches the application at a pinned commit and runs it.",
        "set -euo pipefail",
        "id app >/dev/null 2>&1 || useradd --system --create-home app",
        "dnf install -y git",
        f"REPO={q(repo_url)}",
        f"COMMIT={q(commit)}",
        f"PORT={port}",
        "install -d -o app -g app /srv/app",
        "cd /srv/app",
        'sudo -u app git init -q . && sudo -u app git remote add origin "$REPO" || true',
        'sudo -u app git fetch -q --depth 1 origin "$COMMIT"',
        'sudo -u app git checkout -q --detach "$COMMIT"',
    ]
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
            "dnf install -y docker && systemctl enable --now docker",
            *_docker_build(dockerfile),
            "docker rm -f app >/dev/null 2>&1 || true",
            f'docker run -d --name app --restart=always {env_file}-e PORT="$PORT" '
            '-p "$PORT:$PORT" app:"$COMMIT"',
        ]
    else:
        setup = _RUNTIME_SETUP.get((summary.language or "").lower(), "dnf install -y git")
        lines += setup.splitlines()
        lines += [
            "cat > /etc/systemd/system/app.service <<'UNIT'",
            "[Unit]",
            "Description=application deployed by function-scia",
            "After=network-online.target",
            "[Service]",
            "User=app",
            "WorkingDirectory=/srv/app",
            f"Environment=PORT={port}",
            f"ExecStart={launch}{'-- ' if launch else ''}/bin/bash -lc {q(start)}",
            "Restart=always",
            "[Install]",
            "WantedBy=multi-user.target",
            "UNIT",
            "systemctl daemon-reload",
            "systemctl enable --now app.service",
        ]
    script = "\n".join(lines) + "\n"
    return base64.b64encode(script.encode()).decode()
