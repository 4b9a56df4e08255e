"""The LLM decision: Ollama or an OpenAI-compatible API, structured output, checked, repaired.

One call with the JSON schema of the answer as the output format, temperature 0 and a
fixed seed; an answer that fails the checks gets one repair round with the errors; then
the caller falls back to the knowledge base. Every call has a timeout.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from function.decide.answer_schema import answer_schema_for
from function.decide.llm_settings import LlmSettings
from function.decide.prompt import build_messages, repair_message
from function.decide.rules import memory_need_gib
from function.decide.validate import Bounds, check, parse_answer
from function.memory.models import PastDeployment
from function.model import Decision
from function.pricing.estimate import CostEstimate

if TYPE_CHECKING:
    import httpx

# The HTTP clients (ollama, httpx: ~12 MiB resident) are imported before the first LLM
# call (import_clients, in a thread: the import runs for about a second of CPU and the event
# loop, with its lease heartbeats, must not stop for it), not when the server starts: a
# replica that never calls an LLM never loads them.
_CLIENTS = ("httpx", "ollama")


def _import_clients() -> None:
    for name in _CLIENTS:
        importlib.import_module(name)
    gc.freeze()  # modules live as long as the process: out of the GC's walks (server.py)


async def import_clients() -> None:
    """Import the LLM clients off the event loop (once; later calls return at once)."""
    if not all(name in sys.modules for name in _CLIENTS):
        await asyncio.to_thread(_import_clients)


class LlmError(Exception):
    """The LLM gave no usable decision; the message is short and safe for status and logs."""


class LlmUnavailable(LlmError):
    pass


class LlmInvalid(LlmError):
    pass


class ChatBackend(Protocol):
    async def chat(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> str: ...


class OllamaBackend:
    def __init__(self, s: LlmSettings) -> None:
        import ollama

        self.s = s
        self.client = ollama.AsyncClient(host=s.host, timeout=s.timeout_seconds)

    async def chat(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        import httpx
        import ollama

        options: dict[str, Any] = {
            "num_predict": self.s.max_output_tokens,
            **self.s.options,
            "temperature": self.s.temperature,
            "seed": self.s.seed,
        }
        if self.s.num_ctx:
            options["num_ctx"] = self.s.num_ctx
        try:
            rsp = await self.client.chat(
                model=self.s.model,
                messages=messages,
                format=schema,
                options=options,
                keep_alive=self.s.keep_alive,
                stream=False,
            )
        except ollama.ResponseError as e:
            if e.status_code == 404:
                raise LlmUnavailable(
                    f"model {self.s.model!r} is not available on {self.s.host}"
                ) from None
            raise LlmUnavailable(f"Ollama answered {e.status_code}: {str(e.error)[:200]}") from None
        except (httpx.HTTPError, ConnectionError) as e:
            raise LlmUnavailable(
                f"cannot reach Ollama at {self.s.host} ({type(e).__name__})"
            ) from None
        return str(rsp.message.content or "")

    async def aclose(self) -> None:
        await self.client.close()  # type: ignore[no-untyped-call]


class OpenAiBackend:
    """An OpenAI-compatible chat completions API (hosted models, llama.cpp's server, Ollama's
    /v1), key from a function credential.

    Structured output is asked for as `response_format: json_schema`; a server that refuses
    it (llama-cpp-python's server answers 500, others 400/422 naming response_format) is asked
    again with `json_object`, and from then on for this backend; the answer is validated
    either way. Errors carry the server's own message (cut short, never the key).
    """

    def __init__(self, s: LlmSettings, api_key: str | None) -> None:
        self.s = s
        self._secret = api_key or ""
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        import httpx

        self.client = httpx.AsyncClient(
            base_url=s.host.rstrip("/"), headers=headers, timeout=s.timeout_seconds
        )
        self.json_schema_refused = False

    def _body(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> dict[str, Any]:
        fmt: dict[str, Any] = (
            {"type": "json_object"}
            if self.json_schema_refused
            else {"type": "json_schema", "json_schema": {"name": "decision", "schema": schema}}
        )
        return {
            "model": self.s.model,
            "messages": messages,
            "temperature": self.s.temperature,
            "seed": self.s.seed,
            "max_tokens": self.s.max_output_tokens,
            "response_format": fmt,
        }

    def _error_text(self, rsp: httpx.Response) -> str:
        try:
            body = rsp.json()
            err = body.get("error", body) if isinstance(body, dict) else body
            text = err.get("message", err) if isinstance(err, dict) else err
            text = str(text)
        except ValueError:
            text = rsp.text
        text = " ".join(text.split())[:300]
        if self._secret:
            text = text.replace(self._secret, "***")
        return text

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        import httpx

        try:
            return await self.client.post("/chat/completions", json=body)
        except httpx.HTTPError as e:
            raise LlmUnavailable(f"cannot reach {self.s.host} ({type(e).__name__})") from None

    async def chat(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        rsp = await self._post(self._body(messages, schema))
        if (
            not self.json_schema_refused
            and rsp.status_code in (400, 422, 500, 501)
            and _refuses_schema(self._error_text(rsp), rsp.status_code)
        ):
            self.json_schema_refused = True
            rsp = await self._post(self._body(messages, schema))
        if rsp.status_code in (401, 403):
            raise LlmUnavailable(f"{self.s.host} refused the API key ({rsp.status_code})")
        if rsp.status_code == 404:
            raise LlmUnavailable(
                f"model {self.s.model!r} or endpoint not found on {self.s.host}: "
                f"{self._error_text(rsp)}"
            )
        if rsp.status_code >= 400:
            raise LlmUnavailable(
                f"{self.s.host} answered {rsp.status_code}: {self._error_text(rsp)}"
            )
        try:
            return str(rsp.json()["choices"][0]["message"]["content"] or "")
        except (ValueError, KeyError, IndexError, TypeError):
            raise LlmInvalid("the API's response has no message content") from None

    async def aclose(self) -> None:
        await self.client.aclose()


def _refuses_schema(text: str, status: int) -> bool:
    """Whether an error answer is a refusal of `response_format: json_schema`.

    llama-cpp-python's server answers a bare 500; others name the field."""
    lowered = text.lower()
    return status == 500 or any(
        k in lowered for k in ("response_format", "json_schema", "schema", "not supported")
    )


@dataclass
class LlmResult:
    decision: Decision
    cost: CostEstimate
    warnings: list[str] = field(default_factory=list)
    calls: int = 1


class LlmDecider:
    def __init__(self, settings: LlmSettings, backend: ChatBackend) -> None:
        self.s = settings
        self.backend = backend

    async def aclose(self) -> None:
        """Close the backend's HTTP client, if it has one."""
        close = getattr(self.backend, "aclose", None)
        if close is not None:
            await close()

    async def _call(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        try:
            return await asyncio.wait_for(
                self.backend.chat(messages, schema), timeout=self.s.timeout_seconds
            )
        except TimeoutError:
            raise LlmUnavailable(f"no answer within {self.s.timeout_seconds:g}s") from None

    async def decide(
        self,
        bounds: Bounds,
        similar: Sequence[PastDeployment],
        failures: Sequence[PastDeployment],
        baseline: Decision,
        facts: dict[str, Any] | None = None,
    ) -> LlmResult:
        messages = build_messages(
            bounds,
            similar[: self.s.max_past_deployments],
            failures[: self.s.max_past_deployments],
            baseline,
            facts,
        )
        memory = memory_need_gib(bounds.profile)
        capacity = (facts or {}).get("capacity")
        if isinstance(capacity, dict) and isinstance(capacity.get("memoryGiBPerInstance"), float):
            memory = capacity["memoryGiBPerInstance"]
        schema = answer_schema_for(bounds, memory)
        errors: list[str] = []
        for attempt in range(1 + self.s.repair_attempts):
            content = await self._call(messages, schema)
            answer, errors = parse_answer(_strip_fences(content))
            if answer is not None:
                checked = check(answer, bounds)
                if checked.decision is not None and checked.cost is not None:
                    return LlmResult(checked.decision, checked.cost, checked.warnings, attempt + 1)
                errors = checked.errors
            messages = [
                *messages,
                {"role": "assistant", "content": content[:4000]},
                repair_message(errors),
            ]
        raise LlmInvalid("invalid answer after repair: " + "; ".join(errors[:3])[:400])


def _strip_fences(content: str) -> str:
    """Models sometimes wrap JSON in ``` fences even with a schema; take the object inside."""
    text = content.strip()
    if text.startswith("```"):
        text = text.strip("`")
        text = text.split("\n", 1)[1] if "\n" in text else text
    start, end = text.find("{"), text.rfind("}")
    if start >= 0 and end > start:
        candidate = text[start : end + 1]
        try:
            json.loads(candidate)
            return candidate
        except ValueError:
            return text
    return text


def make_backend(settings: LlmSettings, api_key: str | None) -> ChatBackend:
    if settings.provider == "openai":
        return OpenAiBackend(settings, api_key)
    return OllamaBackend(settings)
