"""The multi-cloud seam: per-cloud regions, allowlists, prices, words, names and labels."""

from __future__ import annotations

import random
import string
from typing import Any

import pytest

from function.analysis.profile import AppProfile
from function.clouds import TERMS, region_problem
from function.decide.prompt import SYSTEM, system
from function.decide.rules import RulesEngine
from function.errors import InputError
from function.input import FunctionInput
from function.model import Strategy
from function.pricing.catalog import PriceKey, PricingError, load_catalog, unit_keys
from function.pricing.estimate import UsageAssumptions
from function.render.names import (
    RULES_GCP,
    gcp_label_problem,
    gcp_labels,
    generate,
)
from function.xr import AppSpec, parse_xr


def profile(**kw: Any) -> AppProfile:
    base: dict[str, Any] = {
        "name": "app",
        "url": "https://github.com/acme/app",
        "ref": "main",
        "commit": "a" * 40,
        "language": "python",
        "framework": "flask",
        "ports": [5000],
        "start_command": "gunicorn app:app --bind 0.0.0.0:5000",  # what the analyzer infers
        "confidence": 0.9,
    }
    return AppProfile.model_validate(base | kw)


def xr(**spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "app", "namespace": "team-a", "uid": "u-1"},
        "spec": {"repository": {"url": "https://github.com/acme/app"}} | spec,
    }


@pytest.mark.parametrize(
    ("cloud", "region", "ok"),
    [
        ("aws", "us-east-1", True),
        ("aws", "us-central1", False),
        ("gcp", "us-central1", True),
        ("gcp", "europe-west1", True),
        ("gcp", "us-east-1", False),
        ("azure", "eastus", True),
        ("azure", "us-east-1", False),
    ],
)
def test_regions_are_spelled_per_cloud(cloud: str, region: str, ok: bool) -> None:
    assert (region_problem(cloud, region) is None) is ok
    if ok:
        assert parse_xr(xr(cloudProvider=cloud, region=region)).spec.region == region
    else:
        with pytest.raises(InputError) as e:
            parse_xr(xr(cloudProvider=cloud, region=region))
        assert e.value.field == "spec.region"


def test_an_unset_region_is_the_clouds_default() -> None:
    assert parse_xr(xr()).spec.region == "us-east-1"
    for cloud, t in TERMS.items():
        assert parse_xr(xr(cloudProvider=cloud)).spec.region == t.default_region


def test_for_cloud_swaps_in_the_clouds_allowlists_and_leaves_aws_unchanged() -> None:
    settings = FunctionInput()
    assert settings.for_cloud("aws") is settings
    gcp = settings.for_cloud("gcp")
    assert gcp.cloud == "gcp" and settings.cloud == "aws"
    assert gcp.vm.allowed_instance_types == settings.gcp.vm.allowed_instance_types
    assert all("." not in t for t in gcp.vm.allowed_instance_types)
    assert gcp.regions == settings.gcp.regions
    # copies keep the cloud (the reconcile copies settings for a CloudProvider)
    assert gcp.model_copy(update={"provider_config_name": "x"}).cloud == "gcp"
    # the inputs hash sees the cloud's settings, and AWS's is what it always was
    assert gcp.decision_fingerprint() != settings.decision_fingerprint()
    assert set(settings.decision_fingerprint()) == {
        "network",
        "providerConfig",
        "vm",
        "kubernetes",
        "serverless",
    }
    wider = FunctionInput.model_validate({"gcp": {"vm": {"allowedInstanceTypes": ["e2-small"]}}})
    assert wider.for_cloud("gcp").decision_fingerprint() != gcp.decision_fingerprint()
    azure = settings.for_cloud("azure")
    assert azure.cloud == "azure" and azure.regions == settings.azure.regions
    assert azure.vm.allowed_instance_types == settings.azure.vm.allowed_instance_types
    assert azure.vm.image_id == "Canonical:ubuntu-24_04-lts:server:latest"


def test_gcp_input_rejects_bad_network_references() -> None:
    with pytest.raises(ValueError, match="must be given together"):
        FunctionInput.model_validate(
            {"gcp": {"network": {"network": "projects/acme-prod/global/networks/main"}}}
        )
    with pytest.raises(ValueError, match="is not projects/<project>/regions"):
        FunctionInput.model_validate(
            {
                "gcp": {
                    "network": {
                        "network": "projects/acme-prod/global/networks/main",
                        "subnetworks": ["main-subnet"],
                    }
                }
            }
        )
    with pytest.raises(ValueError, match=r"gcp\.regions"):
        FunctionInput.model_validate({"gcp": {"regions": ["us-east-1"]}})


def test_the_catalog_prices_each_cloud_in_its_own_regions() -> None:
    catalog = load_catalog()
    assert set(catalog.regions("gcp")) == {"us-central1", "us-east1", "europe-west1"}
    assert not set(catalog.regions("gcp")) & set(catalog.regions("aws"))
    for region in catalog.regions("gcp"):
        assert catalog.cloud_of(region) == "gcp"
        for key in unit_keys("gcp"):
            u = catalog.unit(region, key)
            assert u.price > 0 and u.provenance.source.startswith("https://cloud.google.com/")
            assert u.provenance.as_of is not None
        for p in catalog.instance_types(region):
            assert "." not in p.instance_type
            assert p.provenance.source == "https://cloud.google.com/compute/vm-instance-pricing"
        with pytest.raises(PricingError, match="has no ebsGp3GbMonth price"):
            catalog.unit(region, PriceKey.EBS_GP3_GB_MONTH)
    assert catalog.instance("us-central1", "e2-standard-2").hourly == 0.067006
    derived = catalog.instance("europe-west1", "e2-standard-2")
    assert derived.provenance.derived and derived.hourly == pytest.approx(0.067006 * 1.1)
    with pytest.raises(PricingError):
        catalog.instance("us-central1", "t3.medium")


def test_the_knowledge_base_compares_options_within_the_chosen_cloud() -> None:
    settings = FunctionInput().for_cloud("gcp")
    rules = RulesEngine(settings, load_catalog(), UsageAssumptions())
    spec = AppSpec.model_validate(
        {
            "repository": {"url": "https://github.com/acme/app"},
            "cloudProvider": "gcp",
            "prompt": "highly available flask API",
        }
    )
    out = rules.decide(profile(), spec)
    d = out.decision
    allowed = set(settings.vm.allowed_instance_types) | set(settings.kubernetes.allowed_node_types)
    chosen = (
        d.vm.instance_type if d.vm else d.kubernetes.node_instance_type if d.kubernetes else None
    )
    assert chosen is None or chosen in allowed
    for a in d.alternatives:
        assert "EKS" not in a.reason and "Lambda" not in a.reason and "ALB" not in a.reason
    assert "EKS" not in d.reason and "Lambda" not in d.reason and "ALB" not in d.reason
    assert out.cost.region == "us-central1"
    assert all(i.resource != "ec2-instances" for i in out.cost.breakdown)
    # an AWS region is not priced for GCP
    aws_region = AppSpec.model_validate(
        {"repository": {"url": "https://github.com/acme/app"}, "region": "us-east-1"}
    ).model_copy(update={"cloud_provider": "gcp"})
    with pytest.raises(Exception, match="no prices for region 'us-east-1'"):
        rules.decide(profile(), aws_region)


def test_the_serverless_choice_on_gcp_is_cloud_run() -> None:
    settings = FunctionInput().for_cloud("gcp")
    rules = RulesEngine(settings, load_catalog(), UsageAssumptions())
    spec = AppSpec.model_validate(
        {
            "repository": {"url": "https://github.com/acme/app"},
            "cloudProvider": "gcp",
            "strategy": "serverless",
            "image": "us-central1-docker.pkg.dev/acme-prod/apps/api:1",
        }
    )
    out = rules.decide(profile(), spec)
    assert out.decision.strategy is Strategy.SERVERLESS
    assert "Cloud Run" in out.decision.reason
    assert {i.resource for i in out.cost.breakdown} == {
        "cloud-run-requests",
        "cloud-run-cpu",
        "cloud-run-memory",
    }


def test_the_llm_prompt_names_the_chosen_clouds_services() -> None:
    assert system("aws") == SYSTEM
    text = system("gcp")
    assert "Google Cloud" in text and "GKE" in text and "Cloud Run" in text
    assert "EC2" not in text and "Lambda" not in text
    assert "Rules you must follow" in text


def _identity(rng: random.Random) -> tuple[str, str]:
    alphabet = string.ascii_lowercase + string.digits + "-."
    tenant = "".join(rng.choice(string.ascii_lowercase + string.digits + "-") for _ in range(63))
    name = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 253)))
    return tenant.strip("-") or "t", name.strip("-.") or "n"


@pytest.mark.parametrize("rule", sorted(RULES_GCP))
def test_generated_gcp_names_follow_the_rules(rule: str) -> None:
    r = RULES_GCP[rule]
    rng = random.Random(20261129)
    hostile = [("9team", "1app"), ("a" * 63, "b" * 253), ("-", "."), ("UPPER", "Dots.In.Name")]
    for tenant, name in hostile + [_identity(rng) for _ in range(300)]:
        out = generate(r, tenant, name, "uid-1", "backend-service", "bs")
        assert r.valid(out), (rule, tenant, name, out)
        assert out[0].isalpha() and len(out) <= r.max_len


def test_tags_become_valid_gcp_labels() -> None:
    labels = gcp_labels(
        {
            "managed-by": "scia",
            "scia.io/tenant": "Team-A",
            "scia.io/deployment": "My.App" + "x" * 100,
        },
        {
            "9Cost Center": "R&D / EU",
            # Each becomes a product label's key once made valid: the product's value wins.
            "scia_io_tenant": "evil",
            "SCIA.IO/TENANT": "evil",
            "aManaged-By": "kept",
            "Managed-By": "evil",
            **{f"k{i}": "v" for i in range(100)},
        },
    )
    assert len(labels) == 64
    assert labels["scia_io_tenant"] == "team-a"
    assert labels["managed-by"] == "scia"
    assert len(labels["scia_io_deployment"]) == 63
    assert "l9cost_center" in labels
    assert "evil" not in labels.values() and labels["amanaged-by"] == "kept"
    for k, v in labels.items():
        assert gcp_label_problem(k, v) is None, (k, v)


def test_a_partial_gcp_block_keeps_gcp_defaults_not_aws_ones() -> None:
    gcp = FunctionInput.model_validate(
        {"gcp": {"vm": {"maxInstances": 4}, "kubernetes": {"maxNodes": 3}}}
    ).for_cloud("gcp")
    assert gcp.vm.max_instances == 4
    assert gcp.vm.image_id.startswith("projects/debian-cloud/")
    assert "t3.micro" not in gcp.vm.allowed_instance_types
    assert all("." not in t for t in gcp.kubernetes.allowed_node_types)
    assert gcp.kubernetes.addons == []


def _crd_versions(cloud: str) -> dict[tuple[str, str], tuple[str, set[str], dict[str, Any]]]:
    """(service, kind) -> (storage version, served versions, forProvider schema) of the
    cluster-scoped CRDs of a cloud in ../shared/crds."""
    import yaml

    from tests.support.crdcheck import SHARED_CRDS

    out = {}
    for f in sorted((SHARED_CRDS / cloud).glob(f"*.{cloud}.upbound.io_*.yaml")):
        doc = yaml.load(f.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        svc = doc["spec"]["group"].split(".", 1)[0]
        served = {v["name"] for v in doc["spec"]["versions"] if v.get("served")}
        storage = next(v for v in doc["spec"]["versions"] if v.get("storage"))
        fp = storage["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"].get(
            "forProvider", {}
        )
        out[(svc, doc["spec"]["names"]["kind"])] = (storage["name"], served, fp)
    return out


def test_gcp_legacy_versions_are_the_crds_storage_and_only_served_versions() -> None:
    from function.render.common import LEGACY_VERSIONS

    crds = _crd_versions("gcp")
    for key, version in LEGACY_VERSIONS["gcp"].items():
        storage, served, _ = crds[key]
        assert version == storage, key
        assert version in served, key


def test_gcp_immutable_fields_exist_in_the_crds() -> None:
    from function.render.immutable import IMMUTABLE

    crds = _crd_versions("gcp")
    checked = 0
    for key, imm in IMMUTABLE.items():
        if key not in crds:
            continue
        _, _, fp = crds[key]
        for path in imm.fields:
            node: Any = fp
            for part in path.split("."):
                if node.get("type") == "array":
                    node = node["items"]
                assert part in node.get("properties", {}), (key, path)
                node = node["properties"][part]
            checked += 1
    assert checked > 40


def _gcp_bounds() -> Any:
    from function.decide.validate import Bounds, viable_options

    settings = FunctionInput().for_cloud("gcp")
    spec = AppSpec.model_validate(
        {
            "repository": {"url": "https://github.com/acme/app"},
            "cloudProvider": "gcp",
            "image": "us-central1-docker.pkg.dev/acme-prod/apps/api:1",
        }
    )
    catalog = load_catalog()
    kb = RulesEngine(settings, catalog, UsageAssumptions()).decide(profile(), spec)
    return Bounds(
        settings, spec, catalog, UsageAssumptions(), profile(), kb.decision, viable_options(kb)
    )


def test_the_llm_is_offered_and_held_to_the_chosen_clouds_options() -> None:
    import json

    from function.decide.answer_schema import answer_schema_for
    from function.decide.prompt import build_messages
    from function.decide.validate import check, parse_answer

    b = _gcp_bounds()
    system_msg, user = build_messages(b, [], [], b.baseline)
    assert "Google Cloud" in system_msg["content"]
    assert '"region": "us-central1"' in user["content"]
    assert "e2-small" in user["content"] and "t3.micro" not in user["content"]
    schema = json.dumps(answer_schema_for(b, 1.0))
    assert "e2-medium" in schema and "t3." not in schema
    # an AWS type is refused; a GCP one is accepted and priced on GCP
    aws, _ = parse_answer(
        '{"strategy": "vm", "vm": {"instanceType": "t3.small", "minSize": 1, "maxSize": 2, '
        '"desiredCapacity": 1}, "reason": "r", "confidence": 0.5}'
    )
    assert aws is not None and check(aws, b).errors
    ok, _ = parse_answer(
        '{"strategy": "vm", "vm": {"instanceType": "e2-medium", "minSize": 1, "maxSize": 2, '
        '"desiredCapacity": 1}, "reason": "r", "confidence": 0.5}'
    )
    assert ok is not None
    checked = check(ok, b)
    assert not checked.errors and checked.decision is not None and checked.cost is not None
    assert checked.cost.region == "us-central1"
    arm, _ = parse_answer(
        '{"strategy": "serverless", "serverless": {"memoryMb": 512, "timeoutSeconds": 30, '
        '"architecture": "arm64"}, "reason": "r", "confidence": 0.5}'
    )
    assert arm is not None
    assert any("x86_64 images only" in e for e in check(arm, b).errors)
