"""Typed errors: what a caller did wrong (or may not do), as `errors { field message code }`."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from graphql import GraphQLError
from pydantic import ValidationError

from function.api.kube import KubeError

_MAX_MESSAGE = 500


@strawberry.enum(description="Why a request failed.")
class ErrorCode(Enum):
    INVALID = "INVALID"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    UNAVAILABLE = "UNAVAILABLE"
    FAILED = "FAILED"


@strawberry.type(
    description="One problem with a request; `field` is a dotted path such as "
    "spec.budget.maxMonthlyCost, or null when the whole request is refused."
)
class FieldError:
    field: str | None
    message: str
    code: ErrorCode


_CODES = {
    401: ErrorCode.UNAUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    409: ErrorCode.CONFLICT,
    422: ErrorCode.INVALID,
    400: ErrorCode.INVALID,
    0: ErrorCode.UNAVAILABLE,
    503: ErrorCode.UNAVAILABLE,
}


class ApiFailure(Exception):
    """Raised inside resolvers; mutations turn it into `errors`, queries into a GraphQL error."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors

    @classmethod
    def one(cls, code: ErrorCode, message: str, field: str | None = None) -> ApiFailure:
        return cls([FieldError(field=field, message=message[:_MAX_MESSAGE], code=code)])

    def graphql(self) -> GraphQLError:
        first = self.errors[0]
        return GraphQLError(
            str(self),
            extensions={
                "code": first.code.value,
                "errors": [
                    {"field": e.field, "message": e.message, "code": e.code.value}
                    for e in self.errors
                ],
            },
        )


def from_kube(e: KubeError) -> ApiFailure:
    code = _CODES.get(e.status, ErrorCode.FAILED)
    if e.status == 0:
        return ApiFailure.one(code, e.message)
    if e.causes and code is ErrorCode.INVALID:
        return ApiFailure(
            [
                FieldError(field=c.field, message=c.message[:_MAX_MESSAGE], code=code)
                for c in e.causes
            ]
        )
    return ApiFailure.one(code, e.message)


def from_validation(e: ValidationError, prefix: str) -> ApiFailure:
    """Every pydantic error, each with its dotted field path under `prefix`."""
    out = []
    for err in e.errors(include_url=False, include_input=False):
        parts = [str(p) for p in err.get("loc", ()) if not str(p).startswith("function-")]
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden":
            msg = "unknown field"
        elif err.get("type") == "missing":
            msg = "required"
        out.append(
            FieldError(
                field=".".join([prefix, *parts]), message=msg[:_MAX_MESSAGE], code=ErrorCode.INVALID
            )
        )
    return ApiFailure(out)


def as_json(errors: list[FieldError]) -> list[dict[str, Any]]:
    return [{"field": e.field, "message": e.message, "code": e.code.value} for e in errors]
