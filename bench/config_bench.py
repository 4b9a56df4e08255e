"""Configuration and data stores: what they add to a render, and how long the launcher takes.

Run: python bench/config_bench.py [--renders 2000] [--launches 20]

1. Render (in process, every strategy, the cluster's credentials observed): the plain
   flask-app decision vs the same with spec.env, spec.envFrom, a bound store and a composed
   PostgreSQL + Redis; p50/p99 per render and the number of resources.
2. The launcher (function/config/scia_launch.py) as a real process against the loopback
   stand-in of AWS (tests/config/fake_aws.py): start to exec of the app, with 4 sources
   (SSM JSON, a secret, an RDS URL, a Redis URL), p50/max.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from function.config.launcher import launcher_source  # noqa: E402
from function.model import DataStoreParams, Strategy  # noqa: E402
from function.render.dispatch import render  # noqa: E402
from function.xr import AppSpec  # noqa: E402
from tests.config.fake_aws import handler_for  # noqa: E402
from tests.config.test_launcher import CONFIG, _world  # noqa: E402
from tests.render.test_render_aws import FULL_OBSERVED, ctx  # noqa: E402
from tests.support.jsonhttp import serving, url_of  # noqa: E402


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def bench_render(n: int) -> None:
    spec = AppSpec.model_validate(
        {
            "repository": {"url": "https://github.com/acme/flask-app"},
            "region": "eu-west-1",
            "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1",
            "env": [{"name": f"VAR_{i}", "value": "x" * 20} for i in range(10)],
            "envFrom": [{"secretRef": {"name": "s", "keys": [{"key": f"K{i}"} for i in range(5)]}}],
            "services": {"mysql": {"secretRef": {"name": "db"}}},
        }
    )
    stores = [
        DataStoreParams(
            kind="postgres",
            size="db.t4g.micro",
            storage_gb=20,
            engine_version="17",
            env_name="PG_URL",
        ),
        DataStoreParams(
            kind="redis", size="cache.t4g.micro", engine_version="7.1", env_name="REDIS_URL"
        ),
    ]
    for strategy in (Strategy.VM, Strategy.KUBERNETES, Strategy.SERVERLESS):
        plain = ctx(strategy, False)
        full = plain.__class__(
            **{
                **plain.__dict__,
                "spec": spec,
                "decision": plain.decision.model_copy(update={"data_stores": stores}),
            }
        )
        for label, c in (
            (f"{strategy.value}", plain),
            (f"{strategy.value} + config + 2 stores", full),
        ):
            times = []
            for _ in range(n):
                t = time.perf_counter()
                out = render(c, FULL_OBSERVED)
                times.append((time.perf_counter() - t) * 1000)
            print(
                f"render {label:34s} {len(out):3d} resources  "
                f"p50 {statistics.median(times):6.2f} ms  p99 {_pct(times, 0.99):6.2f} ms"
            )


def bench_launch(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, serving(handler_for(_world())) as server:
        script = Path(tmp) / "scia-launch"
        script.write_text(launcher_source())
        cfg = Path(tmp) / "launch.json"
        cfg.write_text(json.dumps(CONFIG))
        env = {
            "PATH": os.environ.get("PATH", ""),
            "SCIA_AWS_ENDPOINT": url_of(server) + "/",
            "SCIA_IMDS_ENDPOINT": url_of(server),
        }
        times = []
        for _ in range(n):
            t = time.perf_counter()
            subprocess.run(
                [sys.executable, "-I", str(script), str(cfg), "--", "true"],
                env=env, check=True, capture_output=True, timeout=120,
            )  # fmt: skip
            times.append((time.perf_counter() - t) * 1000)
        print(
            f"launcher, 4 sources via IMDSv2 credentials: p50 {statistics.median(times):.0f} ms"
            f"  max {max(times):.0f} ms (process start to the app's exec, loopback AWS)"
        )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--renders", type=int, default=2000)
    p.add_argument("--launches", type=int, default=20)
    a = p.parse_args()
    bench_render(a.renders)
    bench_launch(a.launches)


if __name__ == "__main__":
    main()
