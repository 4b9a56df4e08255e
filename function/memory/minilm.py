"""all-MiniLM-L6-v2 on ONNX Runtime: the same weights and maths as sentence-transformers,
without torch (about 130 MiB of memory instead of about 700, and no 5 s import).

Why ONNX and lazy loading both: ONNX Runtime alone brings the replica's memory under
250 MiB and its vectors match sentence-transformers' (the export checks every text to
within 1e-5 cosine, and tests/memory/test_embed.py re-checks the installed model against
vectors sentence-transformers computed at export time); loading lazily in the worker
thread lets the server answer its readiness probe before the model is in memory.

The model is exported once, in a build step (`.ci/export-minilm.py`: `.ci/setup` puts it
in `${SCIA_CACHE}/models/`, the image in `/opt/scia/models/`), with a manifest of SHA-256
checksums that is verified when the model is opened. Nothing is downloaded at run time.

`MiniLMEmbedder` opens the model lazily, in its own worker thread: the server answers
at once, and the first embedding waits for the load (about 0.3 s) unless `prefetch()` has
already started it. Tokenisation is the model's own `tokenizer.json` through the
`tokenizers` library (truncated at 256 tokens like sentence-transformers, which also strips
each text first).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import hashlib
import json
import os
import shutil
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from function.memory.embed_cache import MINILM_DIMENSIONS, CachingEmbedder

MODEL_DIR_ENV = "SCIA_MINILM_DIR"
MANIFEST_FORMAT = 1


class ModelMissing(ImportError):
    """The exported model (or ONNX Runtime) is not installed here."""


def default_model_dir() -> Path:
    """`$SCIA_MINILM_DIR`, else `models/all-minilm-l6-v2-onnx` in `${SCIA_CACHE}`.

    `SCIA_CACHE` defaults to `~/.cache/function-scia`, where .ci/setup exports the model.
    """
    explicit = os.environ.get(MODEL_DIR_ENV)
    if explicit:
        return Path(explicit)
    cache = os.environ.get("SCIA_CACHE") or str(Path.home() / ".cache" / "function-scia")
    return Path(cache) / "models" / "all-minilm-l6-v2-onnx"


def read_manifest(directory: Path) -> dict[str, Any]:
    """The export's manifest; ModelMissing when there is no finished export in `directory`."""
    path = directory / "manifest.json"
    if not path.is_file():
        raise ModelMissing(
            f"no exported MiniLM model in {directory} (run .ci/setup, or set {MODEL_DIR_ENV})"
        )
    manifest: dict[str, Any] = json.loads(path.read_text())
    if manifest.get("format") != MANIFEST_FORMAT or manifest.get("dimensions") != 384:
        raise ValueError(f"{path} is not a format-{MANIFEST_FORMAT} 384-dimension MiniLM export")
    return manifest


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


WEIGHTS_FILE = "model.onnx.data"


def externalize_weights(directory: Path) -> bool:
    """Move the model's weights out of `model.onnx` into `model.onnx.data` beside it (a
    build step: .ci/setup and the image run it after the export). False when the export is
    already laid out so.

    Why: ONNX Runtime memory-maps weights kept in an external file, where it parses an
    embedded copy into memory and then copies it again into the session, so opening the
    model peaks ~65 MiB higher (bench/replica_bench.py). The graph and the weights are
    ONNX Runtime's own re-save with every optimisation off (the same graph, the same
    numbers); the vectors are checked against `reference.json` (cosine >= 1 - 1e-6). The
    new layout is made complete in a sibling folder (manifest with both files' SHA-256),
    then swapped in by renames, so a replica opening the model meanwhile sees one layout.
    """
    import onnxruntime as ort

    manifest = read_manifest(directory)
    if WEIGHTS_FILE in manifest["sha256"]:
        return False
    work = directory.with_name(directory.name + ".split")
    old = directory.with_name(directory.name + ".old")
    for leftover in (work, old):
        shutil.rmtree(leftover, ignore_errors=True)
    shutil.copytree(directory, work, ignore=shutil.ignore_patterns("model.onnx"))
    try:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        options.optimized_model_filepath = str(work / "model.onnx")
        options.add_session_config_entry(
            "session.optimized_model_external_initializers_file_name", WEIGHTS_FILE
        )
        options.add_session_config_entry(
            "session.optimized_model_external_initializers_min_size_in_bytes", "1024"
        )
        options.log_severity_level = 3
        ort.InferenceSession(str(directory / "model.onnx"), options, ["CPUExecutionProvider"])
        reference = json.loads((work / "reference.json").read_text())
        got = OnnxMiniLM.open(work, verify=False).encode(reference["texts"])
        for mine, want in zip(got, reference["vectors"], strict=True):
            cosine = sum(a * b for a, b in zip(mine, want, strict=True))
            if cosine < 1 - 1e-6:
                raise ValueError(f"the re-saved model differs from the reference ({cosine})")
        manifest["sha256"]["model.onnx"] = _sha256(work / "model.onnx")
        manifest["sha256"][WEIGHTS_FILE] = _sha256(work / WEIGHTS_FILE)
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        os.rename(directory, old)
        os.rename(work, directory)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return True


class OnnxMiniLM:
    """A loaded session and tokenizer; `encode` is blocking (call it off the event loop)."""

    def __init__(self, session: Any, tokenizer: Any, batch_size: int = 32) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self._batch_size = batch_size

    @classmethod
    def open(
        cls,
        directory: Path,
        *,
        verify: bool = True,
        threads: int = 1,
        batch_size: int = 32,
        lean: bool = True,
    ) -> OnnxMiniLM:
        """Load `directory` (model.onnx, tokenizer.json, manifest.json).

        With `verify`, each file's SHA-256 must match the manifest (ValueError otherwise).
        `lean` (the server's choice) keeps the resident size near the model's; `lean=False`
        (bulk embedding in bench/) turns ONNX Runtime's memory arena, memory patterns and
        weight pre-packing back on: ~1.4x the texts per CPU-second, the same vectors.
        ModelMissing when the export or onnxruntime/tokenizers are not installed.
        """
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as e:
            raise ModelMissing(f"ONNX Runtime or tokenizers is not installed ({e})") from e
        if verify:
            manifest = read_manifest(directory)
            for name, want in manifest["sha256"].items():
                got = _sha256(directory / name)
                if got != want:
                    raise ValueError(f"{directory / name} has SHA-256 {got}, manifest says {want}")
            max_length = int(manifest["max_seq_length"])
        else:
            max_length = 256
        tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=max_length)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 (a token, no secret)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        if lean:
            # These keep the resident size near the model's (bench/replica_bench.py: ~30 MiB
            # less than ONNX Runtime's defaults, at no measurable cost for one short text).
            options.enable_cpu_mem_arena = False
            options.enable_mem_pattern = False
            options.add_session_config_entry("session.disable_prepacking", "1")
        options.log_severity_level = 3
        session = ort.InferenceSession(
            str(directory / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        return cls(session, tokenizer, batch_size)

    def encode(self, texts: Sequence[str]) -> list[list[float]]:
        """One normalized 384-float vector per text, in order."""
        import numpy as np

        stripped = [t.strip() for t in texts]
        # Batches of texts of about the same length: a batch is padded to its longest text,
        # and padding is computed and then masked out (the vectors do not change).
        order = sorted(range(len(stripped)), key=lambda i: len(stripped[i]))
        out: list[list[float]] = [[] for _ in stripped]
        for start in range(0, len(order), self._batch_size):
            chosen = order[start : start + self._batch_size]
            encodings = self._tokenizer.encode_batch([stripped[i] for i in chosen])
            feeds = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            [vectors] = self._session.run(["sentence_embedding"], feeds)
            for i, row in zip(chosen, vectors.tolist(), strict=True):
                out[i] = [float(x) for x in row]
        return out


def _return_free_heap() -> None:
    """Give the heap that loading freed back to the system (glibc; ~8 MiB of RSS)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class MiniLMEmbedder(CachingEmbedder):
    """The deployment memory's embedder: OnnxMiniLM in one worker thread, loaded lazily."""

    def __init__(
        self,
        directory: Path | None = None,
        *,
        threads: int = 1,
        batch_size: int = 32,
        cache_size: int = 4096,
    ) -> None:
        super().__init__(cache_size)
        self.directory = directory or default_model_dir()
        read_manifest(self.directory)  # fail now, not at the first request, when it is absent
        self._threads = threads
        self._batch_size = batch_size
        self._model: OnnxMiniLM | None = None
        self._load_lock = threading.Lock()
        # One thread: encodes never compete for the cores, the loop never runs one.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="minilm-onnx")

    @property
    def dimensions(self) -> int:
        return MINILM_DIMENSIONS

    def _loaded(self) -> OnnxMiniLM:
        with self._load_lock:
            if self._model is None:
                self._model = OnnxMiniLM.open(
                    self.directory, threads=self._threads, batch_size=self._batch_size
                )
                _return_free_heap()
            return self._model

    @classmethod
    def load(
        cls, model_path: Path | None = None, *, batch_size: int = 32, cache_size: int = 4096
    ) -> MiniLMEmbedder:
        """The embedder with its model opened now (blocking; for tools and tests)."""
        embedder = cls(model_path, batch_size=batch_size, cache_size=cache_size)
        embedder.prefetch().result()
        return embedder

    @classmethod
    async def aload(cls, model_path: Path | None = None, **kwargs: int) -> MiniLMEmbedder:
        return await asyncio.to_thread(cls.load, model_path, **kwargs)

    def prefetch(self) -> Future[OnnxMiniLM]:
        """Start loading the model in the worker thread now (returns at once)."""
        return self._executor.submit(self._loaded)

    def encode_blocking(self, texts: list[str]) -> list[list[float]]:
        return self._loaded().encode(texts)

    async def _compute(self, texts: list[str]) -> list[list[float]]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.encode_blocking, texts)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
