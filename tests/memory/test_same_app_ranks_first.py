"""Stored and query texts are built from the same facts, so the same repository asked about
from another environment is the nearest stored deployment: the production code's own
record (function/outcomes.py record_of) and query (function/decide/engine.py
retrieval_query), the real MiniLM model and the embedded PostgreSQL + pgvector."""

from __future__ import annotations

from typing import Any

from function.analysis.profile import AppProfile
from function.decide.engine import retrieval_query, summarize
from function.memory.embed import MiniLMEmbedder
from function.memory.settings import MemorySettings, RetrievalWeights
from function.memory.store import MemoryStore
from function.memory.text import text_of
from function.model import Decision
from function.outcomes import record_of
from function.pinning import PinnedDecision
from function.xr import ParsedXr, parse_xr

SHA = "ff975be7f7a86bf8b487dc27efd3c7b85e8d866b"
APPS: dict[str, tuple[str, str, list[str], str]] = {
    # name -> (repository, framework, dependencies, the team's words in production)
    "shop": (
        "https://github.com/acme/shop",
        "flask",
        ["flask", "sqlalchemy", "psycopg2", "stripe"],
        "our online shop, about 40 requests per second, peaks at lunch",
    ),
    "billing": (
        "https://github.com/acme/billing-api",
        "flask",
        ["flask", "sqlalchemy", "psycopg2", "celery"],
        "invoicing API used by finance, 10 requests per second",
    ),
    "catalog": (
        "https://github.com/acme/catalog",
        "flask",
        ["flask", "sqlalchemy", "redis"],
        "product catalog service, 30 requests per second",
    ),
    "reports": (
        "https://github.com/acme/reports",
        "flask",
        ["flask", "pandas", "sqlalchemy"],
        "internal reporting, office hours only",
    ),
    "gateway": (
        "https://github.com/acme/gateway",
        "express",
        ["express", "helmet", "axios"],
        "public API gateway, 200 requests per second",
    ),
}


def xr(name: str, env: str, region: str, prompt: str) -> ParsedXr:
    url = APPS[name][0]
    return parse_xr(
        {
            "apiVersion": "scia.io/v1alpha1",
            "kind": "AppDeployment",
            "metadata": {
                "name": f"{name}-{env}",
                "namespace": "team-a",
                "uid": f"uid-{name}-{env}",
            },
            "spec": {"repository": {"url": url}, "region": region, "prompt": prompt},
        }
    )


def profile(name: str) -> AppProfile:
    url, framework, deps, _ = APPS[name]
    language = "javascript" if framework == "express" else "python"
    return AppProfile.model_validate(
        {
            "name": name,
            "url": url,
            "ref": "main",
            "commit": SHA,
            "language": language,
            "framework": framework,
            "ports": [8080],
            "confidence": 0.9,
            "dependencies": deps,
        }
    )


def pin(name: str) -> PinnedDecision:
    params: dict[str, Any] = {
        "strategy": "vm",
        "vm": {"instanceType": "t3.small", "minSize": 2, "maxSize": 3, "desiredCapacity": 2},
        "port": 8080,
        "reason": f"{name}: 2x t3.small behind an ALB",
        "confidence": 0.7,
    }
    return PinnedDecision(
        revision=1,
        inputs_hash="h",
        spec_hash="s",
        commit=SHA,
        decided_by="knowledge-base",
        decided_at="2026-11-29T00:00:00Z",
        parameters=Decision.model_validate(params),
        analysis=summarize(profile(name)),
        estimated_monthly_cost=60.0,
    )


def test_a_stored_record_and_a_query_of_the_same_facts_embed_the_same_text() -> None:
    prod = xr("shop", "prod", "eu-west-1", APPS["shop"][3])
    stored = record_of(prod, pin("shop"), "success")
    asked = retrieval_query(prod, prod.spec, profile("shop"))
    assert text_of(stored) == text_of(asked)
    assert "dependencies: flask, psycopg2, sqlalchemy, stripe" in text_of(stored)
    # The decision is not embedded on either side: the query cannot know it.
    assert "t3.small" not in text_of(stored) and "strategy" not in text_of(stored)


async def test_the_same_repository_in_another_environment_ranks_first(
    fresh_dsn: str, embedder: MiniLMEmbedder
) -> None:
    settings = MemorySettings(
        min_similarity=0.0,
        retrieve_timeout_seconds=30.0,
        weights=RetrievalWeights(similarity=1, feedback=0, recency=0, cost_efficiency=0),
    )
    memory = await MemoryStore.connect(fresh_dsn, settings, embedder)
    try:
        for name, (_, _, _, words) in APPS.items():
            prod = xr(name, "prod", "eu-west-1", words)
            await memory.record(record_of(prod, pin(name), "success"))
        for name in APPS:
            # Staging: another region, other words, a new deployment of the same repository.
            staging = xr(name, "staging", "us-east-1", "staging copy for testing, low traffic")
            found = await memory.retrieve(retrieval_query(staging, staging.spec, profile(name)))
            ranked = [(p.deployment_name, round(p.similarity, 3)) for p in found.similar]
            assert ranked and ranked[0][0] == f"{name}-prod", ranked
            if len(ranked) > 1:  # and it stands out from the same framework's other apps
                assert ranked[0][1] - ranked[1][1] >= 0.05, ranked
    finally:
        await memory.close()
