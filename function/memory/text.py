"""The text that stands for a deployment when it is embedded."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from function.memory.models import DeploymentText

MAX_DEPENDENCIES = 40
MAX_PROMPT_CHARS = 1_000


def _sizes_text(sizes: Mapping[str, Any]) -> str:
    parts = []
    for key in sorted(sizes):
        value = sizes[key]
        if isinstance(value, Mapping | list):
            value = json.dumps(value, sort_keys=True, separators=(",", ":"))
        parts.append(f"{key}={value}")
    return ", ".join(parts)


def deployment_text(
    *,
    framework: str | None = None,
    language: str | None = None,
    dependencies: Iterable[str] = (),
    strategy: str | None = None,
    reason: str | None = None,
    region: str | None = None,
    sizes: Mapping[str, Any] | None = None,
    prompt: str | None = None,
) -> str:
    """One line per known fact, in a fixed order, so equal facts give equal text.

    Dependencies are de-duplicated and sorted (their order in a manifest means
    nothing); the prompt is cut to keep the text inside the model's window.
    """
    deps = sorted({d.strip().lower() for d in dependencies if d.strip()})[:MAX_DEPENDENCIES]
    lines = [
        f"framework: {framework}" if framework else "",
        f"language: {language}" if language else "",
        f"dependencies: {', '.join(deps)}" if deps else "",
        f"strategy: {strategy}" if strategy else "",
        f"reason: {reason}" if reason else "",
        f"region: {region}" if region else "",
        f"sizes: {_sizes_text(sizes)}" if sizes else "",
        f"intent: {prompt.strip()[:MAX_PROMPT_CHARS]}" if prompt and prompt.strip() else "",
    ]
    return "\n".join(line for line in lines if line)


def text_of(facts: DeploymentText, strategy: str | None = None, reason: str | None = None) -> str:
    return deployment_text(
        framework=facts.framework,
        language=facts.language,
        dependencies=facts.dependencies,
        strategy=strategy,
        reason=reason,
        region=facts.region,
        sizes=facts.sizes,
        prompt=facts.prompt,
    )
