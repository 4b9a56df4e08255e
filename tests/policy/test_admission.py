"""Function-side admission rules: minimum budget, required and known policies, HTTPS setup."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from function.policy.admission import admit, certificate_domain
from function.policy.settings import PolicySettings
from function.xr import AppSpec, XrIdentity

IDENTITY = XrIdentity(
    name="flask-app-x1", uid="u-1", tenant="team-a", namespaced=False, deployment_name="flask-app"
)


def spec(**kw: Any) -> AppSpec:
    return AppSpec.model_validate({"repository": {"url": "https://github.com/acme/app"}} | kw)


def settings(**kw: Any) -> PolicySettings:
    return PolicySettings.model_validate(kw)


def test_a_plain_deployment_is_admitted() -> None:
    assert admit(spec(budget={"maxMonthlyCost": 10}), IDENTITY, settings()) == []


def test_platform_minimum_budget_names_the_field() -> None:
    [v] = admit(spec(budget={"maxMonthlyCost": 40}), IDENTITY, settings(minMonthlyBudget=50))
    assert v.field == "spec.budget.maxMonthlyCost"
    assert "$50/month" in v.reason and "policy.minMonthlyBudget" in v.reason
    assert str(v).startswith("invalid spec.budget.maxMonthlyCost: ")


def test_required_policy_missing_names_spec_policies() -> None:
    s = settings(requiredPolicies=["enable-monitoring"])
    [v] = admit(spec(), IDENTITY, s)
    assert v.field == "spec.policies" and "enable-monitoring" in v.reason
    assert admit(spec(policies=["enable-monitoring"]), IDENTITY, s) == []


def test_required_policies_must_be_known() -> None:
    with pytest.raises(ValidationError):
        settings(requiredPolicies=["encrypt-everything"])


def test_unknown_policy_is_rejected_by_the_spec_model_too() -> None:
    with pytest.raises(ValidationError, match="unknown policy 'encrypt-everything'"):
        spec(policies=["encrypt-everything"])


def test_require_https_needs_a_domain_or_a_certificate() -> None:
    [v] = admit(spec(policies=["require-https"], strategy="vm"), IDENTITY, settings())
    assert v.field == "input.policy.https"
    assert "policy.https.domain" in v.reason and "policy.https.certificateArn" in v.reason
    assert (
        admit(
            spec(policies=["require-https"], strategy="vm"),
            IDENTITY,
            settings(https={"domain": "a.io"}),
        )
        == []
    )


# (cloud, strategy) -> the field admission names under require-https with no certificate
# settings; None: admitted (serverless is HTTPS anyway; auto decides without the
# strategies that need one; GKE is refused by the decision, which no certificate would
# help: tests/reconcile/test_https_unmet.py; an Azure vm's Application Gateway and AKS's
# application routing add-on need the platform's Key Vault certificate).
CERTIFICATE_DEMANDED = {
    ("aws", "vm"): "input.policy.https",
    ("aws", "kubernetes"): "input.policy.https",
    ("aws", "serverless"): None,
    ("aws", "auto"): None,
    ("gcp", "vm"): "input.policy.https.domain",
    ("gcp", "kubernetes"): "input.policy.https.domain",
    ("gcp", "serverless"): None,
    ("gcp", "auto"): None,
    ("azure", "vm"): "input.policy.https.keyVaultCertificate",
    ("azure", "kubernetes"): "input.policy.https.keyVaultCertificate",
    ("azure", "serverless"): None,
    ("azure", "auto"): None,
}


@pytest.mark.parametrize(("cloud", "strategy"), sorted(CERTIFICATE_DEMANDED))
def test_a_certificate_is_demanded_only_where_one_is_composed(cloud: str, strategy: str) -> None:
    """The fresh-user check of issue 19: serverless (Cloud Run, Lambda URL) was refused for
    want of a certificate it never uses."""
    s = spec(policies=["require-https"], strategy=strategy, cloudProvider=cloud)
    fields = [v.field for v in admit(s, IDENTITY, settings())]
    want = CERTIFICATE_DEMANDED[(cloud, strategy)]
    assert fields == ([want] if want else []), (cloud, strategy)
    # With the settings every strategy is admitted.
    full = settings(https={"domain": "apps.example.com", "keyVaultCertificate": KV_CERT})
    assert admit(s, IDENTITY, full) == [], (cloud, strategy)
    # Without the policy nothing is demanded.
    plain = spec(strategy=strategy, cloudProvider=cloud)
    assert admit(plain, IDENTITY, settings()) == []


KV_CERT = {
    "vaultId": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/platform/"
    "providers/Microsoft.KeyVault/vaults/acme-platform-kv",
    "name": "apps-wildcard",
}


def test_an_azure_vm_is_refused_naming_the_key_vault_certificate() -> None:
    s = spec(policies=["require-https"], strategy="vm", cloudProvider="azure")
    [v] = admit(s, IDENTITY, settings(https={"domain": "apps.example.com"}))
    assert v.field == "input.policy.https.keyVaultCertificate"
    assert "Application Gateway" in v.reason and "vaultId and name" in v.reason
    assert admit(s, IDENTITY, settings(https={"keyVaultCertificate": KV_CERT})) == []


def test_certificate_domain_is_per_deployment_and_bounded() -> None:
    assert certificate_domain(IDENTITY, "apps.example.com") == "flask-app.team-a.apps.example.com"
    long = IDENTITY.model_copy(update={"deployment_name": "a-very-long-deployment-name.v2"})
    host = certificate_domain(long, "apps.platform.internal.example.com")
    assert host.startswith("a-very-long-deployment-name-v2.team-a.")
    for strategy in ("auto", "vm", "kubernetes"):
        [v] = admit(
            spec(policies=["require-https"], strategy=strategy),
            long,
            settings(https={"domain": "apps.platform.internal.example.com"}),
        )
        assert v.field == "input.policy.https.domain" and "64" in v.reason
    # A Function URL needs no certificate.
    assert (
        admit(
            spec(policies=["require-https"], strategy="serverless"),
            long,
            settings(https={"domain": "apps.platform.internal.example.com"}),
        )
        == []
    )
    # A platform certificate needs no per-deployment name.
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/abc-123"
    assert (
        admit(
            spec(policies=["require-https"]),
            long,
            settings(https={"domain": "apps.platform.internal.example.com", "certificateArn": arn}),
        )
        == []
    )


def test_settings_reject_malformed_values() -> None:
    for bad in (
        {"https": {"domain": "Not A Domain"}},
        {"https": {"certificateArn": "arn:aws:iam::123456789012:role/x"}},
        {"monitoring": {"alarmTopicArn": "arn:aws:sqs:us-east-1:123456789012:q"}},
        {"minMonthlyBudget": 5},
        {"unknown": True},
    ):
        with pytest.raises(ValidationError):
            settings(**bad)


def test_required_cloud_provider_names_the_field() -> None:
    s = settings(requireCloudProvider=True)
    [v] = admit(spec(), IDENTITY, s)
    assert v.field == "spec.cloudProviderRef" and "policy.requireCloudProvider" in v.reason
    assert admit(spec(cloudProviderRef={"name": "aws-prod"}), IDENTITY, s) == []


@pytest.mark.parametrize(("length", "admitted"), [(63, True), (64, False), (80, False)])
def test_a_name_longer_than_a_label_value_is_refused_naming_it(length: int, admitted: bool) -> None:
    """Crossplane puts the composite's name in every composed resource's
    crossplane.io/composite label; the API server refuses a label value over 63."""
    who = IDENTITY.model_copy(update={"name": "a" * length})
    got = admit(spec(), who, settings())
    assert (got == []) == admitted
    if not admitted:
        [v] = got
        assert v.field == "metadata.name" and "crossplane.io/composite" in v.reason


@pytest.mark.parametrize(
    ("https", "field"),
    [
        ({}, "input.policy.https.keyVaultCertificate"),
        ({"domain": "apps.example.com"}, "input.policy.https.keyVaultCertificate"),
        ({"keyVaultCertificate": KV_CERT}, "input.policy.https.domain"),
    ],
    ids=["nothing", "no-certificate", "no-domain"],
)
def test_aks_under_require_https_names_what_its_certificate_lacks(
    https: dict[str, object], field: str
) -> None:
    """AKS's application routing add-on serves the platform's Key Vault certificate for
    <deployment>.<tenant>.<domain>: both are needed, and the refusal names what is not set."""
    s = spec(policies=["require-https"], strategy="kubernetes", cloudProvider="azure")
    (v,) = admit(s, IDENTITY, settings(https=https))
    assert v.field == field
    assert "require-https with strategy kubernetes on azure" in v.reason
    assert field in v.reason
