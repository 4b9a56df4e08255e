"""A fake Ollama HTTP server on 127.0.0.1 that answers the real API with scripted replies.

It serves what the `ollama` client calls (POST /api/chat, /api/generate, /api/embed,
GET /api/tags, /api/version) and the OpenAI-compatible POST /v1/chat/completions, so
the product's real clients are exercised over real HTTP. Each chat call takes the next
reply from the script (the last one repeats); every request body is recorded.

While a reply's delay runs the server watches the connection, as Ollama does (Go's HTTP
server cancels a request's context when its client closes the connection, and the runner
stops generating): a client that gives up and closes it ends the delay at once, nothing is
sent, and the request is counted in `disconnects`.
"""

from __future__ import annotations

import hashlib
import json
import math
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.jsonhttp import JsonHandler, serving, url_of


@dataclass(frozen=True)
class Reply:
    """One scripted answer: content (a JSON-able object or raw text), an HTTP error, a delay."""

    content: Any = None
    status: int = 200
    delay: float = 0.0
    error: str = ""

    @classmethod
    def json(cls, obj: Any, delay: float = 0.0) -> Reply:
        return cls(content=json.dumps(obj), delay=delay)

    @classmethod
    def text(cls, text: str) -> Reply:
        return cls(content=text)

    @classmethod
    def fail(cls, status: int, error: str = "internal error") -> Reply:
        return cls(status=status, error=error)

    @classmethod
    def model_missing(cls, model: str) -> Reply:
        return cls(status=404, error=f'model "{model}" not found, try pulling it first')


@dataclass
class FakeOllama:
    script: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    disconnects: list[str] = field(default_factory=list)  # paths whose client went away
    url: str = ""
    _next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)

    def set_script(self, *replies: Reply) -> None:
        with self._lock:
            self.script = list(replies)
            self._next = 0
            self.requests.clear()

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] in ("/api/chat", "/v1/chat/completions")]

    def take(self) -> Reply:
        with self._lock:
            if not self.script:
                return Reply.fail(500, "no scripted reply")
            reply = self.script[min(self._next, len(self.script) - 1)]
            self._next += 1
            return reply

    def sleep(self, seconds: float, conn: socket.socket) -> bool:
        """Wait out a reply's delay (at most 30 s); False as soon as the client closed the
        connection or the fake is stopping."""
        return _until_disconnect(conn, min(seconds, 30.0), self._stop)


def _until_disconnect(conn: socket.socket, seconds: float, stop: threading.Event) -> bool:
    """Wait `seconds`; False early when `conn`'s peer closed it or `stop` is set."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if stop.is_set():
            return False
        readable, _, _ = select.select([conn], [], [], min(left, 0.05))
        if readable:
            try:
                if conn.recv(1, socket.MSG_PEEK) == b"":
                    return False
            except OSError:
                return False
            time.sleep(min(left, 0.05))  # the client sent more (pipelining): keep waiting
    return True


def _embedding(text: str, dims: int = 384) -> list[float]:
    seed = hashlib.sha256(text.encode()).digest()
    raw = [((seed[i % 32] + i * 7) % 255) / 255.0 - 0.5 for i in range(dims)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


def _handler(fake: FakeOllama) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def do_GET(self) -> None:
            fake.requests.append({"path": self.path, "method": "GET"})
            if self.path == "/api/tags":
                self._send(
                    200,
                    {
                        "models": [
                            {
                                "name": "qwen2.5-coder:7b",
                                "model": "qwen2.5-coder:7b",
                                "size": 4683087332,
                                "digest": "x" * 64,
                            }
                        ]
                    },
                )
            elif self.path == "/api/version":
                self._send(200, {"version": "0.12.0"})
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            fake.requests.append(
                {
                    "path": self.path,
                    "method": "POST",
                    "body": body,
                    "authorization": self.headers.get("Authorization"),
                }
            )
            if self.path == "/api/embed":
                inputs = body.get("input")
                texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
                self._send(
                    200, {"model": body.get("model"), "embeddings": [_embedding(t) for t in texts]}
                )
                return
            if self.path not in ("/api/chat", "/api/generate", "/v1/chat/completions"):
                self._send(404, {"error": "not found"})
                return
            reply = fake.take()
            gone = bool(reply.delay) and not fake.sleep(reply.delay, self.connection)
            if gone and not fake._stop.is_set():  # stopping: answer at once, as before
                fake.disconnects.append(self.path)
                self.close_connection = True
                return
            if reply.status != 200:
                self._send(reply.status, {"error": reply.error})
                return
            content = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
            if self.path == "/v1/chat/completions":
                self._send(
                    200,
                    {
                        "id": "cmpl-1",
                        "object": "chat.completion",
                        "model": body.get("model"),
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": content},
                            }
                        ],
                    },
                )
            elif self.path == "/api/generate":
                self._send(
                    200,
                    {
                        "model": body.get("model"),
                        "created_at": "2026-01-01T00:00:00Z",
                        "response": content,
                        "done": True,
                        "done_reason": "stop",
                    },
                )
            else:
                self._send(
                    200,
                    {
                        "model": body.get("model"),
                        "created_at": "2026-01-01T00:00:00Z",
                        "message": {"role": "assistant", "content": content},
                        "done": True,
                        "done_reason": "stop",
                        "total_duration": 1,
                        "eval_count": 1,
                        "prompt_eval_count": 1,
                    },
                )

    return Handler


@contextmanager
def fake_ollama(*replies: Reply) -> Iterator[FakeOllama]:
    fake = FakeOllama(script=list(replies))
    with serving(_handler(fake)) as server:
        fake.url = url_of(server)
        try:
            yield fake
        finally:
            fake._stop.set()  # wake a scripted delay so the server can shut down
