"""Errors the pipeline turns into results that name the field and the reason."""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

_MAX_REASON = 300
_MAX_FIELD = 200
_MAX_DEPTH = 64


class InputError(Exception):
    """A field of the XR or of the function input is wrong. Becomes a fatal result."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field[:_MAX_FIELD]
        self.reason = reason[:_MAX_REASON]
        super().__init__(f"{self.field}: {self.reason}")


def _not_finite(value: object) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "not a number (NaN)"
    return "must be a finite number, not infinity"


def field_path(prefix: str, parts: tuple[int | str, ...] | list[int | str]) -> str:
    """A dotted field path; list indexes as [n], keys that are not identifiers quoted."""
    out = prefix
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif p and all(c.isalnum() or c in "_-" for c in p):
            out += f".{p}" if out else p
        else:
            out += f"[{p[:60]!r}]"
    return out


def describe_validation_error(e: ValidationError, prefix: str) -> tuple[str, str]:
    """The first error of a pydantic ValidationError as (dotted field path, reason)."""
    err = e.errors(include_url=False)[0]
    parts = [p if isinstance(p, int) else str(p) for p in err.get("loc", ())]
    field = field_path(prefix, parts)
    msg = str(err.get("msg", "invalid value"))
    msg = msg.removeprefix("Value error, ")
    typ = err.get("type")
    value = err.get("input")
    if typ == "extra_forbidden":
        msg = "unknown field"
    elif typ == "missing":
        msg = "required field is missing"
    elif typ == "finite_number" or (isinstance(value, float) and not math.isfinite(value)):
        msg = _not_finite(value)
    more = len(e.errors()) - 1
    if more > 0:
        msg += f" (and {more} more error{'s' if more > 1 else ''})"
    return field, msg


def check_finite(value: Any, prefix: str) -> None:
    """Raise InputError naming the first NaN or infinite number in a JSON-like value.

    A protobuf Struct (the wire form of XRs and inputs) can carry NaN and infinity; JSON
    and Kubernetes cannot, and no field of ours means either. Nesting deeper than 64
    levels is refused too (no field of ours is that deep).
    """
    # Paths are kept as tuples of parts and written out only for the error (most values
    # are fine, and formatting every path cost more than the walk).
    stack: list[tuple[Any, tuple[int | str, ...]]] = [(value, ())]
    while stack:
        node, parts = stack.pop()
        if len(parts) > _MAX_DEPTH:
            raise InputError(field_path(prefix, parts), f"nested deeper than {_MAX_DEPTH} levels")
        if isinstance(node, float):
            if not math.isfinite(node):
                raise InputError(field_path(prefix, parts), _not_finite(node))
        elif isinstance(node, dict):
            stack.extend((v, (*parts, str(k))) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((v, (*parts, i)) for i, v in reversed(list(enumerate(node))))
