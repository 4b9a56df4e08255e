"""Every analyzer case from public bug reports (tests/analysis/cases, copied from
shared/cases/analyzer): the right answer of its expected.yaml, on the folder on disk and
through git (a repository made from it, analysed by URL at HEAD)."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from analysis_fixtures import git

from function.analysis.analyzer import Analyzer, analyze_path
from function.analysis.profile import AppProfile
from function.analysis.settings import AnalysisSettings

CASES = Path(__file__).parent / "cases"
NAMES = sorted(p.name for p in CASES.iterdir() if (p / "expected.yaml").is_file())
CANARY = "CANARY-7d1f3c"


def expected(name: str) -> dict[str, Any]:
    data = yaml.safe_load((CASES / name / "expected.yaml").read_text())
    return dict(data["expected"])


def materialize(name: str, tmp: Path) -> Path:
    """The case's repository in `tmp/repo`: symlinks made real (case 18 stores each link's
    target as the file's text), a git repository with one commit, then any hostile
    .git/config put in place (so only the analyzer could run what it names)."""
    repo = tmp / "repo"
    shutil.copytree(CASES / name / "repo", repo, symlinks=True)
    if name == "18-symlink-escape":
        outside = tmp / "outside"
        outside.mkdir()
        (outside / "secret.env").write_text(f"MONGO_URL=mongodb://{CANARY}@db:27017/x\n")
        for rel in (".env", "config/database.yml", "docker-compose.yml", "etc-link",
                    "public/index.html"):  # fmt: skip
            target = (repo / rel).read_text().strip().replace("/tmp/outside", str(outside))
            (repo / rel).unlink()
            os.symlink(target, repo / rel)
    attributes = CASES / name / "gitattributes"
    if attributes.is_file():
        shutil.copy(attributes, repo / ".gitattributes")
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "case")
    config = CASES / name / "git-config"
    if config.is_file():
        (repo / ".git" / "config").write_text(config.read_text().replace("@CASE@", str(tmp)))
    return repo


def analyze(repo: Path, mode: str, settings: AnalysisSettings | None = None) -> AppProfile:
    settings = settings or AnalysisSettings(allow_file_urls=True)
    if mode == "local":
        return analyze_path(repo, settings)
    return asyncio.run(Analyzer(settings).analyze(str(repo), "HEAD"))


def check(name: str, profile: AppProfile, tmp: Path) -> None:
    want = expected(name)
    dumped = profile.model_dump_json()
    for key, value in want.items():
        where = f"{name}: {key}"
        if key in ("why", "completes", "exit_code", "finishes_quickly", "timeout_respected"):
            continue  # the analysis returned a profile: it completed, with no error
        if key == "finishes_under_s":
            continue  # speed is measured in bench/, not asserted
        if key in ("framework", "static_site", "deployable", "runtime_version",
                   "health_check_path", "monorepo", "runtime"):  # fmt: skip
            assert getattr(profile, key) == value, (where, getattr(profile, key))
        elif key == "ports":
            assert profile.ports[: len(value)] == value, (where, profile.ports)
        elif key == "datastores":
            assert sorted(profile.datastores) == sorted(value), (where, profile.datastores)
        elif key == "dependencies_include":
            assert set(value) <= set(profile.dependencies), (where, profile.dependencies)
        elif key == "build_command":
            command = value.split(" (run at")[0]
            assert profile.build_command == command, (where, profile.build_command)
        elif key == "start_command":
            command = None if value is None else value.replace("<port>", str(profile.port))
            assert profile.start_command == command, (where, profile.start_command)
        elif key == "service_path":
            assert profile.path == value, (where, profile.path)
        elif key == "services" and isinstance(value, int):
            assert len(profile.services) == value, (where, [s.path for s in profile.services])
        elif key == "services":
            got = {s.path: s for s in profile.services}
            assert set(got) == set(value), (where, list(got))
            for path, facts in value.items():
                assert got[path].framework == facts["framework"], (where, path)
                assert got[path].ports[:1] == facts["ports"][:1], (where, path, got[path].ports)
        elif key == "build_command_uses":
            manager = value.split()[0]
            for service in profile.services:
                assert service.build_command, (where, service.path)
                assert service.build_command.startswith(f"{manager} install --frozen-lockfile")
                assert f"--filter {service.name}" in service.build_command, service.build_command
                assert service.package_manager == manager
        elif key == "no_canary_in_output":
            assert CANARY not in dumped
        elif key == "markers_created":
            assert sorted(p.name for p in tmp.glob("PWNED-*")) == value
        else:
            raise AssertionError(f"{where}: no check for this key")


@pytest.mark.parametrize("mode", ["local", "git"])
@pytest.mark.parametrize("name", NAMES)
def test_case(name: str, mode: str, tmp_path: Path) -> None:
    repo = materialize(name, tmp_path)
    settings = AnalysisSettings(allow_file_urls=True, timeout_seconds=60)
    check(name, analyze(repo, mode, settings), tmp_path)


def test_every_shared_case_is_here() -> None:
    shared = Path(__file__).resolve().parents[3] / "shared" / "cases" / "analyzer"
    if not shared.is_dir():
        pytest.skip(f"{shared} is not beside the repository")
    assert sorted(p.name for p in shared.iterdir() if p.is_dir()) == NAMES
