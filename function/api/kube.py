"""The Kubernetes API as scia-api uses it: AppDeployments as the caller, reviews as itself.

Every AppDeployment call carries the *caller's* bearer token, so the API server's RBAC
(`scia-deployer`, `scia-viewer`) decides what the caller may do; scia-api's own identity
(kubeconfig or in-cluster ServiceAccount) is used only for TokenReview and
SubjectAccessReview. Async (httpx), every call bounded in time; a watch is a stream of
`(type, object)` events. API errors become `KubeError` with the HTTP status and the API
server's field causes (`details.causes[].field`), never a traceback.
"""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from function.cli.kube import GROUP, PLURAL, VERSION

FIELD_MANAGER = "scia-api"
TIMEOUT = httpx.Timeout(20.0, connect=5.0)
WATCH_SECONDS = 300  # one watch request's server-side timeout; the caller re-watches
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


@dataclass
class Cause:
    field: str | None
    message: str


class KubeError(Exception):
    """The API server refused or could not be reached (status 0)."""

    def __init__(self, status: int, message: str, causes: list[Cause] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.causes = causes or []


def _error(response: httpx.Response) -> KubeError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    causes = [
        Cause(field=c.get("field") or None, message=str(c.get("message") or c.get("reason")))
        for c in (body.get("details") or {}).get("causes") or []
        if isinstance(c, dict)
    ]
    message = str(body.get("message") or response.reason_phrase or "error")
    return KubeError(response.status_code, message, causes)


@dataclass(frozen=True)
class Identity:
    """Who a bearer token belongs to, from a TokenReview."""

    username: str
    uid: str | None = None
    groups: tuple[str, ...] = ()
    extra: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class ServerConfig:
    """Where the API server is and how scia-api authenticates itself to it."""

    host: str
    ca_file: str | None = None
    verify: bool = True
    client_cert: tuple[str, str] | None = None
    token_file: str | None = None
    token: str | None = None

    @classmethod
    def load(cls, kubeconfig: str | None = None, context: str | None = None) -> ServerConfig:
        """From a kubeconfig (--kubeconfig, $KUBECONFIG, ~/.kube/config) or in-cluster."""
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            host = os.environ["KUBERNETES_SERVICE_HOST"]
            port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
            if ":" in host:
                host = f"[{host}]"
            return cls(
                host=f"https://{host}:{port}",
                ca_file=f"{SA_DIR}/ca.crt",
                token_file=f"{SA_DIR}/token",
            )
        cfg = client.Configuration()
        try:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig,
                context=context,
                client_configuration=cfg,
                persist_config=False,
            )
        except (ConfigException, OSError) as e:
            raise KubeError(0, f"no usable kubeconfig: {e}") from None
        keys = cfg.api_key or {}
        auth = str(keys.get("BearerToken") or keys.get("authorization") or "")
        return cls(
            host=str(cfg.host).rstrip("/"),
            ca_file=cfg.ssl_ca_cert,
            verify=bool(cfg.verify_ssl),
            client_cert=(cfg.cert_file, cfg.key_file) if cfg.cert_file and cfg.key_file else None,
            token=auth.removeprefix("Bearer ").strip() or None,
        )

    def ssl_context(self, *, own: bool) -> ssl.SSLContext | bool:
        if not self.verify:
            return False
        ctx = ssl.create_default_context(cafile=self.ca_file)
        if own and self.client_cert:
            ctx.load_cert_chain(*self.client_cert)
        return ctx

    def own_token(self) -> str | None:
        if self.token_file:  # projected ServiceAccount tokens rotate: read it every time
            with open(self.token_file, encoding="utf-8") as f:
                return f.read().strip()
        return self.token


class Kube:
    """Two HTTP clients to one API server: callers' requests and scia-api's own reviews."""

    def __init__(self, server: ServerConfig) -> None:
        self.server = server
        self._callers = httpx.AsyncClient(
            base_url=server.host, verify=server.ssl_context(own=False), timeout=TIMEOUT
        )
        self._own = httpx.AsyncClient(
            base_url=server.host, verify=server.ssl_context(own=True), timeout=TIMEOUT
        )

    async def close(self) -> None:
        await self._callers.aclose()
        await self._own.aclose()

    async def _send(
        self, client: httpx.AsyncClient, method: str, path: str, token: str | None, **kw: Any
    ) -> dict[str, Any]:
        headers = dict(kw.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = await client.request(method, path, headers=headers, **kw)
        except httpx.HTTPError as e:
            raise KubeError(0, f"cannot reach the Kubernetes API: {type(e).__name__}") from None
        if response.status_code >= 400:
            raise _error(response)
        got = response.json()
        if not isinstance(got, dict):
            raise KubeError(502, "the Kubernetes API gave an unexpected answer")
        return got

    # -- as the caller ------------------------------------------------------------------

    @staticmethod
    def _path(namespace: str, name: str | None = None) -> str:
        base = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}"
        return f"{base}/{name}" if name else base

    async def get(self, token: str, namespace: str, name: str) -> dict[str, Any]:
        return await self._send(self._callers, "GET", self._path(namespace, name), token)

    async def list(self, token: str, namespace: str) -> dict[str, Any]:
        return await self._send(self._callers, "GET", self._path(namespace), token)

    async def create(self, token: str, namespace: str, obj: dict[str, Any]) -> dict[str, Any]:
        return await self._send(
            self._callers,
            "POST",
            self._path(namespace),
            token,
            params={"fieldManager": FIELD_MANAGER, "fieldValidation": "Strict"},
            json=obj,
        )

    async def merge_patch(
        self, token: str, namespace: str, name: str, patch: dict[str, Any]
    ) -> dict[str, Any]:
        return await self._send(
            self._callers,
            "PATCH",
            self._path(namespace, name),
            token,
            params={"fieldManager": FIELD_MANAGER, "fieldValidation": "Strict"},
            headers={"Content-Type": "application/merge-patch+json"},
            content=json.dumps(patch).encode(),
        )

    async def delete(self, token: str, namespace: str, name: str) -> dict[str, Any]:
        return await self._send(
            self._callers,
            "DELETE",
            self._path(namespace, name),
            token,
            params={"propagationPolicy": "Background"},
        )

    async def watch(
        self, token: str, namespace: str, name: str | None, resource_version: str
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Events after `resource_version` until the server ends the watch (then return)."""
        params: dict[str, str | int] = {
            "watch": "1",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": WATCH_SECONDS,
        }
        if name:
            params["fieldSelector"] = f"metadata.name={name}"
        timeout = httpx.Timeout(WATCH_SECONDS + 30.0, connect=5.0)
        try:
            async with self._callers.stream(
                "GET",
                self._path(namespace),
                params=params,
                headers={"Authorization": f"Bearer {token}"},
                timeout=timeout,
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise _error(response)
                async for line in response.aiter_lines():
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    kind, obj = str(event.get("type")), event.get("object") or {}
                    if kind == "ERROR":
                        raise KubeError(int(obj.get("code") or 500), str(obj.get("message")))
                    yield kind, obj
        except httpx.HTTPError as e:
            raise KubeError(0, f"the watch broke: {type(e).__name__}") from None

    # -- as scia-api itself ---------------------------------------------------------------

    async def review_token(self, token: str) -> Identity | None:
        """TokenReview: who the token belongs to, or None when it is not valid."""
        got = await self._send(
            self._own,
            "POST",
            "/apis/authentication.k8s.io/v1/tokenreviews",
            self.server.own_token(),
            json={
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenReview",
                "spec": {"token": token},
            },
        )
        status = got.get("status") or {}
        if not status.get("authenticated"):
            return None
        user = status.get("user") or {}
        return Identity(
            username=str(user.get("username") or ""),
            uid=user.get("uid"),
            groups=tuple(user.get("groups") or ()),
            extra={k: list(v) for k, v in (user.get("extra") or {}).items()},
        )

    async def may(
        self, who: Identity, verb: str, namespace: str, resource: str = PLURAL
    ) -> tuple[bool, str]:
        """SubjectAccessReview: may `who` do `verb` on scia.io `resource` in `namespace`."""
        got = await self._send(
            self._own,
            "POST",
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            self.server.own_token(),
            json={
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SubjectAccessReview",
                "spec": {
                    "user": who.username,
                    "uid": who.uid,
                    "groups": list(who.groups),
                    "extra": who.extra,
                    "resourceAttributes": {
                        "namespace": namespace,
                        "verb": verb,
                        "group": GROUP,
                        "resource": resource,
                    },
                },
            },
        )
        status = got.get("status") or {}
        return bool(status.get("allowed")), str(status.get("reason") or "")
