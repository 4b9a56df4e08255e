"""`scia-api`: serve the GraphQL API and the web UI."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click
import yaml

from function.api.app import build_app, spec_schema_from_xrd
from function.api.estimate import Estimator
from function.api.kube import KubeError, ServerConfig
from function.api.memory import Memory
from function.api.schema import Services
from function.cli.memorydb import DSN_ENV, LazyEmbedder, _load_minilm
from function.input import FunctionInput
from function.memory.settings import MemorySettings

REPO = Path(__file__).resolve().parents[2]
DEFAULT_XRD = REPO / "xrds" / "namespaced" / "definition.yaml"
DEFAULT_UI = REPO / "ui" / "dist"


def load_input(path: str | None) -> FunctionInput:
    """The function input (the Composition's pipeline step input) for analysis settings."""
    if path is None:
        return FunctionInput()
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return FunctionInput.model_validate(doc)


def services_from(
    kubeconfig: str | None,
    context: str | None,
    memory_dsn: str | None,
    input_file: str | None,
    xrd: Path,
) -> Services:
    from function.api.kube import Kube

    memory = None
    if memory_dsn:
        settings = MemorySettings(retrieve_timeout_seconds=10, connect_timeout_seconds=5)
        memory = Memory(dsn=memory_dsn, embedder=LazyEmbedder(_load_minilm), settings=settings)
    return Services(
        kube=Kube(ServerConfig.load(kubeconfig, context)),
        estimator=Estimator(load_input(input_file)),
        memory=memory,
        spec_schema=spec_schema_from_xrd(xrd),
    )


@click.command()
@click.option("--address", default="0.0.0.0:8000", show_default=True, help="host:port to serve")
@click.option("--kubeconfig", default=None, help="scia-api's own kubeconfig (default: in-cluster)")
@click.option("--context", default=None, help="kubeconfig context")
@click.option(
    "--memory-dsn", envvar=DSN_ENV, default=None, help=f"PostgreSQL DSN of the memory (${DSN_ENV})"
)
@click.option(
    "--input",
    "input_file",
    default=None,
    help="the function input YAML (analysis settings, urlRewrites) for costEstimate",
)
@click.option(
    "--xrd",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help=f"the AppDeployment XRD, for the form's schema (default {DEFAULT_XRD.relative_to(REPO)})",
)
@click.option(
    "--ui-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="the built web UI (default ui/dist when it exists)",
)
@click.option("--debug", is_flag=True)
def cli(
    address: str,
    kubeconfig: str | None,
    context: str | None,
    memory_dsn: str | None,
    input_file: str | None,
    xrd: Path | None,
    ui_dir: Path | None,
    debug: bool,
) -> None:
    """Serve the GraphQL API (/graphql, graphql-transport-ws) and the web UI (/)."""
    import uvicorn

    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO)
    host, _, port = address.rpartition(":")
    ui = ui_dir or (DEFAULT_UI if DEFAULT_UI.is_dir() else None)
    try:
        services = services_from(
            kubeconfig,
            context,
            memory_dsn,
            input_file,
            xrd or Path(os.environ.get("SCIA_XRD", DEFAULT_XRD)),
        )
    except KubeError as e:
        raise click.ClickException(e.message) from None
    app = build_app(services, ui)
    uvicorn.run(
        app,
        host=host or "0.0.0.0",  # noqa: S104 (a container listens on its pod IP)
        port=int(port),
        log_level="debug" if debug else "info",
        ws="websockets",
        proxy_headers=False,
    )
