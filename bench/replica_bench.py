"""How light a replica is: time until it serves, and its memory with embeddings in use.

    python bench/replica_bench.py [--runs 3] [--json out.json]

For `--memory off` and `--memory on` (all-MiniLM-L6-v2 on ONNX Runtime), each run starts
`function-scia` on loopback and measures:
- serving: seconds from the process start until a RunFunction call is answered (what a
  gRPC readiness probe sees), and the CPU seconds the server used until then (on a busy
  machine the wall time is mostly waiting for a core);
- decided: seconds until a first decision that retrieves from the deployment memory (an
  embedded PostgreSQL started here; the knowledge base decides, no LLM) is answered; with
  memory on this includes opening the model and one embedding;
- rss_mib / peak_mib: VmRSS and VmHWM of the server after that decision (and 2 s more).
Medians over the runs are printed. Not a test: figures for docs/operations/scaling.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from examples import render as R  # noqa: E402
from function.memory.embedded import start_embedded  # noqa: E402

XR = yaml.safe_load((ROOT / "examples" / "legacy" / "xr.yaml").read_text())


def status(pid: int) -> dict[str, float]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return {
        "rss_mib": int(fields["VmRSS"].split()[0]) / 1024,
        "peak_mib": int(fields["VmHWM"].split()[0]) / 1024,
    }


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(memory: str, dsn: str, repos: Path, work: Path, i: int) -> dict[str, Any]:
    port = R.free_port()
    inp = {
        "apiVersion": "scia.fn.crossplane.io/v1alpha1",
        "kind": "Input",
        "urlRewrites": [{"prefix": R.MIRRORED_PREFIX, "replacement": f"file://{repos}/"}],
        "analysis": {"allowFileUrls": True},
        "decision": {"waitSeconds": 60},
    }
    xr = json.loads(json.dumps(XR))
    xr["metadata"]["uid"] = f"bench-{memory}-{i}-{time.time_ns()}"
    req = fnv1.RunFunctionRequest(meta=fnv1.RequestMeta(tag="bench"))
    req.observed.composite.resource.CopyFrom(resource.dict_to_struct(xr))
    req.input.CopyFrom(resource.dict_to_struct(inp))
    args = ("--memory", memory, "--memory-dsn", dsn)
    t0 = time.monotonic()
    with (
        R.function_server(port, log=work / f"{memory}-{i}.log", args=args) as proc,
        grpc.insecure_channel(f"127.0.0.1:{port}") as ch,
    ):
        stub = grpcv1.FunctionRunnerServiceStub(ch)
        stub.RunFunction(fnv1.RunFunctionRequest(), timeout=60)
        serving = time.monotonic() - t0
        serving_cpu = cpu_seconds(proc.pid)
        answer = stub.RunFunction(req, timeout=120)
        decided = time.monotonic() - t0
        assert len(answer.desired.resources) > 0, answer.results
        time.sleep(2)
        mem = status(proc.pid)
    return {"serving_s": serving, "serving_cpu_s": serving_cpu, "decided_s": decided, **mem}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="scia-replica-bench-"))
    db = start_embedded(root / "pgdata")
    try:
        repos = root / "repos"
        R.build_repositories(repos)
        table: dict[str, dict[str, float]] = {}
        for memory in ("off", "on"):
            runs = [one_run(memory, db.dsn, repos, root, i) for i in range(a.runs)]
            table[memory] = {k: round(statistics.median(r[k] for r in runs), 2) for k in runs[0]}
            table[memory]["runs"] = a.runs
    finally:
        db.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"{'memory':8} {'serving s':>10} {'its CPU s':>10} {'decided s':>10}"
        f" {'RSS MiB':>8} {'peak MiB':>9}"
    )
    for memory, row in table.items():
        print(
            f"{memory:8} {row['serving_s']:>10} {row['serving_cpu_s']:>10} {row['decided_s']:>10}"
            f" {row['rss_mib']:>8} {row['peak_mib']:>9}"
        )
    if a.json:
        a.json.write_text(json.dumps(table, indent=2) + "\n")


if __name__ == "__main__":
    main()
