"""`require-https` on the Azure vm: an Application Gateway (Standard_v2) in front of the scale set.

Composed beside vm.py's resources (render_vm calls `render_gateway` under the policy):

- `gateway-subnet`: the gateway's dedicated subnet in the deployment's VNet (an Application
  Gateway admits nothing else in its subnet): the /24 right after the instances' subnet
  (the VNet's first /20), so the VNet needs room for it (`input.azure.network.vnetCidr`
  a /19 or larger; the default /16 has it);
- `gateway-security-group` on that subnet (`gateway-subnet-nsg-association`) with what
  the gateway's infrastructure needs ("Application Gateway infrastructure configuration",
  https://learn.microsoft.com/azure/application-gateway/configuration-infrastructure):
  clients from `Internet` to 80 and 443, `GatewayManager` to 65200-65535 (v2's management
  ports), `AzureLoadBalancer` (its health probes); nothing else from the internet;
- `gateway-public-ip`: a Standard static public IP with a DNS label of its own (v2 needs a
  Standard SKU; `<label>.<region>.cloudapp.azure.com`);
- `gateway-identity`: a user-assigned managed identity (Key Vault references need one; a
  system-assigned identity is not supported there), and `gateway-certificate-read`: the
  built-in `Key Vault Secrets User` role for it on the platform's vault
  (`input.policy.https.keyVaultCertificate.vaultId`): the gateway reads the certificate
  through its secret ("TLS termination with Key Vault certificates",
  https://learn.microsoft.com/azure/application-gateway/key-vault-certs). The vault must
  use Azure RBAC authorization and, if its firewall is on, admit trusted Microsoft services;
- `app-gateway`: Standard_v2, autoscaled (`gateway_capacity`), TLS policy
  `AppGwSslPolicy20220101` (TLS 1.2 and 1.3, forward-secret AEAD ciphers first), an HTTPS
  listener on 443 whose certificate is the versionless secret id
  (`https://<vault>.vault.azure.net/secrets/<name>`: the gateway polls the vault every
  four hours and picks up a renewal), a listener on 80 whose only rule is a permanent
  redirect to the HTTPS listener keeping path and query, one backend pool the scale set's
  NIC joins, backend HTTP settings on the app port with a probe on the health path.

Ordering, from observed state only (desired state stays a pure function of XR, observed
and pin): the role assignment is composed once the identity's principal id is observed;
the gateway once the identity's id is observed and the role assignment is Ready (a gateway
created before it can read the secret fails to provision, and would have to be updated
again); the scale set joins the gateway's backend pool once the pool's id is observed
(`status.atProvider.backendAddressPool`). Anything that exists stays in the desired set:
an observed gateway keeps the identity it was given while an id is not observed.

The layer-4 load balancer of vm.py stays: its rule is the instances' outbound path (the
implicit SNAT of a load-balancing rule; no NAT gateway association kind is in the CRDs
validated against), and its probe is the scale set's health signal (rolling upgrades and
automatic repair). It serves no client any more: the instances' security group admits the
app port from the gateway's subnet and the load balancer's probes only, never `Internet`,
so plain HTTP is answered by the gateway's redirect alone.

Endpoint: `https://<deployment>.<tenant>.<policy.https.domain>` when the input sets a
domain (the certificate must cover that name, e.g. a wildcard `*.<tenant>.<domain>` or
`*.<domain>`'s tenant subdomain, and a DNS record `<host> -> <gateway address>` is the
platform's to create: a result names it), else the gateway public IP's own name
`<label>.<region>.cloudapp.azure.com` (the certificate must then cover that name). The
deployment is Provisioning until the gateway is Ready and its public IP's address is
observed (`https_report`).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from function.clouds import gateway_capacity
from function.policy.admission import certificate_domain
from function.render.azure.base import (
    Observed,
    at_provider,
    observed_field,
    observed_id,
    resource,
    role_assignment,
    select,
)
from function.render.azure.network import VNET, subnet_cidr
from function.render.common import RenderContext, Resources, UnsupportedTarget
from function.status import is_ready

GATEWAY = "app-gateway"
GATEWAY_SUBNET = "gateway-subnet"
GATEWAY_NSG = "gateway-security-group"
GATEWAY_IP = "gateway-public-ip"
GATEWAY_IDENTITY = "gateway-identity"
GATEWAY_GRANT = "gateway-certificate-read"
READER_ROLE = "Key Vault Secrets User"
SKU = "Standard_v2"
SSL_POLICY = "AppGwSslPolicy20220101"
POOL = "app"
FRONTEND = "public"
HTTPS_LISTENER = "https"
HTTP_LISTENER = "http"
# The instances' security rule admitting the gateway (vm.py; 110 is the plain-HTTP rule's
# priority, which a running deployment keeps until its new revision is Ready).
APP_VIA_GATEWAY = "nsg-allow-app-via-gateway"
APP_VIA_GATEWAY_PRIORITY = 120


def gateway_cidr(vnet_cidr: str) -> str:
    """The gateway's subnet: the /24 right after the instances' subnet (the VNet's first
    /20). Raises UnsupportedTarget naming input.azure.network.vnetCidr when the VNet has no
    room for it (a /20 or smaller is all instances' subnet)."""
    net = ipaddress.ip_network(vnet_cidr, strict=False)
    vm = ipaddress.ip_network(subnet_cidr(vnet_cidr))
    after = vm.network_address + vm.num_addresses
    if net.prefixlen >= 20 or after not in net:
        raise UnsupportedTarget(
            f"invalid input.azure.network.vnetCidr: {vnet_cidr} has no room for the "
            "Application Gateway's subnet that require-https on the vm strategy composes (its "
            "first /20 is the instances' subnet; use a /19 or larger)"
        )
    return str(ipaddress.ip_network(f"{after}/24"))


def https_host(ctx: RenderContext, observed: Observed) -> str | None:
    """The host the endpoint names: <deployment>.<tenant>.<domain> with a domain in the
    input, else the gateway public IP's observed FQDN (None until observed)."""
    domain = ctx.policy.https.domain
    if domain:
        return certificate_domain(ctx.identity, domain)
    fqdn = at_provider(observed, GATEWAY_IP).get("fqdn")
    return fqdn if isinstance(fqdn, str) and fqdn else None


def https_report(ctx: RenderContext, observed: Observed) -> dict[str, Any]:
    """What require-https reports (function/workload.py reads it): the endpoint's host, the
    gateway's address, whether it serves (`issued`: the gateway Ready with its address
    observed) and what the operator must do meanwhile."""
    address = at_provider(observed, GATEWAY_IP).get("ipAddress")
    address = address if isinstance(address, str) and address else None
    gateway = observed.get(GATEWAY)
    serving = bool(gateway and is_ready(gateway) and address)
    host = https_host(ctx, observed)
    where = address or "the gateway's public IP (gateway-public-ip, once allocated)"
    if ctx.policy.https.domain:
        message = (
            f"the HTTPS endpoint https://{host} is served by the Application Gateway "
            f"({GATEWAY}) once it is Ready; create the DNS record {host} -> {where} (an A "
            f"record, or a CNAME to the gateway public IP's name); the Key Vault certificate "
            f"must cover {host}"
        )
    else:
        message = (
            "the HTTPS endpoint is the gateway public IP's name "
            f"(<label>.{ctx.region}.cloudapp.azure.com, {host or 'once observed'}), served by "
            f"the Application Gateway ({GATEWAY}) once it is Ready; the Key Vault certificate "
            "must cover that name (set input.policy.https.domain for a name of the platform's)"
        )
    return {"host": host, "address": address, "issued": serving, "message": message}


def render_gateway(
    ctx: RenderContext, observed: Observed, port: int, health_path: str
) -> tuple[Resources, str | None]:
    """The gateway's resources and, once observed, its backend pool's id (the scale set's
    NIC joins it). Raises UnsupportedTarget naming the input field the gateway needs."""
    cert = ctx.policy.https.key_vault_certificate
    if cert is None:
        raise UnsupportedTarget(
            "spec.policies: require-https on the azure vm strategy needs "
            "input.policy.https.keyVaultCertificate (the Application Gateway's certificate in "
            "the platform's Key Vault: vaultId and name)"
        )
    cidr = gateway_cidr(ctx.settings.azure.network.vnet_cidr)
    out: Resources = {
        GATEWAY_SUBNET: resource(
            ctx,
            "network",
            "Subnet",
            GATEWAY_SUBNET,
            {"addressPrefixes": [cidr], "virtualNetworkNameSelector": select(VNET)},
        ),
        GATEWAY_NSG: resource(ctx, "network", "SecurityGroup", GATEWAY_NSG, {}),
        "gateway-subnet-nsg-association": resource(
            ctx,
            "network",
            "SubnetNetworkSecurityGroupAssociation",
            "gateway-subnet-nsg-association",
            {
                "subnetIdSelector": select(GATEWAY_SUBNET),
                "networkSecurityGroupIdSelector": select(GATEWAY_NSG),
            },
        ),
        "gateway-nsg-allow-clients": _gateway_rule(
            ctx,
            "gateway-nsg-allow-clients",
            100,
            "Internet",
            ["80", "443"],
            "clients to the gateway's listeners (HTTP answers with a redirect to HTTPS)",
        ),
        "gateway-nsg-allow-manager": _gateway_rule(
            ctx,
            "gateway-nsg-allow-manager",
            110,
            "GatewayManager",
            ["65200-65535"],
            "Azure's management of an Application Gateway v2 (required)",
        ),
        "gateway-nsg-allow-lb": _gateway_rule(
            ctx,
            "gateway-nsg-allow-lb",
            120,
            "AzureLoadBalancer",
            ["*"],
            "Azure's health probes of the gateway's instances (required)",
            protocol="*",
        ),
        GATEWAY_IP: resource(
            ctx,
            "network",
            "PublicIP",
            GATEWAY_IP,
            {
                "allocationMethod": "Static",
                "sku": "Standard",
                "ipVersion": "IPv4",
                "domainNameLabel": "",  # names.py picks it (and keeps the observed one)
            },
        ),
        GATEWAY_IDENTITY: resource(
            ctx, "managedidentity", "UserAssignedIdentity", GATEWAY_IDENTITY, {}
        ),
    }
    # The grant names the identity's principal id: observed, else the one it was made for.
    principal = at_provider(observed, GATEWAY_IDENTITY).get("principalId") or observed_field(
        observed, GATEWAY_GRANT, "principalId"
    )
    if isinstance(principal, str) and principal:
        out[GATEWAY_GRANT] = role_assignment(
            ctx, GATEWAY_GRANT, cert.vault_id, READER_ROLE, principal
        )
    identity_id = observed_id(observed, GATEWAY_IDENTITY)
    identities = (
        [identity_id]
        if identity_id
        else observed_field(observed, GATEWAY, "identity.identityIds") or None
    )
    granted = GATEWAY_GRANT in observed and is_ready(observed[GATEWAY_GRANT])
    if identities and (granted or GATEWAY in observed):
        out[GATEWAY] = _gateway(ctx, list(identities), cert.secret_id, port, health_path)
    elif not identities:
        ctx.notes.append(
            f"the Application Gateway ({GATEWAY}) is composed once its identity's id and "
            f"principal id are observed ({GATEWAY_IDENTITY}) and its read of the certificate "
            f"({GATEWAY_GRANT}) is Ready"
        )
    else:
        ctx.notes.append(
            f"the Application Gateway ({GATEWAY}) is composed once its identity's read of the "
            f"certificate ({GATEWAY_GRANT}, {READER_ROLE} on the platform's vault) is Ready: "
            "a gateway that cannot read its certificate fails to provision"
        )
    report = https_report(ctx, observed)
    ctx.report["https"] = report
    if not report["issued"]:
        ctx.notes.append(report["message"])
    return out, _pool_id(observed)


def _pool_id(observed: Observed) -> str | None:
    """The gateway's backend pool id, from its observed atProvider."""
    pools = at_provider(observed, GATEWAY).get("backendAddressPool")
    for pool in pools if isinstance(pools, list) else []:
        if isinstance(pool, dict) and pool.get("name") == POOL:
            pid = pool.get("id")
            if isinstance(pid, str) and pid:
                return pid
    return None


def _gateway_rule(
    ctx: RenderContext,
    component: str,
    priority: int,
    source: str,
    ports: list[str],
    description: str,
    protocol: str = "Tcp",
) -> dict[str, Any]:
    return resource(
        ctx,
        "network",
        "SecurityRule",
        component,
        {
            "networkSecurityGroupNameSelector": select(GATEWAY_NSG),
            "priority": priority,
            "direction": "Inbound",
            "access": "Allow",
            "protocol": protocol,
            "sourcePortRange": "*",
            "sourceAddressPrefix": source,
            "destinationAddressPrefix": "*",
            "destinationPortRanges": ports,
            "description": description,
        },
    )


def _gateway(
    ctx: RenderContext, identities: list[str], secret_id: str, port: int, health_path: str
) -> dict[str, Any]:
    vm = ctx.decision.vm
    assert vm is not None, "vm decision without vm parameters"
    low, high = gateway_capacity(vm.min_size, vm.max_size)
    return resource(
        ctx,
        "network",
        "ApplicationGateway",
        GATEWAY,
        {
            "sku": {"name": SKU, "tier": SKU},
            "autoscaleConfiguration": {"minCapacity": low, "maxCapacity": high},
            "identity": {"type": "UserAssigned", "identityIds": identities},
            "gatewayIpConfiguration": [
                {"name": "gateway", "subnetIdSelector": select(GATEWAY_SUBNET)}
            ],
            "frontendIpConfiguration": [
                {"name": FRONTEND, "publicIpAddressIdSelector": select(GATEWAY_IP)}
            ],
            "frontendPort": [{"name": "http", "port": 80}, {"name": "https", "port": 443}],
            "sslCertificate": [{"name": "certificate", "keyVaultSecretId": secret_id}],
            "sslPolicy": {"policyType": "Predefined", "policyName": SSL_POLICY},
            "httpListener": [
                {
                    "name": HTTPS_LISTENER,
                    "frontendIpConfigurationName": FRONTEND,
                    "frontendPortName": "https",
                    "protocol": "Https",
                    "sslCertificateName": "certificate",
                },
                {
                    "name": HTTP_LISTENER,
                    "frontendIpConfigurationName": FRONTEND,
                    "frontendPortName": "http",
                    "protocol": "Http",
                },
            ],
            "redirectConfiguration": [
                {
                    "name": "to-https",
                    "redirectType": "Permanent",
                    "targetListenerName": HTTPS_LISTENER,
                    "includePath": True,
                    "includeQueryString": True,
                }
            ],
            "backendAddressPool": [{"name": POOL}],
            "probe": [
                {
                    "name": "health",
                    "protocol": "Http",
                    "host": "127.0.0.1",
                    "path": health_path,
                    "port": port,
                    "interval": 15,
                    "timeout": 10,
                    "unhealthyThreshold": 3,
                    "match": {"statusCode": ["200-399"]},
                }
            ],
            "backendHttpSettings": [
                {
                    "name": "app",
                    "protocol": "Http",
                    "port": port,
                    "cookieBasedAffinity": "Disabled",
                    "requestTimeout": 60,
                    "probeName": "health",
                }
            ],
            "requestRoutingRule": [
                {
                    "name": "https",
                    "ruleType": "Basic",
                    "priority": 100,
                    "httpListenerName": HTTPS_LISTENER,
                    "backendAddressPoolName": POOL,
                    "backendHttpSettingsName": "app",
                },
                {
                    "name": "http-to-https",
                    "ruleType": "Basic",
                    "priority": 200,
                    "httpListenerName": HTTP_LISTENER,
                    "redirectConfigurationName": "to-https",
                },
            ],
        },
    )
