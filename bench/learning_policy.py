"""A MEMORY-FOLLOWING POLICY standing in for an LLM, served over the Ollama chat API.

This is not a language model and not the product: it is a deliberately simple, fixed
rule that reads the real prompt the function sends (its DATA blocks: the similar past
deployments with their outcomes and configurations, the similar past failures, and the
knowledge base's baseline) and answers in the LLM's JSON schema. It exists to measure
whether what the memory *retrieves* carries a useful signal:

1. copy: the most similar past success (similarity >= threshold) whose configuration is
   not among the similar failures -> its strategy and sizes;
2. avoid: else the baseline, stepped up while it equals a similar failure's configuration
   (one instance -> two; then the next larger instance type; Lambda memory doubles, then a
   VM);
3. else the knowledge base's baseline unchanged.

Whatever it answers goes through the function's real checks (allowlists, bounds, budget),
exactly like a real model's answer.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.jsonhttp import JsonHandler

_DATA = re.compile(r"<<<DATA ([^\n]+)\n(.*?)\nDATA>>>", re.S)
_OPTIONS = re.compile(r"Allowed options \(instructions\):\n(.*?)\n\n<<<DATA", re.S)
_BASELINE = re.compile(r"A rule-based baseline chose[^\n]*\n(.*?)\n\nAnswer with", re.S)
LAMBDA_STEPS = (512, 1024, 2048, 3008)

Canon = tuple[str, str, int]  # (strategy, instance type or "", count or memory MB)


def canon(strategy: str, configuration: dict[str, Any]) -> Canon | None:
    if strategy == "vm" and configuration.get("vm"):
        v = configuration["vm"]
        return ("vm", v["instanceType"], int(v["desiredCapacity"]))
    if strategy == "kubernetes" and configuration.get("kubernetes"):
        k = configuration["kubernetes"]
        return ("kubernetes", k["nodeInstanceType"], int(k["desiredNodes"]))
    if strategy == "serverless" and configuration.get("serverless"):
        return ("serverless", "", int(configuration["serverless"]["memoryMb"]))
    return None


@dataclass
class Prompt:
    options: dict[str, Any]
    baseline: dict[str, Any]
    similar: list[dict[str, Any]]
    failures: list[dict[str, Any]]

    @classmethod
    def parse(cls, text: str) -> Prompt:
        blocks = {label: body for label, body in _DATA.findall(text)}
        options = _OPTIONS.search(text)
        baseline = _BASELINE.search(text)
        if options is None or baseline is None:
            raise ValueError("not a function-scia decision prompt")
        return cls(
            options=json.loads(options.group(1)),
            baseline=json.loads(baseline.group(1)),
            similar=json.loads(blocks.get("similar past deployments", "[]")),
            failures=json.loads(blocks.get("similar past failures (avoid)", "[]")),
        )

    def types(self, strategy: str) -> list[dict[str, Any]]:
        key = "instanceTypes" if strategy == "vm" else "nodeTypes"
        return sorted(self.options[strategy][key], key=lambda t: (t["memoryGiB"], t["usdPerMonth"]))

    def allowed(self, c: Canon) -> bool:
        if c[0] not in self.options["allowedStrategies"]:
            return False
        if c[0] == "serverless":
            return c[2] <= int(self.options["serverless"]["maxMemoryMb"])
        return any(t["type"] == c[1] for t in self.types(c[0]))


def step_up(c: Canon, p: Prompt) -> Canon | None:
    strategy, itype, n = c
    if strategy == "serverless":
        bigger = [
            mb for mb in LAMBDA_STEPS if mb > n and mb <= p.options["serverless"]["maxMemoryMb"]
        ]
        if bigger:
            return ("serverless", "", bigger[0])
        vm = [t for t in p.types("vm") if t["memoryGiB"] * 1024 >= n]
        return ("vm", vm[0]["type"], 1) if vm and "vm" in p.options["allowedStrategies"] else None
    if n == 1:
        return (strategy, itype, 2)
    types = p.types(strategy)
    mem = next((t["memoryGiB"] for t in types if t["type"] == itype), 0.0)
    larger = [t for t in types if t["memoryGiB"] > mem]
    if larger:
        return (strategy, larger[0]["type"], n)
    return (strategy, itype, n + 1) if n < 3 else None


def answer(c: Canon, reason: str) -> dict[str, Any]:
    strategy, itype, n = c
    out: dict[str, Any] = {
        "strategy": strategy,
        "reason": reason,
        "confidence": 0.8,
        "alternatives": [],
    }
    if strategy == "vm":
        out["vm"] = {
            "instanceType": itype,
            "minSize": n,
            "maxSize": max(n, 3),
            "desiredCapacity": n,
        }
    elif strategy == "kubernetes":
        out["kubernetes"] = {"nodeInstanceType": itype, "minNodes": n, "maxNodes": max(n, 3),
                             "desiredNodes": n}  # fmt: skip
    else:
        out["serverless"] = {"memoryMb": n, "timeoutSeconds": 30}
    return out


@dataclass
class MemoryFollowingPolicy:
    threshold: float = 0.65
    actions: Counter[str] = field(default_factory=Counter)
    top_similarities: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def decide(self, prompt_text: str) -> dict[str, Any]:
        p = Prompt.parse(prompt_text)
        base = canon(p.baseline["strategy"], p.baseline)
        assert base is not None, p.baseline
        failed = {
            c for f in p.failures
            if f["similarity"] >= self.threshold and (c := canon(f["strategy"], f["configuration"]))
        }  # fmt: skip
        with self._lock:
            if p.similar:
                self.top_similarities.append(max(s["similarity"] for s in p.similar))
        for s in sorted(p.similar, key=lambda s: -s["similarity"]):
            if s["similarity"] < self.threshold:
                break
            c = canon(s["strategy"], s["configuration"])
            if s["outcome"] == "success" and c and c not in failed and p.allowed(c):
                return self._act("copy", answer(c, f"memory policy: copied a similar success "
                                                  f"(similarity {s['similarity']:.3f})"))  # fmt: skip
        chosen: Canon | None = base
        steps = 0
        while chosen is not None and chosen in failed and steps < 12:
            chosen = step_up(chosen, p)
            steps += 1
        if chosen is not None and chosen != base and p.allowed(chosen):
            return self._act("avoid", answer(chosen, f"memory policy: stepped up {steps}x past "
                                                     "similar failures"))  # fmt: skip
        return self._act(
            "baseline", answer(base, "memory policy: nothing similar enough; baseline")
        )

    def _act(self, action: str, reply: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.actions[action] += 1
        return reply


def _handler(policy: MemoryFollowingPolicy) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server method name
            body = self.read_json()
            if self.path != "/api/chat":
                self._send(404, {"error": "not found"})
                return
            try:
                reply = policy.decide(body["messages"][1]["content"])
            except (KeyError, IndexError, ValueError) as e:
                self._send(500, {"error": f"policy: {e}"})
                return
            self._send(200, {
                "model": body.get("model"), "created_at": "2026-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": json.dumps(reply)},
                "done": True, "done_reason": "stop",
            })  # fmt: skip

    return Handler


@contextmanager
def policy_server(policy: MemoryFollowingPolicy) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(policy))
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
