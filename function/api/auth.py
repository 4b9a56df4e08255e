"""Who is calling: the bearer token of an HTTP request or of a WebSocket's connection_init.

scia-api never acts with its own rights on a tenant's objects: the token is forwarded to
the API server. For what RBAC does not fence (the memory in PostgreSQL, the dry-run
estimate) it asks the API server first: TokenReview (who is this?) then
SubjectAccessReview (may they do `verb` on appdeployments in this namespace?).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from function.api.errors import ApiFailure, ErrorCode, from_kube
from function.api.kube import Identity, Kube, KubeError

_BEARER = re.compile(r"^\s*Bearer\s+(\S+)\s*$", re.I)
# An RFC 1123 label: what a namespace name can be (checked before it reaches a URL path).
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


def bearer(value: str | None) -> str | None:
    m = _BEARER.match(value or "")
    return m.group(1) if m else None


def token_of(context: dict[str, Any]) -> str:
    """The caller's token, or UNAUTHENTICATED."""
    token = None
    params = context.get("connection_params")
    if isinstance(params, dict):
        token = bearer(str(params.get("authorization") or params.get("Authorization") or ""))
    request = context.get("request")
    if token is None and request is not None:
        token = bearer(request.headers.get("authorization"))
    if not token:
        raise ApiFailure.one(
            ErrorCode.UNAUTHENTICATED,
            "no credentials: send 'Authorization: Bearer <Kubernetes token>'",
        )
    return token


def check_namespace(namespace: str) -> str:
    if not _NAMESPACE.match(namespace):
        raise ApiFailure.one(ErrorCode.INVALID, "not a namespace name", "namespace")
    return namespace


def check_name(name: str, field: str = "name") -> str:
    if not _NAME.match(name):
        raise ApiFailure.one(
            ErrorCode.INVALID,
            "must be lower-case letters, digits, '-' or '.', starting and ending with a letter "
            "or digit (at most 253)",
            field,
        )
    return name


@dataclass
class Authorizer:
    kube: Kube

    async def identity(self, token: str) -> Identity:
        try:
            who = await self.kube.review_token(token)
        except KubeError as e:
            raise from_kube(e) from None
        if who is None:
            raise ApiFailure.one(ErrorCode.UNAUTHENTICATED, "the token is not valid")
        return who

    async def require(self, token: str, verb: str, namespace: str) -> Identity:
        """TokenReview + SubjectAccessReview for `verb` appdeployments in `namespace`."""
        who = await self.identity(token)
        try:
            allowed, reason = await self.kube.may(who, verb, namespace)
        except KubeError as e:
            raise from_kube(e) from None
        if not allowed:
            raise ApiFailure.one(
                ErrorCode.FORBIDDEN,
                f'{who.username} may not {verb} appdeployments in namespace "{namespace}"'
                + (f" ({reason})" if reason else ""),
            )
        return who
