"""require-https is never ignored (function/policy/https.py), for every cloud and strategy
in both XRD scopes.

Found by a fresh-user check of issue 19: GKE and AKS published the app on plain HTTP port
80 under require-https with phase Running and no result, `strategy: auto` on Azure picked
AKS for it, and adding the policy to a running Azure vm migrated it to plain-HTTP AKS. A
strategy that cannot serve only HTTPS is now "not possible" when deciding, an explicit one
is refused naming spec.policies, and a running deployment that cannot meet a policy added
later gets a fatal result (Crossplane keeps every composed resource) or moves to a
strategy that meets it, never to one that does not.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from function.model import Strategy
from function.policy.https import https_problem, never_meets
from function.policy.settings import HttpsSettings
from tests.support import inproc as P
from tests.support.strategies import XRS, xr_for

VAULT_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/platform/providers/"
    "Microsoft.KeyVault/vaults/acme-platform-kv"
)
# Every cloud's certificate setting: a domain (AWS, GCP), the Key Vault certificate (Azure).
HTTPS_INPUT = {
    "policy": {
        "https": {
            "domain": "apps.example.com",
            "keyVaultCertificate": {"vaultId": VAULT_ID, "name": "apps-wildcard"},
        }
    }
}


def _cloud(key: str) -> str:
    return next((c for c in ("gcp", "azure") if f"-{c}-" in key), "aws")


NEVER = sorted(k for k, (_, s) in XRS.items() if never_meets(_cloud(k), Strategy(s)))


def with_https(xr: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(xr)
    policies = out["spec"].get("policies", [])
    out["spec"]["policies"] = (
        [*policies, "require-https"] if "require-https" not in policies else policies
    )
    return out


def test_the_kind_is_covered() -> None:
    """Nothing is "never" any more: not on AWS, GCP (GKE serves HTTPS through an Ingress)
    or Azure (a vm has its Application Gateway, AKS its application routing add-on:
    test_require_https_added_to_a_running_aks_deployment)."""
    assert NEVER == []


@pytest.mark.parametrize("key", sorted(XRS))
async def test_an_explicit_strategy_under_require_https(key: str, repos: Path) -> None:
    """A strategy that serves only HTTPS deploys; one that cannot is refused before
    anything is composed, naming the policy and why."""
    xr = with_https(xr_for(key))
    inp = P.function_input(P.scope_of(xr), repos, **HTTPS_INPUT)
    out = await P.reconcile(xr, {}, inp)
    strategy = Strategy(XRS[key][1])
    if key in NEVER:
        assert not out.desired, key
        assert out.status["phase"] == "Failed"
        why = never_meets(_cloud(key), strategy)
        assert why is not None and why in out.status["message"]
        assert f"spec.strategy {strategy.value}: require-https" in out.status["message"]
    else:
        assert not out.fatal, out.results
        assert out.desired and out.status["strategy"] == strategy.value, out.status


@pytest.mark.parametrize("key", NEVER)
async def test_require_https_added_to_a_running_deployment(key: str, repos: Path) -> None:
    """Explicit strategy: a fatal result naming spec.policies, so Crossplane changes and
    deletes nothing. Strategy auto (the Azure vm of the fresh-user check): a strategy that
    meets the policy, or the same fatal result; never one that cannot meet it."""
    xr = xr_for(key)
    inp = P.function_input(P.scope_of(xr), repos, **HTTPS_INPUT)
    _, running, observed = await P.converge(xr, inp)
    assert running["status"]["phase"] == "Running"

    pinned = with_https(running)
    out = await P.reconcile(pinned, observed, inp)
    assert out.fatal, out.status
    [(severity, message)] = out.results
    assert severity == "Fatal"
    assert message.startswith("invalid spec.policies: require-https cannot be met by the ")
    assert "Nothing composed is changed or deleted" in message

    auto = copy.deepcopy(pinned)
    auto["spec"]["strategy"] = "auto"
    for _ in range(3):  # a new decision may take a reconcile or two (analysis)
        out = await P.reconcile(auto, observed, inp)
        if out.fatal or out.status.get("phase") != "Analyzing":
            break
    if out.fatal:
        assert "require-https" in out.results[-1][1]
        return
    assert set(observed) <= set(out.desired), "a decision change keeps what runs until ready"
    chosen = Strategy(out.status["strategy"])
    spec = auto["spec"]
    cloud = spec.get("cloudProvider", "aws")
    https = HttpsSettings.model_validate(HTTPS_INPUT["policy"]["https"])
    assert https_problem(cloud, chosen, spec["policies"], https) is None


@pytest.mark.parametrize("key", sorted(XRS))
async def test_auto_never_picks_a_strategy_that_cannot_meet_require_https(
    key: str, repos: Path
) -> None:
    """Whatever the workload and image, the decision and its alternatives say which
    strategies cannot meet the policy, and the chosen one can."""
    xr = with_https(xr_for(key))
    xr["spec"]["strategy"] = "auto"
    xr["spec"]["prompt"] = "an internal tool, a few hundred requests a day"
    inp = P.function_input(P.scope_of(xr), repos, **HTTPS_INPUT)
    out = await P.reconcile(xr, {}, inp)
    cloud = _cloud(key)
    if out.status.get("phase") == "Failed":
        for s in Strategy:
            if (why := never_meets(cloud, s)) is not None:
                assert f"{s.value}: {why}" in out.status["message"]
        return
    assert not out.fatal, out.results
    chosen = Strategy(out.status["strategy"])
    assert never_meets(cloud, chosen) is None
    verdicts = {a["strategy"]: a["reason"] for a in out.status.get("alternativeStrategies", [])}
    for s in Strategy:
        if (why := never_meets(cloud, s)) is not None:
            assert verdicts[s.value] == f"not possible: {why}"


@pytest.mark.parametrize("scope", ["legacy", "namespaced"])
async def test_require_https_added_to_a_running_aks_deployment(scope: str, repos: Path) -> None:
    """AKS meets the policy once it is added: the same explicit strategy is decided again,
    the application routing add-on serves the platform's Key Vault certificate for the
    deployment's host through an Ingress, the app's Service becomes ClusterIP, and the
    endpoint is https://<host>; nothing that ran is dropped on the way."""
    xr = xr_for(f"{scope}-azure-kubernetes")
    xr["spec"]["policies"] = [p for p in xr["spec"].get("policies", []) if p != "require-https"]
    inp = P.function_input(P.scope_of(xr), repos, **HTTPS_INPUT)
    _, running, observed = await P.converge(xr, inp)
    assert running["status"]["phase"] == "Running"
    assert running["status"]["endpoints"][0]["url"].startswith("http://")

    out, secured, now = await P.converge(with_https(running), inp, keep=None)
    assert not out.fatal, out.results
    assert set(observed) <= set(now), "nothing that ran was dropped"
    assert secured["status"]["strategy"] == "kubernetes"
    assert secured["status"]["phase"] == "Running", secured["status"]["message"]
    assert "approuting-key-vault-read" in out.desired
    ingress = [n for n in out.desired if n.endswith("-ingress")]
    assert len(ingress) == 1
    manifest = out.desired[ingress[0]]["spec"]["forProvider"]["manifest"]
    host = manifest["spec"]["rules"][0]["host"]
    assert host.endswith(".apps.example.com") and manifest["spec"]["tls"][0]["hosts"] == [host]
    assert secured["status"]["endpoints"][0]["url"] == f"https://{host}"
    (svc,) = [n for n in out.desired if n.startswith("k8s-") and n.endswith("-service")]
    assert out.desired[svc]["spec"]["forProvider"]["manifest"]["spec"]["type"] == "ClusterIP"
