"""Varied, realistic deployment texts for the memory benchmark (deterministic by seed)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from function.memory.text import deployment_text

STACKS = {
    "flask": ("python", ["flask", "gunicorn", "sqlalchemy", "celery", "redis", "psycopg2"]),
    "django": ("python", ["django", "djangorestframework", "celery", "psycopg2", "whitenoise"]),
    "fastapi": ("python", ["fastapi", "uvicorn", "pydantic", "sqlalchemy", "httpx", "boto3"]),
    "express": ("javascript", ["express", "mongoose", "jsonwebtoken", "cors", "pg", "bull"]),
    "nestjs": ("typescript", ["@nestjs/core", "typeorm", "rxjs", "class-validator", "ioredis"]),
    "nextjs": ("typescript", ["next", "react", "prisma", "next-auth", "tailwindcss"]),
    "spring-boot": ("java", ["spring-web", "spring-data-jpa", "hibernate", "kafka", "actuator"]),
    "quarkus": ("java", ["quarkus-resteasy", "hibernate-orm", "smallrye-health", "kafka"]),
    "gin": ("go", ["gin", "gorm", "zap", "viper", "go-redis", "prometheus"]),
    "echo": ("go", ["echo", "sqlx", "zerolog", "nats"]),
    "rails": ("ruby", ["rails", "sidekiq", "pg", "puma", "devise"]),
    "laravel": ("php", ["laravel/framework", "guzzle", "horizon", "sanctum"]),
    "aspnet": ("csharp", ["Microsoft.AspNetCore", "EntityFrameworkCore", "Serilog", "MassTransit"]),
    "actix": ("rust", ["actix-web", "tokio", "sqlx", "serde", "tracing"]),
    "static": ("html", ["vite", "react", "tailwindcss"]),
}
STRATEGIES = {
    "vm": [
        "steady traffic and long-lived connections",
        "needs local disk and a legacy daemon",
        "predictable load, cheapest on reserved instances",
    ],
    "kubernetes": [
        "several services with background workers",
        "horizontal scaling across many replicas",
        "team already runs a cluster, service mesh required",
    ],
    "serverless": [
        "spiky low traffic HTTP API",
        "event-driven jobs triggered by queue messages",
        "idle most of the day, pay per request",
    ],
}
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1", "sa-east-1"]
PURPOSES = [
    "internal admin tool",
    "public storefront",
    "payments API",
    "image thumbnail service",
    "chat backend",
    "analytics dashboard",
    "IoT telemetry ingestion",
    "B2B partner API",
    "blog with comments",
    "booking system",
    "ML model inference endpoint",
    "webhook relay",
    "customer support portal",
    "inventory sync job",
    "video transcoding pipeline",
    "authentication service",
    "search API",
    "newsletter sender",
    "mobile app backend",
    "document OCR service",
]
TRAFFIC = [
    "a few users",
    "about 100 requests per minute",
    "10k daily active users",
    "bursty traffic at month end",
    "millions of requests per day",
    "nightly batches",
]
SIZES = {
    "vm": [
        {"instanceType": t, "minSize": a, "maxSize": b}
        for t in ("t3.small", "t3.medium", "m6i.large")
        for a, b in ((1, 2), (2, 4))
    ],
    "kubernetes": [
        {"nodeInstanceType": t, "minNodes": a, "maxNodes": b}
        for t in ("t3.medium", "m6i.large", "c6i.xlarge")
        for a, b in ((2, 4), (3, 10))
    ],
    "serverless": [
        {"memoryMb": m, "timeoutSeconds": s} for m in (256, 512, 1024, 2048) for s in (10, 30, 120)
    ],
}


@dataclass(frozen=True)
class Deployment:
    framework: str
    language: str
    dependencies: list[str]
    strategy: str
    reason: str
    region: str
    sizes: dict[str, object]
    prompt: str

    def text(self, *, decided: bool = True) -> str:
        return deployment_text(
            framework=self.framework,
            language=self.language,
            dependencies=self.dependencies,
            strategy=self.strategy if decided else None,
            reason=self.reason if decided else None,
            region=self.region,
            sizes=self.sizes if decided else None,
            prompt=self.prompt,
        )


def deployments(count: int, seed: int) -> list[Deployment]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        framework = rng.choice(sorted(STACKS))
        language, deps = STACKS[framework]
        strategy = rng.choice(sorted(STRATEGIES))
        out.append(
            Deployment(
                framework=framework,
                language=language,
                dependencies=rng.sample(deps, k=rng.randint(2, len(deps))),
                strategy=strategy,
                reason=rng.choice(STRATEGIES[strategy]),
                region=rng.choice(REGIONS),
                sizes=rng.choice(SIZES[strategy]),
                prompt=f"{rng.choice(PURPOSES)} for {rng.choice(TRAFFIC)}",
            )
        )
    return out
