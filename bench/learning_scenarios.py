"""The learning benchmark's world: real template repositories and a hidden truth per run.

Each template is a real repository (files below, committed as a git repository) with traits
the function can see (language, framework, dependencies, Dockerfile, services) and traits it
cannot. Per run (seed), hidden coefficients are drawn from ranges the engine never sees:
- per framework, a CPU multiplier on the template's base CPU per request (log-uniform
  0.3x-1.2x) and a memory multiplier on its base memory need (0.5x, 0.75x or 1x, rounded to
  0.25 GiB): published figures and the engine's priors are conservative, real apps mostly
  need less, and some need a little more;
- per scenario, the traffic (average rps drawn log-uniformly within a level, a peak factor),
  spikiness, long-lived connections, a latency target, budget and its mode.
The team states the traffic in words (rps, per minute/hour, users per day, office hours,
"a few calls an hour"); the truth decides what becomes of a configuration (`judge`):
- memory per instance (or Lambda) below the hidden need: out of memory;
- the average CPU above what the instances sustain (burstable baselines) or the peak above
  what the group can scale to: under-capacity; spiky traffic also needs half the peak warm;
- a stateful app or long-lived connections on Lambda; a latency target a Lambda's duration
  or cold start misses; several services not on Kubernetes; over a hard budget: failed.
The optimum (`optimum`) is the cheapest configuration the function may choose (its allowlists
and bounds, priced by the function's own estimator with the true usage) that does not fail.
After each deployment the world reports what a platform would observe (average rps, CPU
utilisation, peak memory or OOM kills) as `scia.io/observed-*` annotations.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from function.input import FunctionInput
from function.model import Decision, KubernetesParams, ServerlessParams, Strategy, VmParams
from function.pricing.catalog import PriceCatalog, PricingError, load_catalog
from function.pricing.estimate import UsageAssumptions, estimate

REGIONS = ("us-east-1", "eu-west-1", "us-west-2")
IMAGE = "123456789012.dkr.ecr.{region}.amazonaws.com/{name}:1.0"

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
    has_image: bool = False  # a container image exists (spec.image is set in 70% of scenarios)
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

# Hidden base CPU per request (ms of one vCPU) and the framework key of each template; the
# run's multipliers apply per framework key. Independent of the engine's priors.
BASE_CPU_MS = {
    "flask-api": 12.0, "flask-ml": 120.0, "django-cms": 30.0, "fastapi-svc": 8.0,
    "express-api": 6.0, "express-pdf": 150.0, "nextjs-web": 40.0, "go-gin": 2.0,
    "spring-api": 10.0, "rails-blog": 35.0, "flask-notes": 12.0, "shop-monorepo": 20.0,
}  # fmt: skip
FRAMEWORK_OF = {
    "flask-api": "flask", "flask-ml": "flask", "django-cms": "django", "fastapi-svc": "fastapi",
    "express-api": "express", "express-pdf": "express", "nextjs-web": "nextjs", "go-gin": "gin",
    "spring-api": "spring", "rails-blog": "rails", "flask-notes": "flask", "shop-monorepo": "mono",
}  # fmt: skip
LEVELS = {"idle": (0.0003, 0.01), "low": (0.05, 2.0), "medium": (2.0, 25.0), "high": (25.0, 250.0)}
# AWS's published baselines of the burstable types (what an instance sustains per vCPU; T3,
# T3a and T4g alike); every other type sustains PEAK_CEILING.
SUSTAINED = {f"{family}.{size}": share for family in ("t3", "t3a", "t4g") for size, share in (
    ("nano", 0.05), ("micro", 0.1), ("small", 0.2), ("medium", 0.2), ("large", 0.3),
    ("xlarge", 0.4), ("2xlarge", 0.4))}  # fmt: skip
PEAK_CEILING = 0.85  # utilisation a group can actually run at before latency collapses
LAMBDA_COLD_MS = 2500.0  # a container image's cold start; rarer than one call in 5 min is cold


@dataclass(frozen=True)
class World:
    """The run's hidden coefficients."""

    seed: int
    cpu_factor: dict[str, float]
    memory_factor: dict[str, float]

    @classmethod
    def draw(cls, seed: int) -> World:
        rng = random.Random(seed * 7919)
        keys = sorted(set(FRAMEWORK_OF.values()))
        return cls(
            seed,
            {k: round(math.exp(rng.uniform(math.log(0.3), math.log(1.2))), 3) for k in keys},
            {k: rng.choice((0.5, 0.75, 1.0)) for k in keys},
        )

    def cpu_ms(self, t: Template) -> float:
        return BASE_CPU_MS[t.name] * self.cpu_factor[FRAMEWORK_OF[t.name]]

    def memory_gib(self, t: Template) -> float:
        return max(0.25, round(t.memory_gib * self.memory_factor[FRAMEWORK_OF[t.name]] * 4) / 4)


@dataclass(frozen=True)
class Scenario:
    index: int
    template: Template
    world: World
    level: str
    avg_rps: float
    peak_rps: float
    spiky: bool
    long_lived: bool
    slo_ms: float | None
    prompt: str
    region: str
    budget: float | None
    hard: bool
    image: str | None
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def traffic(self) -> str:
        return self.level

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

    @property
    def cpu_ms(self) -> float:
        return self.world.cpu_ms(self.template)

    @property
    def memory_gib(self) -> float:
        return self.world.memory_gib(self.template)


@dataclass(frozen=True)
class Config:
    """A configuration in the terms the ground truth judges."""

    strategy: str
    instance_type: str | None = None
    count: int = 1
    max_count: int = 1
    memory_mb: int | None = None

    def decision(self) -> Decision:
        base: dict[str, Any] = {
            "strategy": Strategy(self.strategy),
            "reason": "x",
            "confidence": 1.0,
        }
        n, top = self.count, max(self.count, self.max_count)
        if self.strategy == "vm":
            assert self.instance_type
            base["vm"] = VmParams(instance_type=self.instance_type, min_size=n, max_size=top,
                                  desired_capacity=n)  # fmt: skip
        elif self.strategy == "kubernetes":
            assert self.instance_type
            base["kubernetes"] = KubernetesParams(node_instance_type=self.instance_type,
                                                  min_nodes=n, max_nodes=top, desired_nodes=n)  # fmt: skip
        else:
            base["serverless"] = ServerlessParams(
                memory_mb=self.memory_mb or 512, timeout_seconds=30
            )
        return Decision(**base)

    def label(self) -> str:
        if self.strategy == "serverless":
            return f"serverless {self.memory_mb} MB"
        return f"{self.strategy} {self.count}-{self.max_count}x {self.instance_type}"


def config_of(status_decision: dict[str, Any]) -> Config:
    """The Config of a decision as the function writes it (status.decision.parameters)."""
    p = status_decision["parameters"]
    if p.get("vm"):
        v = p["vm"]
        return Config("vm", v["instanceType"], int(v["desiredCapacity"]), int(v["maxSize"]))
    if p.get("kubernetes"):
        k = p["kubernetes"]
        return Config("kubernetes", k["nodeInstanceType"], int(k["desiredNodes"]),
                      int(k["maxNodes"]))  # fmt: skip
    return Config("serverless", memory_mb=int(p["serverless"]["memoryMb"]))


@cache
def _catalog() -> PriceCatalog:
    return load_catalog()


def _duration_ms(s: Scenario, memory_mb: int) -> float:
    return s.cpu_ms / min(1.0, memory_mb / 1769.0) + 40.0


def cost(config: Config, s: Scenario) -> float:
    """Monthly cost with the scenario's true usage."""
    usage = UsageAssumptions(
        requests_per_month=int(s.avg_rps * 730 * 3600),
        avg_duration_ms=_duration_ms(s, config.memory_mb or 512),
    )
    # Without spec.image the function builds the image: CodeBuild or build Jobs and ECR.
    built = s.image is None
    return estimate(config.decision(), s.region, _catalog(), usage, built_image=built).monthly_total


def _memory(config: Config, region: str) -> float:
    if config.strategy == "serverless":
        return (config.memory_mb or 0) / 1024
    assert config.instance_type
    mem = _catalog().instance(region, config.instance_type).memory_gib
    return mem - 1.0 if config.strategy == "kubernetes" else mem


def _vcpu(config: Config, region: str) -> float:
    assert config.instance_type
    v = float(_catalog().instance(region, config.instance_type).vcpu)
    return v - 0.3 if config.strategy == "kubernetes" else v


def judge(s: Scenario, config: Config) -> str | None:
    """Why this configuration fails in this scenario (hidden truth), or None if it works."""
    t = s.template
    if config.strategy == "serverless":
        if t.stateful:
            return "the app keeps state on local disk; Lambda loses it"
        if s.long_lived:
            return "long-lived connections are cut at the Lambda timeout"
    if t.services > 1 and config.strategy != "kubernetes":
        return f"{t.services} services need an orchestrator; only one came up"
    if _memory(config, s.region) < s.memory_gib * (
        t.services if config.strategy == "kubernetes" and config.count == 1 else 1
    ):
        return f"out of memory: the app needs {s.memory_gib:g} GiB per instance"
    avg_vcpu = s.avg_rps * s.cpu_ms / 1000.0 * t.services
    peak_vcpu = s.peak_rps * s.cpu_ms / 1000.0 * t.services
    if config.strategy == "serverless":
        duration = _duration_ms(s, config.memory_mb or 512)
        if s.slo_ms is not None and duration > s.slo_ms:
            return (
                f"under-capacity: {duration:.0f} ms per request misses the {s.slo_ms:g} ms target"
            )
        if s.slo_ms is not None and s.slo_ms < LAMBDA_COLD_MS and s.avg_rps < 1 / 300:
            return "cold starts miss the latency target"
    else:
        assert config.instance_type
        vcpu = _vcpu(config, s.region)
        sustained = SUSTAINED.get(config.instance_type, PEAK_CEILING)
        if avg_vcpu > config.count * vcpu * sustained:
            return "under-capacity: the average load exhausts the CPU the instances sustain"
        if peak_vcpu > max(config.count, config.max_count) * vcpu * PEAK_CEILING:
            return "under-capacity: the peak exceeds what the group scales to"
        if s.spiky and 0.5 * peak_vcpu > config.count * vcpu * PEAK_CEILING:
            return "under-capacity: spikes arrive before new instances"
    if s.hard and s.budget is not None and cost(config, s) > s.budget:
        return "over the hard budget"
    return None


def observations(s: Scenario, config: Config, failure: str | None) -> dict[str, str]:
    """What a platform would observe of this deployment, as scia.io/observed-* annotations."""
    out = {"scia.io/observed-rps": f"{s.avg_rps:.4g}"}
    if failure and failure.startswith("out of memory"):
        out["scia.io/observed-oom-kills"] = "3"
    else:
        out["scia.io/observed-memory-gib"] = f"{s.memory_gib * 0.9:.3g}"
    if config.strategy != "serverless" and config.instance_type:
        total = config.count * _vcpu(config, s.region)
        util = min(1.0, s.avg_rps * s.cpu_ms / 1000.0 * s.template.services / total)
        out["scia.io/observed-cpu-utilisation"] = f"{util:.4g}"
    return out


def candidates(s: Scenario) -> list[Config]:
    """Every configuration the function could choose with its default input."""
    inp = FunctionInput()
    out: list[Config] = []
    for n in range(1, 9):
        out += [Config("vm", t, n, inp.vm.max_instances) for t in inp.vm.allowed_instance_types]
        out += [Config("kubernetes", t, n, inp.kubernetes.max_nodes)
                for t in inp.kubernetes.allowed_node_types]  # fmt: skip
    # Serverless runs spec.image or an image the function builds from the repository, and
    # every template has a Dockerfile or a recipe the function generates (docs/build.md).
    out += [Config("serverless", memory_mb=mb) for mb in (512, 1024, 1536, 2048, 3008)]
    priced = []
    for c in out:
        try:
            if c.strategy == "kubernetes" and _memory(c, s.region) < 3.0:
                continue  # the function never chooses nodes under 4 GiB
            priced.append(c)
        except PricingError:
            continue
    return priced


def optimum(s: Scenario) -> tuple[Config, float]:
    ok = [(cost(c, s), c.label(), c) for c in candidates(s) if judge(s, c) is None]
    if not ok:
        raise ValueError(f"scenario {s.index} has no working configuration")
    best = min(ok)
    return best[2], best[0]


def _words(rng: random.Random, avg: float, peak: float, spiky: bool, office: bool) -> str:
    """The traffic in one of the ways teams say it."""
    if avg < 0.01:
        per_hour = avg * 3600
        return rng.choice([f"about {max(1, round(per_hour))} requests per hour",
                           "a few calls an hour" if per_hour < 12 else f"{round(per_hour)} calls an hour",
                           f"around {max(1, round(per_hour * 24))} requests a day"])  # fmt: skip
    form = rng.randrange(5)
    if form == 0:
        text = f"about {avg:.3g} requests per second on average"
    elif form == 1:
        text = f"{avg * 60:,.0f} requests per minute"
    elif form == 2:
        text = f"around {avg * 3600:,.0f} requests per hour"
    elif form == 3:
        users = avg * (10 if office else 24) * 3600 / 40
        text = f"{users:,.0f} daily active users"
    else:
        text = f"average {avg:.3g} rps, peaking at {peak:.3g} rps"
    if office and form == 3:
        text += ", office hours only"
    if spiky and form != 4:
        text += ", traffic is spiky"
    return text


def generate(n: int, seed: int, start: int = 0, world: World | None = None) -> list[Scenario]:
    """n scenarios in the run's world; each has at least one working configuration."""
    world = world or World.draw(seed)
    rng = random.Random(seed)
    out: list[Scenario] = []
    i = start
    while len(out) < n:
        t = rng.choice(TEMPLATES)
        level = rng.choice(("idle", "low", "medium", "medium", "high") if t.max_traffic == "high"
                           else ("idle", "low", "medium"))  # fmt: skip
        lo, hi = LEVELS[level]
        avg = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        spiky = rng.random() < 0.25
        office = rng.random() < 0.2
        factor = 8.0 if spiky else 3.0
        words = _words(rng, avg, avg * factor, spiky, office)
        peak = avg * factor
        long_lived = rng.random() < 0.15
        slo = rng.choice((None, None, 300.0, 1000.0)) if rng.random() < 0.5 else None
        parts = [words]
        if long_lived:
            parts.append("clients keep websocket connections open")
        if slo:
            parts.append(f"p95 under {slo:g} ms")
        region = rng.choice(REGIONS)
        image = (
            IMAGE.format(region=region, name=t.name) if t.has_image and rng.random() < 0.7 else None
        )
        draft = Scenario(i, t, world, level, avg, peak, spiky, long_lived, slo, ", ".join(parts),
                         region, None, False, image)  # fmt: skip
        try:
            _, best = optimum(draft)
        except ValueError:
            continue
        roll = rng.random()
        if roll < 0.4:
            budget, hard = None, False
        elif roll < 0.75:
            budget, hard = round(max(10.0, best * rng.uniform(0.8, 4.0)), 2), False
        else:
            budget, hard = round(max(10.0, best * rng.uniform(1.2, 3.0)), 2), True
        prompt = draft.prompt + (f", under ${budget:.0f}/month" if budget else "")
        out.append(Scenario(i, t, world, level, avg, peak, spiky, long_lived, slo, prompt,
                            region, budget, hard, image))  # fmt: skip
        i += 1
    return out
