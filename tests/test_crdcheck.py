"""The offline CRD validator accepts correct objects and catches the mistakes that matter."""

from __future__ import annotations

import copy
import re
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import aws_examples, cel_rules, crossplane_cli
from tests.support.crdcheck import (
    SHARED_CRDS,
    CrdIndex,
    assert_all_valid,
    assert_valid,
    default_index,
)

AWS = SHARED_CRDS / "aws"


@pytest.fixture(scope="module")
def aws() -> CrdIndex:
    return CrdIndex.load(AWS)


def security_group(**for_provider: Any) -> dict[str, Any]:
    return {
        "apiVersion": "ec2.aws.upbound.io/v1beta1",
        "kind": "SecurityGroup",
        "metadata": {"name": "web-sg", "labels": {"app.kubernetes.io/name": "web"}},
        "spec": {
            "forProvider": {
                "region": "eu-west-1",
                "description": "web tier",
                "vpcIdSelector": {"matchControllerRef": True, "matchLabels": {"role": "vpc"}},
                "tags": {"Name": "web-sg"},
                **for_provider,
            },
            "providerConfigRef": {"name": "default"},
        },
    }


def autoscaling_group() -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling.aws.upbound.io/v1beta3",
        "kind": "AutoscalingGroup",
        "metadata": {"name": "web-asg"},
        "spec": {
            "forProvider": {
                "region": "eu-west-1",
                "minSize": 1,
                "maxSize": 3,
                "desiredCapacity": 2.0,  # numbers arrive as doubles through protobuf Structs
                "launchTemplate": {
                    "idSelector": {"matchControllerRef": True},
                    "version": "$Latest",
                },
                "vpcZoneIdentifierSelector": {"matchControllerRef": True},
                "healthCheckType": "ELB",
                "tag": [{"key": "Name", "value": "web", "propagateAtLaunch": True}],
            }
        },
    }


def only_error(errors: list[str]) -> str:
    assert len(errors) == 1, errors
    return errors[0]


def test_correct_cluster_scoped_security_group_passes(aws: CrdIndex) -> None:
    assert aws.validate(security_group()) == []


def test_correct_autoscaling_group_v1beta3_passes(aws: CrdIndex) -> None:
    assert aws.validate(autoscaling_group()) == []


def test_misspelled_field_is_an_unknown_field(aws: CrdIndex) -> None:
    obj = security_group()
    obj["spec"]["forProvider"]["vpcIdSelecter"] = obj["spec"]["forProvider"].pop("vpcIdSelector")
    assert only_error(aws.validate(obj)) == (
        "ec2.aws.upbound.io/v1beta1 SecurityGroup 'web-sg': "
        "spec.forProvider.vpcIdSelecter: unknown field"
    )


def test_unknown_field_deep_inside_a_reference_selector(aws: CrdIndex) -> None:
    obj = security_group(vpcIdSelector={"matchControllerReference": True})
    assert "spec.forProvider.vpcIdSelector.matchControllerReference: unknown field" in only_error(
        aws.validate(obj)
    )


def test_wrong_type_fails(aws: CrdIndex) -> None:
    rule: dict[str, Any] = {
        "apiVersion": "ec2.aws.upbound.io/v1beta1",
        "kind": "SecurityGroupIngressRule",
        "metadata": {"name": "http"},
        "spec": {
            "forProvider": {
                "region": "eu-west-1",
                "ipProtocol": "tcp",
                "fromPort": "80",
                "toPort": 80,
                "cidrIpv4": "0.0.0.0/0",
                "securityGroupIdSelector": {"matchControllerRef": True},
            }
        },
    }
    error = only_error(aws.validate(rule))
    assert "spec.forProvider.fromPort: must be number, got string" in error
    rule["spec"]["forProvider"]["fromPort"] = 80
    assert aws.validate(rule) == []


def test_launch_template_shape_depends_on_the_version(aws: CrdIndex) -> None:
    as_list = autoscaling_group()
    as_list["spec"]["forProvider"]["launchTemplate"] = [{"id": "lt-123", "version": "$Latest"}]
    error = only_error(aws.validate(as_list))
    assert "spec.forProvider.launchTemplate: must be object, got array" in error
    # The deprecated (still served) v1beta2 took a list of one object.
    as_list["apiVersion"] = "autoscaling.aws.upbound.io/v1beta2"
    assert aws.validate(as_list) == []


def test_missing_required_parameter_is_reported_by_the_cel_rule(aws: CrdIndex) -> None:
    obj = autoscaling_group()
    del obj["spec"]["forProvider"]["maxSize"]
    assert only_error(aws.validate(obj)) == (
        "autoscaling.aws.upbound.io/v1beta3 AutoscalingGroup 'web-asg': "
        "spec: spec.forProvider.maxSize is a required parameter"
    )
    # The rule only applies when the resource is created/updated ...
    observe_only = copy.deepcopy(obj)
    observe_only["spec"]["managementPolicies"] = ["Observe"]
    assert aws.validate(observe_only) == []
    # ... and accepts the value in initProvider.
    obj["spec"]["initProvider"] = {"maxSize": 4}
    assert aws.validate(obj) == []


def test_cel_required_parameter_of_other_kinds(aws: CrdIndex) -> None:
    role: dict[str, Any] = {
        "apiVersion": "iam.aws.upbound.io/v1beta1",
        "kind": "Role",
        "metadata": {"name": "node-role"},
        "spec": {"forProvider": {}},
    }
    assert only_error(aws.validate(role)).endswith(
        "spec: spec.forProvider.assumeRolePolicy is a required parameter"
    )
    role["spec"]["forProvider"]["assumeRolePolicy"] = '{"Version": "2012-10-17", "Statement": []}'
    assert aws.validate(role) == []


def test_unknown_version_and_kind_and_group_fail(aws: CrdIndex) -> None:
    obj = security_group()
    obj["apiVersion"] = "ec2.aws.upbound.io/v1beta2"
    assert "version 'v1beta2' of ec2.aws.upbound.io/SecurityGroup is unknown (served: v1beta1)" in (
        only_error(aws.validate(obj))
    )
    obj = security_group()
    obj["kind"] = "SecurityGroups"
    assert "kind: unknown kind 'SecurityGroups' in group 'ec2.aws.upbound.io'" in only_error(
        aws.validate(obj)
    )
    obj = security_group()
    obj["apiVersion"] = "ec2.aws.crossplane.io/v1beta1"
    assert "unknown API group 'ec2.aws.crossplane.io'" in only_error(aws.validate(obj))


def test_unserved_version_fails(tmp_path: Path) -> None:
    (tmp_path / "widgets.yaml").write_text(
        textwrap.dedent(
            """\
            apiVersion: apiextensions.k8s.io/v1
            kind: CustomResourceDefinition
            metadata: {name: widgets.example.org}
            spec:
              group: example.org
              names: {kind: Widget, plural: widgets}
              scope: Cluster
              versions:
              - name: v1alpha1
                served: false
                storage: false
                schema: {openAPIV3Schema: {type: object}}
              - name: v1
                served: true
                storage: true
                schema:
                  openAPIV3Schema:
                    type: object
                    properties:
                      spec:
                        type: object
                        properties:
                          size: {type: integer, minimum: 1, maximum: 10}
            """
        )
    )
    index = CrdIndex.load(tmp_path)
    widget: dict[str, Any] = {
        "apiVersion": "example.org/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 3},
    }
    assert index.validate(widget) == []
    widget["apiVersion"] = "example.org/v1alpha1"
    assert "version 'v1alpha1' of example.org/Widget is not served (served: v1)" in only_error(
        index.validate(widget)
    )
    widget["apiVersion"] = "example.org/v1"
    widget["spec"]["size"] = 11
    assert "spec.size: must be less than or equal to 10, got 11" in only_error(
        index.validate(widget)
    )
    widget["spec"]["size"] = 2.5
    assert "spec.size: must be integer, got number 2.5" in only_error(index.validate(widget))


def test_enum_violation_fails(aws: CrdIndex) -> None:
    obj = security_group()
    obj["spec"]["deletionPolicy"] = "Remove"
    obj["spec"]["managementPolicies"] = ["Observe", "Destroy"]
    errors = aws.validate(obj)
    assert len(errors) == 2, errors
    assert (
        'spec.deletionPolicy: unsupported value "Remove"; allowed: ["Orphan", "Delete"]'
        in errors[0]
    )
    assert "spec.managementPolicies[1]: unsupported value" in errors[1]


def test_namespaced_m_kind(aws: CrdIndex) -> None:
    obj = security_group()
    obj["apiVersion"] = "ec2.aws.m.upbound.io/v1beta1"
    obj["metadata"]["namespace"] = "team-a"
    obj["spec"]["providerConfigRef"] = {"kind": "ProviderConfig", "name": "aws"}
    assert aws.validate(obj) == []

    no_namespace = copy.deepcopy(obj)
    del no_namespace["metadata"]["namespace"]
    assert "metadata.namespace: required for a namespaced kind" in only_error(
        aws.validate(no_namespace)
    )
    assert aws.validate(no_namespace, allow_missing_namespace=True) == []

    # The namespaced flavour has no deletionPolicy and a providerConfigRef with a kind.
    legacy_habits = copy.deepcopy(obj)
    legacy_habits["spec"]["deletionPolicy"] = "Delete"
    legacy_habits["spec"]["providerConfigRef"] = {"name": "aws"}
    errors = aws.validate(legacy_habits)
    assert sorted(e.split(": ", 1)[1] for e in errors) == [
        "spec.deletionPolicy: unknown field",
        "spec.providerConfigRef.kind: required field is missing",
    ]


def test_cluster_scoped_kind_must_not_have_a_namespace(aws: CrdIndex) -> None:
    obj = security_group()
    obj["metadata"]["namespace"] = "team-a"
    assert "metadata.namespace: must not be set on a cluster-scoped kind" in only_error(
        aws.validate(obj)
    )


def test_metadata_is_checked(aws: CrdIndex) -> None:
    obj = security_group()
    obj["metadata"]["labels"]["scia.io/repo"] = "x" * 64
    obj["metadata"]["annotations"] = {"scia.io/replicas": 3}
    obj["metadata"]["lables"] = {}
    errors = [e.split(": ", 1)[1] for e in aws.validate(obj)]
    assert errors == [
        "metadata.lables: unknown field",
        "metadata.labels[scia.io/repo]: value '" + "x" * 64 + "' must be <= 63 alphanumerics, "
        "'-', '_' or '.'",
        "metadata.annotations[scia.io/replicas]: value must be a string, got 3",
    ]
    unnamed = security_group()
    del unnamed["metadata"]["name"]
    assert "metadata.name: required" in only_error(aws.validate(unnamed))
    assert aws.validate(unnamed, allow_missing_name=True) == []
    unnamed["metadata"]["generateName"] = "web-"
    assert aws.validate(unnamed) == []


def test_null_value_is_reported(aws: CrdIndex) -> None:
    obj = security_group(description=None)
    assert "spec.forProvider.description: null value" in only_error(aws.validate(obj))


def test_validate_does_not_modify_the_object(aws: CrdIndex) -> None:
    obj = security_group()
    before = copy.deepcopy(obj)
    assert aws.validate(obj) == []
    assert obj == before  # defaults (managementPolicies, deletionPolicy) went to a copy


V2_XRD = """\
apiVersion: apiextensions.crossplane.io/v2
kind: CompositeResourceDefinition
metadata: {name: apps.demo.example.org}
spec:
  group: demo.example.org
  scope: Namespaced
  names: {kind: App, plural: apps}
  versions:
  - name: v1alpha1
    served: true
    referenceable: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [image]
            x-kubernetes-validations:
            - rule: "!has(self.minReplicas) || !has(self.maxReplicas)
                || self.minReplicas <= self.maxReplicas"
              messageExpression: "'minReplicas ' + string(self.minReplicas)
                + ' exceeds maxReplicas'"
            properties:
              image: {type: string, minLength: 1}
              minReplicas: {type: integer, default: 1}
              maxReplicas: {type: integer}
              strategy: {type: string, enum: [vm, kubernetes, serverless]}
          status:
            type: object
            properties:
              strategy: {type: string}
"""

V1_XRD = """\
apiVersion: apiextensions.crossplane.io/v1
kind: CompositeResourceDefinition
metadata: {name: xdatabases.demo.example.org}
spec:
  group: demo.example.org
  names: {kind: XDatabase, plural: xdatabases}
  claimNames: {kind: Database, plural: databases}
  versions:
  - name: v1alpha1
    served: true
    referenceable: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              sizeGb: {type: integer}
"""


@pytest.fixture()
def xrd_index(tmp_path: Path) -> CrdIndex:
    (tmp_path / "app.yaml").write_text(V2_XRD)
    (tmp_path / "db.yaml").write_text(V1_XRD)
    return CrdIndex.load(tmp_path)


def test_namespaced_xr_against_a_v2_xrd(xrd_index: CrdIndex) -> None:
    xr: dict[str, Any] = {
        "apiVersion": "demo.example.org/v1alpha1",
        "kind": "App",
        "metadata": {"name": "shop", "namespace": "team-a"},
        "spec": {
            "image": "ghcr.io/acme/shop:1.2.3",
            "maxReplicas": 4,
            "strategy": "kubernetes",
            "crossplane": {
                "compositionRef": {"name": "app-aws"},
                "resourceRefs": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "x"}],
            },
        },
        "status": {
            "strategy": "kubernetes",
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Available",
                    "lastTransitionTime": "2026-05-09T07:00:00Z",
                }
            ],
        },
    }
    assert xrd_index.validate(xr) == []

    legacy = copy.deepcopy(xr)
    legacy["spec"]["compositionRef"] = legacy["spec"].pop("crossplane")["compositionRef"]
    assert "spec.compositionRef: unknown field" in only_error(xrd_index.validate(legacy))

    broken = copy.deepcopy(xr)
    del broken["spec"]["image"]
    broken["spec"]["minReplicas"] = 5
    broken["spec"]["strategy"] = "lambda"
    errors = [e.split(": ", 1)[1] for e in xrd_index.validate(broken)]
    assert errors == [
        "spec.image: required field is missing",
        'spec.strategy: unsupported value "lambda"; allowed: ["vm", "kubernetes", "serverless"]',
        "spec: minReplicas 5 exceeds maxReplicas",
    ]

    too_long = copy.deepcopy(xr)
    too_long["metadata"]["name"] = "a" * 64
    assert "metadata.name: longer than 63 characters" in only_error(xrd_index.validate(too_long))


def test_legacy_xr_and_claim_against_a_v1_xrd(xrd_index: CrdIndex) -> None:
    claim: dict[str, Any] = {
        "apiVersion": "demo.example.org/v1alpha1",
        "kind": "Database",
        "metadata": {"name": "orders", "namespace": "team-a"},
        "spec": {
            "sizeGb": 20,
            "compositionSelector": {"matchLabels": {"provider": "aws"}},
            "writeConnectionSecretToRef": {"name": "orders-db"},
        },
    }
    assert xrd_index.validate(claim) == []
    xr: dict[str, Any] = {
        "apiVersion": "demo.example.org/v1alpha1",
        "kind": "XDatabase",
        "metadata": {"name": "orders-x7k2p"},
        "spec": {
            "sizeGb": 20,
            "claimRef": {
                "apiVersion": "demo.example.org/v1alpha1",
                "kind": "Database",
                "namespace": "team-a",
                "name": "orders",
            },
            "compositionRef": {"name": "db-aws"},
            "writeConnectionSecretToRef": {"name": "orders-db", "namespace": "crossplane-system"},
        },
    }
    assert xrd_index.validate(xr) == []
    claim["spec"]["claimRef"] = xr["spec"]["claimRef"]
    assert "spec.claimRef: unknown field" in only_error(xrd_index.validate(claim))
    xr["metadata"]["namespace"] = "team-a"
    assert "must not be set on a cluster-scoped kind" in only_error(xrd_index.validate(xr))


def test_alternative_definitions_of_one_kind(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "app.yaml").write_text(V2_XRD)
    (tmp_path / "b" / "app.yaml").write_text(V2_XRD.replace("scope: Namespaced", "scope: Cluster"))
    index = CrdIndex.load(tmp_path)
    xr: dict[str, Any] = {
        "apiVersion": "demo.example.org/v1alpha1",
        "kind": "App",
        "metadata": {"name": "shop"},
        "spec": {"image": "x"},
    }
    assert index.validate(xr) == []  # the cluster-scoped alternative accepts it
    del xr["spec"]["image"]
    errors = index.validate(xr)
    assert len(errors) == 3, errors  # namespace + image (namespaced), image (cluster)
    assert all("(as defined in " in e for e in errors)


def test_assert_helpers_raise_readable_errors(aws: CrdIndex) -> None:
    assert_valid(security_group(), index=aws)
    assert_all_valid([security_group(), autoscaling_group()], index=aws)
    with pytest.raises(AssertionError, match=r"1 schema error\(s\):\n  .*vpcIdRef.name: required"):
        assert_all_valid([security_group(vpcIdRef={})], index=aws)
    with pytest.raises(AssertionError, match="no objects"):
        assert_all_valid([], index=aws)


def test_default_index_covers_the_shared_crds_and_is_cached() -> None:
    index = default_index()
    assert index is default_index()
    kinds = set(index.kinds())
    assert ("ec2.aws.m.upbound.io", "SecurityGroup") in kinds
    assert ("compute.gcp.upbound.io", "Instance") in kinds
    assert ("apiextensions.crossplane.io", "Composition") in kinds


def test_every_indexed_crd_parses_and_every_cel_rule_compiles() -> None:
    """Header-indexed CRDs match their documents; celpy compiles all upstream rules."""
    index = CrdIndex.load(SHARED_CRDS)
    rules: set[str] = set()

    def collect(schema: Any) -> None:
        if isinstance(schema, dict):
            for rule in schema.get("x-kubernetes-validations") or []:
                if not cel_rules.is_transition_rule(rule["rule"]):
                    rules.add(rule["rule"])
            for value in schema.values():
                collect(value)
        elif isinstance(schema, list):
            for value in schema:
                collect(value)

    for group, kind in index.kinds():
        for entry in index.entries(f"{group}/v", kind):
            for version in entry.versions().values():
                collect(version.schema)
    assert len(rules) > 50
    for rule in sorted(rules):
        cel_rules.compile_rule(rule)  # raises CelRuleError if celpy cannot parse it
    upjet = [r for r in rules if "in self.managementPolicies" in r]
    assert len(upjet) > 20
    observe_only = cel_rules.to_cel({"managementPolicies": ["Observe"], "forProvider": {}}, {})
    assert all(cel_rules.evaluate(r, observe_only) for r in upjet)


# --- the examples corpus and the real Crossplane CLI as an independent oracle ---------


@pytest.mark.parametrize("namespaced", [False, True], ids=["cluster", "namespaced"])
def test_aws_examples_are_valid(aws: CrdIndex, namespaced: bool) -> None:
    examples = aws_examples.all_examples(namespaced=namespaced)
    assert len({(o["kind"], o["metadata"]["name"]) for o in examples}) == len(examples)
    assert_all_valid(examples, index=aws)


def _mutants(valid: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One broken copy per mistake class, each with a unique name."""
    by_kind = {o["kind"]: o for o in valid}
    out: list[dict[str, Any]] = []

    def broken(kind: str, suffix: str) -> dict[str, Any]:
        obj = copy.deepcopy(by_kind[kind])
        obj["metadata"]["name"] = f"{obj['metadata']['name']}-{suffix}"
        out.append(obj)
        return obj

    broken("SecurityGroup", "typo")["spec"]["forProvider"]["vpcIdSelecter"] = {}
    broken("SecurityGroupIngressRule", "type")["spec"]["forProvider"]["fromPort"] = "80"
    del broken("AutoscalingGroup", "cel")["spec"]["forProvider"]["maxSize"]
    broken("AutoscalingGroup", "shape")["spec"]["forProvider"]["launchTemplate"] = [
        {"version": "$Latest"}
    ]
    broken("LBListener", "enum")["spec"]["managementPolicies"] = ["Destroy"]
    broken("Role", "region")["spec"]["forProvider"]["region"] = "eu-west-1"
    del broken("NodeGroup", "cel")["spec"]["forProvider"]["scalingConfig"]
    broken("Function", "type")["spec"]["forProvider"]["memorySize"] = "512Mi"
    return out


@pytest.mark.e2e
@pytest.mark.parametrize("namespaced", [False, True], ids=["cluster", "namespaced"])
def test_crossplane_beta_validate_agrees_with_crdcheck(
    aws: CrdIndex, tmp_path: Path, namespaced: bool
) -> None:
    try:
        crossplane_cli.crossplane_binary()
    except crossplane_cli.CrossplaneCliMissingError as exc:
        pytest.skip(str(exc))
    valid = aws_examples.all_examples(namespaced=namespaced)
    corpus = valid + _mutants(valid)
    ours = {o["metadata"]["name"]: aws.validate(o) == [] for o in corpus}
    assert sum(ours.values()) == len(valid)

    proc = crossplane_cli.beta_validate(AWS, corpus, tmp_path / "cache")
    verdicts: dict[str, bool] = {}
    for line in proc.stdout.splitlines():
        found = re.match(r"^\[(.)\] .*?Kind=\w+, ([a-z0-9.-]+)(?: :| validated)", line)
        if found:
            name, ok = found.group(2), found.group(1) == "✓"
            verdicts[name] = verdicts.get(name, True) and ok
    assert verdicts == ours, proc.stdout + proc.stderr
    assert proc.returncode == 1
    assert "downloading" not in proc.stdout


TINY_FUNCTION = """
import sys
from crossplane.function import resource, response, runtime
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1


class Fn(grpcv1.FunctionRunnerServiceServicer):
    async def RunFunction(self, req, _ctx=None):
        rsp = response.to(req)
        xr = resource.struct_to_dict(req.observed.composite.resource)
        if xr["spec"]["image"] == "fatal":
            response.fatal(rsp, "cannot deploy image fatal")
            return rsp
        resource.update(rsp.desired.resources["sg"], {
            "apiVersion": "ec2.aws.m.upbound.io/v1beta1", "kind": "SecurityGroup",
            "spec": {"forProvider": {"region": "eu-west-1", "description": xr["spec"]["image"]}},
        })
        resource.update(rsp.desired.resources["asg"], {
            "apiVersion": "autoscaling.aws.m.upbound.io/v1beta1", "kind": "AutoscalingGroup",
            "spec": {"forProvider": {"region": "eu-west-1", "minSize": 1, "maxSize": 3}},
        })
        resource.update(rsp.desired.composite, {"status": {"strategy": "vm"}})
        response.normal(rsp, "rendered")
        return rsp


runtime.serve(Fn(), sys.argv[1], creds=None, insecure=True)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.e2e
def test_crossplane_render_with_a_development_function(tmp_path: Path) -> None:
    try:
        crossplane_cli.crossplane_binary()
    except crossplane_cli.CrossplaneCliMissingError as exc:
        pytest.skip(str(exc))
    (tmp_path / "fn.py").write_text(TINY_FUNCTION)
    (tmp_path / "app.yaml").write_text(V2_XRD)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, str(tmp_path / "fn.py"), f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            time.sleep(0.1)
        composition = {
            "apiVersion": "apiextensions.crossplane.io/v1",
            "kind": "Composition",
            "metadata": {"name": "app"},
            "spec": {
                "compositeTypeRef": {"apiVersion": "demo.example.org/v1alpha1", "kind": "App"},
                "mode": "Pipeline",
                "pipeline": [{"step": "tiny", "functionRef": {"name": "tiny"}}],
            },
        }
        xr: dict[str, Any] = {
            "apiVersion": "demo.example.org/v1alpha1",
            "kind": "App",
            "metadata": {"name": "shop", "namespace": "team-a"},
            "spec": {"image": "ghcr.io/acme/shop:1"},
        }
        functions = crossplane_cli.development_function("tiny", f"127.0.0.1:{port}")
        docs = crossplane_cli.render(xr, composition, functions, extra_args=["-r"], timeout=60)
        kinds = [d["kind"] for d in docs]
        assert kinds == ["App", "AutoscalingGroup", "SecurityGroup", "Result"]
        out_xr, asg, sg, result = docs
        assert out_xr["status"]["strategy"] == "vm"
        assert out_xr["spec"]["image"] == "ghcr.io/acme/shop:1"  # --include-full-xr
        assert sg["metadata"]["generateName"] == "shop-"
        assert sg["metadata"]["namespace"] == "team-a"
        assert sg["metadata"]["annotations"]["crossplane.io/composition-resource-name"] == "sg"
        assert asg["spec"]["forProvider"]["maxSize"] == 3
        assert result["message"] == "rendered"
        index = CrdIndex.load(AWS, tmp_path / "app.yaml")
        assert_all_valid(docs[:3], index=index)

        xr["spec"]["image"] = "fatal"
        with pytest.raises(crossplane_cli.RenderError, match="cannot deploy image fatal"):
            crossplane_cli.render(xr, composition, functions, timeout=60)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
