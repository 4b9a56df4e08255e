"""Evaluate Kubernetes `x-kubernetes-validations` CEL rules with cel-python (`celpy`).

Kubernetes binds `self` to the schema node that declares the rule and converts
the value by its schema: `type: integer` is a CEL int, `type: number` a double,
strings with `format: date-time`/`date` a timestamp and `format: duration` a
duration, objects maps, arrays lists. `celpy.json_to_cel` alone would turn a
whole number coming through a protobuf Struct (always a float) into a double and
a `number` field written as `3` into an int; the schema-aware conversion here
avoids both mismatches.

Compiled programs are cached per rule text. Transition rules (those that read
`oldSelf`) need a previous object and are skipped by the caller.

Kubernetes CEL libraries partly covered here as celpy functions: strings
(`lowerAscii`, `upperAscii`, `trim`, `replace`, `split`, `join`, `substring`,
`indexOf`, `lastIndexOf`, `charAt`) and lists (`isSorted`, `sum`, `min`, `max`).
A rule using anything else is reported as "cannot evaluate" rather than passed.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import celpy
from celpy import celtypes
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError

CelValue = Any  # celpy's value union is not exported as a usable type

_CEL_RESERVED = frozenset(
    {
        "true",
        "false",
        "null",
        "in",
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
        "void",
        "while",
    }
)
_IDENT = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def escape_property_name(name: str) -> str:
    """Escape a property name the way Kubernetes exposes it to CEL."""
    if name in _CEL_RESERVED:
        return f"__{name}__"
    escaped = (
        name.replace("__", "__underscores__")
        .replace(".", "__dot__")
        .replace("-", "__dash__")
        .replace("/", "__slash__")
    )
    return escaped if _IDENT.match(escaped) else name


def to_cel(value: object, schema: Mapping[str, Any]) -> CelValue:
    """Convert a decoded JSON value to celpy types, guided by its OpenAPI schema."""
    if value is None:
        return None
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    kind = schema.get("type")
    if isinstance(value, Mapping):
        props: Mapping[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        extra_schema: Mapping[str, Any] = extra if isinstance(extra, Mapping) else {}
        out: dict[CelValue, CelValue] = {}
        for key, item in value.items():
            if key in props:
                out[celtypes.StringType(escape_property_name(str(key)))] = to_cel(item, props[key])
            else:
                out[celtypes.StringType(str(key))] = to_cel(item, extra_schema)
        return celtypes.MapType(out)
    if isinstance(value, list):
        items = schema.get("items")
        item_schema: Mapping[str, Any] = items if isinstance(items, Mapping) else {}
        return celtypes.ListType([to_cel(item, item_schema) for item in value])
    if isinstance(value, int | float):
        if kind == "integer" or (kind != "number" and float(value).is_integer()):
            return celtypes.IntType(int(value))
        return celtypes.DoubleType(float(value))
    if isinstance(value, str):
        fmt = schema.get("format")
        try:
            if fmt in ("date-time", "datetime", "date"):
                text = value if fmt != "date" else value + "T00:00:00Z"
                return celtypes.TimestampType(text)
            if fmt == "duration":
                return celtypes.DurationType(value)
        except (ValueError, TypeError):
            return celtypes.StringType(value)
        return celtypes.StringType(value)
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _str(value: CelValue) -> str:
    return str(value)


def _lower_ascii(s: CelValue) -> CelValue:
    return celtypes.StringType("".join(c.lower() if c.isascii() else c for c in _str(s)))


def _upper_ascii(s: CelValue) -> CelValue:
    return celtypes.StringType("".join(c.upper() if c.isascii() else c for c in _str(s)))


def _trim(s: CelValue) -> CelValue:
    return celtypes.StringType(_str(s).strip())


def _replace(s: CelValue, old: CelValue, new: CelValue, n: CelValue = None) -> CelValue:
    count = -1 if n is None else int(n)
    return celtypes.StringType(_str(s).replace(_str(old), _str(new), count))


def _split(s: CelValue, sep: CelValue, n: CelValue = None) -> CelValue:
    parts = (
        _str(s).split(_str(sep))
        if n is None or int(n) < 0
        else _str(s).split(_str(sep), max(int(n) - 1, 0))
    )
    return celtypes.ListType([celtypes.StringType(p) for p in parts])


def _join(items: CelValue, sep: CelValue = None) -> CelValue:
    return celtypes.StringType(("" if sep is None else _str(sep)).join(_str(i) for i in items))


def _substring(s: CelValue, start: CelValue, end: CelValue = None) -> CelValue:
    text = _str(s)
    return celtypes.StringType(text[int(start) : len(text) if end is None else int(end)])


def _index_of(s: CelValue, sub: CelValue) -> CelValue:
    if isinstance(s, list):
        return celtypes.IntType(s.index(sub) if sub in s else -1)
    return celtypes.IntType(_str(s).find(_str(sub)))


def _last_index_of(s: CelValue, sub: CelValue) -> CelValue:
    if isinstance(s, list):
        return celtypes.IntType(len(s) - 1 - s[::-1].index(sub) if sub in s else -1)
    return celtypes.IntType(_str(s).rfind(_str(sub)))


def _char_at(s: CelValue, i: CelValue) -> CelValue:
    text = _str(s)
    return celtypes.StringType(text[int(i)] if int(i) < len(text) else "")


def _is_sorted(items: CelValue) -> CelValue:
    seq = list(items)
    return celtypes.BoolType(all(a <= b for a, b in itertools.pairwise(seq)))


def _sum(items: CelValue) -> CelValue:
    seq = list(items)
    return sum(seq[1:], seq[0]) if seq else celtypes.IntType(0)


def _min(items: CelValue) -> CelValue:
    return min(items)


def _max(items: CelValue) -> CelValue:
    return max(items)


K8S_FUNCTIONS: dict[str, Callable[..., CelValue]] = {
    "lowerAscii": _lower_ascii,
    "upperAscii": _upper_ascii,
    "trim": _trim,
    "replace": _replace,
    "split": _split,
    "join": _join,
    "substring": _substring,
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
    "charAt": _char_at,
    "isSorted": _is_sorted,
    "sum": _sum,
    "min": _min,
    "max": _max,
}


class CelRuleError(Exception):
    """A rule that cannot be compiled or evaluated (not a validation failure)."""


@dataclass(frozen=True)
class RuleOutcome:
    passed: bool
    message: str


_ENV = celpy.Environment()
_PROGRAMS: dict[str, celpy.Runner] = {}
_LOCK = threading.Lock()
_OLD_SELF = re.compile(r"\boldSelf\b")


def is_transition_rule(rule: str) -> bool:
    return bool(_OLD_SELF.search(rule))


def compile_rule(expr: str) -> celpy.Runner:
    with _LOCK:
        prog = _PROGRAMS.get(expr)
        if prog is None:
            try:
                ast = _ENV.compile(expr)
            except CELParseError as exc:
                raise CelRuleError(f"cannot compile CEL {expr!r}: {exc}") from exc
            prog = _ENV.program(ast, functions=K8S_FUNCTIONS)
            _PROGRAMS[expr] = prog
        return prog


def _short(exc: BaseException) -> str:
    text = str(exc.args[0]) if exc.args else str(exc)
    return text if len(text) <= 160 else text[:157] + "..."


def evaluate(expr: str, cel_self: CelValue) -> CelValue:
    """Evaluate `expr` with `self` bound; raise CelRuleError on evaluation errors."""
    prog = compile_rule(expr)
    try:
        result = prog.evaluate({"self": cel_self})
    except CELEvalError as exc:
        raise CelRuleError(_short(exc)) from exc
    except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError) as exc:
        raise CelRuleError(f"{type(exc).__name__}: {_short(exc)}") from exc
    if isinstance(result, CELEvalError):
        raise CelRuleError(_short(result))
    return result


def check_rule(rule: Mapping[str, Any], cel_self: CelValue) -> RuleOutcome:
    """Run one `x-kubernetes-validations` entry; the message explains a failure."""
    expr = str(rule["rule"])
    result = evaluate(expr, cel_self)
    if not isinstance(result, celtypes.BoolType | bool):
        raise CelRuleError(f"rule {expr!r} returned {type(result).__name__}, not bool")
    if bool(result):
        return RuleOutcome(True, "")
    message = rule.get("message")
    message_expr = rule.get("messageExpression")
    if message_expr:
        try:
            rendered = evaluate(str(message_expr), cel_self)
            if isinstance(rendered, celtypes.StringType | str) and str(rendered).strip():
                message = str(rendered)
        except CelRuleError:
            pass
    return RuleOutcome(False, str(message) if message else f"failed rule: {expr}")
