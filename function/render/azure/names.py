"""Azure resource names that follow Azure's own rules, generated from the XR's identity.

Like the AWS names (function/render/names.py): `<slug>-<hash>[-<hint>]`, the hash being 8
hex digits of sha256(XR uid / composition-resource name), only the readable slug ever cut;
a resource that exists keeps its name (renaming an Azure resource replaces it).

Where the Azure name comes from (provider-upjet-azure `config/externalname.go`): every
kind composed here except two is `TemplatedStringAsIdentifier("name", ...)`, so its Azure
name is the `crossplane.io/external-name` annotation, which we set (it would default to
metadata.name, `<xr name>-<random>`, invalid for most kinds). `azurerm_monitor_autoscale_setting`
is `IdentifierFromProvider` with a required `name` parameter: we set forProvider.name.
`azurerm_subnet_network_security_group_association` has no name.

Besides names, two DNS labels are chosen the same way and kept once observed: the public
IP's `domainNameLabel` (`<label>.<region>.cloudapp.azure.com`, unique per region) and the
AKS cluster's `dnsPrefix`.

Rules: https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
(and for the DNS label, the Public IP `domainNameLabel` reference).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Final

from function.render.names import EXTERNAL_NAME, observed_external_name

_RULES_PAGE = (
    "https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules"
)


@dataclass(frozen=True)
class AzureNameRule:
    """One Azure naming rule: length, characters, what the first and last may be."""

    what: str
    min_len: int
    max_len: int
    allowed: str  # a regex character class body
    first: str  # a regex character class body for the first character
    last: str  # ... for the last character
    source: str
    lowercase: bool = False
    no_double_hyphen: bool = False

    def valid(self, name: str) -> bool:
        if not self.min_len <= len(name) <= self.max_len:
            return False
        if not re.fullmatch(f"[{self.first}][{self.allowed}]*", name):
            return False
        if not re.fullmatch(f"[{self.last}]", name[-1]):
            return False
        if self.lowercase and name != name.lower():
            return False
        return not (self.no_double_hyphen and "--" in name)


_NET = "A-Za-z0-9_.-"
_ALNUM = "A-Za-z0-9"

RULES: Final[dict[str, AzureNameRule]] = {
    "ResourceGroup": AzureNameRule(
        "resource group", 1, 90, "A-Za-z0-9_.()-", "A-Za-z0-9_()-", "A-Za-z0-9_()-", _RULES_PAGE
    ),
    "VirtualNetwork": AzureNameRule(
        "virtual network", 2, 64, _NET, _ALNUM, _ALNUM + "_", _RULES_PAGE
    ),
    "Subnet": AzureNameRule("subnet", 1, 80, _NET, _ALNUM, _ALNUM + "_", _RULES_PAGE),
    "SecurityGroup": AzureNameRule(
        "network security group", 1, 80, _NET, _ALNUM, _ALNUM + "_", _RULES_PAGE
    ),
    "SecurityRule": AzureNameRule("security rule", 1, 80, _NET, _ALNUM, _ALNUM + "_", _RULES_PAGE),
    "PublicIP": AzureNameRule("public IP", 1, 80, _NET, _ALNUM, _ALNUM + "_", _RULES_PAGE),
    "LoadBalancer": AzureNameRule("load balancer", 1, 80, _NET, _ALNUM, _ALNUM + "_", _RULES_PAGE),
    "LoadBalancerBackendAddressPool": AzureNameRule(
        "backend address pool", 1, 80, _NET, _ALNUM, _ALNUM + "_", _RULES_PAGE
    ),
    "LoadBalancerProbe": AzureNameRule("probe", 1, 80, _NET, _ALNUM, _ALNUM + "_", _RULES_PAGE),
    "LoadBalancerRule": AzureNameRule(
        "load-balancing rule", 1, 80, _NET, _ALNUM, _ALNUM + "_", _RULES_PAGE
    ),
    "ApplicationGateway": AzureNameRule(
        "application gateway", 1, 80, _NET, _ALNUM, _ALNUM + "_", _RULES_PAGE
    ),
    "LinuxVirtualMachineScaleSet": AzureNameRule(
        "Linux VM scale set", 1, 64, "A-Za-z0-9_.-", _ALNUM, _ALNUM + "_", _RULES_PAGE
    ),
    "MonitorAutoscaleSetting": AzureNameRule(
        "autoscale setting", 1, 260, "A-Za-z0-9_.-", _ALNUM, _ALNUM + "_", _RULES_PAGE
    ),
    "MonitorMetricAlert": AzureNameRule(
        "metric alert", 1, 260, "A-Za-z0-9_.-", _ALNUM, _ALNUM + "_", _RULES_PAGE
    ),
    "KubernetesCluster": AzureNameRule(
        "AKS cluster", 1, 63, "A-Za-z0-9_-", _ALNUM, _ALNUM, _RULES_PAGE
    ),
    "Environment": AzureNameRule(
        "Container Apps environment",
        2,
        60,
        "a-z0-9-",
        "a-z",
        "a-z0-9",
        _RULES_PAGE + " (managedEnvironments)",
        lowercase=True,
        no_double_hyphen=True,
    ),
    "ContainerApp": AzureNameRule(
        "container app",
        2,
        32,
        "a-z0-9-",
        "a-z",
        "a-z0-9",
        _RULES_PAGE + " (containerApps: lowercase letters, digits, hyphens; no '--')",
        lowercase=True,
        no_double_hyphen=True,
    ),
    "Workspace": AzureNameRule(
        "Log Analytics workspace", 4, 63, "A-Za-z0-9-", _ALNUM, _ALNUM, _RULES_PAGE
    ),
    # Globally unique (its login server is <name>.azurecr.io): 5-50 alphanumerics.
    "Registry": AzureNameRule(
        "container registry", 5, 50, "a-z0-9", "a-z0-9", "a-z0-9", _RULES_PAGE, lowercase=True
    ),
    # Globally unique (<name>.vault.azure.net): 3-24 alphanumerics and hyphens, a letter
    # first, no "--".
    "Vault": AzureNameRule(
        "key vault",
        3,
        24,
        "A-Za-z0-9-",
        "A-Za-z",
        "A-Za-z0-9",
        _RULES_PAGE + " (vaults)",
        no_double_hyphen=True,
    ),
    # Globally unique (<name>.postgres.database.azure.com): 3-63 lowercase letters, digits
    # and hyphens, neither first nor last a hyphen.
    "FlexibleServer": AzureNameRule(
        "PostgreSQL flexible server",
        3,
        63,
        "a-z0-9-",
        "a-z0-9",
        "a-z0-9",
        _RULES_PAGE + " (flexibleServers)",
        lowercase=True,
    ),
    "FlexibleServerFirewallRule": AzureNameRule(
        "flexible server firewall rule", 1, 128, "A-Za-z0-9_-", _ALNUM, _ALNUM + "_", _RULES_PAGE
    ),
    "UserAssignedIdentity": AzureNameRule(
        "user-assigned identity", 3, 128, "A-Za-z0-9_-", _ALNUM, _ALNUM + "_", _RULES_PAGE
    ),
    "FederatedIdentityCredential": AzureNameRule(
        "federated identity credential", 3, 120, "A-Za-z0-9_-", _ALNUM, _ALNUM + "_", _RULES_PAGE
    ),
}
DNS_LABEL: Final = AzureNameRule(
    "public IP DNS label",
    3,
    63,
    "a-z0-9-",
    "a-z",
    "a-z0-9",
    "https://learn.microsoft.com/azure/virtual-network/ip-services/public-ip-addresses "
    "(DNS name label: ^[a-z][a-z0-9-]{1,61}[a-z0-9]$, unique per region)",
    lowercase=True,
)
DNS_PREFIX: Final = AzureNameRule(
    "AKS DNS prefix",
    1,
    54,
    "a-z0-9-",
    "a-z",
    "a-z0-9",
    "terraform-provider-azurerm kubernetes_cluster dns_prefix (1-54, alphanumerics and "
    "hyphens, letter first, alphanumeric last)",
    lowercase=True,
)
# Kinds whose Azure name is forProvider.name rather than the external-name annotation.
FOR_PROVIDER_NAME_KINDS: Final = {"MonitorAutoscaleSetting", "UserAssignedIdentity"}
_SHORT_HINT = {
    "ResourceGroup": "rg",
    "VirtualNetwork": "vnet",
    "SecurityGroup": "nsg",
    "PublicIP": "pip",
    "LoadBalancer": "lb",
    "ApplicationGateway": "agw",
    "LinuxVirtualMachineScaleSet": "vmss",
    "KubernetesCluster": "aks",
    "Environment": "env",
    "Workspace": "log",
    "Vault": "kv",
    "FlexibleServer": "pg",
}


def _hash(uid: str, component: str) -> str:
    return hashlib.sha256(f"{uid}/{component}".encode()).hexdigest()[:8]


def generate(
    rule: AzureNameRule, tenant: str, deployment: str, uid: str, component: str, hint: str = ""
) -> str:
    """A name for `component` of the XR that satisfies `rule`: deterministic, unique per
    (uid, component) up to a 32-bit hash; only the readable part is cut."""
    h = _hash(uid, component)
    if not re.fullmatch(f"[{rule.allowed}]", "-"):  # no hyphens (a registry): joined
        plain = re.sub(f"[^{rule.allowed}]+", "", f"{tenant}{deployment}".lower())
        name = (plain[: rule.max_len - len(h)] + h) if plain[:1].isalpha() else f"s{h}"
        return name if rule.valid(name) else f"s{h}"
    tail = f"-{h}" + (f"-{hint}" if hint else "")
    if len(tail) + 1 > rule.max_len:
        tail = f"-{h}"
    room = rule.max_len - len(tail)
    allowed = rule.allowed.replace("A-Z", "") if rule.lowercase else rule.allowed
    slug = re.sub(f"[^{allowed}]+", "-", f"{tenant}-{deployment}".lower())
    slug = re.sub("-{2,}", "-", slug).strip("-_.()")
    if not slug or not re.fullmatch(f"[{rule.first}]", slug[0]):
        slug = f"s-{slug}" if slug else "s"
    slug = slug[:room].rstrip("-_.()")
    name = f"{slug}{tail}"
    if not rule.valid(name):
        name = f"s{h}"
    return name


def _keep(rule: AzureNameRule, name: str | None, seen: dict[str, Any] | None) -> str | None:
    """The observed name, unless Azure refused it (invalid, and nothing was created)."""
    if name is None or rule.valid(name):
        return name
    at = ((seen or {}).get("status") or {}).get("atProvider") or {}
    return name if isinstance(at, dict) and at.get("id") else None


def _observed_fp(seen: dict[str, Any] | None, field: str) -> str | None:
    fp = (((seen or {}).get("spec") or {}).get("forProvider")) or {}
    value = fp.get(field) if isinstance(fp, dict) else None
    return value if isinstance(value, str) and value else None


def azure_name(
    kind: str, component: str, observed: dict[str, Any], *, tenant: str, deployment: str, uid: str
) -> str:
    """The Azure name apply_names gives `component` (a kind named by its external-name
    annotation): the observed one, else generated; for a renderer that must name it
    elsewhere (where the logs are)."""
    rule = RULES[kind]
    seen = observed.get(component)
    return _keep(rule, observed_external_name(seen), seen) or generate(
        rule, tenant, deployment, uid, component, _SHORT_HINT.get(kind, "")
    )


def apply_names(
    desired: dict[str, dict[str, Any]],
    observed: dict[str, dict[str, Any]],
    *,
    tenant: str,
    deployment: str,
    uid: str,
) -> None:
    """Give every desired Azure resource a valid, stable name (and DNS label), in place
    (provider-kubernetes' Objects and ProviderConfig on an AKS cluster are left alone)."""
    for component, body in desired.items():
        kind = str(body.get("kind"))
        if not str(body.get("apiVersion", "")).split("/")[0].endswith("upbound.io"):
            continue
        seen = observed.get(component)
        fp = body.setdefault("spec", {}).setdefault("forProvider", {})
        rule = RULES.get(kind)
        if rule is not None:
            if kind in FOR_PROVIDER_NAME_KINDS:
                fp["name"] = _keep(rule, _observed_fp(seen, "name"), seen) or generate(
                    rule, tenant, deployment, uid, component, _SHORT_HINT.get(kind, "")
                )
            else:
                name = azure_name(
                    kind, component, observed, tenant=tenant, deployment=deployment, uid=uid
                )
                body.setdefault("metadata", {}).setdefault("annotations", {})[EXTERNAL_NAME] = name
        if kind == "PublicIP" and "domainNameLabel" in fp:
            fp["domainNameLabel"] = _observed_fp(seen, "domainNameLabel") or generate(
                DNS_LABEL, tenant, deployment, uid, component
            )
        if kind == "KubernetesCluster" and "dnsPrefix" in fp:
            fp["dnsPrefix"] = _observed_fp(seen, "dnsPrefix") or generate(
                DNS_PREFIX, tenant, deployment, uid, component
            )
