"""The ASGI application: /graphql (HTTP and graphql-transport-ws), /healthz, the UI's files."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from function.api.schema import Services, build_schema

log = logging.getLogger(__name__)

# What the browser may load: only this origin; the GraphQL socket on this host.
SECURITY_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    b"x-frame-options": b"DENY",
    b"content-security-policy": (
        b"default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
        b"style-src 'self'; frame-ancestors 'none'"
    ),
}


def spec_schema_from_xrd(path: Path) -> dict[str, Any]:
    """spec's openAPIV3Schema from the XRD file (the first served version)."""
    xrd = yaml.safe_load(path.read_text(encoding="utf-8"))
    version = next(v for v in xrd["spec"]["versions"] if v.get("served", True))
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert isinstance(spec, dict)
    return spec


class _SciaGraphQL(GraphQL[dict[str, Any], None]):
    def __init__(self, services: Services) -> None:
        super().__init__(build_schema(), graphql_ide=None, keep_alive=True, keep_alive_interval=20)
        self.services = services

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> dict[str, Any]:
        return {"request": request, "response": response, "services": self.services}


class _Headers:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS.items()]
            await send(message)

        await self.app(scope, receive, with_headers)


def build_app(services: Services, ui_dir: Path | None) -> Starlette:
    graphql = _SciaGraphQL(services)

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    routes: list[Any] = [
        Route("/healthz", healthz),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
    ]
    if ui_dir is not None:
        routes.append(Mount("/", StaticFiles(directory=ui_dir, html=True), name="ui"))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await services.kube.close()

    return Starlette(routes=routes, middleware=[Middleware(_Headers)], lifespan=lifespan)
