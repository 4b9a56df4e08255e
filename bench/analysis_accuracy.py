"""Accuracy of the repository analyzer over the fixture repositories of the tests.

Run: python bench/analysis_accuracy.py [--git]
  --git  analyze through a git daemon on 127.0.0.1 instead of the folders on disk
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "analysis")]

from analysis_fixtures import FIXTURES, check, make_repo, write_files  # noqa: E402
from analysis_gitserver import GitDaemon  # noqa: E402

from function.analysis.analyzer import Analyzer, analyze_path  # noqa: E402
from function.analysis.profile import AppProfile  # noqa: E402
from function.analysis.settings import AnalysisSettings  # noqa: E402

FIELDS = ["deployable", "framework", "port", "language", "datastores", "static_site",
          "health", "runtime", "services", "reason", "start", "build", "runner", "pkg_manager",
          "path"]  # fmt: skip


def profiles_from_folders(base: Path) -> dict[str, AppProfile]:
    out = {}
    for fixture in FIXTURES:
        write_files(base / fixture.name, fixture.files)
        out[fixture.name] = analyze_path(base / fixture.name)
    return out


def profiles_from_git(base: Path) -> dict[str, AppProfile]:
    for fixture in FIXTURES:
        make_repo(base / f"{fixture.name}.git", fixture.files)
    daemon = GitDaemon(base).start()
    try:
        analyzer = Analyzer(AnalysisSettings(allow_private_addresses=True))

        async def run() -> dict[str, AppProfile]:
            return {
                f.name: await analyzer.analyze(daemon.url(f"{f.name}.git"), "main")
                for f in FIXTURES
            }

        return asyncio.run(run())
    finally:
        daemon.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--git", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        profiles = (profiles_from_git if args.git else profiles_from_folders)(Path(tmp))
    header = f"{'fixture':<36} " + " ".join(f"{f[:10]:>10}" for f in FIELDS) + "   got"
    print(header)
    print("-" * len(header))
    right = dict.fromkeys(FIELDS, 0)
    total = dict.fromkeys(FIELDS, 0)
    for fixture in FIXTURES:
        profile = profiles[fixture.name]
        result = check(profile, fixture.expected)
        cells = []
        for field in FIELDS:
            if field not in result:
                cells.append(f"{'':>10}")
                continue
            total[field] += 1
            right[field] += result[field]
            cells.append(f"{'ok' if result[field] else 'MISS':>10}")
        got = f"{profile.framework or '-'} {profile.ports or ''}"
        print(f"{fixture.name:<36} " + " ".join(cells) + f"   {got}")
    print("-" * len(header))
    print(f"{'accuracy':<36} " + " ".join(
        f"{(right[f] / total[f] if total[f] else 1):>10.0%}" for f in FIELDS
    ))  # fmt: skip
    facts = sum(total.values())
    print(f"\n{sum(right.values())}/{facts} facts right over {len(FIXTURES)} fixtures "
          f"({'git daemon on loopback' if args.git else 'folders on disk'})")  # fmt: skip


if __name__ == "__main__":
    main()
