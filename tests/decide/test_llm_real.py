"""The LLM layer against a real model server: Ollama built from source serving
SmolLM2-135M-Instruct (tests/support/real_ollama.py), through both backends.

A 135M-parameter model is no judge of deployments; these tests hold what a real server and a
real constrained decoder do that the scripted fakes cannot show: the schema is accepted and
turned into a grammar, the answer carries the chosen strategy's settings, its length is
capped, and whatever the model says is checked.

Speed is not what they test. Each call gets the largest limit the input allows (600 s) and
small bounds (a 2048-token context, a capped answer), and the full decision runs one call on
the product's own prompt; the model server runs at a higher CPU priority where allowed
(tests/support/real_ollama.py). The heaviest test runs last: a call the client gave up on
keeps the one-request server busy until it finishes.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import httpx
import pytest

from function.decide.answer_schema import answer_schema_for
from function.decide.llm import LlmDecider, LlmInvalid, LlmUnavailable, make_backend
from function.decide.llm_settings import LlmSettings
from function.decide.rules import memory_need_gib
from function.decide.validate import LlmDecision, parse_answer
from tests.decide.test_llm import bounds
from tests.support.real_ollama import RealOllama

pytestmark = pytest.mark.integration

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"
TIMEOUT = 600.0  # the largest the input allows; the machine may be very busy
# The full decision's one call: its prompt alone takes minutes where a one-thread server
# gets a fifth of a core; a call the client gives up on keeps the server busy, so it runs last.
DECIDE_LIMIT = 300.0
CONTEXT = 2048  # the Modelfile's num_ctx too: the same value never reloads the model


def settings(server: RealOllama, **kw: Any) -> LlmSettings:
    return LlmSettings(
        enabled=True,
        host=server.url,
        model=server.model,
        timeout_seconds=TIMEOUT,
        num_ctx=CONTEXT,
        **kw,
    )


def strategy_settings_present(answer: dict[str, Any]) -> bool:
    return isinstance(answer.get(str(answer.get("strategy"))), dict)


async def test_the_branch_schema_makes_a_real_model_give_the_strategys_settings(
    ollama_server: RealOllama,
) -> None:
    b = bounds(image=IMAGE, prompt="a small API, about 5 requests per second")
    schema = answer_schema_for(b, memory_need_gib(b.profile))
    backend = make_backend(settings(ollama_server), None)
    messages = [
        {"role": "system", "content": "Answer with one JSON object."},
        {"role": "user", "content": "Choose a deployment for a small Flask API."},
    ]
    content = await backend.chat(messages, schema)
    answer = json.loads(content)  # constrained decoding: always JSON
    assert answer["strategy"] in ("vm", "kubernetes", "serverless"), content
    assert strategy_settings_present(answer), content
    parsed, errors = parse_answer(content)
    assert parsed is not None and not errors, (content, errors)
    assert len(answer["reason"]) <= 300


async def test_the_old_flat_schema_lets_a_real_model_leave_the_settings_out(
    ollama_server: RealOllama,
) -> None:
    """The fault the branch schema fixes, shown on the real model: with the settings optional
    the constrained model stops after strategy/reason/confidence."""
    backend = make_backend(settings(ollama_server), None)
    messages = [
        {"role": "system", "content": "Answer with one JSON object."},
        {"role": "user", "content": "Choose a deployment for a small Flask API."},
    ]
    flat = LlmDecision.model_json_schema(by_alias=True)
    flat["properties"]["reason"]["maxLength"] = 300  # 2000 is refused by the converter
    answer = json.loads(await backend.chat(messages, flat))
    assert not strategy_settings_present(answer), answer


async def test_openai_compatible_backend_against_the_real_server(
    ollama_server: RealOllama,
) -> None:
    s = LlmSettings(
        enabled=True,
        provider="openai",
        host=f"{ollama_server.url}/v1",
        model=ollama_server.model,
        timeout_seconds=TIMEOUT,
        max_output_tokens=256,  # SmolLM2 answers this schema in ~170 tokens (whitespace)
    )
    b = bounds(strategy="vm")
    schema = answer_schema_for(b, 1.0)
    backend = make_backend(s, None)
    content = await backend.chat(
        [{"role": "user", "content": "Pick instances for a small Flask API as JSON."}], schema
    )
    answer = json.loads(content)
    assert answer["strategy"] == "vm" and strategy_settings_present(answer), content


async def test_the_real_server_reports_a_missing_model_by_name(
    ollama_server: RealOllama,
) -> None:
    s = LlmSettings(enabled=True, host=ollama_server.url, model="no-such-model:1b")
    b = bounds()
    with pytest.raises(LlmUnavailable, match="no-such-model:1b"):
        await LlmDecider(s, make_backend(s, None)).decide(b, [], [], b.baseline)
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{ollama_server.url}/api/version", timeout=10)).status_code == 200


async def test_a_real_model_decision_is_checked_or_refused_with_reasons(
    ollama_server: RealOllama,
) -> None:
    """The whole decision on the product's own prompt (~900 tokens): one call, no repair
    round, two allowed instance types. The outcome is a checked decision, a refusal naming
    the platform's rules, or - on a machine too busy to answer within the decider's limit -
    the decider giving up with that reason (the caller then falls back to the knowledge
    base). Never a hang, a traceback, an HTTP error (the server refusing the request is a
    broken protocol) or an answer that is not the schema's JSON with the strategy's
    settings."""
    b = bounds(
        {"vm": {"allowedInstanceTypes": ["t3.small", "t3.medium"]}},
        strategy="vm",
        prompt="a small internal API, about 5 requests per second, keep it cheap",
    )
    s = settings(ollama_server, repair_attempts=0).model_copy(
        update={"timeout_seconds": DECIDE_LIMIT}
    )
    backend = make_backend(s, None)
    answers: list[str] = []
    chat = backend.chat

    async def recorded(messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        answers.append(await chat(messages, schema))  # the real server's answer, unchanged
        return answers[-1]

    backend.chat = recorded  # type: ignore[method-assign]
    decider = LlmDecider(s, backend)
    try:
        got = await decider.decide(b, [], [], b.baseline)
    except LlmUnavailable as e:
        assert str(e) == f"no answer within {DECIDE_LIMIT:g}s", e  # not an HTTP error
        assert not answers
        warnings.warn(
            f"the real model did not answer the product's prompt within {DECIDE_LIMIT:g}s on "
            "this busy machine: the decider gave up as it should; the answer was not checked",
            stacklevel=1,
        )
        return
    except LlmInvalid as e:
        # A tiny model may break the platform's rules; the refusal names them.
        assert str(e).startswith("invalid answer after repair: "), e
        assert "parameters are required" not in str(e)  # the schema gave it the settings
    else:
        assert got.decision.decided_by == "llm"
        assert got.decision.strategy.value == "vm" and got.decision.vm is not None
        assert got.decision.vm.instance_type in ("t3.small", "t3.medium")
        assert got.decision.port == 5000  # never from the model
        assert got.cost.monthly_total > 0
    finally:
        await decider.aclose()
    (content,) = answers
    answer = json.loads(content)  # constrained decoding on the product's prompt and schema
    assert answer["strategy"] == "vm" and strategy_settings_present(answer), content
