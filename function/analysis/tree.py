"""Source trees the detectors read: a local directory or the blobs of one git commit."""

from __future__ import annotations

import codecs
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
        "pnpm-workspace.yaml", "lerna.json", "go.work", "angular.json", ".tool-versions",
        "mise.toml", ".mise.toml", "deno.json", "deno.jsonc", "Containerfile", "entrypoint.sh",
        "docker-entrypoint.sh", "ormconfig.json",
        ".sequelizerc", "fly.toml", "app.yaml", "render.yaml", "Procfile.web",
    }
)  # fmt: skip
MANIFEST_PREFIXES = (
    "vite.config.", "next.config.", "Dockerfile.", "requirements", "docker-compose.",
    "compose.", "drizzle.config.", "knexfile.", "ormconfig.", "nuxt.config.", "astro.config.",
    "svelte.config.",
)  # fmt: skip
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


_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same 2 bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _sniff_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM: ASCII text has a zero in every other byte."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def decode(data: bytes) -> str | None:
    """Text of a file as a repository stores it, or None when it looks binary.

    UTF-8 (with or without a BOM), UTF-16 and UTF-32 with a BOM, UTF-16 without one
    (ASCII content), and anything else as UTF-8 with replacement characters. The BOM is
    dropped and CRLF / CR line ends become LF, so detectors see one form of text.
    """
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    if encoding is not None:
        bom = next(bom for bom, name in _BOMS if name == encoding)
        text = data[len(bom) :].decode(encoding, errors="replace")
    elif (sniffed := _sniff_utf16(data)) is not None:
        text = data.decode(sniffed, errors="replace")
    elif b"\x00" in data[:8192]:
        return None
    else:
        text = data.decode("utf-8", errors="replace")
    if "\x00" in text[:8192]:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


class SourceTree(ABC):
    """Regular files of a repository, by POSIX path relative to its root."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        """Something was ignored (an unreadable manifest, ...): shown with the profile."""
        if message not in self.warnings and len(self.warnings) < 50:
            self.warnings.append(message)

    @property
    @abstractmethod
    def paths(self) -> list[str]:
        """Every regular file (sorted), read or not."""

    def has(self, path: str) -> bool:
        """Whether `path` is a regular file of the tree."""
        found = getattr(self, "_path_set", None)
        if found is None:
            found = set(self.paths)
            self._path_set: set[str] = found
        return path in found

    @abstractmethod
    def read(self, path: str) -> str | None:
        """The text of `path`, or None when absent, binary, too large or not read."""

    @property
    def read_bytes(self) -> int:
        return 0


class MemoryTree(SourceTree):
    """A tree whose interesting files were read up front (the git path): raw bytes, decoded
    on first read (in the analysis worker, not in the server)."""

    def __init__(self, paths: Iterable[str], contents: dict[str, bytes], read_bytes: int) -> None:
        super().__init__()
        self._paths = sorted(set(paths))
        self._raw = contents
        self._decoded: dict[str, str | None] = {}
        self._read_bytes = read_bytes

    @property
    def paths(self) -> list[str]:
        return self._paths

    def read(self, path: str) -> str | None:
        if path not in self._decoded:
            raw = self._raw.get(path)
            self._decoded[path] = None if raw is None else decode(raw)
        return self._decoded[path]

    @property
    def read_bytes(self) -> int:
        return self._read_bytes

    @property
    def raw(self) -> dict[str, bytes]:
        """The bytes read, by path (what a worker job carries)."""
        return self._raw


class DirectoryTree(SourceTree):
    """A local folder; symlinks that leave it are ignored, directory symlinks not followed."""

    def __init__(
        self, root: Path, *, max_files: int, max_file_bytes: int, max_read_bytes: int
    ) -> None:
        super().__init__()
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
