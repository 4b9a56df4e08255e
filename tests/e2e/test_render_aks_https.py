"""`crossplane render` of the AKS require-https examples (examples/aks-https, both scopes):
the application routing add-on's NGINX serves the platform's Key Vault certificate for
<deployment>.<tenant>.<domain>, the app's Service is ClusterIP behind an Ingress, and the
endpoint is https://<host> once the Ingress has an address, read from the observed objects
through the real gRPC function (tests/kube/make_examples.py writes the examples). They
render with the shipped composition whose input adds the platform's `policy.https`
(`AKS_HTTPS_PLATFORM`), as a platform that serves HTTPS on AKS sets it."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from examples import render as R
from tests.kube.make_examples import AKS_HTTPS_PLATFORM
from tests.support.kube_observed import INGRESS_IP
from tests.support.render_env import Env, assert_resources_valid, split

pytestmark = pytest.mark.e2e
SCOPES = ["legacy", "namespaced"]
SVC = "k8s-express-tls-service"
ING = "k8s-express-tls-ingress"
GRANT = "approuting-key-vault-read"
TENANT = {"legacy": "team-a", "namespaced": "team-b"}


def _render(env: Env, scope: str, stage: str) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    ex = R.EXAMPLES / "aks-https" / scope
    shipped = yaml.safe_load((R.REPO_ROOT / "compositions" / f"{scope}.yaml").read_text())
    policy = {**(shipped["spec"]["pipeline"][0]["input"].get("policy") or {}), **AKS_HTTPS_PLATFORM}
    xr, resources, results = split(
        env.render(
            ex / f"xr-azure-https-{stage}.yaml",
            scope,
            ex / f"observed-azure-https-{stage}.yaml",
            env.composition(scope, policy=policy),
        )
    )
    assert not [r for r in results if r.get("severity") == "SEVERITY_FATAL"], results
    assert not any("decided revision" in r["message"] for r in results)  # the pin is reused
    assert_resources_valid(resources)
    return xr, resources, results


def _manifest(resources: dict[str, Any], name: str) -> dict[str, Any]:
    m: dict[str, Any] = resources[name]["spec"]["forProvider"]["manifest"]
    return m


@pytest.mark.parametrize("scope", SCOPES)
def test_provisioning_on_aks_under_require_https(env: Env, scope: str) -> None:
    xr, resources, _ = _render(env, scope, "provisioning")
    status = xr["status"]
    assert status["phase"] == "Provisioning"
    assert status["strategy"] == "kubernetes"
    # Nothing answers yet: the Ingress has no address, the app's Service no load balancer.
    assert all(e["type"] != "http" for e in status.get("endpoints") or []), status["endpoints"]
    cluster = resources["aks-cluster"]["spec"]["forProvider"]
    assert cluster["webAppRouting"] == {"dnsZoneIds": [], "defaultNginxController": "External"}
    assert cluster["keyVaultSecretsProvider"] == {"secretRotationEnabled": True}
    grant = resources[GRANT]["spec"]["forProvider"]
    assert grant["roleDefinitionName"] == "Key Vault Secrets User"
    assert grant["scope"].endswith("/vaults/acme-certs/secrets/apps-wildcard")
    assert _manifest(resources, SVC)["spec"]["type"] == "ClusterIP"
    rule = resources["nsg-allow-public-service"]["spec"]["forProvider"]
    assert rule["destinationPortRanges"] == ["80", "443"]


@pytest.mark.parametrize("scope", SCOPES)
def test_running_on_aks_serves_https_for_the_deployments_host(env: Env, scope: str) -> None:
    xr, resources, results = _render(env, scope, "running")
    status = xr["status"]
    assert status["phase"] == "Running", status["message"]
    host = f"express-tls.{TENANT[scope]}.apps.example.com"
    assert status["endpoints"][0] == {
        "name": "express-tls",
        "type": "http",
        "url": f"https://{host}",
    }
    ingress = _manifest(resources, ING)
    assert ingress["spec"]["ingressClassName"] == "webapprouting.kubernetes.azure.com"
    assert ingress["metadata"]["annotations"]["kubernetes.azure.com/tls-cert-keyvault-uri"] == (
        "https://acme-certs.vault.azure.net/certificates/apps-wildcard"
    )
    assert ingress["spec"]["tls"] == [{"hosts": [host], "secretName": "keyvault-express-tls"}]
    assert ingress["spec"]["rules"][0]["host"] == host
    # The DNS record the platform must create, named in a result.
    assert any(f"DNS A record {host} -> {INGRESS_IP}" in r["message"] for r in results)
