"""The configuration launcher in images built from the repository (function/build/launcher.py).

Every generated Dockerfile and every wrapper is parsed with BuildKit's own parser (PyPI
`dockerfile`); the entrypoint script is taken out of a parsed Dockerfile's heredoc and run
for real by /bin/sh, with the launcher from the same Dockerfile, against the loopback AWS
stand-in of the launcher's tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dockerfile
import pytest

from function.analysis.profile import DockerfileFacts, ServiceProfile
from function.build import launcher
from function.build.dockerfile import build_recipe, recipe_for_pin
from function.pinning import AnalysisSummary
from tests.build.test_dockerfile import DEPLOYABLE, commands, profile_of, stages
from tests.config.fake_aws import World, handler_for
from tests.support.jsonhttp import serving, url_of

CANARY = "canary-launch-7Qx!"
PRINT_ENV = "import json, os; print(json.dumps(dict(os.environ)))"


def _heredocs(cmds: list[dockerfile.Command]) -> dict[str, str]:
    """path -> content of every COPY heredoc."""
    return {c.value[-1]: c.heredocs[0].content for c in cmds if c.cmd == "COPY" and c.heredocs}


@pytest.mark.parametrize("fixture", DEPLOYABLE, ids=[f.name for f in DEPLOYABLE])
def test_every_built_image_carries_the_launcher(fixture: object, tmp_path: Path) -> None:
    profile = profile_of(fixture, tmp_path)  # type: ignore[arg-type]
    recipe = build_recipe(profile)
    if recipe.origin == "repository":
        df = profile.dockerfile
        if recipe.wrapper is None:
            assert recipe.wrap_problem and not (df.entrypoint_argv or df.cmd_argv)
            return
        cmds = commands(recipe.wrapper)
        assert [c.cmd for c in cmds[:2]] == ["ARG", "FROM"]
        assert cmds[1].value == ("${SCIA_APP_IMAGE}",)
        entry = [c for c in cmds if c.cmd == "ENTRYPOINT"]
        assert entry[0].json
        assert list(entry[0].value) == [launcher.ENTRYPOINT_PATH, *(df.entrypoint_argv or [])]
        cmd = [list(c.value) for c in cmds if c.cmd == "CMD"]
        assert cmd == ([df.cmd_argv] if df.cmd_argv else [])
    else:
        assert recipe.dockerfile is not None
        cmds = commands(recipe.dockerfile)
        final = stages(cmds)[-1]
        if profile.static_site and not profile.start_command:
            assert not _heredocs(final)  # nginx reads no environment
            return
        entry = [c for c in final if c.cmd == "ENTRYPOINT"]
        assert len(entry) == 1 and entry[0].json
        assert entry[0].value == (launcher.ENTRYPOINT_PATH,)
        kinds = [c.cmd for c in final]
        assert kinds.index("ENTRYPOINT") < kinds.index("CMD")
        # python3 for the launcher: the python images have it, the others get it as root,
        # before the app's user is switched to.
        runs = [c.value[-1] for c in final if c.cmd == "RUN"]
        has_install = any("apt-get install -y --no-install-recommends python3 " in r for r in runs)
        assert has_install == (profile.runtime != "python")
    files = _heredocs(cmds)
    assert files[launcher.LAUNCHER_PATH] == launcher.launcher_source()
    assert files[launcher.ENTRYPOINT_PATH] == launcher.ENTRYPOINT_SCRIPT
    flags = {c.value[-1]: c.flags for c in cmds if c.cmd == "COPY" and c.heredocs}
    assert flags[launcher.ENTRYPOINT_PATH] == ("--chmod=0755",)


def test_the_pin_keeps_what_the_wrapper_needs() -> None:
    summary = AnalysisSummary(
        has_dockerfile=True,
        dockerfile_path="api/Dockerfile",
        dockerfile_base="node:22-alpine",
        dockerfile_entrypoint=["docker-entrypoint.sh"],
        dockerfile_cmd=["node", "server.js"],
        port=3000,
    )
    again = AnalysisSummary.model_validate(summary.model_dump(mode="json", by_alias=True))
    recipe = recipe_for_pin(again)
    assert recipe.origin == "repository" and recipe.context == "api"
    assert recipe.wrapper is not None
    assert 'ENTRYPOINT ["/usr/local/bin/scia-entrypoint", "docker-entrypoint.sh"]' in recipe.wrapper
    assert 'CMD ["node", "server.js"]' in recipe.wrapper
    old = AnalysisSummary(has_dockerfile=True, port=3000)  # a pin made before: no wrapper
    assert recipe_for_pin(old).wrapper is None


@pytest.mark.parametrize(
    ("base", "entrypoint", "cmd", "why"),
    [
        ("gcr.io/distroless/python3-debian12", None, ["app.py"], "no shell"),
        ("scratch", ["/server"], None, "no shell"),
        ("python:3.12-slim", None, None, "declare CMD"),
    ],
)
def test_images_the_launcher_cannot_wrap_say_why(
    base: str, entrypoint: list[str] | None, cmd: list[str] | None, why: str
) -> None:
    facts = DockerfileFacts(present=True, base_image=base, entrypoint_argv=entrypoint, cmd_argv=cmd)
    recipe = build_recipe(ServiceProfile(name="app", ports=[8000], dockerfile=facts))
    assert recipe.wrapper is None and recipe.wrap_problem and why in recipe.wrap_problem


def test_shell_form_commands_are_kept_as_the_runtime_runs_them(tmp_path: Path) -> None:
    from function.analysis.analyzer import analyze_path

    (tmp_path / "Dockerfile").write_text(
        'FROM python:3.12-slim AS build\nCMD ["ignored"]\n'
        'FROM python:3.12-slim\nENTRYPOINT ["tini", "--"]\n'
        "CMD gunicorn -b 0.0.0.0:$PORT app:app\n"
    )
    (tmp_path / "app.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    (tmp_path / "requirements.txt").write_text("flask\ngunicorn\n")
    facts = analyze_path(tmp_path).dockerfile
    assert facts.entrypoint_argv == ["tini", "--"]
    assert facts.cmd_argv == ["/bin/sh", "-c", "gunicorn -b 0.0.0.0:$PORT app:app"]


def _extract(tmp_path: Path) -> tuple[Path, Path]:
    """The entrypoint and the launcher of a generated Dockerfile, as files, the entrypoint
    pointed at the launcher's place here."""
    profile = ServiceProfile(
        name="app", runtime="node", package_manager="npm", ports=[3000],
        start_command="node server.js",
    )  # fmt: skip
    recipe = build_recipe(profile)
    assert recipe.dockerfile is not None
    files = _heredocs(commands(recipe.dockerfile))
    launch = tmp_path / "scia_launch.py"
    launch.write_text(files[launcher.LAUNCHER_PATH])
    entry = tmp_path / "scia-entrypoint"
    entry.write_text(files[launcher.ENTRYPOINT_PATH].replace(launcher.LAUNCHER_PATH, str(launch)))
    entry.chmod(0o755)
    return entry, launch


def _bin_with_python(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    return bin_dir


def _sh(entry: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/sh", str(entry), sys.executable, "-c", PRINT_ENV],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_entrypoint_fetches_the_configuration_then_runs_the_command(tmp_path: Path) -> None:
    entry, _ = _extract(tmp_path)
    world = World()
    world.secrets["scia/team-a/app-1/API_KEY"] = CANARY
    world.parameters["/scia/team-a/app-1/env"] = json.dumps({"GREETING": "hi"})
    config = {
        "region": "eu-west-1",
        "version": "v-9",
        "sources": [
            {"from": "ssm-json", "id": "/scia/team-a/app-1/env"},
            {"from": "secret", "name": "API_KEY", "id": "scia/team-a/app-1/API_KEY"},
        ],
    }
    path = f"{_bin_with_python(tmp_path)}:/usr/bin:/bin"
    with serving(handler_for(world)) as server:
        env = {
            "PATH": path,
            "SCIA_AWS_ENDPOINT": url_of(server) + "/",
            "SCIA_LAUNCH_CONFIG": json.dumps(config),
            "SCIA_LAUNCH_ATTEMPTS": "2",
            "SCIA_LAUNCH_PAUSE": "0.05",
            "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE0001",
            "AWS_SECRET_ACCESS_KEY": "fake/secret/key/for/loopback/tests/only",
            "AWS_SESSION_TOKEN": "session-token-of-the-fake",
        }
        got = _sh(entry, env)
    assert got.returncode == 0, got.stderr
    seen = json.loads(got.stdout)
    assert seen["API_KEY"] == CANARY and seen["GREETING"] == "hi"
    assert seen["SCIA_CONFIG_VERSION"] == "v-9"
    assert CANARY not in got.stderr
    assert world.bad_signatures == 0


def test_the_entrypoint_without_configuration_runs_the_command_as_is(tmp_path: Path) -> None:
    entry, _ = _extract(tmp_path)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    got = _sh(entry, {"PATH": str(empty)})  # no python3: not needed with nothing to fetch
    assert got.returncode == 0, got.stderr
    assert "SCIA_CONFIG_VERSION" not in json.loads(got.stdout)


def test_the_entrypoint_refuses_to_start_half_configured_without_python(tmp_path: Path) -> None:
    entry, _ = _extract(tmp_path)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    got = subprocess.run(
        ["/bin/sh", str(entry), "/bin/echo", "started"],
        env={"PATH": str(empty), "SCIA_LAUNCH_CONFIG": '{"region":"eu-west-1","sources":[]}'},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert got.returncode == 1
    assert "started" not in got.stdout
    assert "python3 is not in the image" in got.stderr
    assert os.access(entry, os.X_OK)
