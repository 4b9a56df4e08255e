"""The shipped examples are what their generators write from today's code.

Most files under examples/ (XRs with their pinned decisions and status, and the composed
resources as the providers report them) are written by a generator from the real
Reconciler; the rest are kept by hand and their boot scripts rewritten by
tests/render/refresh_boot_scripts.py. When the code changes what it renders (the
launcher embedded in a boot script or an image build, a price, a composed resource),
an example left unwritten shows users, and every test reading it, what the function no
longer does. This test runs every generator in a copy of the working tree and compares
the copy's examples/ with the shipped one, file by file; only timestamps (decidedAt,
an event's time), which the Reconciler takes from the clock, are not compared.

On a failure, re-run the generators (the commands in `GENERATORS`, from the checkout
with PYTHONPATH=.) and commit what they write.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# What the generators import or read: the function, the examples, the test support and
# generator modules, the compositions, XRDs and package.
COPIED = ("function", "examples", "tests", "compositions", "xrds", "package", "pyproject.toml")
GENERATORS: tuple[tuple[str, ...], ...] = (
    ("-m", "examples.vm.generate"),
    ("-m", "examples.build.generate"),
    ("tests/kube/make_examples.py",),
    ("tests/kube/make_cloud_build_examples.py",),
    ("tests/config/make_datastore_examples.py",),
    ("tests/render/refresh_boot_scripts.py",),
)
# An RFC 3339 time in UTC as the Reconciler writes it (decidedAt, event timestamps).
TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z")
# Generous: each generator takes seconds alone, much longer on a loaded machine.
TIMEOUT_SECONDS = 1200


def _normalised(path: Path) -> str:
    return TIME.sub("<time>", path.read_text())


def _files(root: Path) -> dict[str, Path]:
    return {
        str(p.relative_to(root)): p
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("examples-fresh") / "repo"
    copy.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".ruff_cache")
    for name in COPIED:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, copy / name, ignore=ignore)
        else:
            shutil.copy2(src, copy / name)
    env = {**os.environ, "PYTHONPATH": str(copy)}
    for args in GENERATORS:
        done = subprocess.run(
            [sys.executable, *args],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
        assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stderr[-4000:]}"
    return copy / "examples"


def test_generators_write_no_new_file(regenerated: Path) -> None:
    added = sorted(set(_files(regenerated)) - set(_files(REPO / "examples")))
    assert not added, f"generators wrote files that are not shipped: {added}"


def test_every_example_is_what_its_generator_writes(regenerated: Path) -> None:
    shipped = _files(REPO / "examples")
    stale = [
        rel
        for rel, path in _files(regenerated).items()
        if rel in shipped and _normalised(path) != _normalised(shipped[rel])
    ]
    assert not stale, (
        f"{len(stale)} examples differ from what their generators write from this code "
        f"(re-run the generators in this module's GENERATORS and commit): {stale}"
    )
