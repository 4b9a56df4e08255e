"""Analysing a folder on disk in an analysis worker process: the part of the analyzer that
`scia analyze <folder>` needs, without git, fetching or the server's metrics (so the CLI
imports little before the worker answers; analysis/analyzer.py re-exports these names)."""

from __future__ import annotations

from pathlib import Path

from function.analysis.errors import AnalysisError
from function.analysis.pool import Limits, WorkerFailed, WorkerPool, default_pool
from function.analysis.profile import AppProfile
from function.analysis.settings import AnalysisSettings


class AnalysisFailed(Exception):
    """The worker gave no profile; `reason` reads "analysis failed: <why>"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def run_in_worker(
    job: dict[str, object],
    settings: AnalysisSettings,
    wall_seconds: float,
    pool: WorkerPool | None = None,
) -> AppProfile:
    """Run one analysis job in a worker process under the settings' limits (blocking)."""
    limits = Limits(
        cpu_seconds=settings.cpu_seconds,
        memory_bytes=settings.memory_mib * 1024 * 1024,
        wall_seconds=wall_seconds,
    )
    try:
        answer = (pool or default_pool()).run(job, limits)
    except WorkerFailed as failed:
        raise AnalysisFailed(f"analysis failed: {failed.reason}") from None
    try:
        return AppProfile.model_validate(answer["profile"])
    except (KeyError, ValueError):
        raise AnalysisFailed("analysis failed: the worker's answer is not a profile") from None


def analyze_path(
    path: Path, settings: AnalysisSettings | None = None, pool: WorkerPool | None = None
) -> AppProfile:
    """Analyze a local folder as it is on disk (no git needed), in an analysis worker
    process under the settings' limits. Blocking: call it from a thread inside an event
    loop. Raises AnalysisError with the reason."""
    settings = settings or AnalysisSettings()
    shown = str(path)
    if not path.is_dir():
        raise AnalysisError(shown, "", "not a folder")
    job: dict[str, object] = {
        "kind": "folder", "path": str(path.resolve()), "url": shown, "ref": "", "commit": "",
        "max_files": settings.max_files, "max_file_bytes": settings.max_file_bytes,
        "max_read_bytes": settings.max_read_bytes,
    }  # fmt: skip
    try:
        return run_in_worker(job, settings, settings.timeout_seconds, pool)
    except AnalysisFailed as failed:
        raise AnalysisError(shown, "", failed.reason) from None
