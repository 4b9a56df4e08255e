"""require-https on AKS (render/azure/approuting.py): the application routing add-on's
NGINX serves the platform's Key Vault certificate for <deployment>.<tenant>.<domain>, the
app's Service is ClusterIP behind an Ingress, the add-on's identity reads only the
certificate's secret, the subnet admits 443 and 80 to NGINX, and the endpoint is
https://<host> once the Ingress has an address. Both XRD scopes; every manifest validated
against ../shared/crds."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from function.model import KubernetesParams, Strategy
from function.policy.https import render_refusal
from function.render.azure import approuting
from function.render.azure.kubernetes import AKS, ALLOW_SERVICE
from function.render.common import RenderContext, UnsupportedTarget
from function.render.dispatch import render
from function.status import endpoints
from tests.kube.helpers import READY, observe
from tests.render.test_render_azure import azure_ctx
from tests.support.crdcheck import assert_all_valid
from tests.support.inproc import observed_from
from tests.support.kube_observed import INGRESS_IP

SCOPES = pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
IMAGE = "acmeapps.azurecr.io/flask-app:1.4.2"
VAULT_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/platform"
    "/providers/Microsoft.KeyVault/vaults/acme-certs"
)
CERT = {"vaultId": VAULT_ID, "name": "apps-wildcard"}
HOST = "flask-app.team-a.apps.example.com"
DEP = "k8s-flask-app-deployment"
SVC = "k8s-flask-app-service"
ING = "k8s-flask-app-ingress"
ADDON_OBJECT_ID = "66666666-6666-6666-6666-666666666666"


def _ctx(namespaced: bool, https: dict[str, Any] | None = None) -> RenderContext:
    settings = {
        "policy": {"https": {"domain": "apps.example.com", "keyVaultCertificate": CERT}}
        if https is None
        else {"https": https}
    }
    c = azure_ctx(
        Strategy.KUBERNETES,
        namespaced,
        policies=("require-https",),
        settings=settings,
        image=IMAGE,
    )
    return dataclasses.replace(c, policy=c.settings.policy)


def _named(out: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**b, "metadata": {**b["metadata"], "name": b["metadata"].get("name") or f"x-{n}"}}
        for n, b in out.items()
    ]


def _manifest(out: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    m: dict[str, Any] = out[name]["spec"]["forProvider"]["manifest"]
    return m


def _cluster_ready(out: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The cluster as AKS reports it once the add-on is on (its identity included)."""
    return observed_from({AKS: out[AKS]})


def _grant_ready(out: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return observed_from({approuting.ADDON_GRANT: out[approuting.ADDON_GRANT]})


def _steps(c: RenderContext) -> list[dict[str, dict[str, Any]]]:
    """The render at each step: nothing observed; the cluster Ready; the grant Ready; the
    workload observed (Deployment available, Ingress with an address)."""
    first = render(c, {})
    cluster = _cluster_ready(first)
    second = render(c, cluster)
    granted = cluster | _grant_ready(second)
    third = render(c, granted)
    running = granted | observe(third, [DEP, SVC, ING])
    fourth = render(c, running)
    return [first, second, third, fourth, running]


@SCOPES
def test_the_add_on_the_grant_then_the_ingress(namespaced: bool) -> None:
    c = _ctx(namespaced)
    first, second, third, fourth, running = _steps(c)
    fp = first[AKS]["spec"]["forProvider"]
    assert fp["webAppRouting"] == {"dnsZoneIds": [], "defaultNginxController": "External"}
    assert fp["keyVaultSecretsProvider"] == {"secretRotationEnabled": True}
    # The grant waits for the add-on's identity, named in a note.
    assert approuting.ADDON_GRANT not in first
    grant = second[approuting.ADDON_GRANT]["spec"]["forProvider"]
    assert grant["principalId"] == ADDON_OBJECT_ID
    assert grant["roleDefinitionName"] == "Key Vault Secrets User"
    assert grant["scope"] == f"{VAULT_ID}/secrets/apps-wildcard"
    # The Ingress waits for the grant; the app's Service is ClusterIP from the start.
    assert ING not in second
    c.notes.clear()
    assert ING not in render(c, _cluster_ready(first))
    assert any(f"Ingress waits for {approuting.ADDON_GRANT} Ready" in n for n in c.notes)
    c.notes.clear()
    render(c, {})
    assert any(f"{approuting.ADDON_GRANT} (Key Vault Secrets User" in n for n in c.notes)
    c.notes.clear()
    svc = _manifest(second, SVC)
    assert svc["spec"]["type"] == "ClusterIP"
    assert "annotations" not in svc["metadata"]
    ing = _manifest(third, ING)
    assert ing["apiVersion"] == "networking.k8s.io/v1" and ing["kind"] == "Ingress"
    assert ing["spec"]["ingressClassName"] == "webapprouting.kubernetes.azure.com"
    notes = ing["metadata"]["annotations"]
    assert notes[approuting.KEYVAULT_URI] == (
        "https://acme-certs.vault.azure.net/certificates/apps-wildcard"
    )
    assert notes[approuting.SSL_REDIRECT] == "true"
    assert ing["spec"]["tls"] == [{"hosts": [HOST], "secretName": "keyvault-flask-app"}]
    assert ing["metadata"]["name"] == "flask-app"
    (rule,) = ing["spec"]["rules"]
    assert rule["host"] == HOST
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == svc["metadata"]["name"]
    assert backend["port"] == {"name": svc["spec"]["ports"][0]["name"]}
    # Ready once NGINX publishes an address; the endpoint is the certificate's host.
    assert "loadBalancer" in fourth[ING]["spec"]["readiness"]["celQuery"]
    assert endpoints(running)[0] == {"name": "flask-app", "type": "http", "url": f"https://{HOST}"}
    render(c, running)
    assert any(f"DNS A record {HOST} -> {INGRESS_IP}" in n for n in c.notes)
    for out in (first, second, third, fourth):
        assert_all_valid(_named(out))


@SCOPES
def test_the_subnet_admits_https_and_the_redirect_to_nginx(namespaced: bool) -> None:
    out = render(_ctx(namespaced), {})
    rule = out[ALLOW_SERVICE]["spec"]["forProvider"]
    assert rule["destinationPortRanges"] == ["80", "443"]
    assert "destinationPortRange" not in rule
    assert rule["sourceAddressPrefix"] == "Internet"
    plain = azure_ctx(Strategy.KUBERNETES, namespaced, image=IMAGE)
    assert render(plain, {})[ALLOW_SERVICE]["spec"]["forProvider"]["destinationPortRange"] == "80"


def test_a_blocked_port_is_denied_unless_nginx_serves_it() -> None:
    c = _ctx(False)
    settings = c.settings.model_copy(update={"blocked_ports": [22, 80, 443, 2375]})
    out = render(dataclasses.replace(c, settings=settings), {})
    denied = out["nsg-deny-blocked-ports"]["spec"]["forProvider"]["destinationPortRanges"]
    assert denied == ["22", "2375"]


def test_without_the_policy_nothing_of_the_add_on_is_composed() -> None:
    c = azure_ctx(Strategy.KUBERNETES, False, image=IMAGE)
    out = render(c, {})
    assert "webAppRouting" not in out[AKS]["spec"]["forProvider"]
    assert approuting.ADDON_GRANT not in out
    app = render(c, observed_from({AKS: out[AKS]}))
    assert _manifest(app, SVC)["spec"]["type"] == "LoadBalancer"
    assert ING not in app


@pytest.mark.parametrize(
    ("https", "field"),
    [
        ({"domain": "apps.example.com"}, "input.policy.https.keyVaultCertificate"),
        ({"keyVaultCertificate": CERT}, "input.policy.https.domain"),
    ],
    ids=["no-certificate", "no-domain"],
)
def test_a_pin_without_the_certificate_or_domain_is_refused_naming_it(
    https: dict[str, Any], field: str
) -> None:
    with pytest.raises(UnsupportedTarget) as e:
        render(_ctx(False, https), {})
    assert field in str(e.value)
    assert "nothing composed is changed or deleted" in str(e.value)


def test_aks_is_no_longer_refused_at_render() -> None:
    assert render_refusal("azure", Strategy.KUBERNETES) is None
    assert render_refusal("azure", Strategy.VM) is None  # its Application Gateway


def test_the_grant_follows_a_lost_cluster_status_from_the_pin() -> None:
    """The add-on's identity is remembered (lastknown READ_AT_PROVIDER), so a cluster whose
    status.atProvider is lost keeps its grant (function/lastknown.py)."""
    from function.lastknown import READ_AT_PROVIDER

    assert "webAppRouting" in READ_AT_PROVIDER[AKS]
    out = render(_ctx(False), {})
    at = observed_from({AKS: out[AKS]})[AKS]["status"]["atProvider"]
    assert approuting.addon_object_id({AKS: {"status": {"atProvider": at}}}, AKS) == (
        ADDON_OBJECT_ID
    )
    legacy_list = {"webAppRouting": [{"webAppRoutingIdentity": [{"objectId": "x"}]}]}
    assert approuting.addon_object_id({AKS: {"status": {"atProvider": legacy_list}}}, AKS) == "x"
    assert approuting.addon_object_id({AKS: {"status": {"conditions": READY}}}, AKS) is None


def test_the_app_leaves_room_on_the_nodes_for_the_add_ons_nginx() -> None:
    """Two NGINX replicas of 500m and 127 MiB share the nodes (aks-app-routing-operator's
    requests): the app's replicas request what is left, so both schedule; the decision
    never picks a node type they cannot share."""
    from function.decide import capacity as cap
    from function.render.kube.sizing import node_size, pod_size

    assert cap.ingress_controller_share(1) == (1.0, 2 * 127 / 1024)
    assert cap.ingress_controller_share(2) == (0.5, 127 / 1024)
    assert cap.ingress_controller_share(3) == (0.5, 127 / 1024)
    c = _ctx(False)
    k = c.decision.kubernetes
    assert k is not None
    _, _, third, _, _ = _steps(c)
    dep = _manifest(third, DEP)["spec"]["template"]["spec"]["containers"][0]["resources"]
    size = pod_size(k, c.analysis.memory_gib, 1, cap.ingress_controller_share(k.min_nodes))
    assert dep["requests"]["cpu"] == f"{size.cpu_millis}m"
    # On one Standard_B2s (2 vCPU, 4 GiB; the AKS examples' node), 1 GiB replicas: three a
    # node at 550m each without NGINX; two at 350m beside both NGINX replicas.
    b2s = KubernetesParams(
        node_instance_type="Standard_B2s", min_nodes=1, max_nodes=2, desired_nodes=1
    )
    share = cap.ingress_controller_share(1)
    assert (pod_size(b2s, 1.0, 1).cpu_millis, pod_size(b2s, 1.0, 1, share).cpu_millis) == (
        550,
        350,
    )
    vcpu, _ = node_size("Standard_B2s")
    assert 2 * 350 + share[0] * 1000 <= (vcpu - cap.NODE_RESERVED_VCPU) * 1000
    # A 1-vCPU node cannot hold both NGINX replicas next to a replica of the app.
    need = cap.Need(8, 5, 15, 0.04, 0.12, 0.5, 0.6, False)
    assert cap.size_nodes(need, 1, "Standard_B1ms", 1, 2.0, 1) is not None
    assert cap.size_nodes(need, 1, "Standard_B1ms", 1, 2.0, 1, None, (1.0, 0.25)) is None
