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

    # Bulk embedding: ONNX Runtime's arena and pre-packing on, batches of 16 texts of about
    # the same length (~1.4x the server's lean session per CPU-second, the same vectors).
    return OnnxMiniLM.open(default_model_dir(), threads=1, batch_size=16, lean=False)


def cmd_rate(_: argparse.Namespace) -> int:
    model = open_model()
    texts = [r["text"] for r in rows_of_chunk(999_999)[:512]]
    model.encode(texts[:32])
    t = time.perf_counter()
    model.encode(texts)
    rate = len(texts) / (time.perf_counter() - t)
    print(
        f"MiniLM (ONNX Runtime, 1 thread, bulk session): {rate:.1f} texts/s;"
        f" 1M texts would take {1e6 / rate / 3600:.1f} h"
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


def load_rows(cache: Path, chunks: int) -> tuple[list[dict[str, Any]], np.ndarray]:
    rows: list[dict[str, Any]] = []
    vectors = []
    for k in range(chunks):
        meta, vec = chunk_paths(cache, k)
        rows.extend(json.loads(meta.read_text()))
        vectors.append(np.load(vec))
    return rows, np.concatenate(vectors)


def copy_rows(dsn: str, rows: list[dict[str, Any]], vectors: np.ndarray) -> float:
    import psycopg
    from pgvector.psycopg import register_vector

    with psycopg.connect(dsn, autocommit=True) as conn:
        register_vector(conn)
        conn.execute("TRUNCATE deployment_embeddings")
        t = time.perf_counter()
        with conn.cursor().copy(
            "COPY deployment_embeddings (xr_uid, revision, deployment_name, namespace, framework,"
            " language, strategy, region, content, embedding, outcome, monthly_cost,"
            " user_feedback, scope) FROM STDIN"
        ) as copy:
            for r, v in zip(rows, vectors, strict=True):
                copy.write_row(
                    (
                        f"xr-{r['n']}", 1, f"app-{r['n']}", r["tenant"], r["framework"],
                        r["language"], r["strategy"], r["region"], r["text"], v, r["outcome"],
                        r["cost"], r["feedback"], r["scope"],
                    )
                )  # fmt: skip
        took = time.perf_counter() - t
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("VACUUM ANALYZE deployment_embeddings")
    return len(rows) / took


def query_set(count: int) -> list[tuple[Any, str]]:
    """Undecided deployments (no strategy, reason or sizes) of random tenants: the
    RetrievalQuery and its text, as the product builds them."""
    from function.memory.models import RetrievalQuery
    from function.memory.text import text_of

    out = []
    for r in rows_of_chunk(10_000_000)[:count]:  # a chunk no dataset reaches
        q = RetrievalQuery(
            namespace=r["tenant"],
            repository=r["repository"],
            framework=r["framework"],
            language=r["language"],
            dependencies=r["dependencies"],
            region=r["region"],
            prompt=r["prompt"],
        )
        out.append((q, text_of(q)))
    return out


def _search(conn: Any, q: Any, vec: Any, settings: Any, mode: str, ef: int) -> list[str]:
    """The product's candidate SQL (memory/retrieve.py) under one index choice."""
    from function.memory.retrieve import candidate_sql

    with conn.transaction():
        if mode == "scan":  # the truth: every filtered row, exact distances
            conn.execute("SET LOCAL enable_indexscan = off")
            conn.execute("SET LOCAL enable_bitmapscan = off")
            sql, params = candidate_sql(q, settings, failures=False)
        elif mode == "exact":  # b-tree filter, then exact distances (the product's first try)
            sql, params = candidate_sql(q, settings, failures=False, exact=True)
        else:  # HNSW with pgvector 0.8 iterative scans
            conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(ef),))
            conn.execute("SELECT set_config('hnsw.iterative_scan', %s, true)", (mode,))
            sql, params = candidate_sql(q, settings, failures=False)
        rows = conn.execute(sql, {**params, "vector": vec}).fetchall()
    return [r[0] for r in rows]


def cmd_run(args: argparse.Namespace) -> int:
    import asyncio
    import shutil
    import statistics
    import tempfile

    import psycopg
    from pgvector.psycopg import register_vector

    from function.memory.embedded import start_embedded
    from function.memory.settings import MemorySettings
    from function.memory.store import MemoryStore, run_migrations

    chunks = available(args.cache)
    if args.rows:
        chunks = min(chunks, (args.rows + CHUNK - 1) // CHUNK)
    if chunks == 0:
        raise SystemExit(f"no embedded rows under {args.cache}: run `embed` first")
    rows, vectors = load_rows(args.cache, chunks)
    n = len(rows)
    print(f"rows: {n:,} real MiniLM vectors of distinct texts ({chunks} chunks)", flush=True)
    model = open_model()
    qs = query_set(args.queries)
    qvecs = np.asarray(model.encode([t for _, t in qs]), dtype=np.float32)
    root = Path(tempfile.mkdtemp(prefix="scia-memory-scale-"))
    db = start_embedded(root / "pgdata")
    try:
        asyncio.run(run_migrations(db.dsn, MemorySettings()))
        rate = copy_rows(db.dsn, rows, vectors)
        settings = MemorySettings(min_similarity=0.0).model_copy(update={"candidate_k": 5})
        result: dict[str, Any] = {"rows": n, "copy_rows_per_s": round(rate)}
        with psycopg.connect(db.dsn, autocommit=True) as conn:
            register_vector(conn)
            t = time.perf_counter()
            conn.execute("SET maintenance_work_mem = '1GB'")
            conn.execute("REINDEX TABLE deployment_embeddings")
            result["reindex_s"] = round(time.perf_counter() - t, 1)
            matched = [
                conn.execute(
                    "SELECT count(*) FROM deployment_embeddings WHERE (namespace = %s OR scope ="
                    " 'shared') AND outcome = 'success' AND user_feedback >= 0 AND framework = %s",
                    (q.namespace, q.framework),
                ).fetchone()[0]
                for q, _ in qs[:50]
            ]
            result["filtered_rows_avg"] = round(statistics.mean(matched))
            truth = [
                _search(conn, q, v, settings, "scan", 0)
                for (q, _), v in zip(qs, qvecs, strict=True)
            ]
            modes = [("exact", 0)] + [
                (m, ef) for m in ("relaxed_order", "strict_order") for ef in (40, 100)
            ]
            for mode, ef in modes:
                lat, recalls = [], []
                for (q, _), v, want in zip(qs, qvecs, truth, strict=True):
                    t = time.perf_counter()
                    got = _search(conn, q, v, settings, mode, ef)
                    lat.append((time.perf_counter() - t) * 1000)
                    if want:
                        recalls.append(len(set(got) & set(want)) / len(want))
                name = mode if mode == "exact" else f"hnsw {mode} ef_search={ef}"
                result[name] = {
                    "p50_ms": round(float(np.percentile(lat, 50)), 2),
                    "p99_ms": round(float(np.percentile(lat, 99)), 2),
                    "recall@5": round(statistics.mean(recalls), 3),
                }
                print(name, result[name], flush=True)

        class Precomputed:
            """The query vectors computed above (the store's path without the model)."""

            dimensions = 384

            def __init__(self) -> None:
                self.by_text = {t: v.tolist() for (_, t), v in zip(qs, qvecs, strict=True)}

            async def embed(self, texts: list[str]) -> list[list[float]]:
                return [self.by_text[t] for t in texts]

        async def product() -> dict[str, float]:
            memory = await MemoryStore.connect(
                db.dsn, MemorySettings(min_similarity=0.0), Precomputed()
            )
            try:
                for q, _ in qs[:20]:
                    await memory.retrieve(q)
                lat = []
                for q, _ in qs:
                    t = time.perf_counter()
                    await memory.retrieve(q)
                    lat.append((time.perf_counter() - t) * 1000)
            finally:
                await memory.close()
            return {
                "p50_ms": round(float(np.percentile(lat, 50)), 2),
                "p99_ms": round(float(np.percentile(lat, 99)), 2),
            }

        result["MemoryStore.retrieve"] = asyncio.run(product())
        print("MemoryStore.retrieve", result["MemoryStore.retrieve"], flush=True)
    finally:
        db.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("embed")
    e.add_argument("--rows", type=int, default=1_000_000)
    e.add_argument("--cache", type=Path, default=default_cache())
    sub.add_parser("rate")
    r = sub.add_parser("run")
    r.add_argument("--rows", type=int, default=0, help="at most this many (0: all embedded)")
    r.add_argument("--queries", type=int, default=300)
    r.add_argument("--cache", type=Path, default=default_cache())
    r.add_argument("--json", type=Path)
    args = ap.parse_args()
    return {"embed": cmd_embed, "rate": cmd_rate, "run": cmd_run}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
