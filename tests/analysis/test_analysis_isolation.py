"""Detectors run in worker processes with CPU, memory and wall-clock limits; manifests that
do not parse are ignored with a warning; scanning stays linear on attacker-shaped files."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from function.analysis.analyzer import AnalysisError, analyze_path
from function.analysis.pool import Limits, WorkerFailed, WorkerPool
from function.analysis.settings import AnalysisSettings

MIB = 1024 * 1024
CASES = Path(__file__).parent / "cases"


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    p = WorkerPool(1)
    yield p
    p.close()


def _heavy_job(mib: int) -> dict[str, object]:
    """A tree of `mib` MiB of server-looking JavaScript: real detector work, linear in size
    (one shared 1 MiB body, so the pickled job stays small; the worker decodes each file)."""
    line = "app.listen({ port: process.env.PORT || 3000, host: '0.0.0.0' }); // " + "x" * 40
    body = ((line + "\n") * (MIB // (len(line) + 1))).encode()
    contents = {f"src/part{i}.js": body for i in range(mib)}
    contents["package.json"] = json.dumps({"dependencies": {"express": "4"}}).encode()
    return {
        "kind": "tree", "url": "mem://heavy", "ref": "", "commit": "", "paths": list(contents),
        "contents": contents, "read_bytes": mib * MIB,
    }  # fmt: skip


def _small_job() -> dict[str, object]:
    contents = {
        "package.json": b'{"dependencies": {"express": "4"}, "scripts": {"start": "node a.js"}}',
        "a.js": b"require('express')().listen(process.env.PORT || 4100)\n",
    }
    return {"kind": "tree", "url": "mem://small", "ref": "", "commit": "",
            "paths": list(contents), "contents": contents, "read_bytes": 10}  # fmt: skip


def test_a_worker_is_reused_between_jobs(pool: WorkerPool) -> None:
    limits = Limits(cpu_seconds=30, memory_bytes=1024 * MIB, wall_seconds=120)
    for _ in range(3):
        answer = pool.run(_small_job(), limits)
        assert answer["profile"]["ports"] == [4100]
    assert pool.started == 1


def test_a_prestarted_worker_takes_the_first_job_under_its_limits(pool: WorkerPool) -> None:
    """`scia analyze` starts the worker before importing the analyzer; the job still runs
    in that worker, under the job's limits."""
    pool.prestart()
    pool.prestart()  # one idle worker already: nothing more
    assert pool.started == 1
    assert pool.run(_small_job(), Limits(30, 1024 * MIB, 120))["profile"]["ports"] == [4100]
    assert pool.started == 1
    with pytest.raises(WorkerFailed) as failed:
        pool.run(_heavy_job(400), Limits(cpu_seconds=1, memory_bytes=4096 * MIB, wall_seconds=600))
    assert failed.value.reason == "used more than its CPU time limit (1 s)"


def test_cpu_time_limit_ends_the_job_with_the_reason(pool: WorkerPool) -> None:
    with pytest.raises(WorkerFailed) as failed:
        pool.run(_heavy_job(400), Limits(cpu_seconds=1, memory_bytes=4096 * MIB, wall_seconds=600))
    assert failed.value.reason == "used more than its CPU time limit (1 s)"
    # the pool replaces the worker and goes on
    assert pool.run(_small_job(), Limits(30, 1024 * MIB, 120))["profile"]["ports"] == [4100]


def test_wall_clock_limit_kills_the_worker(pool: WorkerPool) -> None:
    pool.run(_small_job(), Limits(30, 1024 * MIB, 120))  # a started worker
    started = time.monotonic()
    with pytest.raises(WorkerFailed) as failed:
        pool.run(_heavy_job(400), Limits(cpu_seconds=600, memory_bytes=4096 * MIB,
                                         wall_seconds=0.5))  # fmt: skip
    assert failed.value.reason == "took longer than the time limit (0.5 s)"
    assert time.monotonic() - started < 60  # killed, not waited for
    assert pool.run(_small_job(), Limits(30, 1024 * MIB, 120))["profile"]["ports"] == [4100]
    assert pool.started == 2


def test_memory_limit_ends_the_job_with_the_reason(pool: WorkerPool) -> None:
    with pytest.raises(WorkerFailed) as failed:
        pool.run(_heavy_job(400), Limits(cpu_seconds=600, memory_bytes=128 * MIB,
                                         wall_seconds=600))  # fmt: skip
    assert "memory limit (128 MiB)" in failed.value.reason
    assert pool.run(_small_job(), Limits(30, 1024 * MIB, 120))["profile"]["ports"] == [4100]


def test_analyze_path_reports_a_limit_as_analysis_failed(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"dependencies": {"express": "4"}}')
    line = "app.listen({ port: process.env.PORT || 3000 }); // " + "y" * 60 + "\n"
    for i in range(40):
        (tmp_path / f"w{i}.js").write_text(line * (MIB // len(line) - 1))
    settings = AnalysisSettings(cpu_seconds=1, max_read_bytes=4096 * MIB, timeout_seconds=0.2)
    with pytest.raises(AnalysisError) as failed:
        analyze_path(tmp_path, settings)
    assert failed.value.reason == "analysis failed: took longer than the time limit (0.2 s)"
