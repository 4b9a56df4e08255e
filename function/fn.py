"""The gRPC servicer: RunFunctionRequest in, RunFunctionResponse out.

The only module that knows gRPC types.
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
from typing import Any

import grpc
from crossplane.function import request, resource, response
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1
from google.protobuf import struct_pb2

from function.analysis.credentials import RepoCredentials
from function.answers import DEFAULT_MAX_BYTES, AnswerCache, request_key
from function.decide.cloudwatch import AwsCredentials
from function.decide.composed import AT_PROVIDER_FIELDS as COMPOSED_AT_PROVIDER
from function.decide.engine import DecisionEngine, Secrets
from function.decide.jobs import DecisionJobs
from function.memory.db import dsn_from_credentials
from function.metrics import count_cache, timed_run_function
from function.reconcile import Reconciler, ReconcileRequest, ReconcileResult, Reuse
from function.render.common import RENDER_AT_PROVIDER
from function.render.immutable import ObservedResource, kind_key, observed_spec_fields
from function.status import OBSERVED_AT_PROVIDER, rollout_paths

log = logging.getLogger(__name__)

REPOSITORY_CREDENTIALS = "repository-credentials"
MEMORY_CREDENTIALS = "memory-dsn"
LLM_CREDENTIALS = "llm-api-key"
CLOUDWATCH_CREDENTIALS = "cloudwatch-credentials"


def _credential(req: fnv1.RunFunctionRequest, name: str) -> dict[str, bytes] | None:
    if name not in req.credentials:
        return None
    return dict(req.credentials[name].credential_data.data)


def _secrets(req: fnv1.RunFunctionRequest) -> Secrets:
    """Function credentials (Secrets named in the Composition), never from the XR."""
    repo = _credential(req, REPOSITORY_CREDENTIALS)
    memory = _credential(req, MEMORY_CREDENTIALS)
    llm = _credential(req, LLM_CREDENTIALS)
    cloudwatch = _credential(req, CLOUDWATCH_CREDENTIALS)
    api_key = None
    if llm is not None:
        raw = llm.get("apiKey") or llm.get("api-key") or llm.get("token")
        api_key = raw.decode().strip() if raw else None
    return Secrets(
        repository=RepoCredentials.from_secret_data(repo) if repo is not None else None,
        memory_dsn=dsn_from_credentials(memory) if memory is not None else None,
        llm_api_key=api_key,
        cloudwatch=AwsCredentials.from_secret_data(cloudwatch) if cloudwatch else None,
    )


def _value(v: struct_pb2.Value) -> Any:
    kind = v.WhichOneof("kind")
    if kind == "struct_value":
        return {k: _value(x) for k, x in v.struct_value.fields.items()}
    if kind == "list_value":
        return [_value(x) for x in v.list_value.values]
    if kind == "number_value":
        n = v.number_value
        return int(n) if n.is_integer() else n
    if kind == "string_value":
        return v.string_value
    if kind == "bool_value":
        return v.bool_value
    return None


_AT_PROVIDER = OBSERVED_AT_PROVIDER + RENDER_AT_PROVIDER + COMPOSED_AT_PROVIDER


@functools.lru_cache(maxsize=256)
def _spec_fields(api_version: str, kind: str) -> frozenset[str]:
    """The forProvider fields read from an observed resource of this kind: what the
    renderers read, and what status.py compares for a rollout (a Lambda's imageUri, a
    node group's version, a Cloud Run template; without them every rollout would read as
    not done)."""
    rollout = rollout_paths(api_version, kind)  # either scope
    return observed_spec_fields(kind_key(api_version, kind)) | {p.split(".", 1)[0] for p in rollout}


def _whole(resource: struct_pb2.Struct) -> dict[str, Any]:
    return {k: _value(v) for k, v in resource.fields.items()}


def _spec(spec: struct_pb2.Value, wanted: frozenset[str]) -> dict[str, Any]:
    """spec with forProvider reduced to the `wanted` fields (what the renderers read)."""
    if spec.WhichOneof("kind") != "struct_value":
        return {}
    out: dict[str, Any] = {}
    for k, v in spec.struct_value.fields.items():
        if k == "forProvider" and v.WhichOneof("kind") == "struct_value":
            out[k] = {f: _value(x) for f, x in v.struct_value.fields.items() if f in wanted}
        elif k != "initProvider":
            out[k] = _value(v)
    return out


def _observed(req: fnv1.RunFunctionRequest) -> dict[str, dict[str, Any]]:
    """Observed composed resources, reduced to what the pipeline reads.

    status: the conditions and the atProvider fields status.py and the renderers read
    (most of atProvider is large and never read). metadata: name and annotations (the
    external name). spec: the forProvider fields the renderers read (immutable fields,
    names, launch template version, traffic source); the whole spec is converted on
    demand only while a replacement is in progress (render/replace.py).
    """
    out: dict[str, dict[str, Any]] = {}
    for name, r in req.observed.resources.items():
        fields_all = r.resource.fields
        item: dict[str, Any] = {}
        for key in ("apiVersion", "kind"):
            if key in fields_all:
                item[key] = _value(fields_all[key])
        spec = fields_all.get("spec")
        if spec is not None:
            wanted = _spec_fields(str(item.get("apiVersion", "")), str(item.get("kind", "")))
            item["spec"] = _spec(spec, wanted)
        meta = fields_all.get("metadata")
        if meta is not None and meta.WhichOneof("kind") == "struct_value":
            mf = meta.struct_value.fields
            item["metadata"] = {k: _value(mf[k]) for k in ("name", "annotations") if k in mf}
        status = fields_all.get("status")
        if status is not None and status.WhichOneof("kind") == "struct_value":
            fields = status.struct_value.fields
            reduced: dict[str, Any] = {}
            if "conditions" in fields:
                reduced["conditions"] = _value(fields["conditions"])
            if "atProvider" in fields:
                at = fields["atProvider"].struct_value.fields
                reduced["atProvider"] = {k: _value(at[k]) for k in _AT_PROVIDER if k in at}
            item["status"] = reduced
        out[name] = ObservedResource(item, functools.partial(_whole, r.resource))
    return out


@functools.lru_cache(maxsize=4096)
def _struct(raw: str) -> struct_pb2.Struct:
    """A Struct for a JSON document, memoized: a pinned decision renders the same bodies
    on every reconcile, and building Structs in Python costs more than the rest of it.
    Callers copy the result (CopyFrom), never mutate it."""
    out = struct_pb2.Struct()
    out.update(json.loads(raw))
    return out


def _required(req: fnv1.RunFunctionRequest) -> dict[str, list[dict[str, Any]]]:
    """Resolved required resources by requirement name (only those Crossplane answered)."""
    return {
        name: [resource.struct_to_dict(item.resource) for item in found.items]
        for name, found in req.required_resources.items()
    }


def _write(rsp: fnv1.RunFunctionResponse, result: ReconcileResult) -> None:
    for r in result.requirements:  # declared on every call, before any fatal return
        response.require_resources(
            rsp,
            r.name,
            r.api_version,
            r.kind,
            match_name=r.match_name,
            match_labels=r.match_labels,
            namespace=r.namespace,
        )
    for severity, message in result.results:
        if severity == "Fatal":
            response.fatal(rsp, message)
        elif severity == "Warning":
            response.warning(rsp, message)
        else:
            response.normal(rsp, message)
    if result.fatal:
        return
    for name, body in result.desired.items():
        r = rsp.desired.resources[name]
        r.resource.CopyFrom(_struct(json.dumps(body, sort_keys=True, separators=(",", ":"))))
        if name in result.ready:
            r.ready = fnv1.READY_TRUE
    if result.status:
        resource.update(rsp.desired.composite, {"status": result.status})
    # Explicit in every answer: it supersedes the readiness Crossplane derives from the
    # composed resources (crossplane v2.2 composite reconciler), so an XR composing nothing
    # while Analyzing or DecisionFailed is not reported Ready.
    rsp.desired.composite.ready = fnv1.READY_TRUE if result.composite_ready else fnv1.READY_FALSE
    for c in result.conditions:
        response.set_conditions(
            rsp, resource.Condition(typ=c.type, status=c.status, reason=c.reason, message=c.message)
        )
    if result.ttl_seconds is not None:
        rsp.meta.ttl.FromTimedelta(datetime.timedelta(seconds=result.ttl_seconds))


class FunctionRunner(grpcv1.FunctionRunnerServiceServicer):
    """`answer_cache_bytes`: how much the answers given again may hold (function/answers.py;
    0 turns it off)."""

    def __init__(
        self, reconciler: Reconciler | None = None, answer_cache_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.reconciler = reconciler or Reconciler(DecisionEngine(), DecisionJobs())
        self.answers: AnswerCache[Reuse] = AnswerCache(answer_cache_bytes)

    @timed_run_function
    async def RunFunction(  # noqa: N802 - the gRPC method name
        self, req: fnv1.RunFunctionRequest, _: grpc.aio.ServicerContext | None = None
    ) -> fnv1.RunFunctionResponse:
        if not self.answers.enabled:
            return await self._run(req)
        key = request_key(req)
        found = self.answers.get(key)
        if found is not None:
            if await self.reconciler.still_current(found[1]):
                count_cache("answer", hit=True)
                return found[0]
            self.answers.drop(key)
        count_cache("answer", hit=False)
        rsp = await self._run(req, key)
        return rsp

    async def _run(
        self, req: fnv1.RunFunctionRequest, key: bytes | None = None
    ) -> fnv1.RunFunctionResponse:
        """The whole reconcile; its answer is kept under `key` when it may be reused."""
        rsp = response.to(req)
        xr = {k: _value(v) for k, v in req.observed.composite.resource.fields.items()}
        meta = xr.get("metadata") or {}
        log_ctx = {
            "xr": meta.get("name"),
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
        }
        try:
            secrets = _secrets(req)
            raw_input = (
                {k: _value(v) for k, v in req.input.fields.items()}
                if req.HasField("input")
                else None
            )
            result = await self.reconciler.reconcile(
                ReconcileRequest(
                    xr=xr,
                    observed=_observed(req),
                    input=raw_input,
                    secrets=secrets,
                    required=_required(req),
                )
            )
        except Exception as e:  # a bug must not crash the server or leak a traceback
            log.exception("reconcile failed", extra=log_ctx)
            response.fatal(rsp, f"internal error ({type(e).__name__}); see the function's logs")
            return rsp
        _write(rsp, result)
        if key is not None and result.reuse is not None:
            self.answers.put(key, rsp, result.reuse)
        log.debug("reconciled", extra={**log_ctx, "resources": len(result.desired)})
        return rsp


__all__ = ["FunctionRunner", "request"]
