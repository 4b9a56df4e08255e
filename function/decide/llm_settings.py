"""Settings of the LLM decision layer (function input `llm:`); platform-owned, never a tenant's."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class LlmSettings(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    enabled: bool = Field(
        default=False,
        description="ask an LLM; without one the knowledge base decides (and says so)",
    )
    provider: Literal["ollama", "openai"] = Field(
        default="ollama", description="ollama, or an OpenAI-compatible chat completions API"
    )
    host: str = Field(
        default="http://127.0.0.1:11434",
        max_length=512,
        pattern=r"^https?://",
        description="Ollama host, or the OpenAI-compatible base URL (…/v1)",
    )
    model: str = Field(default="qwen2.5-coder:7b", min_length=1, max_length=200)
    timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        le=600,
        description="one LLM call; it runs in a background job whose lease is renewed while "
        "it works, so a CPU-only model server may be given minutes",
    )
    keep_alive: str = Field(default="10m", max_length=20, pattern=r"^-?\d+[smh]?$")
    temperature: float = Field(default=0.0, ge=0, le=1)
    seed: int = Field(default=42, ge=0)
    num_ctx: int | None = Field(default=None, ge=512, le=131072)
    options: dict[str, float | int | str | bool] = Field(
        default_factory=dict,
        max_length=32,
        description="more Ollama model options (top_p, num_predict, ...); temperature and seed "
        "always come from their own fields",
    )
    max_output_tokens: int = Field(
        default=384,
        ge=64,
        le=4096,
        description="cap on the answer's length (Ollama num_predict, OpenAI max_tokens): a "
        "constrained small model may otherwise run on until the timeout",
    )
    repair_attempts: int = Field(default=1, ge=0, le=2)
    retry_after_seconds: int = Field(
        default=60, ge=5, le=86400, description="first retry of the LLM after a fallback"
    )
    max_retries: int = Field(
        default=5, ge=0, le=20, description="retries after a fallback (the delay doubles each time)"
    )
    max_past_deployments: int = Field(default=5, ge=0, le=20)
