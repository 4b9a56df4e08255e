"""Pulling a platform registry's image on Azure with the deployment's own grant
(`azure.containerRegistries[].registryId`): a Container App stops carrying the platform's
shared pull identity once its own is granted, and AKS's kubelet gets AcrPull there."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from function.input import FunctionInput
from function.model import Strategy
from function.render.dispatch import render
from tests.render.test_render_azure import PULL_ID, SCOPES, SETTINGS, azure_ctx
from tests.support.crdcheck import assert_all_valid

REGISTRY_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/platform/providers/"
    "Microsoft.ContainerRegistry/registries/acmeapps"
)
OWN_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/team-a-flask/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/flask-pull"
)
READY = [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "True"}]


def _settings(registry_id: str | None) -> dict[str, Any]:
    s = copy.deepcopy(SETTINGS)
    if registry_id:
        s["azure"]["containerRegistries"][0]["registryId"] = registry_id
    return s


def _observe(out: dict[str, Any], **at: dict[str, Any]) -> dict[str, Any]:
    """Every desired resource observed Ready, with `at` as some components' atProvider."""
    seen = {}
    for name, body in out.items():
        b = copy.deepcopy(body)
        b["status"] = {"conditions": READY, "atProvider": at.get(name.replace("-", "_"), {})}
        seen[name] = b
    return seen


def _valid(out: dict[str, Any]) -> None:
    """Every body against ../shared/crds (named as Crossplane names composed resources)."""
    assert_all_valid(
        [{**b, "metadata": {**b["metadata"], "name": f"x-{n}"}} for n, b in out.items()]
    )


def _app(out: dict[str, Any]) -> dict[str, Any]:
    fp: dict[str, Any] = out["container-app"]["spec"]["forProvider"]
    return fp


@SCOPES
def test_a_container_app_switches_to_its_own_pull_identity_once_granted(
    namespaced: bool,
) -> None:
    c = azure_ctx(Strategy.SERVERLESS, namespaced, settings=_settings(REGISTRY_ID))
    first = render(c, {})
    assert "pull-identity" in first and "pull-grant" not in first
    assert _app(first)["registry"] == [{"server": "acmeapps.azurecr.io", "identity": PULL_ID}]
    assert any("platform's identity until its own" in n for n in c.notes)

    c = azure_ctx(Strategy.SERVERLESS, namespaced, settings=_settings(REGISTRY_ID))
    seen = _observe(first, pull_identity={"principalId": "p-1", "id": OWN_ID})
    second = render(c, seen)
    grant = second["pull-grant"]["spec"]["forProvider"]
    assert (grant["scope"], grant["roleDefinitionName"], grant["principalId"]) == (
        REGISTRY_ID,
        "AcrPull",
        "p-1",
    )
    # The grant exists but is not observed yet: the app keeps the platform's identity.
    assert _app(second)["identity"]["identityIds"] == [PULL_ID]

    c = azure_ctx(Strategy.SERVERLESS, namespaced, settings=_settings(REGISTRY_ID))
    seen = _observe(second, pull_identity={"principalId": "p-1", "id": OWN_ID})
    third = render(c, seen)
    assert _app(third)["identity"]["identityIds"] == [OWN_ID]
    assert _app(third)["registry"] == [{"server": "acmeapps.azurecr.io", "identity": OWN_ID}]
    assert PULL_ID not in str(third)
    _valid(third)


@SCOPES
def test_without_a_registry_id_the_platform_identity_pulls(namespaced: bool) -> None:
    out = render(azure_ctx(Strategy.SERVERLESS, namespaced), {})
    assert "pull-identity" not in out and "pull-grant" not in out
    assert _app(out)["identity"]["identityIds"] == [PULL_ID]


@SCOPES
def test_aks_grants_its_kubelet_acrpull_on_the_platform_registry(namespaced: bool) -> None:
    c = azure_ctx(Strategy.KUBERNETES, namespaced, settings=_settings(REGISTRY_ID))
    first = render(c, {})
    assert "kubelet-image-pull" not in first
    assert any("once the cluster's kubelet identity is observed" in n for n in c.notes)
    c = azure_ctx(Strategy.KUBERNETES, namespaced, settings=_settings(REGISTRY_ID))
    seen = _observe(first, aks_cluster={"kubeletIdentity": [{"objectId": "k-1"}]})
    out = render(c, seen)
    grant = out["kubelet-image-pull"]["spec"]["forProvider"]
    assert (grant["scope"], grant["roleDefinitionName"], grant["principalId"]) == (
        REGISTRY_ID,
        "AcrPull",
        "k-1",
    )
    assert not any("needs AcrPull" in n for n in c.notes)
    _valid(out)


def test_a_registry_id_is_not_a_decision_input() -> None:
    """Adding it must not move the inputs hash of existing pins (re-deciding them all)."""
    plain = FunctionInput.model_validate(_settings(None)).for_cloud("azure")
    with_id = FunctionInput.model_validate(_settings(REGISTRY_ID)).for_cloud("azure")
    assert plain.decision_fingerprint() == with_id.decision_fingerprint()


def test_a_registry_id_must_be_a_container_registry() -> None:
    with pytest.raises(ValueError, match="registryId"):
        FunctionInput.model_validate(_settings(PULL_ID))
