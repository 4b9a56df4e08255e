"""A small GraphQL client for the tests: HTTP queries and graphql-transport-ws subscriptions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

DEPLOYMENT_FIELDS = """
  namespace name phase message strategy reason confidence outcome rollbackToRevision
  spec
  decision { revision decidedBy strategy reason }
  alternatives { strategy reason estimatedMonthlyCost }
  cost { estimatedMonthly currency breakdown { resource description monthly } }
  endpoints { name type url }
  history { revision strategy decidedBy cost current rollbackOf }
  feedback { value comment }
"""
ERRORS = "errors { field message code }"


def gql(base: str, token: str | None, query: str, **variables: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = httpx.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables},
        headers=headers,
        timeout=120,
    )
    assert r.status_code == 200, r.text
    got: dict[str, Any] = r.json()
    return got


def codes(answer: dict[str, Any]) -> list[str]:
    """The error codes of a query's GraphQL errors."""
    return [e.get("extensions", {}).get("code") for e in answer.get("errors") or []]


class Subscription:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    def next(self, timeout: float = 60) -> dict[str, Any]:
        """The next `next`/`error` payload (pings are answered and skipped)."""
        while True:
            message = json.loads(self.ws.recv(timeout=timeout))
            if message["type"] == "ping":
                self.ws.send(json.dumps({"type": "pong"}))
                continue
            if message["type"] in ("next", "error", "complete"):
                return dict(message)


@contextmanager
def subscribe(base: str, token: str, query: str, **variables: Any) -> Iterator[Subscription]:
    url = base.replace("http://", "ws://") + "/graphql"
    with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=30) as ws:  # type: ignore[list-item]
        ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        ack = json.loads(ws.recv(timeout=30))
        assert ack["type"] == "connection_ack", ack
        ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": query, "variables": variables},
                }
            )
        )
        yield Subscription(ws)
