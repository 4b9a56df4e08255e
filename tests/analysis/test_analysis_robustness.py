"""Repository content is untrusted: odd encodings, manifests of the wrong shape or nested too
deeply, attacker-shaped lines. Each is read as text or ignored with a warning; none fails
the analysis."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from function.analysis.analyzer import analyze_path
from function.analysis.detect.base import line_of
from function.analysis.tree import decode

TEXT = "flask==3.0\r\nredis\r\n"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (codecs.BOM_UTF8 + TEXT.encode(), "utf-8 BOM"),
        (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16 LE BOM"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16 BE BOM"),
        (codecs.BOM_UTF32_LE + TEXT.encode("utf-32-le"), "utf-32 LE BOM"),
        (codecs.BOM_UTF32_BE + TEXT.encode("utf-32-be"), "utf-32 BE BOM"),
        (TEXT.encode("utf-16-le"), "utf-16 LE, no BOM"),
        (TEXT.replace("\r\n", "\r").encode(), "old Mac CR"),
    ],
)
def test_text_is_decoded_as_the_repository_stores_it(data: bytes, name: str) -> None:
    assert decode(data) == "flask==3.0\nredis\n", name


def test_binary_stays_binary() -> None:
    assert decode(b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x03\x00") is None


WRONG_SHAPES = {
    "package.json": '{"scripts": [1, 2], "dependencies": "express", "engines": 5,'
    ' "packageManager": 7, "main": ["x"], "prisma": "db", "workspaces": {"a": 1}}',
    "pyproject.toml": 'project = 3\n[tool]\npoetry = ["x"]\n',
    "Pipfile": "[packages]\n= broken\n",
    "requirements.txt": "-r requirements.txt\n-r ../../../etc/passwd\n",
    "Cargo.toml": "dependencies = 1\npackage = 'x'\n",
    "composer.json": '{"require": ["laravel/framework"]}',
    "deno.json": '{"tasks": ["start"], "imports": 3}',
    "docker-compose.yml": "services:\n  - web\n  - build: .\n",
    "Dockerfile": 'FROM\nEXPOSE abc\nCMD [[[[[[[[[["x"]]]]]]]]]]\nENTRYPOINT ["\n',
    "go.mod": "module\n",
    "pom.xml": "<project><modules><module>../../x</module></modules>",
    "src/main/resources/application.yml": "server: [port\n",
    "Procfile": "web:\n",
    ".tool-versions": "python\n",
    "mise.toml": "[tools\n",
    "index.js": "app.listen(" * 1000,
}


def test_manifests_of_the_wrong_shape_are_ignored_not_fatal(tmp_path: Path) -> None:
    for rel, text in WRONG_SHAPES.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    profile = analyze_path(tmp_path)
    assert profile.url == str(tmp_path)
    assert "ignored src/main/resources/application.yml: not valid (ParserError)" in (
        profile.warnings
    ), profile.warnings


def test_deep_nesting_is_ignored_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "pyproject.toml").write_text("a = " + "[" * 50_000 + "]" * 50_000)
    (tmp_path / "docker-compose.yml").write_text("a: " + "[" * 50_000 + "]" * 50_000)
    (tmp_path / "server.js").write_text("require('http').createServer().listen(8123)\n")
    profile = analyze_path(tmp_path)
    assert "ignored package.json: nested too deeply" in profile.warnings
    assert "ignored pyproject.toml: nested too deeply" in profile.warnings
    assert any(w.startswith("ignored docker-compose.yml") for w in profile.warnings)
    assert profile.ports == [8123]


def test_line_numbers_come_from_one_index_per_text() -> None:
    text = "x.listen(3000)\n" * 200_000  # counting newlines per hit would be quadratic
    lines = [line_of(text, i * 15) for i in range(0, 200_000, 7)]
    assert lines[:3] == [1, 8, 15]
    assert line_of(text, len(text) - 1) == 200_000
