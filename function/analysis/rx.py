"""Linear-time regular expressions (RE2) for everything that reads repository content.

Python's `re` backtracks: a pattern such as `\\.listen\\(\\s*\\{[^}]*?port` over a 66 kB
attacker-shaped line takes seconds of CPU per pattern (quadratic). RE2 (PyPI `google-re2`)
matches in time linear in the text for every pattern, at the price of no backreferences
and no lookaround, which the detectors do not need.

The API is the subset of `re` the detectors use: `compile`, `search`, `match`,
`fullmatch`, `finditer`, `findall`, `escape`, with the flags `MULTILINE` and `IGNORECASE`.
A `Match` answers `group`, `groupdict`, `start`, `end` and `span` by group number or name.
Compiled patterns are cached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

import re2  # type: ignore[import-untyped]

MULTILINE = 1
IGNORECASE = 2
DOTALL = 4

__all__ = [
    "DOTALL",
    "IGNORECASE",
    "MULTILINE",
    "Match",
    "Pattern",
    "compile",
    "escape",
    "findall",
    "finditer",
    "fullmatch",
    "match",
    "search",
    "sub",
]


class Match:
    """One match; groups by number or name (an unmatched group is None, start -1)."""

    __slots__ = ("_index", "_match")

    def __init__(self, found: Any, index: dict[str, int]) -> None:
        self._match = found
        self._index = index

    def _number(self, group: int | str) -> int:
        return self._index[group] if isinstance(group, str) else group

    def group(self, group: int | str = 0) -> Any:
        return self._match.group(self._number(group))

    def __getitem__(self, group: int | str) -> Any:
        return self.group(group)

    def groups(self) -> tuple[Any, ...]:
        return tuple(self._match.groups())

    def groupdict(self) -> dict[str, Any]:
        return {name: self._match.group(number) for name, number in self._index.items()}

    def start(self, group: int | str = 0) -> int:
        return int(self._match.start(self._number(group)))

    def end(self, group: int | str = 0) -> int:
        return int(self._match.end(self._number(group)))

    def span(self, group: int | str = 0) -> tuple[int, int]:
        return self.start(group), self.end(group)


class Pattern:
    """A compiled RE2 pattern with a `re`-like interface."""

    __slots__ = ("_index", "_regexp", "pattern")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        inline = "".join(
            letter
            for flag, letter in ((MULTILINE, "m"), (IGNORECASE, "i"), (DOTALL, "s"))
            if flags & flag
        )
        self.pattern = pattern
        self._regexp = re2.compile(f"(?{inline}){pattern}" if inline else pattern)
        self._index: dict[str, int] = dict(self._regexp.groupindex)

    def _wrap(self, found: Any) -> Match | None:
        return None if found is None else Match(found, self._index)

    def search(self, text: str, pos: int = 0) -> Match | None:
        return self._wrap(self._regexp.search(text, pos))

    def match(self, text: str, pos: int = 0) -> Match | None:
        return self._wrap(self._regexp.match(text, pos))

    def fullmatch(self, text: str) -> Match | None:
        return self._wrap(self._regexp.fullmatch(text))

    def finditer(self, text: str) -> Iterator[Match]:
        for found in self._regexp.finditer(text):
            yield Match(found, self._index)

    def findall(self, text: str) -> list[Any]:
        return list(self._regexp.findall(text))

    def sub(self, replace: Callable[[Match], str] | str, text: str) -> str:
        if isinstance(replace, str):
            return str(self._regexp.sub(replace, text))
        out: list[str] = []
        last = 0
        for found in self.finditer(text):
            out.append(text[last : found.start()])
            out.append(replace(found))
            last = found.end()
        out.append(text[last:])
        return "".join(out)

    @property
    def groupindex(self) -> dict[str, int]:
        return dict(self._index)


@lru_cache(maxsize=1024)
def compile(pattern: str, flags: int = 0) -> Pattern:
    return Pattern(pattern, flags)


def search(pattern: str, text: str, flags: int = 0) -> Match | None:
    return compile(pattern, flags).search(text)


def match(pattern: str, text: str, flags: int = 0) -> Match | None:
    return compile(pattern, flags).match(text)


def fullmatch(pattern: str, text: str, flags: int = 0) -> Match | None:
    return compile(pattern, flags).fullmatch(text)


def finditer(pattern: str, text: str, flags: int = 0) -> Iterator[Match]:
    return compile(pattern, flags).finditer(text)


def findall(pattern: str, text: str, flags: int = 0) -> list[Any]:
    return compile(pattern, flags).findall(text)


def sub(pattern: str, replace: Callable[[Match], str] | str, text: str, flags: int = 0) -> str:
    return compile(pattern, flags).sub(replace, text)


def escape(text: str) -> str:
    return str(re2.escape(text))
