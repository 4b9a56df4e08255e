"""The gRPC servicer: RunFunctionRequest in, RunFunctionResponse out.

The only module that knows gRPC types.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

import grpc
from crossplane.function import request, resource, response
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1

from function.analysis.credentials import RepoCredentials
from function.decide.engine import DecisionEngine
from function.decide.jobs import DecisionJobs
from function.reconcile import Reconciler, ReconcileRequest, ReconcileResult

log = logging.getLogger(__name__)

REPOSITORY_CREDENTIALS = "repository-credentials"


def _repo_credentials(req: fnv1.RunFunctionRequest) -> RepoCredentials | None:
    if REPOSITORY_CREDENTIALS not in req.credentials:
        return None
    data = dict(req.credentials[REPOSITORY_CREDENTIALS].credential_data.data)
    return RepoCredentials.from_secret_data(data)


def _observed(req: fnv1.RunFunctionRequest) -> dict[str, dict[str, Any]]:
    return {name: resource.struct_to_dict(r.resource) for name, r in req.observed.resources.items()}


def _write(rsp: fnv1.RunFunctionResponse, result: ReconcileResult) -> None:
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
        resource.update(r, body)
        if name in result.ready:
            r.ready = fnv1.READY_TRUE
    if result.status:
        resource.update(rsp.desired.composite, {"status": result.status})
    for c in result.conditions:
        response.set_conditions(
            rsp, resource.Condition(typ=c.type, status=c.status, reason=c.reason, message=c.message)
        )
    if result.ttl_seconds is not None:
        rsp.meta.ttl.FromTimedelta(datetime.timedelta(seconds=result.ttl_seconds))


class FunctionRunner(grpcv1.FunctionRunnerServiceServicer):
    def __init__(self, reconciler: Reconciler | None = None) -> None:
        self.reconciler = reconciler or Reconciler(DecisionEngine(), DecisionJobs())

    async def RunFunction(  # noqa: N802 - the gRPC method name
        self, req: fnv1.RunFunctionRequest, _: grpc.aio.ServicerContext | None = None
    ) -> fnv1.RunFunctionResponse:
        rsp = response.to(req)
        xr = resource.struct_to_dict(req.observed.composite.resource)
        meta = xr.get("metadata") or {}
        log_ctx = {
            "xr": meta.get("name"),
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
        }
        try:
            creds = _repo_credentials(req)
            raw_input = resource.struct_to_dict(req.input) if req.HasField("input") else None
            result = await self.reconciler.reconcile(
                ReconcileRequest(
                    xr=xr, observed=_observed(req), input=raw_input, repository_credentials=creds
                )
            )
        except Exception as e:  # a bug must not crash the server or leak a traceback
            log.exception("reconcile failed", extra=log_ctx)
            response.fatal(rsp, f"internal error ({type(e).__name__}); see the function's logs")
            return rsp
        _write(rsp, result)
        log.debug("reconciled", extra={**log_ctx, "resources": len(result.desired)})
        return rsp


__all__ = ["FunctionRunner", "request"]
