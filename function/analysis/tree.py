"""Source trees the detectors read: a local directory or the blobs of one git commit."""

from __future__ import annotations

import os
import posixpath
from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

SKIPPED_DIRS = frozenset(
    {
        ".git", "node_modules", "vendor", "__pycache__", ".venv", "venv", ".tox", "target",
        "bin", "obj", ".next", ".nuxt", ".gradle", ".idea", ".vscode", "coverage", ".cache",
        ".mypy_cache", ".pytest_cache", ".ruff_cache", "site-packages", "bower_components",
    }
)  # fmt: skip

MANIFEST_NAMES = frozenset(
    {
        "package.json", "requirements.txt", "pyproject.toml", "Pipfile", "setup.py", "setup.cfg",
        "go.mod", "pom.xml", "build.gradle", "build.gradle.kts", "settings.gradle",
        "settings.gradle.kts", "Gemfile", "composer.json", "Cargo.toml", "Procfile",
        "Dockerfile", "docker-compose.yml", "docker-compose.yaml", "compose.yaml", "compose.yml",
        ".python-version", "runtime.txt", ".nvmrc", ".node-version", ".ruby-version",
        "rust-toolchain", "rust-toolchain.toml", "global.json", "manage.py", "index.html",
        "nest-cli.json", "application.properties", "application.yml", "application.yaml",
        "launchSettings.json", "appsettings.json", ".env.example", ".env.sample", ".env",
        "database.yml", "puma.rb", "artisan", "schema.prisma", "app.json", "routes.rb",
        "pnpm-workspace.yaml", "lerna.json", "go.work", "angular.json",
    }
)  # fmt: skip
MANIFEST_PREFIXES = ("vite.config.", "next.config.", "Dockerfile.", "requirements")
MANIFEST_SUFFIXES = (".csproj", ".fsproj", ".sln", ".dockerfile")
SOURCE_SUFFIXES = frozenset(
    {".py", ".js", ".mjs", ".cjs", ".ts", ".mts", ".go", ".java", ".kt", ".rb", ".php", ".cs",
     ".rs", ".sh", ".jsx", ".tsx"}
)  # fmt: skip
CONFIG_SUFFIXES = frozenset({".yml", ".yaml", ".toml", ".properties", ".json", ".html", ".env"})


def is_skipped(path: str) -> bool:
    return any(part in SKIPPED_DIRS for part in PurePosixPath(path).parts[:-1])


def read_priority(path: str) -> int | None:
    """Which files the analysis reads, most useful first (None: never read)."""
    name = posixpath.basename(path)
    if is_skipped(path):
        return None
    if (
        name in MANIFEST_NAMES
        or name.startswith(MANIFEST_PREFIXES)
        or name.endswith(MANIFEST_SUFFIXES)
    ):
        return 0
    suffix = posixpath.splitext(name)[1]
    if suffix in SOURCE_SUFFIXES:
        return 1
    if suffix in CONFIG_SUFFIXES:
        return 2
    return None


def select_for_reading(
    sized: Iterable[tuple[str, int]], *, max_file_bytes: int, max_read_bytes: int
) -> list[str]:
    """Paths to read: useful ones first, shallow before deep, within the byte budgets."""
    ranked: list[tuple[int, int, str, int]] = []
    for path, size in sized:
        priority = read_priority(path)
        if priority is None or size > max_file_bytes:
            continue
        ranked.append((priority, path.count("/"), path, size))
    ranked.sort()
    chosen: list[str] = []
    budget = max_read_bytes
    for _, _, path, size in ranked:
        if size > budget:
            continue
        budget -= size
        chosen.append(path)
    return chosen


def decode(data: bytes) -> str | None:
    """Text of a file, or None when it looks binary."""
    if b"\x00" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


class SourceTree(ABC):
    """Regular files of a repository, by POSIX path relative to its root."""

    @property
    @abstractmethod
    def paths(self) -> list[str]:
        """Every regular file (sorted), read or not."""

    @abstractmethod
    def read(self, path: str) -> str | None:
        """The text of `path`, or None when absent, binary, too large or not read."""

    @property
    def read_bytes(self) -> int:
        return 0


class MemoryTree(SourceTree):
    """A tree whose interesting files were read up front (the git path)."""

    def __init__(self, paths: Iterable[str], contents: dict[str, str], read_bytes: int) -> None:
        self._paths = sorted(set(paths))
        self._contents = contents
        self._read_bytes = read_bytes

    @property
    def paths(self) -> list[str]:
        return self._paths

    def read(self, path: str) -> str | None:
        return self._contents.get(path)

    @property
    def read_bytes(self) -> int:
        return self._read_bytes


class DirectoryTree(SourceTree):
    """A local folder; symlinks that leave it are ignored, directory symlinks not followed."""

    def __init__(
        self, root: Path, *, max_files: int, max_file_bytes: int, max_read_bytes: int
    ) -> None:
        self._root = root.resolve()
        sized: list[tuple[str, int]] = []
        for current, dirs, files in os.walk(self._root, followlinks=False):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
            for name in files:
                full = Path(current, name)
                rel = full.relative_to(self._root).as_posix()
                real = full.resolve()
                if not real.is_relative_to(self._root) or not real.is_file():
                    continue
                sized.append((rel, real.stat().st_size))
                if len(sized) > max_files:
                    raise TreeTooLargeError(f"more than {max_files} files")
        self._paths = sorted(p for p, _ in sized)
        self._readable = set(
            select_for_reading(sized, max_file_bytes=max_file_bytes, max_read_bytes=max_read_bytes)
        )
        self._cache: dict[str, str | None] = {}
        self._read_bytes = 0

    @property
    def paths(self) -> list[str]:
        return self._paths

    def read(self, path: str) -> str | None:
        if path not in self._readable:
            return None
        if path not in self._cache:
            data = (self._root / path).resolve().read_bytes()
            self._read_bytes += len(data)
            self._cache[path] = decode(data)
        return self._cache[path]

    @property
    def read_bytes(self) -> int:
        return self._read_bytes


class TreeTooLargeError(Exception):
    """The tree is over a limit; the message says which."""
