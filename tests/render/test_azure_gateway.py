"""require-https on the Azure vm: an Application Gateway (render/azure/gateway.py) serves
HTTPS with the platform's Key Vault certificate, answers HTTP with a redirect only, and the
instances admit the app port from the gateway's subnet only; each step waits for the
observed ids it names, nothing that exists is ever left out, and every manifest is valid
against the provider CRDs, in both XRD scopes."""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
from typing import Any

import pytest

from function.clouds import gateway_capacity
from function.model import Strategy, VmParams
from function.policy.https import AZURE_VM_NO_HTTPS, never_meets, render_refusal
from function.render.azure.gateway import gateway_cidr
from function.render.azure.network import subnet_cidr
from function.render.common import RenderContext, UnsupportedTarget
from function.render.dispatch import render
from function.status import Phase, endpoints
from function.workload import workload_phase
from tests.render.test_render_azure import FULL_OBSERVED, SCOPES, SETTINGS, azure_ctx
from tests.support.crdcheck import assert_all_valid

VAULT_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/platform/providers/"
    "Microsoft.KeyVault/vaults/acme-platform-kv"
)
CERT = {"vaultId": VAULT_ID, "name": "apps-wildcard"}
SECRET_ID = "https://acme-platform-kv.vault.azure.net/secrets/apps-wildcard"
HTTPS = SETTINGS | {"policy": {"https": {"keyVaultCertificate": CERT}}}
HTTPS_DOMAIN = SETTINGS | {
    "policy": {"https": {"keyVaultCertificate": CERT, "domain": "apps.example.com"}}
}
POLICIES = ("require-https",)
GW_ID = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/applicationGateways/agw"
POOL_ID = f"{GW_ID}/backendAddressPools/app"
READY = {"conditions": [{"type": "Ready", "status": "True"}]}
FQDN = "team-a-flask-app-12345678.westeurope.cloudapp.azure.com"


def _ctx(
    namespaced: bool,
    settings: dict[str, Any] = HTTPS,
    policies: tuple[str, ...] = POLICIES,
) -> RenderContext:
    """As the reconcile builds it: the input's policy settings in ctx.policy."""
    c = azure_ctx(Strategy.VM, namespaced, policies=policies, settings=settings)
    return dataclasses.replace(c, policy=c.settings.policy)


def _identity() -> dict[str, Any]:
    return {
        "status": {
            "atProvider": {
                "id": "/subscriptions/s/resourceGroups/g/x/gateway-identity",
                "principalId": "11111111-2222-3333-4444-555555555555",
            }
        }
    }


def _observed(step: str) -> dict[str, dict[str, Any]]:
    """What the provider reports at each step of a first deployment."""
    out: dict[str, dict[str, Any]] = {
        k: v for k, v in FULL_OBSERVED.items() if k not in ("vm-scale-set",)
    }
    if step == "start":
        return out
    out["gateway-identity"] = _identity()
    if step == "identity":
        return out
    out["gateway-certificate-read"] = {"status": {"atProvider": {"id": "ra"}} | READY}
    if step == "granted":
        return out
    out["app-gateway"] = {
        "status": {
            "atProvider": {"id": GW_ID, "backendAddressPool": [{"name": "app", "id": POOL_ID}]}
        }
    }
    out["gateway-public-ip"] = {
        "status": {"atProvider": {"fqdn": FQDN, "ipAddress": "20.1.2.3"}} | READY
    }
    if step == "gateway":
        return out
    out["app-gateway"] = {"status": out["app-gateway"]["status"] | READY}
    out["vm-scale-set"] = FULL_OBSERVED["vm-scale-set"]
    return out


def _valid(out: dict[str, dict[str, Any]]) -> None:
    assert_all_valid(
        [{**b, "metadata": {**b["metadata"], "name": f"x-{n}"}} for n, b in out.items()]
    )


def test_the_azure_vm_meets_require_https_now() -> None:
    assert never_meets("azure", Strategy.VM) is None
    assert render_refusal("azure", Strategy.VM) is None
    # Pins made before quote the old verdict: the text stays importable and unchanged.
    assert AZURE_VM_NO_HTTPS.startswith("require-https: an Azure load balancer")


@SCOPES
@pytest.mark.parametrize("step", ["start", "identity", "granted", "gateway", "running"])
@pytest.mark.parametrize("policies", [POLICIES, (*POLICIES, "enable-monitoring")])
def test_every_step_validates_against_the_crds(
    namespaced: bool, step: str, policies: tuple[str, ...]
) -> None:
    out = render(_ctx(namespaced, HTTPS_DOMAIN, policies), _observed(step))
    _valid(out)
    group = "network.azure.m.upbound.io" if namespaced else "network.azure.upbound.io"
    if "app-gateway" in out:
        assert out["app-gateway"]["apiVersion"] == f"{group}/" + (
            "v1beta1" if namespaced else "v1beta2"
        )


@SCOPES
def test_staged_on_observed_ids(namespaced: bool) -> None:
    first = render(_ctx(namespaced), _observed("start"))
    assert {
        "gateway-subnet",
        "gateway-security-group",
        "gateway-public-ip",
        "gateway-identity",
    } <= set(first)
    # Nothing names an id not observed yet.
    assert "gateway-certificate-read" not in first and "app-gateway" not in first
    assert "vm-scale-set" not in first
    grant = render(_ctx(namespaced), _observed("identity"))["gateway-certificate-read"]
    fp = grant["spec"]["forProvider"]
    assert fp["scope"] == VAULT_ID and fp["roleDefinitionName"] == "Key Vault Secrets User"
    assert fp["principalId"] == "11111111-2222-3333-4444-555555555555"
    # The gateway waits until its identity may read the certificate.
    c = _ctx(namespaced)
    assert "app-gateway" not in render(c, _observed("identity"))
    assert any("gateway-certificate-read" in n for n in c.notes)
    gw = render(_ctx(namespaced), _observed("granted"))
    assert "app-gateway" in gw and "vm-scale-set" not in gw  # waits for the pool's id
    vmss = render(_ctx(namespaced), _observed("gateway"))["vm-scale-set"]
    ip = vmss["spec"]["forProvider"]["networkInterface"][0]["ipConfiguration"][0]
    assert ip["applicationGatewayBackendAddressPoolIds"] == [POOL_ID]
    # The load balancer stays: outbound SNAT and the scale set's health probe.
    assert ip["loadBalancerBackendAddressPoolIds"] == [
        FULL_OBSERVED["lb-backend-pool"]["status"]["atProvider"]["id"]
    ]
    assert vmss["spec"]["forProvider"]["healthProbeId"]


def test_the_gateway_terminates_tls_and_redirects_http() -> None:
    out = render(_ctx(False), _observed("running"))
    gw = out["app-gateway"]["spec"]["forProvider"]
    assert gw["sku"] == {"name": "Standard_v2", "tier": "Standard_v2"}
    assert gw["identity"] == {
        "type": "UserAssigned",
        "identityIds": ["/subscriptions/s/resourceGroups/g/x/gateway-identity"],
    }
    assert gw["sslCertificate"] == [{"name": "certificate", "keyVaultSecretId": SECRET_ID}]
    assert gw["sslPolicy"] == {"policyType": "Predefined", "policyName": "AppGwSslPolicy20220101"}
    listeners = {x["name"]: x for x in gw["httpListener"]}
    assert listeners["https"]["protocol"] == "Https"
    assert listeners["https"]["sslCertificateName"] == "certificate"
    ports = {p["name"]: p["port"] for p in gw["frontendPort"]}
    assert ports == {"http": 80, "https": 443}
    assert listeners["http"]["frontendPortName"] == "http"
    rules = {r["name"]: r for r in gw["requestRoutingRule"]}
    # HTTP has one rule: the permanent redirect to the HTTPS listener, path and query kept.
    assert rules["http-to-https"]["redirectConfigurationName"] == "to-https"
    assert "backendAddressPoolName" not in rules["http-to-https"]
    assert gw["redirectConfiguration"] == [
        {
            "name": "to-https",
            "redirectType": "Permanent",
            "targetListenerName": "https",
            "includePath": True,
            "includeQueryString": True,
        }
    ]
    assert rules["https"]["backendAddressPoolName"] == "app"
    assert len({r["priority"] for r in rules.values()}) == 2
    settings = gw["backendHttpSettings"][0]
    assert (settings["port"], settings["protocol"], settings["probeName"]) == (
        5000,
        "Http",
        "health",
    )
    probe = gw["probe"][0]
    assert (probe["path"], probe["port"]) == ("/healthz", 5000)
    # The decision keeps 2 to 4 instances: two warm gateway instances, at most 4.
    assert gw["autoscaleConfiguration"] == {"minCapacity": 2, "maxCapacity": 4}
    assert "capacity" not in gw["sku"]


def test_network_exposure_under_require_https() -> None:
    out = render(_ctx(False), _observed("running"))
    app_rules = {
        k: b["spec"]["forProvider"]
        for k, b in out.items()
        if b["kind"] == "SecurityRule"
        and b["spec"]["forProvider"]["networkSecurityGroupNameSelector"]["matchLabels"][
            "scia.io/component"
        ]
        == "network-security-group"
    }
    gw_cidr = gateway_cidr("10.20.0.0/16")
    assert gw_cidr == "10.20.16.0/24"
    allows = {
        (r["sourceAddressPrefix"], r.get("destinationPortRange"))
        for r in app_rules.values()
        if r["access"] == "Allow"
    }
    # The app port from the gateway's subnet and the load balancer's probes: never Internet.
    assert allows == {(gw_cidr, "5000"), ("AzureLoadBalancer", "5000")}
    assert "nsg-allow-app-via-lb" not in out
    priorities = [r["priority"] for r in app_rules.values()]
    assert len(priorities) == len(set(priorities)) and 110 not in priorities
    gw_rules = {
        r["spec"]["forProvider"]["sourceAddressPrefix"]: r["spec"]["forProvider"]
        for r in out.values()
        if r["kind"] == "SecurityRule"
        and r["spec"]["forProvider"]["networkSecurityGroupNameSelector"]["matchLabels"][
            "scia.io/component"
        ]
        == "gateway-security-group"
    }
    assert gw_rules["Internet"]["destinationPortRanges"] == ["80", "443"]
    assert gw_rules["GatewayManager"]["destinationPortRanges"] == ["65200-65535"]
    assert "AzureLoadBalancer" in gw_rules
    subnet = out["gateway-subnet"]["spec"]["forProvider"]["addressPrefixes"]
    assert subnet == [gw_cidr]
    assert not ipaddress.ip_network(gw_cidr).overlaps(
        ipaddress.ip_network(subnet_cidr("10.20.0.0/16"))
    )
    assoc = out["gateway-subnet-nsg-association"]["spec"]["forProvider"]
    assert assoc["subnetIdSelector"]["matchLabels"]["scia.io/component"] == "gateway-subnet"


def test_without_the_policy_nothing_changes() -> None:
    plain = render(_ctx(False, HTTPS, ()), FULL_OBSERVED)
    assert not {k for k in plain if k.startswith(("gateway", "app-gateway"))}
    ip = plain["vm-scale-set"]["spec"]["forProvider"]["networkInterface"][0]["ipConfiguration"][0]
    assert "applicationGatewayBackendAddressPoolIds" not in ip
    assert plain["nsg-allow-app-via-lb"]["spec"]["forProvider"]["sourceAddressPrefix"] == "Internet"
    # The same as without the certificate setting at all: a running deployment is untouched.
    before = render(azure_ctx(Strategy.VM, False), FULL_OBSERVED)
    assert plain == before


@SCOPES
def test_a_running_scale_set_keeps_what_it_has_while_ids_are_not_observed(
    namespaced: bool,
) -> None:
    """A scale set that exists is never left out; it joins the gateway's pool once the
    pool's id is observed, and keeps a pool it joined while the gateway reports none."""
    observed = _observed("granted") | {"vm-scale-set": FULL_OBSERVED["vm-scale-set"]}
    out = render(_ctx(namespaced), observed)
    ip = out["vm-scale-set"]["spec"]["forProvider"]["networkInterface"][0]["ipConfiguration"][0]
    assert "applicationGatewayBackendAddressPoolIds" not in ip
    joined = copy.deepcopy(_observed("running"))
    joined["vm-scale-set"] = {
        **joined["vm-scale-set"],
        "spec": {
            "forProvider": {
                "networkInterface": [
                    {"ipConfiguration": [{"applicationGatewayBackendAddressPoolIds": [POOL_ID]}]}
                ]
            }
        },
    }
    joined["app-gateway"] = {
        "spec": {"forProvider": {"identity": {"identityIds": ["/kept/identity"]}}},
        "status": READY,
    }
    del joined["gateway-identity"]
    c = _ctx(namespaced)
    out = render(c, joined)
    ip = out["vm-scale-set"]["spec"]["forProvider"]["networkInterface"][0]["ipConfiguration"][0]
    assert ip["applicationGatewayBackendAddressPoolIds"] == [POOL_ID]
    # The gateway that exists stays, with the identity it was given.
    assert out["app-gateway"]["spec"]["forProvider"]["identity"]["identityIds"] == [
        "/kept/identity"
    ]
    _valid(out)


@SCOPES
def test_endpoint_and_readiness(namespaced: bool) -> None:
    host = "flask-app.team-a.apps.example.com"
    c = _ctx(namespaced, HTTPS_DOMAIN)
    render(c, _observed("gateway"))
    https = c.report["https"]
    assert (https["host"], https["address"], https["issued"]) == (host, "20.1.2.3", False)
    said = [n for n in c.notes if "DNS record" in n]
    assert said and f"{host} -> 20.1.2.3" in said[0]
    phase, message = workload_phase(Phase.RUNNING, "all resources are ready", c.report)
    assert phase is Phase.PROVISIONING and f"{host} -> 20.1.2.3" in message
    ready = _ctx(namespaced, HTTPS_DOMAIN)
    render(ready, _observed("running"))
    assert ready.report["https"]["issued"] is True
    assert workload_phase(Phase.RUNNING, "ok", ready.report) == (Phase.RUNNING, "ok")
    urls = [e["url"] for e in endpoints(_observed("running"), host)]
    assert urls == [f"https://{host}"]  # the load balancer is no endpoint any more
    # Without a domain: the gateway public IP's own name.
    bare = _ctx(namespaced)
    render(bare, _observed("running"))
    assert bare.report["https"]["host"] == FQDN
    assert [e["url"] for e in endpoints(_observed("running"), FQDN)] == [f"https://{FQDN}"]


def test_monitoring_targets_the_gateway() -> None:
    out = render(_ctx(False, HTTPS, (*POLICIES, "enable-monitoring")), _observed("running"))
    assert "alert-unhealthy-backends" not in out
    unhealthy = out["alert-gateway-unhealthy"]["spec"]["forProvider"]
    assert unhealthy["scopes"] == [GW_ID]
    assert unhealthy["criteria"][0]["metricName"] == "UnhealthyHostCount"
    five = out["alert-gateway-5xx"]["spec"]["forProvider"]["criteria"][0]
    assert five["metricNamespace"] == "Microsoft.Network/applicationGateways"
    assert five["dimension"] == [
        {"name": "HttpStatusGroup", "operator": "Include", "values": ["5xx"]}
    ]


def test_refusals_name_the_field() -> None:
    with pytest.raises(UnsupportedTarget, match=r"input\.policy\.https\.keyVaultCertificate"):
        render(_ctx(False, SETTINGS), _observed("start"))
    small = HTTPS | {"azure": {**SETTINGS["azure"], "network": {"vnetCidr": "10.20.0.0/20"}}}
    with pytest.raises(UnsupportedTarget, match=r"input\.azure\.network\.vnetCidr"):
        render(_ctx(False, small), _observed("start"))


@pytest.mark.parametrize(
    ("bounds", "capacity"),
    [((1, 1), (1, 2)), ((1, 3), (1, 3)), ((2, 4), (2, 4)), ((3, 300), (2, 125))],
)
def test_gateway_capacity(bounds: tuple[int, int], capacity: tuple[int, int]) -> None:
    assert gateway_capacity(*bounds) == capacity


def test_one_instance_decision_gets_one_warm_gateway_instance() -> None:
    c = _ctx(False)
    small = c.decision.model_copy(
        update={
            "vm": VmParams(instance_type="Standard_B2s", min_size=1, max_size=1, desired_capacity=1)
        }
    )
    c = RenderContext(**{**c.__dict__, "decision": small, "notes": [], "report": {}})
    gw = render(c, _observed("running"))["app-gateway"]["spec"]["forProvider"]
    assert gw["autoscaleConfiguration"] == {"minCapacity": 1, "maxCapacity": 2}
