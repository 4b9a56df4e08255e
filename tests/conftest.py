"""Session-wide fixtures for the real parts: one embedded PostgreSQL + pgvector server and
one MiniLM model per test session, and a fresh database per test that asks for one."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo

from examples import render as R
from examples.build.generate import next_commit
from function.memory.embed import MiniLMEmbedder
from function.memory.embedded import EmbeddedDatabase, start_embedded
from tests.support.render_env import Env


@pytest.fixture(scope="session")
def embedded_db() -> Iterator[EmbeddedDatabase]:
    # Not under pytest's basetemp: pytest keeps that 0700, and the server runs as
    # the user embedded_postgres when the tests run as root.
    root = Path(tempfile.mkdtemp(prefix="scia-memory-"))
    database = start_embedded(root / "pgdata")
    try:
        yield database
    finally:
        if database.is_running():
            database.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def embedder() -> Iterator[MiniLMEmbedder]:
    model = MiniLMEmbedder.load()
    try:
        yield model
    finally:
        model.close()


@pytest.fixture
def fresh_dsn(embedded_db: EmbeddedDatabase) -> Iterator[str]:
    """DSN of a new, empty database on the session's server (dropped afterwards)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(embedded_db.dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield conninfo.make_conninfo(embedded_db.dsn, dbname=name)
    finally:
        if embedded_db.is_running():
            with psycopg.connect(embedded_db.dsn, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def repos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example applications (examples/apps) as git repositories, built once, with
    express-api's next commit on branch `next` (main stays on the first): the commit the
    next-commit examples pin (examples/build, the kubernetes, AKS and GKE ones), so a test
    that decides their spec afresh finds it."""
    d = tmp_path_factory.mktemp("repos")
    R.build_repositories(d)
    next_commit(d / "express-api")
    return d


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory, repos: Path) -> Iterator[Env]:
    """One function server on loopback and the real Crossplane CLI, for every render test."""
    work = tmp_path_factory.mktemp("render")
    port = R.free_port()
    functions = R.functions_file(port, work)
    with R.function_server(port, log=work / "function.log"):
        yield Env(work, R.crossplane_binary(), functions, repos)
