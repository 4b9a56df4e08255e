"""Analyzer benchmark: a cached commit, and a fresh shallow clone of a mid-size repository
served by git daemon on 127.0.0.1; with memory used.

Run: python bench/analysis_bench.py [--cached-runs 5000] [--fresh-runs 5]

The mid-size repository is built from real source code already on this machine (the
installed `pip` and `pydantic` packages, about 1,000 files) plus a small Flask app, in one
commit.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "analysis")]

from analysis_fixtures import FIXTURES, make_repo  # noqa: E402
from analysis_gitserver import GitDaemon  # noqa: E402

from function.analysis.analyzer import Analyzer  # noqa: E402
from function.analysis.settings import AnalysisSettings  # noqa: E402


def build_mid_size_repo(target: Path) -> tuple[str, int, int]:
    import pip
    import pydantic

    files = dict(next(f for f in FIXTURES if f.name == "flask-env-default").files)
    target.mkdir(parents=True)
    for package in (pip, pydantic):
        source = Path(package.__file__).parent
        shutil.copytree(source, target / "vendor_src" / source.name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
    sha = make_repo(target, files)
    count = sum(1 for p in target.rglob("*") if p.is_file() and ".git" not in p.parts)
    size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file() and ".git" not in p.parts)
    return sha, count, size


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bench(url: str, sha: str, cached_runs: int, fresh_runs: int) -> None:
    settings = AnalysisSettings(allow_private_addresses=True)
    fresh: list[float] = []
    peak = 0
    profile = None
    for _ in range(fresh_runs):
        analyzer = Analyzer(settings)  # empty cache: every run clones
        tracemalloc.start()
        started = time.perf_counter()
        profile = await analyzer.analyze(url, "main")
        fresh.append(time.perf_counter() - started)
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert profile is not None and profile.commit == sha
    analyzer = Analyzer(settings)
    await analyzer.analyze(url, sha)
    cached: list[float] = []
    for _ in range(cached_runs):
        started = time.perf_counter()
        await analyzer.analyze(url, sha)
        cached.append(time.perf_counter() - started)
    by_branch: list[float] = []
    for _ in range(cached_runs):
        started = time.perf_counter()
        await analyzer.analyze(url, "main")  # ref -> SHA from the TTL cache
        by_branch.append(time.perf_counter() - started)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"profile: {profile.framework} ports={profile.ports} files={profile.file_count} "
          f"read={profile.analyzed_bytes / 1e6:.1f} MB")  # fmt: skip
    print(f"cached SHA        p50 {statistics.median(cached) * 1e6:8.1f} us   "
          f"p99 {percentile(cached, 0.99) * 1e6:8.1f} us   ({cached_runs} runs)")  # fmt: skip
    print(f"cached branch ref p50 {statistics.median(by_branch) * 1e6:8.1f} us   "
          f"p99 {percentile(by_branch, 0.99) * 1e6:8.1f} us   (ref cache, {cached_runs} runs)"
          )  # fmt: skip
    print(f"fresh clone       p50 {statistics.median(fresh) * 1e3:8.1f} ms   "
          f"max {max(fresh) * 1e3:8.1f} ms   ({fresh_runs} runs: ls-remote, fetch, read, detect)"
          )  # fmt: skip
    print(f"memory: python peak during one fresh analysis {peak / 1e6:.1f} MB (tracemalloc); "
          f"max RSS this process {own:.0f} MB, largest git child {children:.0f} MB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cached-runs", type=int, default=5000)
    parser.add_argument("--fresh-runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        sha, count, size = build_mid_size_repo(base / "mid.git")
        print(f"repository: {count} files, {size / 1e6:.1f} MB of source, one commit")
        daemon = GitDaemon(base).start()
        try:
            asyncio.run(bench(daemon.url("mid.git"), sha, args.cached_runs, args.fresh_runs))
        finally:
            daemon.stop()


if __name__ == "__main__":
    main()
