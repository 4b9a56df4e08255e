"""The GraphQL schema: queries, mutations and the deploymentUpdated subscription.

Every resolver takes the caller's token from the request (auth.py) and acts with it:
the API server's RBAC decides. Mutations answer `{ deployment, errors { field message
code } }`; queries raise a GraphQL error whose `extensions.code` is an ErrorCode.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.scalars import JSON
from strawberry.types import ExecutionContext, Info

from function.api.auth import Authorizer, check_name, check_namespace, token_of
from function.api.errors import ApiFailure, ErrorCode, FieldError, from_kube
from function.api.estimate import Estimator
from function.api.kube import Kube, KubeError
from function.api.memory import Memory
from function.api.spec import DeploymentSpecInput, spec_dict, tenant_spec, validate
from function.api.types import Caller, Deployment, Estimate, PastDeployment, deployment_of
from function.cli.claims import (
    FEEDBACK_ANNOTATION,
    FEEDBACK_COMMENT_ANNOTATION,
    FEEDBACK_VALUES,
    history_of,
)
from function.cli.kube import GROUP, KIND, VERSION
from function.memory.models import RetrievalQuery
from function.xr import REDECIDE_ANNOTATION

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_COMMENT = 1000
MAX_WATCH_RESTARTS = 10_000  # a subscription re-watches this often at most (each <= 5 min)


@dataclass
class Services:
    """What the resolvers use; one per process (app.py)."""

    kube: Kube
    estimator: Estimator
    memory: Memory | None
    spec_schema: dict[str, Any]

    @property
    def authorizer(self) -> Authorizer:
        return Authorizer(self.kube)


def _services(info: Info) -> Services:
    services = info.context["services"]
    assert isinstance(services, Services)
    return services


async def _query(call: Callable[[], Awaitable[T]]) -> T:
    """Run a query step; ApiFailure and KubeError become a GraphQL error with a code."""
    try:
        return await call()
    except ApiFailure as e:
        raise e.graphql() from None
    except KubeError as e:
        raise from_kube(e).graphql() from None


@strawberry.type
class DeploymentPayload:
    deployment: Deployment | None = None
    errors: list[FieldError] = strawberry.field(default_factory=list)


@strawberry.type
class DeletePayload:
    deleted: bool = False
    errors: list[FieldError] = strawberry.field(default_factory=list)


@strawberry.type
class EstimatePayload:
    estimate: Estimate | None = None
    errors: list[FieldError] = strawberry.field(default_factory=list)


async def _mutate(call: Callable[[], Awaitable[dict[str, Any]]]) -> DeploymentPayload:
    try:
        return DeploymentPayload(deployment=deployment_of(await call()))
    except ApiFailure as e:
        return DeploymentPayload(errors=e.errors)
    except KubeError as e:
        return DeploymentPayload(errors=from_kube(e).errors)


@strawberry.input
class DeploymentFilter:
    phase: str | None = None
    strategy: str | None = None
    name_contains: str | None = None


@strawberry.enum
class EventType(Enum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


@strawberry.type
class DeploymentEvent:
    type: EventType
    deployment: Deployment


def _matches(d: Deployment, f: DeploymentFilter | None) -> bool:
    if f is None:
        return True
    return (
        (f.phase is None or d.phase == f.phase)
        and (f.strategy is None or d.strategy == f.strategy)
        and (f.name_contains is None or f.name_contains in d.name)
    )


@strawberry.type
class Query:
    @strawberry.field(description="Who the API server says the caller is.")
    async def whoami(self, info: Info) -> Caller:
        async def run() -> Caller:
            who = await _services(info).authorizer.identity(token_of(info.context))
            return Caller(username=who.username, groups=list(who.groups))

        return await _query(run)

    @strawberry.field(description="One AppDeployment, or null when there is none.")
    async def deployment(self, info: Info, namespace: str, name: str) -> Deployment | None:
        async def run() -> Deployment | None:
            token = token_of(info.context)
            try:
                obj = await _services(info).kube.get(
                    token, check_namespace(namespace), check_name(name)
                )
            except KubeError as e:
                if e.status == 404:
                    return None
                raise
            return deployment_of(obj)

        return await _query(run)

    @strawberry.field(description="The AppDeployments of a namespace the caller may list.")
    async def deployments(
        self, info: Info, namespace: str, filter: DeploymentFilter | None = None
    ) -> list[Deployment]:
        async def run() -> list[Deployment]:
            got = await _services(info).kube.list(
                token_of(info.context), check_namespace(namespace)
            )
            items = [deployment_of(o) for o in got.get("items") or [] if isinstance(o, dict)]
            return sorted((d for d in items if _matches(d, filter)), key=lambda d: d.name)

        return await _query(run)

    @strawberry.field(
        description="Past deployments from the memory like the named deployment (or like "
        "`text`), from the caller's namespace and shared records only. The caller must be "
        "allowed to list appdeployments in the namespace."
    )
    async def similar_deployments(
        self,
        info: Info,
        namespace: str,
        name: str | None = None,
        text: str | None = None,
        limit: int = 5,
    ) -> list[PastDeployment]:
        async def run() -> list[PastDeployment]:
            s = _services(info)
            ns = check_namespace(namespace)
            token = token_of(info.context)
            await s.authorizer.require(token, "list", ns)
            if s.memory is None:
                raise ApiFailure.one(ErrorCode.UNAVAILABLE, "no memory database is configured")
            if not 1 <= limit <= 50:
                raise ApiFailure.one(ErrorCode.INVALID, "between 1 and 50", "limit")
            if (name is None) == (text is None):
                raise ApiFailure.one(ErrorCode.INVALID, "give name or text (one of them)", "name")
            if text is not None:
                return await s.memory.similar(ns, text=text[:4000], limit=limit)
            assert name is not None
            obj = await s.kube.get(token, ns, check_name(name))
            spec = obj.get("spec") or {}
            analysis = ((obj.get("status") or {}).get("decision") or {}).get("analysis") or {}
            query = RetrievalQuery(
                namespace=ns,
                framework=analysis.get("framework"),
                language=analysis.get("language"),
                region=spec.get("region"),
                prompt=spec.get("prompt") or None,
            )
            found = await s.memory.similar(ns, query=query, limit=limit + 1)
            own = str(obj.get("metadata", {}).get("name"))
            return [p for p in found if not (p.namespace == ns and p.deployment_name == own)][
                :limit
            ]

        return await _query(run)

    @strawberry.field(
        description="The knowledge base's decision and cost for a spec, without creating "
        "anything (the repository is analysed). Needs `create` on appdeployments in the "
        "namespace."
    )
    async def cost_estimate(
        self, info: Info, namespace: str, spec: DeploymentSpecInput
    ) -> EstimatePayload:
        try:
            s = _services(info)
            ns = check_namespace(namespace)
            await s.authorizer.require(token_of(info.context), "create", ns)
            return EstimatePayload(estimate=await s.estimator.estimate(validate(spec_dict(spec))))
        except ApiFailure as e:
            return EstimatePayload(errors=e.errors)

    @strawberry.field(
        description="The OpenAPI v3 schema of an AppDeployment's spec (from the XRD), for forms."
    )
    def spec_schema(self, info: Info) -> JSON:
        return JSON(_services(info).spec_schema)


async def _patch(info: Info, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
    return await _services(info).kube.merge_patch(
        token_of(info.context), check_namespace(namespace), check_name(name), patch
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create an AppDeployment in the namespace.")
    async def create_deployment(
        self, info: Info, namespace: str, name: str, spec: DeploymentSpecInput
    ) -> DeploymentPayload:
        async def run() -> dict[str, Any]:
            ns, n = check_namespace(namespace), check_name(name)
            body = spec_dict(spec)
            validate(body)
            obj = {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": KIND,
                "metadata": {"name": n, "namespace": ns},
                "spec": body,
            }
            return await _services(info).kube.create(token_of(info.context), ns, obj)

        return await _mutate(run)

    @strawberry.mutation(
        description="Change the spec: the fields given replace the current ones (the rest stay)."
    )
    async def update_deployment(
        self, info: Info, namespace: str, name: str, spec: DeploymentSpecInput
    ) -> DeploymentPayload:
        async def run() -> dict[str, Any]:
            token = token_of(info.context)
            ns, n = check_namespace(namespace), check_name(name)
            current = await _services(info).kube.get(token, ns, n)
            change = spec_dict(spec)
            validate(tenant_spec(current.get("spec") or {}) | change)
            return await _patch(info, ns, n, {"spec": change})

        return await _mutate(run)

    @strawberry.mutation(description="Delete the AppDeployment (its cloud resources go with it).")
    async def delete_deployment(self, info: Info, namespace: str, name: str) -> DeletePayload:
        try:
            await _services(info).kube.delete(
                token_of(info.context), check_namespace(namespace), check_name(name)
            )
        except ApiFailure as e:
            return DeletePayload(errors=e.errors)
        except KubeError as e:
            return DeletePayload(errors=from_kube(e).errors)
        return DeletePayload(deleted=True)

    @strawberry.mutation(
        description="Rate the current decision: value +1, -1 or 0 (withdraw), with an optional "
        "comment (<= 1000 characters). Sets the scia.io/feedback annotations, which the "
        "function stores with the decision in the memory."
    )
    async def provide_deployment_feedback(
        self, info: Info, namespace: str, name: str, value: str, comment: str | None = None
    ) -> DeploymentPayload:
        async def run() -> dict[str, Any]:
            vote = FEEDBACK_VALUES.get(value.strip().lower())
            if vote is None:
                raise ApiFailure.one(ErrorCode.INVALID, "give +1, -1 or 0", "value")
            if comment is not None and len(comment) > MAX_COMMENT:
                raise ApiFailure.one(
                    ErrorCode.INVALID, f"at most {MAX_COMMENT} characters", "comment"
                )
            annotations = {FEEDBACK_ANNOTATION: vote, FEEDBACK_COMMENT_ANNOTATION: comment or None}
            return await _patch(info, namespace, name, {"metadata": {"annotations": annotations}})

        return await _mutate(run)

    @strawberry.mutation(
        description="Re-pin the decision of an earlier revision from status.history "
        "(spec.rollbackToRevision); revision null clears it."
    )
    async def rollback_deployment(
        self, info: Info, namespace: str, name: str, revision: int | None
    ) -> DeploymentPayload:
        async def run() -> dict[str, Any]:
            if revision is None:
                return await _patch(info, namespace, name, {"spec": {"rollbackToRevision": None}})
            if revision < 1:
                raise ApiFailure.one(ErrorCode.INVALID, "must be at least 1", "revision")
            token = token_of(info.context)
            current = await _services(info).kube.get(
                token, check_namespace(namespace), check_name(name)
            )
            kept = history_of(current)
            revisions = [h.get("revision") for h in kept["history"]]
            if revision not in revisions:
                raise ApiFailure.one(
                    ErrorCode.INVALID,
                    f"revision {revision} is not in the history (kept: "
                    f"{', '.join(str(r) for r in revisions) or 'none'})",
                    "revision",
                )
            if kept["current"] == revision:
                raise ApiFailure.one(
                    ErrorCode.INVALID, f"revision {revision} is already pinned", "revision"
                )
            return await _patch(info, namespace, name, {"spec": {"rollbackToRevision": revision}})

        return await _mutate(run)

    @strawberry.mutation(
        description="Decide again (a new scia.io/redecide token); the function analyses and "
        "decides on its next reconcile."
    )
    async def redecide_deployment(self, info: Info, namespace: str, name: str) -> DeploymentPayload:
        token = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        return await _mutate(
            lambda: _patch(
                info, namespace, name, {"metadata": {"annotations": {REDECIDE_ANNOTATION: token}}}
            )
        )


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The namespace's AppDeployments (or one, by name): first each as it is "
        "(ADDED), then every change, from a Kubernetes watch made with the caller's token."
    )
    async def deployment_updated(
        self, info: Info, namespace: str, name: str | None = None
    ) -> AsyncGenerator[DeploymentEvent, None]:
        kube = _services(info).kube
        try:
            token = token_of(info.context)
            ns = check_namespace(namespace)
            if name is not None:
                check_name(name)
            listed = await kube.list(token, ns)
        except ApiFailure as e:
            raise e.graphql() from None
        except KubeError as e:
            raise from_kube(e).graphql() from None
        version = str(listed.get("metadata", {}).get("resourceVersion"))
        for obj in listed.get("items") or []:  # the current state first, then the changes
            if name is None or obj.get("metadata", {}).get("name") == name:
                yield DeploymentEvent(type=EventType.ADDED, deployment=deployment_of(obj))
        for _ in range(MAX_WATCH_RESTARTS):
            try:
                async for kind, obj in kube.watch(token, ns, name, version):
                    meta = obj.get("metadata") or {}
                    version = str(meta.get("resourceVersion") or version)
                    if kind in EventType.__members__:
                        yield DeploymentEvent(type=EventType[kind], deployment=deployment_of(obj))
            except KubeError as e:
                if e.status == 410:  # too old: list again, say how things are, go on from now
                    got = await kube.list(token, ns)
                    version = str(got.get("metadata", {}).get("resourceVersion"))
                    for obj in got.get("items") or []:
                        if name is None or obj.get("metadata", {}).get("name") == name:
                            yield DeploymentEvent(
                                type=EventType.MODIFIED, deployment=deployment_of(obj)
                            )
                    continue
                if e.status == 0:  # the watch broke (API server restart): try again soon
                    await asyncio.sleep(2)
                    continue
                raise from_kube(e).graphql() from None


def _unexpected(error: GraphQLError) -> bool:
    """Mask what no resolver raised on purpose (GraphQL's own validation errors stay)."""
    if error.original_error is None or (error.extensions or {}).get("code"):
        return False
    log.error("unexpected error in %s", error.path, exc_info=error.original_error)
    return True


class _Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log only what is unexpected; a refused or invalid request is the caller's answer."""
        unexpected = [e for e in errors if not (e.extensions or {}).get("code")]
        super().process_errors(unexpected, execution_context)


def build_schema() -> strawberry.Schema:
    return _Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[lambda: MaskErrors(should_mask_error=_unexpected)],
    )
