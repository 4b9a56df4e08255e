"""Manifest parsing that never raises: a file that does not parse is ignored with a warning.

Repository files are untrusted. `json`, `tomllib` and PyYAML raise many kinds of errors on
bad input, including RecursionError on deep nesting (a package.json or pyproject.toml
nested 5,000 deep). Every parse goes through here: the result is the data, or None and a
warning on the tree ("ignored <file>: <why>"), never an exception. MemoryError is left to
the worker's memory limit.
"""

from __future__ import annotations

import json
import tomllib
from typing import Any

import yaml

from function.analysis.tree import SourceTree


def _why(error: BaseException) -> str:
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return f"not valid ({type(error).__name__})"


def load_json(tree: SourceTree, path: str, text: str | None) -> Any:
    """Parsed JSON, or None (and a warning) when absent or unparseable."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except MemoryError:
        raise
    except Exception as error:
        tree.warn(f"ignored {path}: {_why(error)}")
        return None


def load_json_object(tree: SourceTree, path: str, text: str | None) -> dict[str, Any]:
    """Like load_json, but only an object counts ({} otherwise)."""
    data = load_json(tree, path, text)
    if data is not None and not isinstance(data, dict):
        tree.warn(f"ignored {path}: not a JSON object")
        return {}
    return data or {}


def load_toml(tree: SourceTree, path: str, text: str | None) -> dict[str, Any]:
    """Parsed TOML, or {} (and a warning) when absent or unparseable."""
    if text is None:
        return {}
    try:
        return tomllib.loads(text)
    except MemoryError:
        raise
    except Exception as error:
        tree.warn(f"ignored {path}: {_why(error)}")
        return {}


def load_yaml_documents(tree: SourceTree, path: str, text: str | None) -> list[Any]:
    """The documents of a YAML file, or [] (and a warning) when absent or unparseable."""
    if text is None:
        return []
    try:
        return list(yaml.safe_load_all(text))
    except MemoryError:
        raise
    except Exception as error:
        tree.warn(f"ignored {path}: {_why(error)}")
        return []


def load_yaml_object(tree: SourceTree, path: str, text: str | None) -> dict[str, Any]:
    """The first YAML document when it is a mapping, else {}."""
    docs = load_yaml_documents(tree, path, text)
    first = docs[0] if docs else None
    return first if isinstance(first, dict) else {}
