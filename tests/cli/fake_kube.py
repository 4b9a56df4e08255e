"""A tiny Kubernetes API server on 127.0.0.1 for the CLI's cluster commands.

It serves recorded AppDeployment objects at GET /apis/scia.io/v1alpha1/namespaces/<ns>/
appdeployments/<name>, accepts PATCH with a JSON merge patch (RFC 7386, applied to the
stored object, as the API server does), answers 404/401/415 with a `Status` like the real
one, and records every request with its headers and body. `kubeconfig()` writes a
kubeconfig that points the real `kubernetes` client at it.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import yaml

from tests.support.jsonhttp import JsonHandler, serving, url_of

TOKEN = "test-token-1f2e3d"
_PATH = re.compile(r"^/apis/scia\.io/v1alpha1/namespaces/([^/]+)/appdeployments/([^/?]+)")


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


@dataclass
class FakeKube:
    objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        self.objects[(meta["namespace"], meta["name"])] = copy.deepcopy(obj)

    def patches(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == "PATCH"]

    def kubeconfig(self, dest: Path, namespace: str = "team-a", token: str = TOKEN) -> Path:
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "tester", "user": {"token": token}}],
            "contexts": [
                {
                    "name": "fake",
                    "context": {"cluster": "fake", "user": "tester", "namespace": namespace},
                },
                {"name": "other", "context": {"cluster": "fake", "user": "tester"}},
            ],
            "current-context": "fake",
        }
        dest.write_text(yaml.safe_dump(doc))
        return dest


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _handler(fake: FakeKube) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def _route(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            fake.requests.append(
                {
                    "method": method,
                    "path": self.path,
                    "body": body,
                    "content_type": self.headers.get("Content-Type"),
                    "authorization": self.headers.get("Authorization"),
                }
            )
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(401, _status(401, "Unauthorized", "Unauthorized"))
                return
            m = _PATH.match(self.path)
            if not m:
                self._send(
                    404,
                    _status(404, "NotFound", "the server could not find the requested resource"),
                )
                return
            key = (m.group(1), m.group(2))
            with fake._lock:
                obj = fake.objects.get(key)
                if obj is None:
                    self._send(
                        404,
                        _status(404, "NotFound", f'appdeployments.scia.io "{key[1]}" not found'),
                    )
                    return
                if method == "PATCH":
                    if self.headers.get("Content-Type") != "application/merge-patch+json":
                        self._send(415, _status(415, "UnsupportedMediaType", "unsupported patch"))
                        return
                    obj = merge_patch(obj, body)
                    meta = obj["metadata"]
                    meta["resourceVersion"] = str(int(meta.get("resourceVersion", "1")) + 1)
                    fake.objects[key] = obj
                self._send(200, obj)

        def do_GET(self) -> None:
            self._route("GET")

        def do_PATCH(self) -> None:
            self._route("PATCH")

    return Handler


@contextmanager
def fake_kube(*objects: dict[str, Any]) -> Iterator[FakeKube]:
    fake = FakeKube()
    for obj in objects:
        fake.add(obj)
    with serving(_handler(fake)) as server:
        fake.url = url_of(server)
        yield fake
