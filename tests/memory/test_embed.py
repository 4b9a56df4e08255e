"""The real MiniLM model (ONNX Runtime, the exported model .ci/setup installs), and the
Ollama embedder against a small HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from function.memory.embed import Embedder, MiniLMEmbedder, OllamaEmbedder
from function.memory.minilm import (
    WEIGHTS_FILE,
    ModelMissing,
    OnnxMiniLM,
    default_model_dir,
    externalize_weights,
)
from function.memory.text import deployment_text


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_minilm_gives_normalized_384_vectors_that_follow_meaning(
    embedder: MiniLMEmbedder,
) -> None:
    assert isinstance(embedder, Embedder)
    flask = deployment_text(framework="flask", language="python", dependencies=["flask"])
    fastapi = deployment_text(framework="fastapi", language="python", dependencies=["uvicorn"])
    spring = deployment_text(framework="spring-boot", language="java", dependencies=["jpa"])
    vectors = await embedder.embed([flask, fastapi, spring, flask])
    assert [len(v) for v in vectors] == [384] * 4
    for vector in vectors:
        assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, abs_tol=1e-4)
    assert vectors[0] == vectors[3]
    assert _cosine(vectors[0], vectors[1]) > _cosine(vectors[0], vectors[2])


async def test_minilm_batches_agree_with_single_texts_and_the_cache_serves_repeats(
    embedder: MiniLMEmbedder,
) -> None:
    texts = [f"framework: express\nintent: shop number {i}" for i in range(40)]
    batch = await embedder.embed(texts)
    one = await embedder.embed([texts[7]])
    assert math.isclose(_cosine(batch[7], one[0]), 1.0, abs_tol=1e-5)
    cached = embedder.cached
    again = await embedder.embed(texts[:10])
    assert again == batch[:10]
    assert embedder.cached == cached


async def test_minilm_runs_off_the_event_loop(embedder: MiniLMEmbedder) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await embedder.embed([f"intent: unique text {i} for the loop test" for i in range(64)])
    task.cancel()
    assert ticks > 1


async def test_minilm_matches_sentence_transformers_within_1e4_cosine(
    embedder: MiniLMEmbedder,
) -> None:
    """Vectors sentence-transformers (torch) computed at export time, on varied texts
    (empty, truncated past 256 tokens, non-Latin); the installed model must agree."""
    reference = json.loads((embedder.directory / "reference.json").read_text())
    got = await embedder.embed(reference["texts"])
    assert len(got) == len(reference["vectors"]) >= 8
    for ours, theirs in zip(got, reference["vectors"], strict=True):
        assert _cosine(ours, theirs) >= 1 - 1e-4


def test_a_tampered_model_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(default_model_dir(), copy)
    with (copy / "tokenizer.json").open("a") as f:
        f.write(" ")
    with pytest.raises(ValueError, match="SHA-256"):
        OnnxMiniLM.open(copy)


def test_weights_moved_beside_the_graph_give_the_same_vectors(tmp_path: Path) -> None:
    """The build step that puts the weights in model.onnx.data (memory-mapped by ONNX
    Runtime): the vectors are the reference's, the manifest covers both files (a tampered
    weights file is refused), and a second run changes nothing."""
    copy = tmp_path / "model"
    shutil.copytree(default_model_dir(), copy)
    (copy / WEIGHTS_FILE).unlink(missing_ok=True)
    manifest = json.loads((copy / "manifest.json").read_text())
    if WEIGHTS_FILE in manifest["sha256"]:  # this machine's export is laid out so already
        pytest.skip("the installed export already keeps its weights in model.onnx.data")
    assert externalize_weights(copy)
    assert not externalize_weights(copy)
    assert (copy / "model.onnx").stat().st_size < 1_000_000 < (copy / WEIGHTS_FILE).stat().st_size
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no work folders left
    reference = json.loads((copy / "reference.json").read_text())
    got = OnnxMiniLM.open(copy).encode(reference["texts"])
    for ours, theirs in zip(got, reference["vectors"], strict=True):
        assert sum(a * b for a, b in zip(ours, theirs, strict=True)) >= 1 - 1e-6
    with (copy / WEIGHTS_FILE).open("r+b") as f:
        f.seek(4096)
        f.write(b"\x00\x01\x02\x03")
    with pytest.raises(ValueError, match="SHA-256"):
        OnnxMiniLM.open(copy)


def test_the_bulk_session_and_length_batches_give_the_reference_vectors_in_order() -> None:
    """bench/memory_scale.py embeds with `lean=False` and small batches sorted by length:
    each text keeps its own vector (the export's reference, cosine >= 1 - 1e-6), whatever
    the order and lengths of the texts around it."""
    directory = default_model_dir()
    reference = json.loads((directory / "reference.json").read_text())
    texts = list(reference["texts"])
    # Mixed lengths, shortest not first, and a batch size that splits them unevenly.
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    for lean in (True, False):
        got = OnnxMiniLM.open(directory, batch_size=3, lean=lean).encode([texts[i] for i in order])
        for at, i in enumerate(order):
            assert _cosine(got[at], reference["vectors"][i]) >= 1 - 1e-6


def test_a_missing_model_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match=str(tmp_path)):
        MiniLMEmbedder(tmp_path)


async def test_minilm_opens_lazily_and_never_imports_torch() -> None:
    fresh = MiniLMEmbedder()  # reads the manifest only
    assert fresh._model is None
    try:
        [vector] = await fresh.embed(["opened on first use, in the worker thread"])
        assert len(vector) == 384 and fresh._model is not None
    finally:
        fresh.close()
    assert "torch" not in sys.modules and "sentence_transformers" not in sys.modules


class _FakeOllama(BaseHTTPRequestHandler):
    """Answers POST /api/embed like Ollama, with vectors derived from the texts."""

    dims = 384
    requests: list[dict[str, object]] = []  # noqa: RUF012

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, **body})
        if self.path != "/api/embed":
            self.send_response(404)
            self.end_headers()
            return
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        vectors = [[float(len(t) + i) for i in range(self.dims)] for t in inputs]
        payload = json.dumps({"model": body["model"], "embeddings": vectors}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def fake_ollama() -> Iterator[str]:
    _FakeOllama.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeOllama)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_ollama_embedder_calls_api_embed_in_batches(fake_ollama: str) -> None:
    embedder = OllamaEmbedder(fake_ollama, model="all-minilm", batch_size=2, timeout_seconds=5)
    vectors = await embedder.embed(["a", "bb", "ccc", "a"])
    assert [r["path"] for r in _FakeOllama.requests] == ["/api/embed", "/api/embed"]
    assert [r["input"] for r in _FakeOllama.requests] == [["a", "bb"], ["ccc"]]
    assert _FakeOllama.requests[0]["model"] == "all-minilm"
    assert len(vectors) == 4
    assert vectors[0] == vectors[3]
    assert math.isclose(math.sqrt(sum(x * x for x in vectors[1])), 1.0, abs_tol=1e-9)
    await embedder.embed(["bb"])
    assert len(_FakeOllama.requests) == 2


async def test_ollama_embedder_rejects_wrong_dimensions(fake_ollama: str) -> None:
    embedder = OllamaEmbedder(fake_ollama, dimensions=768, timeout_seconds=5)
    with pytest.raises(ValueError, match="384 dimensions"):
        await embedder.embed(["x"])
