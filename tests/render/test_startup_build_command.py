"""The vm boot script runs the analysed build command, as the app user, and a failed build
fails the boot (render/startup.py).

Found by a fresh-user check of issue 15: the boot script had fixed per-language build lines
(`go build -o app . || true`), so a Go app whose analysis builds `bin/goweb` and starts
`./bin/goweb` never started, and a failed build was swallowed. The build command is
repository content: it must only ever be an argument of the app user's shell, never part
of the root script.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from function.pinning import AnalysisSummary
from function.render.startup import (
    AL2023,
    APP_PROFILE_FILE,
    APP_SHELL,
    DEBIAN12,
    Distro,
    startup_script,
)

COMMIT = "a" * 40
GO_BUILD = "CGO_ENABLED=0 go build -o bin/goweb ."
INVOKE = f'{APP_SHELL} "$BUILD_COMMAND" || {{'
DISTROS = pytest.mark.parametrize("distro", [AL2023, DEBIAN12], ids=lambda d: d.name)
BASH = shutil.which("bash")


def _script(
    language: str,
    distro: Distro,
    build: str | None,
    start: str | None = "./bin/goweb",
    docker: bool = False,
    package_manager: str | None = None,
) -> str:
    summary = AnalysisSummary(
        language=language,
        port=8080,
        start_command=start,
        build_command=build,
        package_manager=package_manager,
    )
    return startup_script(
        "https://github.com/acme/goweb", COMMIT, summary, 8080, None, docker, distro
    )


def _build_block(script: str) -> list[str]:
    """The lines from the BUILD_COMMAND assignment to the end of its failure branch."""
    lines = script.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("BUILD_COMMAND="))
    last = lines.index("}", lines.index(INVOKE, first))
    return lines[first : last + 1]


@DISTROS
def test_the_go_app_is_built_the_way_its_start_command_expects(distro: Distro) -> None:
    script = _script("go", distro, GO_BUILD)
    lines = script.splitlines()
    assert "BUILD_COMMAND='CGO_ENABLED=0 go build -o bin/goweb .'" in lines
    assert INVOKE in lines
    assert "go build -o app ." not in script  # the fixed default is not run besides it
    assert "ExecStart=/bin/bash -lc ./bin/goweb" in lines
    # The toolchain (root, fixed) first, then the build in the checkout, then the unit.
    toolchain = lines.index(distro.runtime["go"])
    checkout = lines.index('sudo -u app git checkout -q --detach "$COMMIT"')
    unit = lines.index("cat > /etc/systemd/system/app.service <<'UNIT'")
    assert checkout < toolchain < lines.index(INVOKE) < unit


@DISTROS
def test_a_failed_build_fails_the_boot_saying_why_instead_of_being_swallowed(
    distro: Distro,
) -> None:
    block = _build_block(_script("go", distro, GO_BUILD))
    assert block[2] == INVOKE
    assert "the build command failed (exit %s)" in block[3] and block[3].endswith(">&2")
    assert block[4:] == ["  exit 1", "}"]
    assert not any("|| true" in line for line in block)


HOSTILE = [
    "x'; touch /tmp/scia-pwned; echo '",
    "$(touch /tmp/scia-pwned)",
    "`touch /tmp/scia-pwned`",
    '"; touch /tmp/scia-pwned; echo "',
    "make || true; } ; touch /tmp/scia-pwned; {",
    "make\n}\ntouch /tmp/scia-pwned\nUNIT\nPROFILE",
    "go build \\\n; touch /tmp/scia-pwned # %s %n \\'",
]


@pytest.mark.skipif(BASH is None, reason="needs bash")
@DISTROS
@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_build_command_is_only_ever_the_app_users_argument(
    distro: Distro, hostile: str
) -> None:
    """bash itself reads the script: it parses, the assignment gives back exactly the
    analysed text, and that text appears nowhere else in the script (so no root line
    holds it); the app user's shell is the only thing that runs it."""
    assert BASH is not None
    script = _script("python", distro, hostile, start="gunicorn app:app")
    syntax = subprocess.run([BASH, "-n"], input=script, text=True, capture_output=True, check=False)
    assert syntax.returncode == 0, syntax.stderr
    block = _build_block(script)
    assignment = "\n".join(block[: block.index(INVOKE) - 1])
    value = subprocess.run(
        [BASH, "-c", f'{assignment}\nprintf %s "$BUILD_COMMAND"'],
        text=True,
        capture_output=True,
        check=True,
    ).stdout
    assert value == hostile.strip()
    assert script.count("scia-pwned") == 1 and "scia-pwned" in assignment
    assert [line for line in script.splitlines() if "BUILD_COMMAND" in line] == [
        block[0],
        "printf 'function-scia: building as the app user: %s\\n' \"$BUILD_COMMAND\"",
        INVOKE,
        block[block.index(INVOKE) + 1],
    ]


@DISTROS
def test_without_an_analysed_build_command_the_language_default_stays(distro: Distro) -> None:
    script = _script("go", distro, None, start="./app")
    assert "BUILD_COMMAND" not in script
    assert f"{APP_SHELL} 'go build -o app .' || true" in script.splitlines()


@DISTROS
def test_a_python_app_builds_into_a_virtualenv_the_app_user_owns(distro: Distro) -> None:
    """`pip install` as the analysis writes it works on Debian's externally managed Python
    too, and the start command's login shell finds what it installed."""
    script = _script("python", distro, "pip install -r requirements.txt", "gunicorn app:app")
    lines = script.splitlines()
    profile = lines.index(f"cat > {APP_PROFILE_FILE} <<'PROFILE'")
    assert lines[profile + 1] == (
        'if [ "$(id -un)" = app ]; then export VIRTUAL_ENV=/opt/venv PATH="/opt/venv/bin:$PATH"; fi'
    )
    venv = lines.index(f"{APP_SHELL} 'python3 -m venv /opt/venv'")
    assert profile < venv < lines.index(INVOKE)
    assert "BUILD_COMMAND='pip install -r requirements.txt'" in lines
    if distro is DEBIAN12:
        assert "python3-venv" in distro.runtime["python"]


@DISTROS
def test_yarn_and_pnpm_apps_get_corepack_from_root_and_build_as_the_app_user(
    distro: Distro,
) -> None:
    pnpm = "pnpm install --frozen-lockfile && pnpm run build"
    script = _script("typescript", distro, pnpm, package_manager="pnpm")
    lines = script.splitlines()
    corepack = next(i for i, line in enumerate(lines) if line.endswith("corepack enable"))
    assert corepack < lines.index(INVOKE)
    assert "corepack" not in _script("typescript", distro, "npm ci && npm run build")


@DISTROS
def test_with_a_dockerfile_the_dockerfile_builds_and_the_analysed_command_is_not_run(
    distro: Distro,
) -> None:
    script = _script("go", distro, GO_BUILD, docker=True)
    assert "BUILD_COMMAND" not in script and "go build" not in script
    assert 'docker build -t app:"$COMMIT" /srv/app' in script.splitlines()
