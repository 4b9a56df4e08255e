"""The bare-SDK floor: a composition function that does only what every function must.

    python bench/floor_function.py ADDRESS DESIRED.json

It answers each RunFunction with `response.to(req)` and the desired composed resources
and XR status read from DESIRED.json ({"resources": {name: manifest}, "status": {...}}),
each converted from a dict to a protobuf Struct on every call (as any Python function that
builds its resources does). bench/grpc_bench.py runs it beside function-scia with the same
request bytes and the same desired output, so the CPU per call of the two compares what
function-scia adds over the SDK's own cost.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from crossplane.function import response, runtime
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1


class Floor(grpcv1.FunctionRunnerService):
    def __init__(self, desired: dict[str, Any]) -> None:
        self._resources: dict[str, dict[str, Any]] = desired["resources"]
        self._status: dict[str, Any] = desired["status"]

    async def RunFunction(  # noqa: N802 (the gRPC method name)
        self, req: fnv1.RunFunctionRequest, _: Any = None
    ) -> fnv1.RunFunctionResponse:
        rsp = response.to(req)
        for name, manifest in self._resources.items():
            rsp.desired.resources[name].resource.update(manifest)
        rsp.desired.composite.resource.update({"status": self._status})
        return rsp


def main() -> None:
    address, path = sys.argv[1], Path(sys.argv[2])
    runtime.serve(Floor(json.loads(path.read_text())), address, creds=None, insecure=True)


if __name__ == "__main__":
    main()
