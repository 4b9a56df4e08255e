"""The network path against a real git server on loopback (git daemon on 127.0.0.1)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from analysis_fixtures import FIXTURES, commit, git, make_repo
from analysis_gitserver import GitDaemon

from function.analysis.analyzer import AnalysisError, Analyzer
from function.analysis.profile import AppProfile
from function.analysis.settings import AnalysisSettings

pytestmark = pytest.mark.integration

FLASK = next(f for f in FIXTURES if f.name == "flask-env-default")
GIN = next(f for f in FIXTURES if f.name == "go-gin-default")


class Repos:
    def __init__(self, base: Path, daemon: GitDaemon) -> None:
        self.base = base
        self.daemon = daemon
        self.first = make_repo(base / "app.git", FLASK.files)
        git(base / "app.git", "tag", "-a", "v1", "-m", "release 1")
        self.second = commit(base / "app.git", GIN.files | {"requirements.txt": ""}, "to go")
        make_repo(base / "links.git", {"index.html": "<p>x</p>\n", "real.txt": "x\n"})
        (base / "links.git" / "Dockerfile").symlink_to("../../../../etc/hostname")
        (base / "links.git" / "copy.html").symlink_to("index.html")
        commit(base / "links.git", {}, "links")
        make_repo(base / "big.git", {f"d/f{i}.txt": f"{i}\n" for i in range(50)})

    def url(self, name: str = "app.git") -> str:
        return self.daemon.url(name)


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repos]:
    base = tmp_path_factory.mktemp("served")
    daemon = GitDaemon(base)
    built = Repos(base, daemon)
    daemon.start()
    try:
        yield built
    finally:
        daemon.stop()


def loopback(**changes: object) -> AnalysisSettings:
    return AnalysisSettings.model_validate({"allow_private_addresses": True, **changes})


async def test_branch_tag_and_sha_resolve_and_analyze(repos: Repos) -> None:
    analyzer = Analyzer(loopback())
    head = await analyzer.analyze(repos.url(), "main")
    assert head.commit == repos.second and head.framework == "gin" and head.ports == [8080]
    tagged = await analyzer.analyze(repos.url(), "v1")
    assert tagged.commit == repos.first and tagged.framework == "flask"
    assert tagged.ports == [5050] and tagged.ref == "v1"
    by_sha = await analyzer.analyze(repos.url(), repos.first)
    assert by_sha.commit == repos.first and by_sha.ref == repos.first
    assert by_sha.url == repos.url()
    assert await analyzer.resolve(repos.url(), "HEAD") == repos.second


async def test_cached_commit_costs_no_clone(repos: Repos, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    analyzer = Analyzer(loopback(work_dir=str(work)))
    first = await analyzer.analyze(repos.url(), repos.first)
    # a second analysis of the same commit through another server URL would fail: the
    # cache must answer without touching git (the work folder stays empty too)
    again = await analyzer.analyze(repos.url(), repos.first)
    assert again is first
    assert list(work.iterdir()) == []


class DictCache:
    """A second, real ProfileCache implementation (what PostgreSQL will provide)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], AppProfile] = {}

    async def get(self, url: str, sha: str) -> AppProfile | None:
        return self.items.get((url, sha))

    async def put(self, url: str, sha: str, profile: AppProfile) -> None:
        self.items[(url, sha)] = profile


async def test_shared_cache_is_filled_and_read(repos: Repos) -> None:
    shared = DictCache()
    await Analyzer(loopback(), shared).analyze(repos.url(), repos.first)
    assert list(shared.items) == [(repos.url(), repos.first)]
    marker = shared.items[(repos.url(), repos.first)].model_copy(update={"framework": "marker"})
    shared.items[(repos.url(), repos.first)] = marker
    fresh = Analyzer(loopback(), shared)
    assert (await fresh.analyze(repos.url(), repos.first)).framework == "marker"


async def test_concurrent_requests_share_one_fetch(repos: Repos) -> None:
    analyzer = Analyzer(loopback())
    results = await asyncio.gather(*(analyzer.analyze(repos.url(), repos.second) for _ in range(4)))
    assert all(r is results[0] for r in results)


async def test_ref_to_sha_is_cached_for_the_ttl(repos: Repos) -> None:
    analyzer = Analyzer(loopback(ref_cache_seconds=60))
    sha = await analyzer.resolve(repos.url(), "main")
    repos.daemon.stop()
    try:
        assert await analyzer.resolve(repos.url(), "main") == sha
        uncached = Analyzer(loopback(ref_cache_seconds=0))
        with pytest.raises(AnalysisError, match="unreachable"):
            await uncached.resolve(repos.url(), "main")
    finally:
        repos.daemon.start()


@pytest.mark.parametrize(
    ("name", "ref", "reason"),
    [
        ("app.git", "no-such-branch", "unknown ref"),
        ("app.git", "f" * 40, "unknown ref"),
        ("missing.git", "main", "repository not found"),
    ],
)
async def test_errors_name_repo_ref_and_reason(
    repos: Repos, name: str, ref: str, reason: str
) -> None:
    with pytest.raises(AnalysisError) as caught:
        await Analyzer(loopback()).analyze(repos.url(name), ref)
    error = caught.value
    assert error.url == repos.url(name) and error.ref == ref
    assert reason in error.reason
    assert str(error) == f"cannot analyze {repos.url(name)} at {ref!r}: {error.reason}"
    assert "\n" not in str(error)


async def test_unreachable_server() -> None:
    from analysis_gitserver import free_port

    with pytest.raises(AnalysisError, match="unreachable"):
        await Analyzer(loopback()).analyze(f"git://127.0.0.1:{free_port()}/x.git", "main")


async def test_loopback_refused_by_default(repos: Repos) -> None:
    with pytest.raises(AnalysisError, match="loopback"):
        await Analyzer(AnalysisSettings()).analyze(repos.url(), "main")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"max_files": 10}, "file count limit"),
        ({"max_clone_bytes": 200}, "clone size limit"),
    ],
)
async def test_limits(repos: Repos, changes: dict[str, object], reason: str) -> None:
    with pytest.raises(AnalysisError, match=reason):
        await Analyzer(loopback(**changes)).analyze(repos.url("big.git"), "main")


async def test_symlinks_leaving_the_checkout_are_ignored(repos: Repos) -> None:
    profile = await Analyzer(loopback()).analyze(repos.url("links.git"), "main")
    assert not profile.dockerfile.present
    assert profile.static_site
    assert profile.file_count == 3  # index.html, real.txt and copy.html (inside)


async def test_file_urls_only_when_allowed(repos: Repos) -> None:
    url = f"file://{repos.base / 'app.git'}"
    with pytest.raises(AnalysisError, match="file://"):
        await Analyzer(loopback()).analyze(url, "main")
    allowed = await Analyzer(AnalysisSettings(allow_file_urls=True)).analyze(url, "v1")
    assert allowed.framework == "flask"


async def test_nothing_from_the_repository_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    hook = f"#!/bin/sh\ntouch {marker}\n"
    source = tmp_path / "src"
    make_repo(source, {**FLASK.files, ".gitattributes": "*.py filter=evil\n"})
    for name in ("post-checkout", "post-merge", "reference-transaction", "pre-upload"):
        path = source / ".git" / "hooks" / name
        path.write_text(hook)
        path.chmod(0o755)
    git(source, "config", "filter.evil.smudge", f"touch {marker}")
    profile = await Analyzer(AnalysisSettings(allow_file_urls=True)).analyze(
        f"file://{source}", "main"
    )
    assert profile.framework == "flask"
    assert not marker.exists()
