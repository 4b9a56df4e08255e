"""A small Kubernetes API client for the control-plane tests (httpx, client-cert auth).

Every request runs on the network namespace's thread (its sockets live there). Objects
are plain dicts; a kind's REST path comes from API discovery, refreshed when a kind is
not found (CRDs appear while the tests run). `as_user` gives a client that impersonates
a user or ServiceAccount (the Impersonate-User/-Group headers kubectl's --as sends).
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.controlplane.netns import NetworkNamespace

FIELD_MANAGER = "scia-controlplane-tests"


class ApiError(Exception):
    def __init__(self, status: int, message: str, method: str, path: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Resource:
    path: str  # /apis/group/version or /api/v1
    plural: str
    namespaced: bool

    def url(self, name: str | None = None, namespace: str | None = None, sub: str = "") -> str:
        base = self.path
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        url = f"{base}/{self.plural}"
        if name:
            url += f"/{name}"
        if sub:
            url += f"/{sub}"
        return url


@dataclass
class _Shared:
    ns: NetworkNamespace
    http: httpx.Client
    discovery: dict[str, dict[str, Resource]] = field(default_factory=dict)


class Kube:
    def __init__(self, shared: _Shared, headers: list[tuple[str, str]] | None = None) -> None:
        self._s = shared
        self._headers = headers or []

    @classmethod
    def connect(cls, ns: NetworkNamespace, server: str, pki: Path) -> Kube:
        tls = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        tls.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        http = httpx.Client(base_url=server, verify=tls, timeout=httpx.Timeout(60.0, connect=10.0))
        return cls(_Shared(ns, http))

    def close(self) -> None:
        self._s.ns.run(self._s.http.close)

    def as_user(self, user: str, groups: Iterable[str] = ()) -> Kube:
        """A client acting as that user (e.g. system:serviceaccount:NS:NAME) and groups."""
        return Kube(
            self._s,
            [("Impersonate-User", user)] + [("Impersonate-Group", g) for g in groups],
        )

    # -- raw requests -------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
    ) -> Any:
        headers = httpx.Headers(self._headers)
        content = None
        if body is not None:
            content = body if isinstance(body, bytes | str) else json.dumps(body)
            headers["Content-Type"] = content_type

        def send() -> httpx.Response:
            return self._s.http.request(
                method, path, content=content, headers=headers, params=params
            )

        rsp = self._s.ns.run(send)
        if rsp.status_code >= 400:
            try:
                message = rsp.json().get("message", rsp.text)
            except ValueError:
                message = rsp.text
            raise ApiError(rsp.status_code, str(message), method, path)
        return rsp.json() if rsp.content else None

    def raw(self, path: str) -> str:
        rsp = self._s.ns.run(self._s.http.get, path)
        rsp.raise_for_status()
        return str(rsp.text)

    # -- discovery ----------------------------------------------------------------------

    def resource(self, api_version: str, kind: str) -> Resource:
        cached = self._s.discovery.get(api_version, {}).get(kind)
        if cached:
            return cached
        path = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        try:
            listing = self.request("GET", path)
        except ApiError as e:
            raise ApiError(e.status, f"{api_version} not served", "GET", path) from None
        kinds = {
            r["kind"]: Resource(path, r["name"], r["namespaced"])
            for r in listing.get("resources", [])
            if "/" not in r["name"]
        }
        self._s.discovery[api_version] = kinds
        if kind not in kinds:
            raise ApiError(404, f"kind {kind} not served by {api_version}", "GET", path)
        return kinds[kind]

    def forget(self, api_version: str) -> None:
        self._s.discovery.pop(api_version, None)

    # -- objects ------------------------------------------------------------------------

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        r = self.resource(api_version, kind)
        try:
            got: dict[str, Any] = self.request("GET", r.url(name, namespace))
        except ApiError as e:
            if e.status == 404:
                return None
            raise
        return got

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        labels: dict[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        r = self.resource(api_version, kind)
        params = (
            {"labelSelector": ",".join(f"{k}={v}" for k, v in labels.items())} if labels else None
        )
        try:
            got = self.request("GET", r.url(None, namespace), params=params)
        except ApiError as e:
            if e.status == 404:
                return []
            raise
        items: list[dict[str, Any]] = got.get("items", [])
        for i in items:  # list items carry no apiVersion/kind
            i.setdefault("apiVersion", api_version)
            i.setdefault("kind", kind)
        return items

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        r = self.resource(obj["apiVersion"], obj["kind"])
        out: dict[str, Any] = self.request(
            "POST", r.url(None, obj["metadata"].get("namespace")), obj
        )
        return out

    def apply(self, obj: dict[str, Any], manager: str = FIELD_MANAGER) -> dict[str, Any]:
        """Server-side apply (force), as `kubectl apply --server-side --force-conflicts`."""
        r = self.resource(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        out: dict[str, Any] = self.request(
            "PATCH",
            r.url(meta["name"], meta.get("namespace")),
            json.dumps(obj),
            content_type="application/apply-patch+yaml",
            params={"fieldManager": manager, "force": "true"},
        )
        return out

    def patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        patch: dict[str, Any],
        namespace: str | None = None,
        subresource: str = "",
    ) -> dict[str, Any]:
        r = self.resource(api_version, kind)
        out: dict[str, Any] = self.request(
            "PATCH",
            r.url(name, namespace, subresource),
            patch,
            content_type="application/merge-patch+json",
        )
        return out

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        propagation: str | None = None,
    ) -> bool:
        """Delete; False when it did not exist."""
        r = self.resource(api_version, kind)
        body = {"propagationPolicy": propagation} if propagation else None
        try:
            self.request("DELETE", r.url(name, namespace), body)
        except ApiError as e:
            if e.status == 404:
                return False
            raise
        return True

    def apply_file(self, path: Path, mutate: Callable[[dict[str, Any]], Any] | None = None) -> None:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                if mutate:
                    mutate(doc)
                self.apply(doc)


def condition(obj: dict[str, Any] | None, typ: str) -> dict[str, Any]:
    """The condition of that type in status.conditions ({} when absent)."""
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == typ:
            return dict(c)
    return {}


def wait_for(
    what: str,
    fn: Callable[[], Any],
    timeout: float = 180.0,
    interval: float = 0.5,
    describe: Callable[[], str] | None = None,
) -> Any:
    """Poll fn until it returns something truthy; fail with what was last seen."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            extra = f"\n{describe()}" if describe else ""
            raise AssertionError(f"not within {timeout:.0f} s: {what}{extra}")
        time.sleep(interval)
