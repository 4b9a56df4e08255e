"""Detectors over fixture folders: every framework of the issue, and the tricky cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from analysis_fixtures import FIXTURES, Fixture, check, write_files

from function.analysis.analyzer import AnalysisError, analyze_path
from function.analysis.detect.base import PortRank, Project, command_ports, env_default_ports
from function.analysis.detect.docker import detect_dockerfile
from function.analysis.settings import AnalysisSettings
from function.analysis.tree import DirectoryTree


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
def test_fixture_profile_matches_expectations(fixture: Fixture, tmp_path: Path) -> None:
    write_files(tmp_path, fixture.files)
    profile = analyze_path(tmp_path)
    result = check(profile, fixture.expected)
    assert all(result.values()), {k: v for k, v in result.items() if not v}


def test_every_fact_has_evidence_pointing_at_a_real_line(tmp_path: Path) -> None:
    fixture = next(f for f in FIXTURES if f.name == "flask-env-default")
    write_files(tmp_path, fixture.files)
    profile = analyze_path(tmp_path)
    port = next(e for e in profile.evidence if e.fact == "port" and e.value == "5050")
    assert port.file == "app.py"
    assert port.line is not None
    line = fixture.files["app.py"].splitlines()[port.line - 1]
    assert 'os.environ.get("PORT", 5050)' in line
    facts = {e.fact for e in profile.evidence}
    assert {"framework", "port", "datastore", "runtime_version", "health_check_path"} <= facts


def test_dockerfile_expose_outranks_framework_default_but_both_are_evidence(
    tmp_path: Path,
) -> None:
    fixture = next(f for f in FIXTURES if f.name == "flask-dockerfile-overrides-default")
    write_files(tmp_path, fixture.files)
    profile = analyze_path(tmp_path)
    assert profile.ports == [8080]
    ports = {(e.value, e.file) for e in profile.evidence if e.fact == "port"}
    assert ("8080", "Dockerfile") in ports
    assert ("5000", "requirements.txt") in ports
    assert profile.dockerfile.exposed_ports == [8080]
    assert profile.dockerfile.base_image == "python:3.11-slim"
    assert profile.start_command == "gunicorn -b 0.0.0.0:8080 app:app"


def test_monorepo_lists_each_service_with_its_own_profile(tmp_path: Path) -> None:
    fixture = next(f for f in FIXTURES if f.name == "monorepo")
    write_files(tmp_path, fixture.files)
    profile = analyze_path(tmp_path)
    assert profile.monorepo
    by_path = {s.path: s for s in profile.services}
    assert set(by_path) == {"services/api", "web"}
    assert by_path["services/api"].ports == [9000]
    assert by_path["services/api"].dockerfile.base_image == "gcr.io/distroless/static"
    assert by_path["services/api"].runtime_version == "1.22"
    assert by_path["web"].static_site and by_path["web"].framework == "vite"
    assert all(e.file.startswith("services/api/") for e in by_path["services/api"].evidence)


def test_not_deployable_is_a_clear_answer(tmp_path: Path) -> None:
    write_files(tmp_path, {"setup.py": "from setuptools import setup\nsetup(name='x')\n"})
    profile = analyze_path(tmp_path)
    assert not profile.deployable
    assert profile.not_deployable_reason is not None
    assert "no web framework" in profile.not_deployable_reason


@pytest.mark.parametrize(
    ("snippet", "port"),
    [
        ('port = int(os.environ.get("PORT", 5000))', 5000),
        ("port = os.getenv('PORT', '8000')", 8000),
        ('port = int(os.getenv("PORT") or 8111)', 8111),
        ("const port = process.env.PORT || 3000;", 3000),
        ('const port = parseInt(process.env.PORT, 10) || "3300";', 3300),
        ("await app.listen(process.env.PORT ?? 3001);", 3001),
        ("exec gunicorn -b :${PORT:-8080} app:app", 8080),
        ("server.port=${PORT:9090}", 9090),
        ('port ENV.fetch("PORT") { 3000 }', 3000),
        ('addr := cmp.Or(os.Getenv("PORT"), "8082")', 8082),
        ('let p = env::var("PORT").unwrap_or_else(|_| "7000".to_string());', 7000),
        ('var port = Environment.GetEnvironmentVariable("PORT") ?? "5005";', 5005),
    ],
)
def test_env_var_defaults_are_understood(snippet: str, port: int) -> None:
    assert [p for p, _ in env_default_ports(snippet)] == [port]


@pytest.mark.parametrize(
    "snippet",
    ['os.environ["PORT"]', "process.env.PORT", "${PORT}", 'os.environ.get("HOST", "8080")'],
)
def test_env_reads_without_a_default_give_no_port(snippet: str) -> None:
    assert list(env_default_ports(snippet)) == []


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("uvicorn main:app --host 0.0.0.0 --port 8000", [(8000, PortRank.EXPLICIT)]),
        ("gunicorn --bind=0.0.0.0:5001 app:app", [(5001, PortRank.EXPLICIT)]),
        ("python manage.py runserver 0.0.0.0:8002", [(8002, PortRank.EXPLICIT)]),
        ("next start -p 4000", [(4000, PortRank.EXPLICIT)]),
        ("dotnet App.dll --urls http://0.0.0.0:5080", [(5080, PortRank.EXPLICIT)]),
        ("sh -c 'serve -s build -l ${PORT:-5173}'", [(5173, PortRank.ENV_DEFAULT)]),
        ("node server.js", []),
    ],
)
def test_start_command_ports(command: str, expected: list[tuple[int, PortRank]]) -> None:
    assert list(command_ports(command)) == expected


def test_dockerfile_multistage_args_and_json_cmd(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "Dockerfile": "# build\nFROM node:20-alpine AS build\nEXPOSE 9999\n"
            "FROM nginx:1.27-alpine\nARG HTTP_PORT=8081\nEXPOSE ${HTTP_PORT} 8443/tcp\n"
            "HEALTHCHECK CMD wget -qO- http://localhost:8081/healthz || exit 1\n"
            'CMD ["nginx", \\\n  "-g", "daemon off;"]\n'
        },
    )
    tree = DirectoryTree(tmp_path, max_files=10, max_file_bytes=10_000, max_read_bytes=10_000)
    facts, detection, runtimes = detect_dockerfile(Project(tree, "", tree.paths))
    assert facts.base_image == "nginx:1.27-alpine"
    assert facts.exposed_ports == [8081, 8443]
    assert facts.cmd == "nginx -g daemon off;"
    assert detection.health_check_path == "/healthz"
    assert runtimes == {"node": "20"}
    assert 9999 not in [c.port for c in detection.ports]


def test_symlinks_leaving_the_folder_are_ignored(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write_files(outside, {"Dockerfile": "FROM python:3.12\nEXPOSE 1234\n"})
    repo = tmp_path / "repo"
    write_files(repo, {"index.html": "<p>hi</p>\n", "real.txt": "x\n"})
    (repo / "Dockerfile").symlink_to(outside / "Dockerfile")
    (repo / "inside.txt").symlink_to(repo / "real.txt")
    profile = analyze_path(repo)
    assert not profile.dockerfile.present
    assert profile.ports == []
    assert profile.file_count == 3  # index.html, real.txt, inside.txt


def test_file_count_limit_is_an_error(tmp_path: Path) -> None:
    write_files(tmp_path, {f"f{i}.txt": "x" for i in range(5)})
    with pytest.raises(AnalysisError, match="file count limit"):
        analyze_path(tmp_path, AnalysisSettings(max_files=3))


def test_large_files_are_not_read(tmp_path: Path) -> None:
    write_files(tmp_path, {"requirements.txt": "flask\n" + "# pad\n" * 1000, "app.py": "x = 1\n"})
    profile = analyze_path(tmp_path, AnalysisSettings(max_file_bytes=1000))
    assert profile.framework is None
    assert not profile.deployable
