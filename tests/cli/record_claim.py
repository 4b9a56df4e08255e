"""Regenerates tests/cli/recorded/appdeployment-flask-app.json: the claim team-a/flask-app as
the API server returns it after real reconciles (the function's Reconciler with the real
memory), so the CLI tests read a status the function really writes.

    python -m tests.cli.record_claim

Steps: a v1 record of a similar flask app is imported (shared); revision 1 is decided
(retrieval finds the imported one) and runs; the prompt changes, revision 2 is decided.
Crossplane copies the XR's status to the claim; this does the same.
"""

from __future__ import annotations

import asyncio
import copy
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from function.decide.engine import DecisionEngine, Secrets
from function.decide.jobs import DecisionJobs
from function.memory.embed import MiniLMEmbedder
from function.memory.embedded import start_embedded
from function.memory.store import MemoryStore
from function.memorylink import MemoryLink
from function.reconcile import Reconciler, ReconcileRequest
from function.v1import import import_records, validate_export
from tests.support.memory_settings import PATIENT_INPUT, patient

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "recorded" / "appdeployment-flask-app.json"
V1_FLASK = {
    "name": "billing-api",
    "namespace": "finance",
    "framework": "flask",
    "language": "python",
    "dependencies": ["flask", "gunicorn", "psycopg2"],
    "strategy": "ec2",
    "instanceType": "t3.small",
    "instanceCount": 2,
    "region": "eu-west-1",
    "prompt": "flask api for billing, highly available",
    "outcome": "success",
    "cost": 61.2,
}


def _ready(desired: dict[str, Any]) -> dict[str, Any]:
    cond = [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "True"}]
    return {n: {"status": {"conditions": cond, "atProvider": {}}} for n in desired}


async def record(repos: Path, dsn: str) -> dict[str, Any]:
    import examples.render as render

    render.build_repositories(repos)
    embedder = MiniLMEmbedder.load()
    store = await MemoryStore.connect(dsn, patient(), embedder)
    await import_records(store, dsn, validate_export([V1_FLASK]), "imported", "shared")
    await store.close()
    link = MemoryLink(embedder)
    rec = Reconciler(DecisionEngine(memory=link), DecisionJobs())
    settings = {
        "urlRewrites": [{"prefix": render.MIRRORED_PREFIX, "replacement": f"file://{repos}/"}],
        "analysis": {"allowFileUrls": True},
        "decision": {"waitSeconds": 60},
        "memory": PATIENT_INPUT,
    }
    xr = yaml.safe_load((ROOT / "examples" / "legacy" / "xr.yaml").read_text())
    secrets = Secrets(memory_dsn=dsn)
    observed: dict[str, Any] = {}
    for change in (None, "ready", "a cheap dev environment, one instance is plenty", "ready"):
        if change not in (None, "ready"):
            xr["spec"]["prompt"] = change
        out = await rec.reconcile(
            ReconcileRequest(xr=xr, observed=observed, input=settings, secrets=secrets)
        )
        assert not out.fatal, out.results
        xr = copy.deepcopy(xr) | {"status": out.status}
        observed = _ready(out.desired)
    await rec.outcomes.drain()
    await link.close()
    claim = yaml.safe_load((ROOT / "examples" / "legacy" / "claim.yaml").read_text())
    claim["spec"] = copy.deepcopy(xr["spec"])
    for k in ("claimRef", "compositionRef"):
        claim["spec"].pop(k, None)
    claim["metadata"] |= {
        "uid": "0f1e2d3c-4b5a-4697-8877-665544332211",
        "resourceVersion": "48211",
        "generation": 2,
        "creationTimestamp": "2026-11-26T11:50:02Z",
    }
    claim["status"] = xr["status"]
    return dict(claim)


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="scia-record-"))
    db = start_embedded(root / "pgdata")
    try:
        (root / "repos").mkdir()
        claim = asyncio.run(record(root / "repos", db.dsn))
    finally:
        db.stop()
        shutil.rmtree(root, ignore_errors=True)
    OUT.write_text(json.dumps(claim, indent=2, sort_keys=True) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
