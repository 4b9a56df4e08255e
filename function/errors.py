"""Errors the pipeline turns into results that name the field and the reason."""

from __future__ import annotations

from pydantic import ValidationError

_MAX_REASON = 300


class InputError(Exception):
    """A field of the XR or of the function input is wrong. Becomes a fatal result."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason[:_MAX_REASON]
        super().__init__(f"{field}: {self.reason}")


def describe_validation_error(e: ValidationError, prefix: str) -> tuple[str, str]:
    """The first error of a pydantic ValidationError as (dotted field path, reason)."""
    err = e.errors(include_url=False, include_input=False)[0]
    parts = [str(p) for p in err.get("loc", ())]
    field = ".".join([prefix, *parts]) if parts else prefix
    msg = str(err.get("msg", "invalid value"))
    msg = msg.removeprefix("Value error, ")
    if err.get("type") == "extra_forbidden":
        msg = "unknown field"
    elif err.get("type") == "missing":
        msg = "required field is missing"
    more = len(e.errors()) - 1
    if more > 0:
        msg += f" (and {more} more error{'s' if more > 1 else ''})"
    return field, msg
