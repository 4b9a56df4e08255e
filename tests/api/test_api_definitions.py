"""The XRDs, the compositions and the function input CRD agree with the code and with each other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from function.input import FunctionInput
from function.input_crd import render_yaml
from function.xr import AppSpec
from tests.support.crdcheck import CrdIndex, default_index

ROOT = Path(__file__).resolve().parents[2]
LEGACY = yaml.safe_load((ROOT / "xrds" / "legacy" / "definition.yaml").read_text())
NAMESPACED = yaml.safe_load((ROOT / "xrds" / "namespaced" / "definition.yaml").read_text())
CORE_KINDS = {"Deployment", "Service", "Pod", "Namespace", "ConfigMap", "Secret", "Job", "Ingress"}


def _schema(xrd: dict[str, Any]) -> dict[str, Any]:
    return xrd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def test_input_crd_is_generated_from_the_model() -> None:
    committed = (ROOT / "package" / "input" / "scia.fn.crossplane.io_inputs.yaml").read_text()
    assert committed == render_yaml(), "run: python -m function.input_crd > package/input/..."


# The keywords of Kubernetes' JSONSchemaProps (apiextensions.k8s.io/v1): a CRD schema with
# any other (propertyNames, const, ...) is refused by the API server, and Crossplane never
# installs the input CRD for the platform, so a bad one only shows on a real cluster.
K8S_SCHEMA_KEYS = {
    "$ref", "$schema", "additionalItems", "additionalProperties", "allOf", "anyOf",
    "default", "definitions", "dependencies", "description", "enum", "example",
    "exclusiveMaximum", "exclusiveMinimum", "externalDocs", "format", "id", "items",
    "maxItems", "maxLength", "maxProperties", "maximum", "minItems", "minLength",
    "minProperties", "minimum", "multipleOf", "not", "nullable", "oneOf", "pattern",
    "patternProperties", "properties", "required", "title", "type", "uniqueItems",
}  # fmt: skip


def _unknown_keywords(node: Any, where: str) -> list[str]:
    if not isinstance(node, dict):
        return []
    bad = [
        f"{where}: {k}"
        for k in node
        if k not in K8S_SCHEMA_KEYS and not k.startswith("x-kubernetes-")
    ]
    for name, sub in (node.get("properties") or {}).items():
        bad += _unknown_keywords(sub, f"{where}.{name}")
    for key in ("additionalProperties", "items", "not"):
        bad += _unknown_keywords(node.get(key), f"{where}.<{key}>")
    for key in ("allOf", "anyOf", "oneOf"):
        for i, sub in enumerate(node.get(key) or []):
            bad += _unknown_keywords(sub, f"{where}.<{key}[{i}]>")
    return bad


def test_the_input_crd_uses_only_kubernetes_schema_keywords() -> None:
    crd = yaml.safe_load(render_yaml())
    for version in crd["spec"]["versions"]:
        bad = _unknown_keywords(version["schema"]["openAPIV3Schema"], version["name"])
        assert not bad, bad
    assert _unknown_keywords({"properties": {"q": {"propertyNames": {}}}}, "v") == [
        "v.q: propertyNames"
    ]


def test_both_xrds_share_one_schema() -> None:
    assert _schema(LEGACY) == _schema(NAMESPACED)


def test_xrd_scopes_and_names() -> None:
    assert LEGACY["apiVersion"] == "apiextensions.crossplane.io/v1"
    assert LEGACY["spec"]["scope"] == "LegacyCluster"
    assert LEGACY["spec"]["claimNames"]["kind"] == "AppDeployment"
    assert NAMESPACED["apiVersion"] == "apiextensions.crossplane.io/v2"
    assert NAMESPACED["spec"]["scope"] == "Namespaced"
    assert "claimNames" not in NAMESPACED["spec"]
    for xrd in (LEGACY, NAMESPACED):
        assert xrd["spec"]["group"] == "scia.io"
        names = [xrd["spec"]["names"]] + (
            [xrd["spec"]["claimNames"]] if "claimNames" in xrd["spec"] else []
        )
        for n in names:
            assert n["kind"] not in CORE_KINDS
            assert n["plural"] not in {"deployments", "services", "pods"}
            assert not set(n.get("shortNames", [])) & {"deploy", "svc", "po"}


def test_namespaced_xrd_does_not_define_conditions() -> None:
    assert "conditions" not in _schema(NAMESPACED)["properties"]["status"]["properties"]


def test_xrd_spec_fields_match_the_model() -> None:
    xrd_fields = set(_schema(LEGACY)["properties"]["spec"]["properties"])
    model_fields = {f.alias or n for n, f in AppSpec.model_fields.items()}
    assert xrd_fields == model_fields


@pytest.mark.parametrize("scope", ["legacy", "namespaced"])
def test_composition_input_validates_against_input_crd_and_model(scope: str) -> None:
    comp = yaml.safe_load((ROOT / "compositions" / f"{scope}.yaml").read_text())
    assert comp["spec"]["compositeTypeRef"]["kind"] == (
        "XAppDeployment" if scope == "legacy" else "AppDeployment"
    )
    step = comp["spec"]["pipeline"][0]
    assert step["functionRef"]["name"] == "function-scia"
    inp = step["input"]
    FunctionInput.model_validate(inp)
    errors = default_index().validate({**inp, "metadata": {"name": "x", "namespace": "default"}})
    assert not errors, errors
    assert not default_index().validate(comp), default_index().validate(comp)


def test_input_crd_rejects_unknown_fields() -> None:
    idx = CrdIndex.load(ROOT / "package" / "input")
    bad = {
        "apiVersion": "scia.fn.crossplane.io/v1alpha1",
        "kind": "Input",
        "metadata": {"name": "x", "namespace": "d"},
        "vm": {"maxInstances": "many"},
        "oops": 1,
    }
    errors = idx.validate(bad)
    assert any("oops" in e for e in errors) and any("maxInstances" in e for e in errors)


@pytest.mark.parametrize(
    "path",
    [*sorted((ROOT / "examples").glob("*/xr*.yaml")), ROOT / "examples/legacy/claim.yaml"],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_examples_validate_against_their_xrd(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    errors = default_index().validate(doc)
    assert not errors, errors
    AppSpec.model_validate(
        {k: v for k, v in doc["spec"].items() if k not in ("claimRef", "compositionRef")}
    )
