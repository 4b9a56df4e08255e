"""How quickly `scia` answers: `scia --help` and `scia analyze` of a small local repository.

    python bench/cli_bench.py [--runs 10]

Each command runs `--runs` times as a new process (`python -m function.cli.main`, what the
`scia` script runs). Prints the median and worst wall time and the median CPU time (user +
system of the child): on a busy shared machine the wall time is mostly waiting for a core,
the CPU time is what the command costs. Targets (issue 18): --help <= 0.5 s, analyze <= 1 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "scia --help": ["--help"],
    "scia analyze examples/apps/flask-app": ["analyze", str(ROOT / "examples/apps/flask-app")],
}


def run(args: list[str]) -> tuple[float, float]:
    before = os.times()
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "function.cli.main", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - t0
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    a = ap.parse_args()
    print(f"{'command':42} {'wall p50 s':>10} {'wall max s':>10} {'CPU p50 s':>10}")
    for name, args in CASES.items():
        run(args)  # warm the page cache and the bytecode
        got = [run(args) for _ in range(a.runs)]
        walls = [w for w, _ in got]
        cpus = [c for _, c in got]
        print(
            f"{name:42} {statistics.median(walls):>10.3f} {max(walls):>10.3f}"
            f" {statistics.median(cpus):>10.3f}"
        )


if __name__ == "__main__":
    main()
