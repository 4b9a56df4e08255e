"""Benchmark of the deployment memory on the embedded PostgreSQL + pgvector.

Measures: embedding latency (one text, a batch of 32), process memory with the
model loaded, record() throughput (real embedding + upsert), bulk load rate,
and filtered retrieval p50/p99 with recall@5 against exact search at 10k and
100k rows, for the HNSW index (the schema's choice) and, with --ivfflat, for
IVFFlat.

Rows are composed, not all embedded: `--distinct` varied deployment texts (see
memory_corpus.py) are embedded for real with MiniLM, and each row takes one of
those vectors plus small Gaussian noise (sigma `--noise` per dimension),
re-normalized; 100k real embeddings would take ~20 min on 2 cores. Queries are
other, undecided deployment texts (no strategy, reason or sizes), embedded for
real. Filters: tenant (own + shared), framework, outcome=success, feedback>=0,
budget; rows get 20 tenants, 10% shared, 70% success.

Run: python bench/memory_bench.py [--rows 10000 100000] [--distinct 6000] [--ivfflat]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import psycopg
from pgvector.psycopg import register_vector
from psycopg import conninfo

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from memory_corpus import Deployment, deployments  # noqa: E402

from function.memory.embed import MiniLMEmbedder  # noqa: E402
from function.memory.embedded import start_embedded  # noqa: E402
from function.memory.models import DeploymentRecord, RetrievalQuery  # noqa: E402
from function.memory.retrieve import as_vector, candidate_sql  # noqa: E402
from function.memory.settings import MemorySettings  # noqa: E402
from function.memory.store import MemoryStore, run_migrations  # noqa: E402

TENANTS = [f"team-{i:02d}" for i in range(20)]


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


async def embed_all(embedder: MiniLMEmbedder, texts: list[str]) -> np.ndarray:
    vectors = []
    for start in range(0, len(texts), 256):
        vectors.extend(await embedder.embed(texts[start : start + 256]))
    return np.array(vectors, dtype=np.float32)


async def bench_embedding(embedder: MiniLMEmbedder, corpus: list[Deployment]) -> dict[str, Any]:
    singles, batches = [], []
    for i in range(30):
        text = corpus[i].text() + f"\nintent: single probe {i}"
        t = time.perf_counter()
        await embedder.embed([text])
        singles.append((time.perf_counter() - t) * 1000)
    for i in range(5):
        texts = [d.text() + f"\nbatch probe {i}" for d in corpus[i * 32 : (i + 1) * 32]]
        t = time.perf_counter()
        await embedder.embed(texts)
        batches.append((time.perf_counter() - t) * 1000)
    return {
        "one_text_ms_p50": round(statistics.median(singles), 2),
        "batch32_ms_p50": round(statistics.median(batches), 1),
        "batch_texts_per_s": round(32 / (statistics.median(batches) / 1000), 1),
    }


def compose_rows(base: np.ndarray, corpus: list[Deployment], n: int, noise: float, seed: int):
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    for i in range(n):
        j = i % len(base)
        v = base[j] + rng.normal(0, noise, base.shape[1]).astype(np.float32)
        v /= np.linalg.norm(v)
        d = corpus[j]
        yield (
            f"xr-{i}",
            1,
            f"app-{i}",
            pick.choice(TENANTS),
            d.framework,
            d.language,
            d.strategy,
            d.region,
            d.text()[:200],
            as_vector(v.tolist()),
            "success" if pick.random() < 0.7 else pick.choice(["failed", "degraded", "pending"]),
            round(pick.uniform(5, 400), 2),
            pick.choice([0, 0, 0, 1, -1]),
            "shared" if pick.random() < 0.1 else "private",
        )


def bulk_load(dsn: str, rows, index: str) -> dict[str, float]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        register_vector(conn)
        conn.execute("TRUNCATE deployment_embeddings")
        conn.execute("DROP INDEX IF EXISTS deployment_embeddings_embedding_hnsw")
        conn.execute("DROP INDEX IF EXISTS deployment_embeddings_embedding_ivf")
        t = time.perf_counter()
        count = 0
        with conn.cursor().copy(
            "COPY deployment_embeddings (xr_uid, revision, deployment_name, namespace, framework,"
            " language, strategy, region, content, embedding, outcome, monthly_cost,"
            " user_feedback, scope) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        load_s = time.perf_counter() - t
        conn.execute("SET maintenance_work_mem = '512MB'")
        t = time.perf_counter()
        if index == "hnsw":
            conn.execute(
                "CREATE INDEX deployment_embeddings_embedding_hnsw ON deployment_embeddings"
                " USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
            )
        else:
            lists = max(10, int(count**0.5))
            conn.execute(
                "CREATE INDEX deployment_embeddings_embedding_ivf ON deployment_embeddings"
                f" USING ivfflat (embedding vector_cosine_ops) WITH (lists = {lists})"
            )
        build_s = time.perf_counter() - t
        conn.execute("VACUUM ANALYZE deployment_embeddings")
    return {"copy_rows_per_s": round(count / load_s), "index_build_s": round(build_s, 1)}


def queries(seed: int, count: int) -> list[tuple[RetrievalQuery, Deployment]]:
    rng = random.Random(seed)
    out = []
    for d in deployments(count, seed):
        q = RetrievalQuery(
            namespace=rng.choice(TENANTS),
            framework=d.framework,
            language=d.language,
            dependencies=d.dependencies,
            region=d.region,
            prompt=d.prompt,
            max_monthly_cost=rng.choice([None, 100.0, 250.0]),
        )
        out.append((q, d))
    return out


def search(
    conn: psycopg.Connection[Any],
    q: RetrievalQuery,
    vec: str,
    settings: MemorySettings,
    exact: bool,
    index: str,
    knob: int,
) -> list[str]:
    with conn.transaction():
        if exact:
            conn.execute("SET LOCAL enable_indexscan = off")
            conn.execute("SET LOCAL enable_bitmapscan = off")
        elif index == "hnsw":
            conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(knob),))
            conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        else:
            conn.execute("SELECT set_config('ivfflat.probes', %s, true)", (str(knob),))
            conn.execute("SET LOCAL ivfflat.iterative_scan = relaxed_order")
        sql, params = candidate_sql(
            q, settings.model_copy(update={"candidate_k": 5}), failures=False
        )
        rows = conn.execute(sql, {**params, "vector": vec}).fetchall()
    return [r[0] for r in sorted(rows, key=lambda r: r[-1])]


async def bench_size(
    dsn: str,
    embedder: MiniLMEmbedder,
    base: np.ndarray,
    corpus: list[Deployment],
    n: int,
    noise: float,
    index: str,
    knobs: list[int],
    qs: list[tuple[RetrievalQuery, Deployment]],
    qvecs: np.ndarray,
) -> dict[str, Any]:
    out: dict[str, Any] = {"rows": n, "index": index}
    out.update(bulk_load(dsn, compose_rows(base, corpus, n, noise, seed=n), index))
    settings = MemorySettings(min_similarity=0.0)
    with psycopg.connect(dsn, autocommit=True) as conn:
        register_vector(conn)
        vecs = [as_vector(v.tolist()) for v in qvecs]
        truth = [
            search(conn, q, v, settings, True, index, 0) for (q, _), v in zip(qs, vecs, strict=True)
        ]
        out["matching_rows_avg"] = round(
            statistics.mean(
                conn.execute(
                    "SELECT count(*) FROM deployment_embeddings WHERE (namespace = %s OR scope ="
                    " 'shared') AND outcome = 'success' AND user_feedback >= 0 AND framework = %s",
                    (q.namespace, q.framework),
                ).fetchone()[0]
                for q, _ in qs[:50]
            )
        )
        for knob in knobs:
            lat, recalls = [], []
            for (q, _), v, want in zip(qs, vecs, truth, strict=True):
                t = time.perf_counter()
                got = search(conn, q, v, settings, False, index, knob)
                lat.append((time.perf_counter() - t) * 1000)
                if want:
                    recalls.append(len(set(got) & set(want)) / len(want))
            name = "ef_search" if index == "hnsw" else "probes"
            out[f"{name}={knob}"] = {
                "sql_p50_ms": round(pct(lat, 50), 2),
                "sql_p99_ms": round(pct(lat, 99), 2),
                "recall@5": round(statistics.mean(recalls), 3),
            }
    if index == "hnsw":
        memory = await MemoryStore.connect(dsn, MemorySettings(min_similarity=0.0), embedder)
        try:
            for q, _ in qs:  # warm the embedding cache: measure the database path
                await memory.retrieve(q)
            lat = []
            for q, _ in qs:
                t = time.perf_counter()
                await memory.retrieve(q)
                lat.append((time.perf_counter() - t) * 1000)
            out["store_retrieve"] = {
                "p50_ms": round(pct(lat, 50), 2),
                "p99_ms": round(pct(lat, 99), 2),
            }
        finally:
            await memory.close()
    return out


async def bench_record(
    dsn: str, embedder: MiniLMEmbedder, corpus: list[Deployment]
) -> dict[str, Any]:
    memory = await MemoryStore.connect(dsn, MemorySettings(), embedder)
    try:
        records = [
            DeploymentRecord(
                namespace="team-00",
                deployment_name=f"rec-{i}",
                xr_uid=f"rec-{i}",
                revision=1,
                framework=d.framework,
                language=d.language,
                dependencies=d.dependencies,
                strategy=d.strategy,
                reason=d.reason,
                region=d.region,
                sizes=d.sizes,
                prompt=d.prompt + f" #{i}",
                outcome="success",
                monthly_cost=10.0,
            )
            for i, d in enumerate(corpus[:300])
        ]
        t = time.perf_counter()
        for r in records:
            await memory.record(r)
        cold = len(records) / (time.perf_counter() - t)
        t = time.perf_counter()
        for r in records:  # same texts: embeddings from the LRU, upserts only
            await memory.record(r.model_copy(update={"outcome": "failed"}))
        warm = len(records) / (time.perf_counter() - t)
    finally:
        await memory.close()
    return {
        "record_per_s_with_embedding": round(cold, 1),
        "record_per_s_cached_embedding": round(warm, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--distinct", type=int, default=6000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--noise", type=float, default=0.01)
    parser.add_argument("--ivfflat", action="store_true")
    parser.add_argument("--shared-buffers", default="512MB", help="PostgreSQL shared_buffers")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "scia-bench")
    args = parser.parse_args()
    report: dict[str, Any] = {}
    rss0 = psutil.Process().memory_info().rss
    t = time.perf_counter()
    embedder = MiniLMEmbedder.load()
    report["model_load_s"] = round(time.perf_counter() - t, 2)
    report["rss_mb_model_loaded"] = round(psutil.Process().memory_info().rss / 2**20)
    report["rss_mb_before_model"] = round(rss0 / 2**20)
    corpus = deployments(args.distinct, seed=1)
    report["embedding"] = await bench_embedding(embedder, corpus)
    args.cache.mkdir(parents=True, exist_ok=True)
    cached = args.cache / f"base-{args.distinct}.npy"
    if cached.exists():
        base = np.load(cached)
    else:
        t = time.perf_counter()
        base = await embed_all(embedder, [d.text() for d in corpus])
        report["corpus_embed_s"] = round(time.perf_counter() - t, 1)
        np.save(cached, base)
    qs = queries(seed=7, count=args.queries)
    qvecs = await embed_all(embedder, [d.text(decided=False) for _, d in qs])
    pgroot = Path(tempfile.mkdtemp(prefix="scia-bench-pg-"))
    db = start_embedded(pgroot / "pgdata", shared_buffers=args.shared_buffers)
    report["shared_buffers"] = args.shared_buffers
    try:
        dsn = db.dsn
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute("CREATE DATABASE bench")
        dsn = conninfo.make_conninfo(dsn, dbname="bench")
        await run_migrations(dsn, MemorySettings())
        report["record"] = await bench_record(dsn, embedder, corpus)
        report["sizes"] = []
        for n in args.rows:
            result = await bench_size(
                dsn, embedder, base, corpus, n, args.noise, "hnsw", [40, 100, 200], qs, qvecs
            )
            print(json.dumps(result), flush=True)
            report["sizes"].append(result)
            if args.ivfflat:
                result = await bench_size(
                    dsn, embedder, base, corpus, n, args.noise, "ivfflat", [10, 20], qs, qvecs
                )
                print(json.dumps(result), flush=True)
                report["sizes"].append(result)
    finally:
        db.stop()
        shutil.rmtree(pgroot, ignore_errors=True)
    report["rss_mb_end"] = round(psutil.Process().memory_info().rss / 2**20)
    report["maxrss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    report["cpus"] = os.cpu_count()
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
