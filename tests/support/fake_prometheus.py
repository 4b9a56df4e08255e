"""A loopback server speaking the Prometheus HTTP API's instant queries (GET /api/v1/query),
scripted per query: the answers and error shapes of
https://prometheus.io/docs/prometheus/latest/querying/api/ (status/data/resultType/result;
status error with errorType and error; HTTP 400 bad_data, 422 execution, 503 unavailable)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.jsonhttp import JsonHandler, serving, url_of

Answer = tuple[int, Any]  # (HTTP status, JSON body or raw text)


def vector(*values: str, metric: dict[str, str] | None = None) -> Answer:
    result = [{"metric": metric or {}, "value": [1764417600.0, v]} for v in values]
    return 200, {"status": "success", "data": {"resultType": "vector", "result": result}}


def scalar(value: str) -> Answer:
    return 200, {"status": "success", "data": {"resultType": "scalar", "result": [1.0, value]}}


def error(status: int, kind: str, text: str) -> Answer:
    return status, {"status": "error", "errorType": kind, "error": text}


@dataclass
class FakePrometheus:
    url: str
    queries: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    answered: int = 0


@contextmanager
def fake_prometheus(
    answer: Callable[[str], Answer], *, hold: bool = False
) -> Iterator[FakePrometheus]:
    """`answer(query)` scripts each reply; `hold`: every reply waits until `release` is set
    (to show a caller never waited for it)."""
    state: dict[str, FakePrometheus] = {}

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            fake = state["fake"]
            if parts.path != "/api/v1/query":
                self._send(404, {"status": "error", "errorType": "not_found", "error": "no"})
                return
            query = parse_qs(parts.query).get("query", [""])[0]
            fake.queries.append(query)
            if hold:
                fake.release.wait(60)
            status, body = answer(query)
            fake.answered += 1
            if isinstance(body, str):
                raw = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
                return
            self._send(status, body)

    with serving(Handler) as server:
        state["fake"] = FakePrometheus(url_of(server))
        try:
            yield state["fake"]
        finally:
            state["fake"].release.set()


def dumps(answer: Answer) -> str:
    return json.dumps(answer[1])
