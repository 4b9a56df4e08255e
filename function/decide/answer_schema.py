"""The JSON schema a model's answer is constrained by: one branch per allowed strategy.

Constrained decoding (Ollama `format`, OpenAI-compatible `json_schema`) turns the schema
into a grammar. With one flat object whose `vm` / `kubernetes` / `serverless` are optional,
a small model leaves them out every time (seen with SmolLM2-135M on llama.cpp), and the
answer is useless. So each allowed strategy gets its own branch (`anyOf`) that *requires*
that strategy's settings, with the allowed instance types as an enum and the function
input's bounds as integer limits. Strings are short: llama.cpp's grammar converter expands
`maxLength` into repetitions and refuses very long ones, and a long free text only costs
tokens. The answer is still validated in full (validate.check): the schema guides, it does
not guard.
"""

from __future__ import annotations

from typing import Any

from function.config.datastores import store_strategies
from function.decide.validate import Bounds, store_allowlist
from function.model import Strategy
from function.pricing.catalog import PricingError

REASON_MAX_CHARS = 300


def _types(b: Bounds, allowed: list[str], min_memory: float) -> list[str]:
    out = []
    for t in allowed:
        try:
            if b.catalog.instance(b.spec.region, t).memory_gib >= min_memory:
                out.append(t)
        except PricingError:
            continue
    return out or list(allowed)


def _int(low: int, high: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": max(low, high)}


def _branch(strategy: Strategy, settings: dict[str, Any]) -> dict[str, Any]:
    key = strategy.value
    return {
        "type": "object",
        "properties": {
            "strategy": {"type": "string", "enum": [key]},
            key: settings,
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "reason": {"type": "string", "minLength": 1, "maxLength": REASON_MAX_CHARS},
        },
        "required": ["strategy", key, "confidence", "reason"],
        "additionalProperties": False,
    }


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _stores_schema(b: Bounds) -> dict[str, Any]:
    """Optional: a size per composed store, from the input's allowlists."""
    stores = b.baseline.data_stores or []
    sizes = sorted({t for s in stores for t in store_allowlist(b.settings, s.kind)})
    return {
        "type": "array",
        "maxItems": len(stores),
        "items": _object(
            {
                "kind": {"type": "string", "enum": sorted({s.kind for s in stores})},
                "size": {"type": "string", "enum": sizes},
                "multiAz": {"type": "boolean"},
            }
        ),
    }


def answer_schema_for(b: Bounds, memory_gib: float) -> dict[str, Any]:
    """The answer schema for these bounds; `memory_gib` is the per-instance need."""
    s = b.settings
    branches: list[dict[str, Any]] = []
    for strategy in b.allowed_strategies():
        if strategy is Strategy.VM:
            n = s.vm.max_instances
            settings = _object(
                {
                    "instanceType": {
                        "type": "string",
                        "enum": _types(b, s.vm.allowed_instance_types, memory_gib),
                    },
                    "minSize": _int(1, n),
                    "maxSize": _int(1, n),
                    "desiredCapacity": _int(1, n),
                }
            )
        elif strategy is Strategy.KUBERNETES:
            n = s.kubernetes.max_nodes
            settings = _object(
                {
                    "nodeInstanceType": {
                        "type": "string",
                        "enum": _types(b, s.kubernetes.allowed_node_types, max(4.0, memory_gib)),
                    },
                    "minNodes": _int(1, n),
                    "maxNodes": _int(1, n),
                    "desiredNodes": _int(1, n),
                }
            )
        else:
            settings = _object(
                {
                    "memoryMb": _int(128, s.serverless.max_memory_mb),
                    "timeoutSeconds": _int(1, s.serverless.timeout_seconds),
                }
            )
        branch = _branch(strategy, settings)
        if strategy in store_strategies(s.cloud) and b.baseline.data_stores:
            branch["properties"]["dataStores"] = _stores_schema(b)
        branches.append(branch)
    if len(branches) == 1:
        return branches[0]
    return {"anyOf": branches}
