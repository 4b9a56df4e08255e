"""The analysis worker process: `python -m function.analysis.worker` (started by pool.py).

Reads jobs from stdin (8-byte big-endian length + pickle, written by the server only),
answers on its original stdout (8-byte length + JSON). Everything a detector prints goes to
stderr. Each job runs under the CPU-time and address-space limits it names; a job that hits
one answers with the reason and the worker exits (`retire`), so the next job gets a fresh
process. EOF on stdin (the server went away) ends the worker.
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import resource
import signal
import struct
import sys
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO

_HEADER = struct.Struct("!Q")
log = logging.getLogger("function.analysis.worker")


class CpuLimitExceeded(BaseException):
    """SIGXCPU arrived: the job used its CPU budget (a BaseException: no detector swallows it)."""


def _on_sigxcpu(signum: int, frame: FrameType | None) -> None:
    raise CpuLimitExceeded


def _read_exactly(stream: BinaryIO, count: int) -> bytes | None:
    chunks: list[bytes] = []
    remaining = count
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _set_limits(cpu_seconds: float, memory_bytes: int) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + max(cpu_seconds, 0.5))
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    _, hard_as = resource.getrlimit(resource.RLIMIT_AS)
    if hard_as == resource.RLIM_INFINITY or memory_bytes < hard_as:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, hard_as))


def _clear_limits() -> None:
    for which in (resource.RLIMIT_CPU, resource.RLIMIT_AS):
        _, hard = resource.getrlimit(which)
        resource.setrlimit(which, (hard, hard))


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """One job -> the answer (no limits applied here; `serve` applies them)."""
    from function.analysis.profiler import build_profile
    from function.analysis.tree import DirectoryTree, MemoryTree, TreeTooLargeError

    kind = job.get("kind")
    if kind == "folder":
        try:
            tree: DirectoryTree | MemoryTree = DirectoryTree(
                Path(job["path"]),
                max_files=job["max_files"],
                max_file_bytes=job["max_file_bytes"],
                max_read_bytes=job["max_read_bytes"],
            )
        except TreeTooLargeError as too_large:
            return {"ok": False, "reason": f"over the file count limit ({too_large})"}
        except OSError as error:
            return {"ok": False, "reason": f"cannot read the folder ({error.strerror})"}
    elif kind == "tree":
        tree = MemoryTree(job["paths"], job["contents"], job["read_bytes"])
    else:
        return {"ok": False, "reason": f"unknown job kind {kind!r}"}
    profile = build_profile(tree, url=job["url"], ref=job["ref"], commit=job["commit"])
    return {"ok": True, "profile": profile.model_dump(mode="json")}


def _guarded(job: dict[str, Any]) -> dict[str, Any]:
    cpu = float(job.get("cpu_seconds", 30.0))
    memory = int(job.get("memory_bytes", 1 << 30))
    try:
        _set_limits(cpu, memory)
        try:
            return run_job(job)
        finally:
            _clear_limits()
    except CpuLimitExceeded:
        return {
            "ok": False,
            "retire": True,
            "reason": f"used more than its CPU time limit ({cpu:g} s)",
        }
    except MemoryError:
        return {
            "ok": False,
            "retire": True,
            "reason": f"used more than its memory limit ({memory // (1024 * 1024)} MiB)",
        }
    except RecursionError:
        return {"ok": False, "retire": True, "reason": "the repository nests too deeply"}
    except Exception as error:  # a detector bug must be a result, never a dead server
        log.exception("analysis worker: the job failed")
        return {
            "ok": False,
            "retire": True,
            "reason": f"internal error in the analysis ({type(error).__name__})",
        }


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    import json

    while True:
        header = _read_exactly(stdin, _HEADER.size)
        if header is None:
            return
        (size,) = _HEADER.unpack(header)
        body = _read_exactly(stdin, size)
        if body is None:
            return
        job = pickle.loads(body)  # noqa: S301 - written by the server that started us
        answer = _guarded(job if isinstance(job, dict) else {})
        data = json.dumps(answer).encode()
        try:
            stdout.write(_HEADER.pack(len(data)) + data)
            stdout.flush()
        except BrokenPipeError:  # the server went away while we worked
            return
        if answer.get("retire"):
            return


def main() -> None:
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints cannot corrupt answers
    signal.signal(signal.SIGXCPU, _on_sigxcpu)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when we stop
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # warm the imports before the first job's clock starts
    import function.analysis.profiler  # noqa: F401

    serve(sys.stdin.buffer, protocol)


if __name__ == "__main__":
    main()
