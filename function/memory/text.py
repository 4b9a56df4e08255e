"""The text that stands for a deployment when it is embedded.

Stored records and retrieval queries are embedded from the same facts (`text_of`): the
repository, framework, language, dependencies, region and the team's words. The decision
(strategy, sizes, reason) is deliberately left out: the query cannot know it, and embedding it
on one side only pulled every similarity towards the middle (0.60-0.67 for any record of the
same framework) so that the same application in another environment hardly stood out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from function.memory.models import DeploymentText

MAX_DEPENDENCIES = 40
_SCP_LIKE = re.compile(r"^[\w.-]+@([\w.-]+):(.*)$")
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
    repository: str | None = None,
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
        f"repository: {repository}" if repository else "",
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


def text_of(facts: DeploymentText) -> str:
    """The embedded text of a stored record or of a query: the same fields either way."""
    return deployment_text(
        repository=facts.repository,
        framework=facts.framework,
        language=facts.language,
        dependencies=facts.dependencies,
        region=facts.region,
        prompt=facts.prompt,
    )


def repository_key(url: str, path: str | None = None) -> str:
    """The repository without scheme, credentials, query or `.git`: 'github.com/acme/shop'.

    The same repository reached over https, ssh or scp-like syntax gives the same key; a
    monorepo service adds its path. Never carries a user name, token or password.
    """
    scp = _SCP_LIKE.match(url)
    if scp:
        host, rest = scp.group(1), scp.group(2)
    else:
        parts = urlsplit(url)
        host, rest = (parts.hostname or ""), parts.path
    rest = rest.strip("/").removesuffix(".git")
    key = f"{host.lower()}/{rest}" if host else rest
    if path and path.strip("/"):
        key = f"{key}//{path.strip('/')}"
    return key[:500]
