"""Azure on the seam: API versions and immutable paths match the CRDs, the input's Azure
block, and the LLM is offered (and held to) Azure's options only."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from function.decide.answer_schema import answer_schema_for
from function.decide.prompt import build_messages
from function.decide.rules import RulesEngine
from function.decide.validate import Bounds, check, parse_answer, viable_options
from function.input import FunctionInput
from function.model import Strategy
from function.pricing.catalog import load_catalog
from function.pricing.estimate import UsageAssumptions
from function.render.common import LEGACY_VERSIONS
from function.render.immutable import IMMUTABLE, kind_key
from function.xr import AppSpec
from tests.multicloud.test_seam import profile
from tests.support.crdcheck import SHARED_CRDS


def _azure_crds(namespaced: bool) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """(service, kind) -> (storage version, forProvider schema) of one scope's Azure CRDs."""
    out = {}
    for f in sorted((SHARED_CRDS / "azure").glob("*.yaml")):
        doc = yaml.load(f.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        group = doc["spec"]["group"]
        if (".m." in f".{group}") != namespaced:
            continue
        svc = group.split(".", 1)[0]
        storage = next(v for v in doc["spec"]["versions"] if v.get("storage"))
        props = storage["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        out[(svc, doc["spec"]["names"]["kind"])] = (storage["name"], props.get("forProvider", {}))
    return out


def test_azure_legacy_versions_are_the_crds_storage_versions() -> None:
    crds = _azure_crds(namespaced=False)
    namespaced = _azure_crds(namespaced=True)
    for key, version in LEGACY_VERSIONS["azure"].items():
        assert crds[key][0] == version, key
        assert namespaced[key][0] == "v1beta1", key


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
def test_azure_immutable_fields_exist_in_the_crds(namespaced: bool) -> None:
    crds = _azure_crds(namespaced)
    checked = 0
    for key in LEGACY_VERSIONS["azure"]:
        if key not in IMMUTABLE:
            continue
        fp = crds[key][1]
        for path in IMMUTABLE[key].fields:
            node: Any = fp
            for part in path.split("."):
                if node.get("type") == "array":
                    node = node["items"]
                assert part in node.get("properties", {}), (key, path)
                node = node["properties"][part]
            checked += 1
    assert checked > 50


def _azure_bounds(policies: list[str], prompt: str | None = None) -> Bounds:
    settings = FunctionInput().for_cloud("azure")
    spec = AppSpec.model_validate(
        {
            "repository": {"url": "https://github.com/acme/app"},
            "cloudProvider": "azure",
            "image": "acmeapps.azurecr.io/api:1",
            "policies": policies,
        }
        | ({"prompt": prompt} if prompt else {})
    )
    catalog = load_catalog()
    kb = RulesEngine(settings, catalog, UsageAssumptions()).decide(profile(), spec)
    return Bounds(
        settings, spec, catalog, UsageAssumptions(), profile(), kb.decision, viable_options(kb)
    )


def test_the_llm_is_offered_and_held_to_azures_options() -> None:
    b = _azure_bounds([])
    system_msg, user = build_messages(b, [], [], b.baseline)
    assert "Azure" in system_msg["content"]
    assert '"region": "eastus"' in user["content"]
    assert "Standard_B2s" in user["content"] and "t3.micro" not in user["content"]
    schema = json.dumps(answer_schema_for(b, 1.0))
    assert "Standard_D2s_v5" in schema and "t3." not in schema and "e2-" not in schema
    aws, _ = parse_answer(
        '{"strategy": "vm", "vm": {"instanceType": "t3.small", "minSize": 1, "maxSize": 2, '
        '"desiredCapacity": 1}, "reason": "r", "confidence": 0.5}'
    )
    assert aws is not None and check(aws, b).errors
    ok, _ = parse_answer(
        '{"strategy": "vm", "vm": {"instanceType": "Standard_B2s", "minSize": 1, "maxSize": 2, '
        '"desiredCapacity": 1}, "reason": "r", "confidence": 0.5}'
    )
    assert ok is not None
    checked = check(ok, b)
    assert not checked.errors and checked.cost is not None and checked.cost.region == "eastus"
    assert {i.resource for i in checked.cost.breakdown} >= {"vmss-instances", "load-balancer"}


def test_require_https_takes_vm_and_aks_off_the_table_on_azure() -> None:
    # Only serverless is left, which is chosen automatically for stated low traffic.
    b = _azure_bounds(["require-https"], "an internal tool, a few hundred requests a day")
    assert b.allowed_strategies() == [Strategy.SERVERLESS]
    assert b.baseline.strategy is Strategy.SERVERLESS
    schema = answer_schema_for(b, 1.0)
    assert "anyOf" not in schema  # one branch
    assert schema["properties"]["strategy"]["enum"] == ["serverless"]
    vm, _ = parse_answer(
        '{"strategy": "vm", "vm": {"instanceType": "Standard_B2s", "minSize": 1, "maxSize": 2, '
        '"desiredCapacity": 1}, "reason": "r", "confidence": 0.5}'
    )
    assert vm is not None and check(vm, b).errors
    # forced, it is refused naming the field and the reason
    settings = FunctionInput().for_cloud("azure")
    spec = AppSpec.model_validate(
        {
            "repository": {"url": "https://github.com/acme/app"},
            "cloudProvider": "azure",
            "policies": ["require-https"],
            "strategy": "vm",
        }
    )
    from function.decide.rules import DecisionError

    with pytest.raises(DecisionError, match=r"spec\.strategy vm: require-https"):
        RulesEngine(settings, load_catalog(), UsageAssumptions()).decide(profile(), spec)


# Force-new fields we render but deliberately leave out of the immutable table, and why.
_NOT_REPLACED = {
    # chosen once like a name and kept from the observed spec (render/azure/names.py)
    ("containerservice", "KubernetesCluster"): {"dnsPrefix"},
}


def _rendered_azure_fields() -> dict[tuple[str, str], set[str]]:
    """(service, kind) -> top-level forProvider fields (a reference's Selector/Ref form
    counted as its field) of every Azure managed resource in the shipped examples."""
    out: dict[tuple[str, str], set[str]] = {}
    root = Path(__file__).resolve().parents[2] / "examples"
    for f in sorted(root.rglob("*.yaml")):
        for doc in yaml.load_all(
            f.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        ):
            if not isinstance(doc, dict) or ".azure." not in f".{doc.get('apiVersion', '')}":
                continue
            fp = ((doc.get("spec") or {}).get("forProvider")) or {}
            fields = {re.sub(r"(Selector|Refs?)$", "", k) for k in fp}
            out.setdefault(kind_key(doc["apiVersion"], doc["kind"]), set()).update(fields)
    return out


def test_every_rendered_azure_field_that_forces_a_new_resource_is_replaced_not_edited() -> None:
    """What Azure cannot change in place is composed anew beside the old (replace.py): a
    rendered field whose CRD says 'forces a new resource' must be in the immutable table."""
    crds = _azure_crds(namespaced=False)
    rendered = _rendered_azure_fields()
    assert len(rendered) >= 20, sorted(rendered)
    missing = []
    for key, fields in sorted(rendered.items()):
        schema = crds[key][1].get("properties", {})
        table = set(IMMUTABLE[key].fields) if key in IMMUTABLE else set()
        for name in sorted(fields):
            text = (schema.get(name, {}).get("description") or "").lower()
            forces = "forces a new" in text
            if forces and name not in table and name not in _NOT_REPLACED.get(key, set()):
                missing.append((key, name))
    assert not missing, missing


def test_an_azure_reason_never_claims_zones_it_does_not_compose() -> None:
    """Nothing Azure composes sets `zones`, so a highly available decision says what it is."""
    settings = FunctionInput().for_cloud("azure")
    spec = AppSpec.model_validate(
        {
            "repository": {"url": "https://github.com/acme/app"},
            "cloudProvider": "azure",
            "image": "acmeapps.azurecr.io/api:1",
            "prompt": "highly available API",
        }
    )
    kb = RulesEngine(settings, load_catalog(), UsageAssumptions()).decide(profile(), spec)
    assert "highly available within one region" in kb.decision.reason
    assert "zones" not in kb.decision.reason.replace("no availability zones", "")
