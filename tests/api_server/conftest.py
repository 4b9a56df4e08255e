"""One API server and one scia-api process per test session, with two tenants and a memory.

scia-api runs as its own process (as its Deployment does), as the ServiceAccount
`scia-system/scia-api` with only deploy/api/rbac.yaml's rights; tests call it over HTTP
and WebSocket on loopback with the tenants' ServiceAccount tokens.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from function.memory.embed import MiniLMEmbedder
from function.memory.store import MemoryStore
from tests.api_server.cluster import (
    REPO,
    Cluster,
    Proc,
    Tenant,
    free_port,
    running,
    start_process,
    unavailable,
    wait_until,
)
from tests.memory.helpers import record
from tests.support.memory_settings import patient

UI_DIST = REPO / "ui" / "dist"


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    with running(tmp_path_factory.mktemp("apiserver")) as c:
        yield c


@pytest.fixture(scope="session")
def team_a(cluster: Cluster) -> Tenant:
    return cluster.tenant("team-a")


@pytest.fixture(scope="session")
def team_b(cluster: Cluster) -> Tenant:
    return cluster.tenant("team-b")


@pytest.fixture(scope="session")
def api_memory_dsn(embedded_db: object, embedder: MiniLMEmbedder) -> str:
    """A memory holding team-a's and team-b's private records and one shared record."""
    import uuid

    import psycopg
    from psycopg import conninfo

    name = f"api_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(embedded_db.dsn, autocommit=True) as admin:  # type: ignore[attr-defined]
        admin.execute(f'CREATE DATABASE "{name}"')
    dsn = conninfo.make_conninfo(embedded_db.dsn, dbname=name)  # type: ignore[attr-defined]

    async def fill() -> None:
        store = await MemoryStore.connect(dsn, patient(), embedder)
        try:
            await store.record(record("a1", namespace="team-a", deployment_name="flask-shop"))
            await store.record(
                record("a2", namespace="team-a", deployment_name="flask-admin", strategy="vm")
            )
            await store.record(
                record("b1", namespace="team-b", deployment_name="secret-flask-b", strategy="vm")
            )
            await store.record(
                record(
                    "s1",
                    namespace="platform",
                    deployment_name="shared-flask",
                    scope="shared",
                    strategy="kubernetes",
                )
            )
        finally:
            await store.close()

    asyncio.run(fill())
    return dsn


@pytest.fixture(scope="session")
def api_input(tmp_path_factory: pytest.TempPathFactory, repos: Path) -> Path:
    """The function input scia-api's costEstimate uses: the example apps from local repos."""
    path = tmp_path_factory.mktemp("api-input") / "input.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "scia.fn.crossplane.io/v1alpha1",
                "kind": "Input",
                "analysis": {"allowFileUrls": True},
                "urlRewrites": [
                    {"prefix": "https://github.com/acme/", "replacement": f"file://{repos}/"}
                ],
            }
        )
    )
    return path


@pytest.fixture(scope="session")
def api(
    cluster: Cluster,
    team_a: Tenant,
    team_b: Tenant,
    api_memory_dsn: str,
    api_input: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """scia-api on a loopback port: its base URL (the UI is served too when ui/dist exists)."""
    port = free_port()
    logs = tmp_path_factory.mktemp("scia-api")
    args = [
        sys.executable, "-m", "function.api",
        "--address", f"127.0.0.1:{port}",
        "--kubeconfig", str(cluster.api_kubeconfig()),
        "--memory-dsn", api_memory_dsn,
        "--input", str(api_input),
    ]  # fmt: skip
    if UI_DIST.is_dir():
        args += ["--ui-dir", str(UI_DIST)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    proc: Proc = start_process("scia-api", args, logs, env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            "scia-api", lambda: httpx.get(f"{base}/healthz", timeout=2).text == "ok", 120, proc
        )
        yield base
    finally:
        proc.stop()
        sys.stderr.write(f"\nscia-api log tail:\n{proc.tail(15)}\n")
