"""Scenarios for the learning benchmark: template applications with a hidden ground truth.

Each template is a real repository (files below, committed as a git repository) with
traits the function can see (language, framework, dependencies, Dockerfile, services)
and traits it cannot: how much memory an instance really needs, whether it keeps state
locally. A scenario adds what the tenant says: traffic (in the prompt words), a budget
(soft or hard), a region, and sometimes a container image.

The hidden truth decides what becomes of a configuration (`judge`):
- an instance (or Lambda) with less memory than the app really needs fails;
- a stateful app on Lambda fails;
- a stateless app under high traffic on a single instance or node fails;
- a repository with several services fails unless it runs on Kubernetes;
- a configuration over a hard budget fails.
The optimum (`optimum`) is the cheapest configuration the function may choose (its
allowlists and bounds, priced by the function's own estimator) that does not fail.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from typing import Any

from function.input import FunctionInput
from function.model import Decision, KubernetesParams, ServerlessParams, Strategy, VmParams
from function.pricing.catalog import PriceCatalog, PricingError, load_catalog
from function.pricing.estimate import estimate

REGIONS = ("us-east-1", "eu-west-1", "us-west-2")
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}:1.0"

_FLASK = "from flask import Flask\napp = Flask(__name__)\n\n@app.get('/')\ndef index():\n    return 'ok'\n"
_EXPRESS = (
    "const express = require('express');\nconst app = express();\n"
    "app.get('/', (req, res) => res.send('ok'));\napp.listen(process.env.PORT || 3000);\n"
)
_DOCKER_PY = "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n"
_DOCKER_NODE = 'FROM node:20-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD ["node", "server.js"]\n'


@dataclass(frozen=True)
class Template:
    name: str
    files: dict[str, str]
    memory_gib: float  # hidden: what an instance really needs
    stateful: bool = False  # hidden: keeps state on local disk
    services: int = 1
    has_image: bool = False  # a container image exists (spec.image is set)
    max_traffic: str = "high"


TEMPLATES: tuple[Template, ...] = (
    Template("flask-api", {"requirements.txt": "flask==3.1.0\ngunicorn==23.0.0\npsycopg2-binary==2.9.9\n",
                           "app.py": _FLASK}, 1.0),
    Template("flask-ml", {"requirements.txt": "flask==3.1.0\ngunicorn==23.0.0\npandas==2.2.3\n"
                          "scikit-learn==1.5.2\ntorch==2.5.1\n", "app.py": _FLASK,
                          "Dockerfile": _DOCKER_PY}, 4.0, has_image=True),
    Template("django-cms", {"requirements.txt": "Django==5.1\npsycopg2-binary==2.9.9\nwagtail==6.2\n",
                            "manage.py": "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'cms.settings')\n",
                            "cms/settings.py": "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql'}}\n",
                            "cms/wsgi.py": "from django.core.wsgi import get_wsgi_application\n"}, 2.0),
    Template("fastapi-svc", {"requirements.txt": "fastapi==0.115.0\nuvicorn==0.30.6\n",
                             "main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
                             "Dockerfile": _DOCKER_PY}, 0.5, has_image=True),
    Template("express-api", {"package.json": '{"name": "api", "scripts": {"start": "node server.js"},'
                             ' "dependencies": {"express": "^4.21.0", "redis": "^4.7.0"}}\n',
                             "server.js": _EXPRESS, "Dockerfile": _DOCKER_NODE}, 1.0, has_image=True),
    Template("express-pdf", {"package.json": '{"name": "pdf", "scripts": {"start": "node server.js"},'
                             ' "dependencies": {"express": "^4.21.0", "puppeteer": "^23.0.0"}}\n',
                             "server.js": _EXPRESS, "Dockerfile": _DOCKER_NODE}, 2.0, has_image=True),
    Template("nextjs-web", {"package.json": '{"scripts": {"build": "next build", "start": "next start"},'
                            ' "dependencies": {"next": "14.2.0", "react": "18.2.0", "react-dom": "18.2.0"}}\n',
                            "app/page.tsx": "export default function Page() { return <main/>; }\n",
                            "tsconfig.json": "{}\n"}, 2.0),
    Template("go-gin", {"go.mod": "module example.com/g\n\ngo 1.22\n\nrequire github.com/gin-gonic/gin v1.10.0\n",
                        "main.go": 'package main\n\nimport "github.com/gin-gonic/gin"\n\nfunc main() {\n'
                        '\tr := gin.Default()\n\tr.Run(":8080")\n}\n',
                        "Dockerfile": "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /app\n"},
             0.5, has_image=True),
    Template("spring-api", {"pom.xml": "<project>\n<properties>\n<java.version>21</java.version>\n</properties>\n"
                            "<parent><groupId>org.springframework.boot</groupId>"
                            "<artifactId>spring-boot-starter-parent</artifactId><version>3.3.0</version></parent>\n"
                            "<dependencies><dependency><artifactId>spring-boot-starter-web</artifactId>"
                            "</dependency></dependencies>\n</project>\n",
                            "src/main/java/demo/App.java": "package demo;\n@SpringBootApplication\npublic class App {}\n"},
             4.0),
    Template("rails-blog", {"Gemfile": "source 'https://rubygems.org'\nruby '3.3.0'\ngem 'rails', '~> 7.1'\ngem 'pg'\n",
                            "config/application.rb": "module Blog\n  class Application < Rails::Application\n  end\nend\n",
                            "config/database.yml": "default: &default\n  adapter: postgresql\n"}, 2.0),
    Template("flask-notes", {"requirements.txt": "flask==3.1.0\ngunicorn==23.0.0\n",
                             "app.py": _FLASK + "import sqlite3\nDB = sqlite3.connect('notes.db')\n",
                             "Dockerfile": _DOCKER_PY}, 1.0, stateful=True, has_image=True,
             max_traffic="medium"),
    Template("shop-monorepo", {"services/web/package.json": '{"scripts": {"start": "next start"},'
                               ' "dependencies": {"next": "14.2.0", "react": "18.2.0"}}\n',
                               "services/web/app/page.js": "export default function P() { return null }\n",
                               "services/api/go.mod": "module example.com/api\n\ngo 1.22\n",
                               "services/api/main.go": 'package main\n\nimport "net/http"\n\nfunc main() {\n'
                               '\thttp.ListenAndServe(":8080", nil)\n}\n'}, 2.0, services=2),
)  # fmt: skip

PROMPTS = {
    "low": (
        "an internal tool for a few users, keep it cheap",
        "a small side project, low cost please",
        "a dev environment for the team",
    ),
    "medium": (
        "a customer facing service",
        "deploy the app for our customers",
        "our public api, normal load",
    ),
    "high": (
        "high traffic expected, many users",
        "a busy public site under heavy load",
        "launch week: we expect traffic spikes",
        "production, highly available, high traffic",
    ),
}
TRAFFIC_LEVELS = ("low", "medium", "high")


@dataclass(frozen=True)
class Scenario:
    index: int
    template: Template
    traffic: str
    prompt: str
    region: str
    budget: float | None
    hard: bool
    image: str | None

    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "repository": {"url": f"https://github.com/acme/{self.template.name}", "ref": "main"},
            "prompt": self.prompt,
            "cloudProvider": "aws",
            "region": self.region,
            "strategy": "auto",
        }
        if self.budget is not None:
            spec["budget"] = {
                "maxMonthlyCost": self.budget,
                "enforcementMode": "hard" if self.hard else "soft",
            }
        if self.image:
            spec["image"] = self.image
        return spec


@dataclass(frozen=True)
class Config:
    """A configuration in the terms the ground truth judges."""

    strategy: str
    instance_type: str | None = None
    count: int = 1
    memory_mb: int | None = None

    def decision(self) -> Decision:
        base: dict[str, Any] = {
            "strategy": Strategy(self.strategy),
            "reason": "x",
            "confidence": 1.0,
        }
        n = self.count
        if self.strategy == "vm":
            assert self.instance_type
            base["vm"] = VmParams(instance_type=self.instance_type, min_size=n, max_size=max(n, 2),
                                  desired_capacity=n)  # fmt: skip
        elif self.strategy == "kubernetes":
            assert self.instance_type
            base["kubernetes"] = KubernetesParams(node_instance_type=self.instance_type, min_nodes=n,
                                                  max_nodes=max(n, 2), desired_nodes=n)  # fmt: skip
        else:
            base["serverless"] = ServerlessParams(
                memory_mb=self.memory_mb or 512, timeout_seconds=30
            )
        return Decision(**base)

    def label(self) -> str:
        if self.strategy == "serverless":
            return f"serverless {self.memory_mb} MB"
        return f"{self.strategy} {self.count}x {self.instance_type}"


def config_of(status_decision: dict[str, Any]) -> Config:
    """The Config of a decision as the function writes it (status.decision.parameters)."""
    p = status_decision["parameters"]
    if p.get("vm"):
        return Config("vm", p["vm"]["instanceType"], int(p["vm"]["desiredCapacity"]))
    if p.get("kubernetes"):
        k = p["kubernetes"]
        return Config("kubernetes", k["nodeInstanceType"], int(k["desiredNodes"]))
    return Config("serverless", memory_mb=int(p["serverless"]["memoryMb"]))


@cache
def _catalog() -> PriceCatalog:
    return load_catalog()


def cost(config: Config, region: str) -> float:
    return estimate(config.decision(), region, _catalog()).monthly_total


def _memory(config: Config, region: str) -> float:
    if config.strategy == "serverless":
        return (config.memory_mb or 0) / 1024
    assert config.instance_type
    return _catalog().instance(region, config.instance_type).memory_gib


def judge(s: Scenario, config: Config) -> str | None:
    """Why this configuration fails in this scenario (hidden truth), or None if it works."""
    t = s.template
    if config.strategy == "serverless" and t.stateful:
        return "the app keeps state on local disk; Lambda loses it"
    if t.services > 1 and config.strategy != "kubernetes":
        return f"{t.services} services need an orchestrator; only one came up"
    if _memory(config, s.region) < t.memory_gib:
        return f"out of memory: the app needs {t.memory_gib:g} GiB per instance"
    if s.traffic == "high" and config.strategy != "serverless" and config.count < 2:
        return "a single instance is overwhelmed by high traffic"
    if s.hard and s.budget is not None and cost(config, s.region) > s.budget:
        return "over the hard budget"
    return None


def candidates(s: Scenario) -> list[Config]:
    """Every configuration the function could choose with its default input."""
    inp = FunctionInput()
    out: list[Config] = []
    for n in (1, 2, 3):
        out += [Config("vm", t, n) for t in inp.vm.allowed_instance_types]
        out += [Config("kubernetes", t, n) for t in inp.kubernetes.allowed_node_types]
    if s.image:
        out += [Config("serverless", memory_mb=mb) for mb in (512, 1024, 2048, 3008)]
    priced = []
    for c in out:
        try:
            if c.strategy == "kubernetes" and _memory(c, s.region) < 4.0:
                continue  # the function never chooses nodes under 4 GiB
            priced.append(c)
        except PricingError:
            continue
    return priced


def optimum(s: Scenario) -> tuple[Config, float]:
    ok = [(cost(c, s.region), c.label(), c) for c in candidates(s) if judge(s, c) is None]
    if not ok:
        raise ValueError(f"scenario {s.index} has no working configuration")
    best = min(ok)
    return best[2], best[0]


def generate(n: int, seed: int, start: int = 0) -> list[Scenario]:
    """n scenarios; each has at least one working configuration."""
    rng = random.Random(seed)
    out: list[Scenario] = []
    i = start
    while len(out) < n:
        t = rng.choice(TEMPLATES)
        levels = TRAFFIC_LEVELS if t.max_traffic == "high" else ("low", "medium")
        traffic = rng.choice(levels)
        region = rng.choice(REGIONS)
        image = IMAGE.format(name=t.name) if t.has_image and rng.random() < 0.7 else None
        draft = Scenario(i, t, traffic, rng.choice(PROMPTS[traffic]), region, None, False, image)
        _, best = optimum(draft)
        roll = rng.random()
        if roll < 0.35:
            budget, hard = None, False
        elif roll < 0.75:
            budget, hard = round(max(10.0, best * rng.uniform(0.8, 4.0)), 2), False
        else:
            budget, hard = round(max(10.0, best * rng.uniform(1.1, 3.0)), 2), True
        prompt = draft.prompt + (f", under ${budget:.0f}/month" if budget else "")
        out.append(Scenario(i, t, traffic, prompt, region, budget, hard, image))
        i += 1
    return out
