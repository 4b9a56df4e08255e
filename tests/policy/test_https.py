"""require-https per cloud and strategy (function/policy/https.py): the decision engine and
the check of an LLM's answer leave out exactly what cannot meet it, and under
`strategy: auto` a strategy whose certificate has no setting in the input is "not possible"
with a reason naming the field, instead of the whole deployment being refused."""

from __future__ import annotations

from typing import Any

import pytest

from function.decide.rules import DecisionError, RulesEngine
from function.decide.validate import Bounds, viable_options
from function.input import FunctionInput
from function.model import Strategy
from function.policy.https import CERTIFICATE_FIELD, https_problem, never_meets
from function.policy.settings import HttpsSettings
from function.pricing.catalog import load_catalog
from function.pricing.estimate import UsageAssumptions
from function.xr import AppSpec
from tests.multicloud.test_seam import profile

CLOUDS = ("aws", "gcp", "azure")
IMAGE = {
    "aws": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1",
    "gcp": "europe-west1-docker.pkg.dev/acme-prod/apps/app:1",
    "azure": "acmeapps.azurecr.io/app:1",
}
REGION = {"aws": "us-east-1", "gcp": "europe-west1", "azure": "eastus"}
# Low, stated traffic: serverless is a candidate on every cloud.
PROMPT = "an internal tool, a few hundred requests a day"
VAULT_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/platform/providers/"
    "Microsoft.KeyVault/vaults/acme-platform-kv"
)
# What each cloud's certificate comes from, when the input has it.
CONFIGURED: dict[str, dict[str, Any]] = {
    "aws": {"domain": "apps.example.com"},
    "gcp": {"domain": "apps.example.com"},
    "azure": {
        "domain": "apps.example.com",  # AKS's host (its add-on serves the certificate for it)
        "keyVaultCertificate": {"vaultId": VAULT_ID, "name": "apps-wildcard"},
    },
}
NONE = HttpsSettings()


def _settings(cloud: str, https: dict[str, Any]) -> FunctionInput:
    return FunctionInput.model_validate({"policy": {"https": https}}).for_cloud(cloud)


def _spec(
    cloud: str, strategy: str = "auto", policies: tuple[str, ...] = ("require-https",)
) -> AppSpec:
    return AppSpec.model_validate(
        {
            "repository": {"url": "https://github.com/acme/app"},
            "cloudProvider": cloud,
            "region": REGION[cloud],
            "image": IMAGE[cloud],
            "prompt": PROMPT,
            "strategy": strategy,
            "policies": list(policies),
        }
    )


def test_the_table() -> None:
    """Serverless always meets it; nothing is "never" any more: an Azure vm does with the
    platform's Key Vault certificate (an Application Gateway), AKS with it and a domain (the
    application routing add-on), GKE with a Google-managed certificate for
    input.policy.https.domain (an Ingress), like a GCP vm."""
    never = {(c, s) for c in CLOUDS for s in Strategy if never_meets(c, s)}
    assert never == set()
    assert set(CERTIFICATE_FIELD) == {
        ("aws", Strategy.VM),
        ("aws", Strategy.KUBERNETES),
        ("gcp", Strategy.VM),
        ("gcp", Strategy.KUBERNETES),
        ("azure", Strategy.VM),
        ("azure", Strategy.KUBERNETES),
    }
    assert CERTIFICATE_FIELD[("azure", Strategy.VM)] == "input.policy.https.keyVaultCertificate"
    assert CERTIFICATE_FIELD[("gcp", Strategy.KUBERNETES)] == "input.policy.https.domain"
    gke = https_problem("gcp", Strategy.KUBERNETES, ["require-https"], NONE)
    assert gke is not None and "input.policy.https.domain" in gke
    domain = HttpsSettings.model_validate({"domain": "a.example"})
    assert https_problem("gcp", Strategy.KUBERNETES, ["require-https"], domain) is None
    for c in CLOUDS:
        assert https_problem(c, Strategy.SERVERLESS, ["require-https"], NONE) is None
        for s in Strategy:
            assert https_problem(c, s, [], NONE) is None


def test_an_azure_vm_needs_the_key_vault_certificate() -> None:
    why = https_problem("azure", Strategy.VM, ["require-https"], NONE)
    assert why is not None and "input.policy.https.keyVaultCertificate" in why
    # A domain alone is no certificate on Azure (nothing issues one there).
    domain_only = HttpsSettings.model_validate({"domain": "apps.example.com"})
    assert https_problem("azure", Strategy.VM, ["require-https"], domain_only) == why
    cert = HttpsSettings.model_validate(CONFIGURED["azure"])
    assert https_problem("azure", Strategy.VM, ["require-https"], cert) is None


@pytest.mark.parametrize("configured", [True, False], ids=["certificate", "no-certificate"])
@pytest.mark.parametrize("cloud", CLOUDS)
def test_auto_leaves_out_what_cannot_meet_require_https(cloud: str, configured: bool) -> None:
    https = CONFIGURED[cloud] if configured else {}
    settings = _settings(cloud, https)
    spec = _spec(cloud)
    catalog = load_catalog()
    kb = RulesEngine(settings, catalog, UsageAssumptions()).decide(profile(), spec)
    unmet = {
        s: why
        for s in Strategy
        if (why := https_problem(cloud, s, ["require-https"], settings.policy.https))
    }
    assert kb.decision.strategy not in unmet
    verdicts = {a.strategy: a.reason for a in kb.decision.alternatives}
    for s, why in unmet.items():
        assert verdicts[s] == f"not possible: {why}", (cloud, s)
        if s in [k[1] for k in CERTIFICATE_FIELD if k[0] == cloud] and not configured:
            assert CERTIFICATE_FIELD[(cloud, s)] in why
    # The LLM is offered (and held to) the same strategies.
    b = Bounds(
        settings, spec, catalog, UsageAssumptions(), profile(), kb.decision, viable_options(kb)
    )
    assert set(b.allowed_strategies()) == set(Strategy) - set(unmet)
    # Without the policy nothing is left out for HTTPS.
    plain = RulesEngine(settings, catalog, UsageAssumptions()).decide(
        profile(), _spec(cloud, policies=())
    )
    assert not any(
        a.reason.startswith("not possible: require-https") for a in plain.decision.alternatives
    )


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("strategy", list(Strategy))
def test_an_explicit_strategy_that_cannot_meet_it_is_refused(
    cloud: str, strategy: Strategy
) -> None:
    settings = _settings(cloud, CONFIGURED[cloud])
    engine = RulesEngine(settings, load_catalog(), UsageAssumptions())
    spec = _spec(cloud, strategy.value)
    why = never_meets(cloud, strategy)
    if why is None:
        assert engine.decide(profile(), spec).decision.strategy is strategy
        return
    with pytest.raises(DecisionError) as e:
        engine.decide(profile(), spec)
    assert str(e.value) == f"spec.strategy {strategy.value}: {why}"


def test_gke_under_require_https_needs_the_domain_and_only_the_domain() -> None:
    """GKE serves HTTPS through an Ingress with a Google-managed certificate: with
    input.policy.https.domain the decision keeps an explicit kubernetes; without it the
    strategy is refused naming that field (auto: "not possible" for the same reason)."""
    catalog = load_catalog()
    spec = _spec("gcp", Strategy.KUBERNETES.value)
    with_domain = RulesEngine(_settings("gcp", {"domain": "apps.example.com"}), catalog,
                              UsageAssumptions())  # fmt: skip
    assert with_domain.decide(profile(), spec).decision.strategy is Strategy.KUBERNETES
    without = RulesEngine(_settings("gcp", {}), catalog, UsageAssumptions())
    with pytest.raises(DecisionError, match=r"input\.policy\.https\.domain"):
        without.decide(profile(), spec)
    auto = without.decide(profile(), _spec("gcp")).decision
    verdicts = {a.strategy: a.reason for a in auto.alternatives}
    assert auto.strategy is not Strategy.KUBERNETES
    assert "input.policy.https.domain" in verdicts[Strategy.KUBERNETES]


KV_CERT = {"vaultId": VAULT_ID, "name": "apps-wildcard"}


@pytest.mark.parametrize(
    ("https", "missing"),
    [
        ({}, ["input.policy.https.keyVaultCertificate", "input.policy.https.domain"]),
        ({"domain": "apps.example.com"}, ["input.policy.https.keyVaultCertificate"]),
        ({"keyVaultCertificate": KV_CERT}, ["input.policy.https.domain"]),
        ({"domain": "apps.example.com", "keyVaultCertificate": KV_CERT}, []),
    ],
    ids=["nothing", "no-certificate", "no-domain", "both"],
)
def test_aks_needs_the_key_vault_certificate_and_the_domain(
    https: dict[str, Any], missing: list[str]
) -> None:
    why = https_problem(
        "azure", Strategy.KUBERNETES, ["require-https"], HttpsSettings.model_validate(https)
    )
    if not missing:
        assert why is None
        return
    assert why is not None and why.startswith("require-https: AKS's application routing")
    assert all(field in why for field in missing)
    for field in ("input.policy.https.keyVaultCertificate", "input.policy.https.domain"):
        assert (field in why) is (field in missing)
