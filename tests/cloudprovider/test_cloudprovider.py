"""The CloudProvider code path: XRD, composition, examples, and the ProviderConfig it composes."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from function.cloudprovider import (
    CLUSTER_PROVIDER_CONFIG,
    PROVIDER_CONFIG,
    parse_cloud_provider_spec,
    provider_config_name,
    reconcile_cloud_provider,
)
from tests.support.crdcheck import REPO_ROOT, SHARED_CRDS, CrdIndex, assert_all_valid

EXAMPLES = REPO_ROOT / "examples" / "cloudprovider"
XR: dict[str, Any] = yaml.safe_load((EXAMPLES / "xcloudprovider.yaml").read_text())
CLAIM: dict[str, Any] = yaml.safe_load((EXAMPLES / "claim.yaml").read_text())


@pytest.fixture(scope="module")
def index() -> CrdIndex:
    return CrdIndex.load(SHARED_CRDS / "aws", REPO_ROOT / "xrds" / "cloudprovider")


def test_examples_validate_against_the_xrd(index: CrdIndex) -> None:
    gcp = yaml.safe_load((EXAMPLES / "claim-gcp.yaml").read_text())
    azure = yaml.safe_load((EXAMPLES / "claim-azure.yaml").read_text())
    assert_all_valid([XR, CLAIM, gcp, azure], index=index)


def test_xrd_rejects_a_namespace_in_the_secret_ref_and_unknown_types(index: CrdIndex) -> None:
    bad = copy.deepcopy(CLAIM)
    bad["spec"]["credentials"]["secretRef"]["namespace"] = "team-b"
    assert any("namespace" in e for e in index.validate(bad))
    bad = copy.deepcopy(CLAIM)
    bad["spec"]["type"] = "ibm"
    assert index.validate(bad)
    bad = copy.deepcopy(CLAIM)
    bad["spec"]["costControl"]["monthlyBudget"] = 5
    assert index.validate(bad)


def test_composition_points_at_the_xrd() -> None:
    comp = yaml.safe_load((REPO_ROOT / "compositions" / "cloudprovider.yaml").read_text())
    xrd = yaml.safe_load((REPO_ROOT / "xrds" / "cloudprovider" / "definition.yaml").read_text())
    assert comp["spec"]["compositeTypeRef"] == {
        "apiVersion": f"{xrd['spec']['group']}/v1alpha1",
        "kind": xrd["spec"]["names"]["kind"],
    }
    assert xrd["spec"]["defaultCompositionRef"]["name"] == comp["metadata"]["name"]
    assert xrd["spec"]["scope"] == "LegacyCluster"
    assert xrd["spec"]["claimNames"]["kind"] == "CloudProvider"
    assert comp["spec"]["pipeline"][0]["functionRef"]["name"] == "function-scia"


def test_provider_config_reads_the_tenants_secret_and_validates(index: CrdIndex) -> None:
    out = reconcile_cloud_provider(XR, observed={})
    assert not out.fatal
    pc = out.desired[PROVIDER_CONFIG]
    assert pc["apiVersion"] == "aws.upbound.io/v1beta1" and pc["kind"] == "ProviderConfig"
    assert pc["metadata"]["name"] == "team-a-aws-prod"
    assert "namespace" not in pc["metadata"]
    assert pc["spec"]["credentials"] == {
        "source": "Secret",
        "secretRef": {"namespace": "team-a", "name": "aws-account", "key": "credentials"},
    }
    assert_all_valid([pc], index=index)
    assert out.status["providerConfigName"] == "team-a-aws-prod"
    assert out.status["phase"] == "Provisioning" and not out.ready
    assert_all_valid([{**XR, "status": out.status}], index=index)


def test_observed_provider_configs_are_ready() -> None:
    out = reconcile_cloud_provider(XR, observed={PROVIDER_CONFIG: {}})
    assert out.ready == {PROVIDER_CONFIG} and out.status["phase"] == "Provisioning"
    both = {PROVIDER_CONFIG: {}, CLUSTER_PROVIDER_CONFIG: {}}
    out = reconcile_cloud_provider(XR, observed=both)
    assert out.ready == set(both) and out.status["phase"] == "Running"


def test_the_secret_namespace_is_always_the_claims() -> None:
    xr = copy.deepcopy(XR)
    xr["spec"]["credentials"]["secretRef"]["namespace"] = "kube-system"
    out = reconcile_cloud_provider(xr, observed={})
    assert out.fatal and not out.desired
    assert "spec.credentials.secretRef.namespace: unknown field" in out.results[0][1]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda x: x["spec"].pop("claimRef") and x["metadata"].pop("labels"), "spec.claimRef"),
        (lambda x: x["spec"].update(type="gcp"), "spec.defaultRegion: 'eu-west-1' is not"),
        (
            lambda x: x["spec"].update(type="gcp", defaultRegion="us-central1"),
            "spec.project: a gcp CloudProvider needs its project id",
        ),
        (lambda x: x["spec"].update(project="my-project-1"), "spec.project: only a gcp"),
        (
            lambda x: x["spec"].update(type="azure", defaultRegion="eu-west-1"),
            "spec.defaultRegion: 'eu-west-1' is not spelled like a region of azure",
        ),
        (lambda x: x["spec"].pop("credentials"), "spec.credentials: required field is missing"),
        (lambda x: x["spec"]["quotas"].update(maxEC2Instances=-1), "spec.quotas.maxEC2Instances"),
    ],
)
def test_bad_cloud_providers_are_fatal_naming_the_field(change: Any, message: str) -> None:
    xr = copy.deepcopy(XR)
    change(xr)
    out = reconcile_cloud_provider(xr, observed={})
    assert out.fatal and not out.desired
    assert message in out.results[0][1]


def test_provider_config_name_is_a_dns_name() -> None:
    assert provider_config_name("team-a", "aws.prod") == "team-a-aws-prod"
    assert provider_config_name("Team_A", "x") == "team-a-x"


def test_a_claim_as_the_api_server_returns_it_parses() -> None:
    """A real API server returns a claim with Crossplane's own spec fields defaulted (found
    by the control-plane tests: compositeDeletePolicy made every deployment naming a
    CloudProvider fail)."""
    claim = copy.deepcopy(CLAIM)
    claim["spec"].update(
        compositeDeletePolicy="Background",
        compositionUpdatePolicy="Automatic",
        compositionRef={"name": "cloudprovider-aws"},
        compositionRevisionRef={"name": "cloudprovider-aws-1a2b3c4"},
        resourceRef={"apiVersion": "scia.io/v1alpha1", "kind": "XCloudProvider", "name": "x"},
    )
    assert parse_cloud_provider_spec(claim).default_region == "eu-west-1"


def test_a_gcp_cloud_provider_composes_gcp_provider_configs_with_its_project() -> None:
    index = CrdIndex.load(SHARED_CRDS / "gcp")
    xr = copy.deepcopy(XR)
    xr["spec"].update(type="gcp", defaultRegion="europe-west1", project="acme-prod-1")
    out = reconcile_cloud_provider(xr, observed={})
    assert not out.fatal, out.results
    legacy, namespaced = out.desired["provider-config"], out.desired["cluster-provider-config"]
    assert (legacy["apiVersion"], legacy["kind"]) == ("gcp.upbound.io/v1beta1", "ProviderConfig")
    assert (namespaced["apiVersion"], namespaced["kind"]) == (
        "gcp.m.upbound.io/v1beta1",
        "ClusterProviderConfig",
    )
    ref = xr["spec"]["credentials"]["secretRef"]
    tenant = xr["spec"]["claimRef"]["namespace"]
    for body in (legacy, namespaced):
        assert body["spec"] == {
            "projectID": "acme-prod-1",
            "credentials": {
                "source": "Secret",
                "secretRef": {"namespace": tenant, "name": ref["name"], "key": ref["key"]},
            },
        }
    assert_all_valid([legacy, namespaced], index=index)


def test_the_xrd_requires_a_project_exactly_for_gcp(index: CrdIndex) -> None:
    gcp = copy.deepcopy(CLAIM)
    gcp["spec"].update(type="gcp", defaultRegion="us-central1")
    assert any("spec.project is required" in e for e in index.validate(gcp))
    gcp["spec"]["project"] = "acme-prod-1"
    assert index.validate(gcp) == []
    aws = copy.deepcopy(CLAIM)
    aws["spec"]["project"] = "acme-prod-1"
    assert any("only a gcp CloudProvider" in e for e in index.validate(aws))


def test_an_azure_cloud_provider_composes_azure_provider_configs_from_its_secret() -> None:
    index = CrdIndex.load(SHARED_CRDS / "azure")
    xr = copy.deepcopy(XR)
    claim = yaml.safe_load((EXAMPLES / "claim-azure.yaml").read_text())
    xr["spec"].update(type="azure", defaultRegion=claim["spec"]["defaultRegion"])
    out = reconcile_cloud_provider(xr, observed={})
    assert not out.fatal, out.results
    legacy, namespaced = out.desired["provider-config"], out.desired["cluster-provider-config"]
    assert (legacy["apiVersion"], legacy["kind"]) == ("azure.upbound.io/v1beta1", "ProviderConfig")
    assert (namespaced["apiVersion"], namespaced["kind"]) == (
        "azure.m.upbound.io/v1beta1",
        "ClusterProviderConfig",
    )
    ref = xr["spec"]["credentials"]["secretRef"]
    tenant = xr["spec"]["claimRef"]["namespace"]
    for body in (legacy, namespaced):
        # The tenant's own Secret, in the tenant's namespace: never another tenant's.
        assert body["spec"] == {
            "credentials": {
                "source": "Secret",
                "secretRef": {"namespace": tenant, "name": ref["name"], "key": ref["key"]},
            },
        }
    assert_all_valid([legacy, namespaced], index=index)
