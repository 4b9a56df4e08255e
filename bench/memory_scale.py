"""Retrieval at scale: real MiniLM vectors of varied deployment texts, filtered by tenant
and framework, on the embedded PostgreSQL 18 + pgvector 0.8.

    python bench/memory_scale.py embed --rows 1000000 [--cache DIR]   # resumable
    python bench/memory_scale.py rate                                  # texts/s, then exit
    python bench/memory_scale.py run [--rows N] [--queries 300]        # load, index, measure

`embed` writes chunks of 2,048 rows (texts, metadata and their float32 MiniLM vectors,
computed by the product's ONNX model, memory/minilm.py) under the cache directory
(default ~/.cache/function-scia/bench/memory-scale, outside the repository, never in CI).
Chunk k is generated from seed k, so an interrupted run resumes where it stopped and the
dataset is the same on every machine. Every row's text is distinct: a repository name from
word lists, a framework and its dependencies, strategy, reason, region, sizes and the
team's intent (bench/memory_corpus.py), the same fields the product embeds.

`run` loads the first N embedded rows (all of them by default: it never pads with copies
or noise; the scale reported is the number of real vectors) into `deployment_embeddings`
through the product's migrations, then measures, for queries of other undecided
deployments (embedded for real), the product's own retrieval (`MemoryStore.retrieve`:
tenant own + shared, framework, outcome, feedback filters) p50/p99 and recall@5 against
an exact scan of the same filters, and the candidate SQL alone under each index choice:
HNSW with `hnsw.iterative_scan` strict/relaxed order, and the exact search over the
b-tree-filtered rows that the product uses below `exactSearchMaxRows`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from memory_corpus import (  # noqa: E402
    PURPOSES,
    REGIONS,
    SIZES,
    STACKS,
    STRATEGIES,
    TRAFFIC,
)

from function.memory.text import deployment_text  # noqa: E402

CHUNK = 2048
TENANTS = [f"team-{i:03d}" for i in range(100)]
WORDS_A = [
    "acme",
    "blue",
    "north",
    "rapid",
    "quiet",
    "bright",
    "solid",
    "open",
    "green",
    "silver",
    "swift",
    "urban",
    "prime",
    "tidy",
    "lunar",
    "coral",
    "amber",
    "polar",
    "civic",
    "metro",
]
WORDS_B = [
    "shop",
    "ledger",
    "relay",
    "portal",
    "tracker",
    "gateway",
    "hub",
    "board",
    "desk",
    "forge",
    "pulse",
    "vault",
    "atlas",
    "beacon",
    "harbor",
    "orbit",
    "canvas",
    "signal",
    "ranger",
    "nest",
]
OUTCOMES = ["success"] * 7 + ["failed", "degraded", "pending"]


def default_cache() -> Path:
    base = Path(os.environ.get("SCIA_CACHE", Path.home() / ".cache" / "function-scia"))
    return base / "bench" / "memory-scale"


def rows_of_chunk(k: int) -> list[dict[str, Any]]:
    """The CHUNK rows of chunk k (deterministic: seed k)."""
    rng = random.Random(1_000_003 * k + 17)
    out = []
    for i in range(CHUNK):
        n = k * CHUNK + i
        framework = rng.choice(sorted(STACKS))
        language, deps = STACKS[framework]
        strategy = rng.choice(sorted(STRATEGIES))
        org = f"{rng.choice(WORDS_A)}-{rng.choice(WORDS_B)}"
        repository = f"github.com/{org}/{rng.choice(WORDS_A)}-{rng.choice(WORDS_B)}-{n}"
        prompt = f"{rng.choice(PURPOSES)} for {rng.choice(TRAFFIC)}"
        if rng.random() < 0.5:
            prompt += f", budget about ${rng.randrange(20, 900, 10)} a month"
        fields = {
            "repository": repository,
            "framework": framework,
            "language": language,
            "dependencies": rng.sample(deps, k=rng.randint(2, len(deps))),
            "strategy": strategy,
            "reason": rng.choice(STRATEGIES[strategy]),
            "region": rng.choice(REGIONS),
            "sizes": rng.choice(SIZES[strategy]),
            "prompt": prompt,
        }
        out.append(
            {
                "n": n,
                "text": deployment_text(**fields),
                **{k2: fields[k2] for k2 in ("framework", "language", "strategy", "region")},
                "tenant": rng.choice(TENANTS),
                "scope": "shared" if rng.random() < 0.05 else "private",
                "outcome": rng.choice(OUTCOMES),
                "cost": round(rng.uniform(5, 400), 2),
                "feedback": rng.choice([0, 0, 0, 1, -1]),
                "repository": repository,
                "prompt": prompt,
                "dependencies": fields["dependencies"],
            }
        )
    return out


def chunk_paths(cache: Path, k: int) -> tuple[Path, Path]:
    return cache / f"rows-{k:05d}.json", cache / f"vec-{k:05d}.npy"


def open_model() -> Any:
    from function.memory.minilm import OnnxMiniLM, default_model_dir

    return OnnxMiniLM.open(default_model_dir(), threads=1, batch_size=32)


def cmd_rate(_: argparse.Namespace) -> int:
    model = open_model()
    texts = [r["text"] for r in rows_of_chunk(999_999)[:512]]
    model.encode(texts[:32])
    t = time.perf_counter()
    model.encode(texts)
    rate = len(texts) / (time.perf_counter() - t)
    print(
        f"MiniLM (ONNX Runtime, 1 thread): {rate:.1f} texts/s; 1M texts would take {1e6 / rate / 3600:.1f} h"
    )
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    cache: Path = args.cache
    cache.mkdir(parents=True, exist_ok=True)
    model = open_model()
    chunks = (args.rows + CHUNK - 1) // CHUNK
    started, done_rows = time.monotonic(), 0
    for k in range(chunks):
        meta, vec = chunk_paths(cache, k)
        if vec.exists():
            continue
        rows = rows_of_chunk(k)
        vectors = np.asarray(model.encode([r["text"] for r in rows]), dtype=np.float32)
        tmp = vec.with_suffix(".tmp.npy")
        np.save(tmp, vectors)
        meta.write_text(json.dumps(rows))
        tmp.rename(vec)  # the vectors file marks the chunk complete
        done_rows += len(rows)
        rate = done_rows / (time.monotonic() - started)
        print(f"chunk {k + 1}/{chunks}: {rate:.1f} texts/s", flush=True)
    return 0


def available(cache: Path) -> int:
    k = 0
    while chunk_paths(cache, k)[1].exists():
        k += 1
    return k


def main() -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("embed")
    e.add_argument("--rows", type=int, default=1_000_000)
    e.add_argument("--cache", type=Path, default=default_cache())
    sub.add_parser("rate")
    args = ap.parse_args()
    return {"embed": cmd_embed, "rate": cmd_rate}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
