"""The function-scia server: flags, logging, then the SDK runtime (nothing else)."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, cast

import click
from crossplane.function import runtime

from function.metrics import start_metrics_server
from function.server import MemoryMode, build_runner, serve

_STD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the XR name/namespace/uid a record carries in `extra`."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        out.update({k: v for k, v in record.__dict__.items() if k not in _STD_ATTRS})
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def setup_logging(debug: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)


@click.command()
@click.option("--debug", "-d", is_flag=True, help="Emit debug logs.")
@click.option(
    "--address", default="0.0.0.0:9443", show_default=True, help="Address to listen on for gRPC."
)
@click.option(
    "--tls-certs-dir",
    envvar="TLS_SERVER_CERTS_DIR",
    help="Folder with tls.crt, tls.key and ca.crt for mTLS (Crossplane mounts it).",
)
@click.option(
    "--insecure", is_flag=True, help="Serve without TLS (local development, crossplane render)."
)
@click.option(
    "--metrics-address",
    envvar="SCIA_METRICS_ADDRESS",
    help="Address to serve Prometheus metrics on over HTTP, e.g. 0.0.0.0:8080 (off if unset).",
)
@click.option(
    "--memory",
    type=click.Choice(["auto", "on", "off"]),
    default="auto",
    envvar="SCIA_MEMORY",
    show_default=True,
    help="Load the embedding model for the deployment memory (auto: when it is installed).",
)
@click.option(
    "--memory-dsn",
    envvar="SCIA_MEMORY_DSN",
    help="Default PostgreSQL DSN; a function credential 'memory-dsn' overrides it.",
)
@click.option(
    "--embedded-memory",
    "embedded_dir",
    envvar="SCIA_EMBEDDED_MEMORY",
    help="Start the embedded PostgreSQL + pgvector with its data in this folder, and use it.",
)
@click.option(
    "--decision-workers", default=4, show_default=True, help="Decisions computed at once."
)
@click.option(
    "--decision-lease-seconds",
    default=20.0,
    show_default=True,
    envvar="SCIA_DECISION_LEASE_SECONDS",
    type=click.FloatRange(1.0, 600.0),
    help="With a database: how long a replica's claim on a decision outlives its last "
    "heartbeat before another replica takes the decision over.",
)
@click.option(
    "--answer-cache-mib",
    default=48,
    show_default=True,
    envvar="SCIA_ANSWER_CACHE_MIB",
    type=click.IntRange(0, 4096),
    help="Memory for answers given again to unchanged requests of Running, pinned XRs "
    "(compressed, least recently used out first; 0 turns it off).",
)
def cli(
    debug: bool,
    address: str,
    tls_certs_dir: str | None,
    insecure: bool,
    metrics_address: str | None,
    memory: str,
    memory_dsn: str | None,
    embedded_dir: str | None,
    decision_workers: int,
    decision_lease_seconds: float,
    answer_cache_mib: int,
) -> None:
    """A Crossplane composition function that decides how to deploy an application."""
    setup_logging(debug)
    try:
        if metrics_address:
            start_metrics_server(metrics_address)
        mode = cast(MemoryMode, memory)
        runner = build_runner(
            mode,
            memory_dsn,
            embedded_dir,
            decision_workers,
            decision_lease_seconds,
            answer_cache_bytes=answer_cache_mib * 1024 * 1024,
        )
        serve(
            runner,
            address,
            creds=runtime.load_credentials(tls_certs_dir) if tls_certs_dir else None,
            insecure=insecure,
            options=[("grpc.max_receive_message_length", 16 * 1024 * 1024)],
        )
    except ValueError as e:
        raise click.UsageError(str(e)) from None


if __name__ == "__main__":
    cli()
