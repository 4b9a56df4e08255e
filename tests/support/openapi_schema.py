"""Structural OpenAPI v3 validation of custom resources, the way the API server does it.

What is checked (Kubernetes structural-schema semantics):
- types: `object`, `array`, `string`, `boolean`, `integer` (a whole float such as
  `3.0` counts: protobuf Structs carry every number as a double), `number`;
  `x-kubernetes-int-or-string`; `nullable`; a `null` value in a non-nullable field
  is an error (the API server would silently prune it);
- unknown fields are errors, except under `x-kubernetes-preserve-unknown-fields: true`,
  in `additionalProperties` maps and inside `x-kubernetes-embedded-resource` metadata;
- `required`, `enum`, `minimum`/`maximum` (+ exclusive), `multipleOf`, `minLength`/
  `maxLength`, `pattern` (Python `re`; a pattern Python cannot compile is skipped),
  `minItems`/`maxItems`, `uniqueItems`, `minProperties`/`maxProperties`,
  `x-kubernetes-list-type: set|map` uniqueness, `format` for `date-time`, `date`,
  `byte`, `int32`, `int64`, `uuid`, `ipv4`, `ipv6`, `cidr`;
- `allOf`/`anyOf`/`oneOf`/`not` as value validations (they never declare fields);
- `x-kubernetes-validations` CEL rules, evaluated where declared once the node is
  structurally valid (transition rules reading `oldSelf` are skipped).

`apply_defaults` mirrors the API server's structural defaulting: a missing property
with a `default` gets a copy of it, then defaulting recurses into every value.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import ipaddress
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from tests.support import cel_rules

Schema = Mapping[str, Any]

_EMBEDDED_FIELDS = frozenset({"apiVersion", "kind", "metadata"})
_PATTERNS: dict[str, re.Pattern[str] | None] = {}


def _pattern(text: str) -> re.Pattern[str] | None:
    if text not in _PATTERNS:
        try:
            _PATTERNS[text] = re.compile(text)
        except re.error:
            _PATTERNS[text] = None
    return _PATTERNS[text]


def apply_defaults(value: Any, schema: Schema) -> Any:
    """Apply schema defaults in place (and return the value)."""
    if isinstance(value, dict):
        props: Mapping[str, Schema] = schema.get("properties") or {}
        for key, prop in props.items():
            if key not in value and "default" in prop:
                value[key] = copy.deepcopy(prop["default"])
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                apply_defaults(item, props[key])
            elif isinstance(extra, Mapping):
                apply_defaults(item, extra)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, Mapping):
            for item in value:
                apply_defaults(item, items)
    return value


def join_path(base: str, key: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", key):
        return f"{base}.{key}" if base else key
    return f"{base}[{key}]" if base else f"[{key}]"


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _brief(value: Any) -> str:
    try:
        text = json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_whole(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and value.is_integer()


def _type_ok(value: Any, kind: str) -> bool:
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return _is_whole(value)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True


def _format_error(value: Any, fmt: str) -> str | None:
    if isinstance(value, str):
        try:
            if fmt in ("date-time", "datetime"):
                dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            elif fmt == "date":
                dt.date.fromisoformat(value)
            elif fmt == "byte":
                base64.b64decode(value, validate=True)
            elif fmt == "uuid":
                uuid.UUID(value)
            elif fmt == "ipv4":
                ipaddress.IPv4Address(value)
            elif fmt == "ipv6":
                ipaddress.IPv6Address(value)
            elif fmt == "cidr":
                ipaddress.ip_network(value, strict=False)
            else:
                return None
        except (ValueError, binascii.Error):
            return f"invalid {fmt}: {_brief(value)}"
        return None
    if fmt in ("int32", "int64") and _is_whole(value):
        bits = 31 if fmt == "int32" else 63
        if not -(2**bits) <= int(value) < 2**bits:
            return f"out of {fmt} range: {value}"
    return None


class SchemaValidator:
    """Validate one value against one structural schema; errors are `path: message`."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{path or '<root>'}: {message}")

    def validate(self, value: Any, schema: Schema, path: str) -> None:
        """Check `value`; returns nothing, collects errors in `self.errors`."""
        if value is None:
            if not schema.get("nullable"):
                self.error(path, "null value (the API server would drop it); omit the field")
            return
        if schema.get("x-kubernetes-int-or-string"):
            if not (_is_whole(value) or isinstance(value, str)):
                self.error(path, f"must be an integer or a string, got {_type_name(value)}")
                return
        else:
            kind = schema.get("type")
            if isinstance(kind, str) and not _type_ok(value, kind):
                self.error(path, f"must be {kind}, got {_type_name(value)} {_brief(value)}")
                return
        before = len(self.errors)
        self._value_checks(value, schema, path)
        if isinstance(value, dict):
            self._object(value, schema, path)
        elif isinstance(value, list):
            self._array(value, schema, path)
        # Rules still run when a descendant is invalid (a missing required parameter
        # is worth reporting next to a typo), but then an evaluation error is
        # most likely a consequence of that descendant and is not reported.
        self._cel(value, schema, path, report_eval_errors=len(self.errors) == before)

    def _value_checks(self, value: Any, schema: Schema, path: str) -> None:
        enum = schema.get("enum")
        if enum is not None and value not in enum:
            self.error(path, f"unsupported value {_brief(value)}; allowed: {_brief(enum)}")
        if isinstance(value, int | float) and not isinstance(value, bool):
            self._number(value, schema, path)
        if isinstance(value, str):
            self._string(value, schema, path)
        fmt = schema.get("format")
        if isinstance(fmt, str):
            problem = _format_error(value, fmt)
            if problem:
                self.error(path, problem)
        for sub in schema.get("allOf") or []:
            self._nested(value, sub, path)
        any_of = schema.get("anyOf")
        if any_of and not any(self._passes(value, sub) for sub in any_of):
            self.error(path, f"must match at least one schema in anyOf, got {_brief(value)}")
        one_of = schema.get("oneOf")
        if one_of:
            matches = sum(1 for sub in one_of if self._passes(value, sub))
            if matches != 1:
                self.error(path, f"must match exactly one schema in oneOf (matched {matches})")
        not_schema = schema.get("not")
        if isinstance(not_schema, Mapping) and self._passes(value, not_schema):
            self.error(path, "must not match the schema in 'not'")

    def _number(self, value: float, schema: Schema, path: str) -> None:
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None:
            if schema.get("exclusiveMinimum") is True and value <= low:
                self.error(path, f"must be greater than {low}, got {value}")
            elif value < low:
                self.error(path, f"must be greater than or equal to {low}, got {value}")
        if high is not None:
            if schema.get("exclusiveMaximum") is True and value >= high:
                self.error(path, f"must be less than {high}, got {value}")
            elif value > high:
                self.error(path, f"must be less than or equal to {high}, got {value}")
        step = schema.get("multipleOf")
        if step and (value / step) != int(value / step):
            self.error(path, f"must be a multiple of {step}, got {value}")

    def _string(self, value: str, schema: Schema, path: str) -> None:
        if "minLength" in schema and len(value) < schema["minLength"]:
            self.error(path, f"length must be at least {schema['minLength']}, got {len(value)}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            self.error(path, f"length must be at most {schema['maxLength']}, got {len(value)}")
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            compiled = _pattern(pattern)
            if compiled is not None and not compiled.search(value):
                self.error(path, f"{_brief(value)} does not match pattern {pattern!r}")

    def _object(self, value: dict[str, Any], schema: Schema, path: str) -> None:
        props: Mapping[str, Schema] = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        embedded = bool(schema.get("x-kubernetes-embedded-resource"))
        for key in schema.get("required") or []:
            if key not in value:
                self.error(join_path(path, key), "required field is missing")
        n = len(value)
        if "minProperties" in schema and n < schema["minProperties"]:
            self.error(path, f"must have at least {schema['minProperties']} properties")
        if "maxProperties" in schema and n > schema["maxProperties"]:
            self.error(path, f"must have at most {schema['maxProperties']} properties")
        for key, item in value.items():
            sub_path = join_path(path, str(key))
            if not isinstance(key, str):
                self.error(sub_path, "object keys must be strings")
            elif key in props:
                self.validate(item, props[key], sub_path)
            elif isinstance(extra, Mapping):
                self.validate(item, extra, sub_path)
            elif (
                extra is True
                or preserve
                or (embedded and key in ("apiVersion", "kind", "metadata"))
            ):
                continue
            else:
                self.error(sub_path, "unknown field")

    def _array(self, value: list[Any], schema: Schema, path: str) -> None:
        if "minItems" in schema and len(value) < schema["minItems"]:
            self.error(path, f"must have at least {schema['minItems']} items, got {len(value)}")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            self.error(path, f"must have at most {schema['maxItems']} items, got {len(value)}")
        items = schema.get("items")
        if isinstance(items, Mapping):
            for index, item in enumerate(value):
                self.validate(item, items, f"{path}[{index}]")
        list_type = schema.get("x-kubernetes-list-type")
        if schema.get("uniqueItems") or list_type == "set":
            seen: set[str] = set()
            for index, item in enumerate(value):
                marker = json.dumps(item, sort_keys=True, default=str)
                if marker in seen:
                    self.error(f"{path}[{index}]", f"duplicate entry {_brief(item)}")
                seen.add(marker)
        if list_type == "map":
            keys = schema.get("x-kubernetes-list-map-keys") or []
            seen_keys: set[str] = set()
            for index, item in enumerate(value):
                if not isinstance(item, dict):
                    continue
                marker = json.dumps([item.get(k) for k in keys], default=str)
                if marker in seen_keys:
                    self.error(f"{path}[{index}]", f"duplicate entry for keys {keys}: {marker}")
                seen_keys.add(marker)

    def _passes(self, value: Any, schema: Schema) -> bool:
        probe = SchemaValidator()
        probe._nested(value, schema, "")
        return not probe.errors

    def _nested(self, value: Any, schema: Schema, path: str) -> None:
        """allOf/anyOf/oneOf/not members: value checks only, they never declare fields."""
        if value is None:
            return
        kind = schema.get("type")
        if isinstance(kind, str) and not _type_ok(value, kind):
            self.error(path, f"must be {kind}, got {_type_name(value)}")
            return
        self._value_checks(value, schema, path)
        if isinstance(value, dict):
            for key in schema.get("required") or []:
                if key not in value:
                    self.error(join_path(path, key), "required field is missing")
            for key, sub in (schema.get("properties") or {}).items():
                if key in value and value[key] is not None:
                    self._nested(value[key], sub, join_path(path, key))
        elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
            for index, item in enumerate(value):
                self._nested(item, schema["items"], f"{path}[{index}]")

    def _cel(self, value: Any, schema: Schema, path: str, *, report_eval_errors: bool) -> None:
        rules = schema.get("x-kubernetes-validations")
        if not rules:
            return
        cel_self = cel_rules.to_cel(value, schema)
        for rule in rules:
            expr = str(rule.get("rule", ""))
            if not expr or cel_rules.is_transition_rule(expr):
                continue
            where = path
            field_path = rule.get("fieldPath")
            if isinstance(field_path, str) and field_path:
                if field_path.startswith((".", "[")):
                    where = (path + field_path).lstrip(".")
                else:
                    where = join_path(path, field_path)
            try:
                outcome = cel_rules.check_rule(rule, cel_self)
            except cel_rules.CelRuleError as exc:
                if report_eval_errors:
                    self.error(where, f"cannot evaluate CEL rule {expr!r}: {exc}")
                continue
            if not outcome.passed:
                self.error(where, outcome.message)
