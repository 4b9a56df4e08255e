"""The control plane, once per test session (see harness.py), and the API installed on it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo

from function.memory.embedded import EmbeddedDatabase
from tests.controlplane.harness import ControlPlane, running, unavailable

MEMORY_DB = "controlplane"


@pytest.fixture(scope="session")
def memory_dsn(embedded_db: EmbeddedDatabase) -> str:
    """The function's deployment memory: a database of the session's embedded PostgreSQL
    (reached over its Unix socket, which a network namespace does not hide)."""
    with psycopg.connect(embedded_db.dsn, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{MEMORY_DB}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{MEMORY_DB}"')
    return conninfo.make_conninfo(embedded_db.dsn, dbname=MEMORY_DB)


@pytest.fixture(scope="session")
def controlplane(
    tmp_path_factory: pytest.TempPathFactory, memory_dsn: str
) -> Iterator[ControlPlane]:
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    work: Path = tmp_path_factory.mktemp("controlplane")
    with running(work, memory_dsn) as cp:
        where = (
            "a private network namespace" if cp.ns.private else f"host loopback ({cp.ns.reason})"
        )
        sys.stderr.write(f"\ncontrol plane up in {where}: {cp.timings}\n")
        yield cp
