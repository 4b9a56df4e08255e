"""What every Azure managed resource shares: API versions by scope, location, tags, references.

provider-upjet-azure v2 (../shared/crds/azure, v2.7.0; same served versions as v2.6.0):
legacy (claim-backed, cluster-scoped) XRs compose `<svc>.azure.upbound.io` at each kind's
storage version (v1beta2 where the provider moved a kind on, v1beta1 elsewhere; the old
v1beta1 of those kinds is deprecated); Crossplane v2 namespaced XRs compose
`<svc>.azure.m.upbound.io/v1beta1` in their own namespace. The resource group itself is
`azure.upbound.io` / `azure.m.upbound.io`. Both scopes share the forProvider shapes used here.

Azure's tag rules (https://learn.microsoft.com/azure/azure-resource-manager/management/
tag-resources#limitations): at most 50 tags per resource, names up to 512 characters
(128 for storage accounts) without any of `<>%&\\?/`, values up to 256 characters; tag
names are case-insensitive. `tags()` makes the scia tags and the tenant's CloudProvider
tags follow them.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Final

from function.render.common import (
    AZURE_LEGACY_VERSIONS,
    COMPONENT_LABEL,
    RenderContext,
    managed,
)

Observed = dict[str, dict[str, Any]]

# Kinds that take no `location` (they live inside a parent that has one).
_UNLOCATED: Final = {
    "Subnet",
    "SecurityRule",
    "SubnetNetworkSecurityGroupAssociation",
    "LoadBalancerBackendAddressPool",
    "LoadBalancerProbe",
    "LoadBalancerRule",
    "ContainerApp",
    "MonitorMetricAlert",
    "FederatedIdentityCredential",
    "RoleAssignment",
    "Secret",  # a Key Vault secret lives in its vault
    "FlexibleServerDatabase",  # a database and a firewall rule live in their server
    "FlexibleServerFirewallRule",
}
# Kinds whose forProvider has no `tags`.
_UNTAGGED: Final = _UNLOCATED - {"ContainerApp", "MonitorMetricAlert", "Secret"}
# Kinds placed in the deployment's resource group (all but the group itself).
_GROUPLESS: Final = {"ResourceGroup", "SubnetNetworkSecurityGroupAssociation"} | {
    "LoadBalancerBackendAddressPool",
    "LoadBalancerProbe",
    "LoadBalancerRule",
    "RoleAssignment",
    "Secret",
    "FlexibleServerDatabase",
    "FlexibleServerFirewallRule",
}

RESOURCE_GROUP = "resource-group"
MAX_TAGS = 50
MAX_TAG_NAME = 512
MAX_TAG_VALUE = 256
_TAG_NAME_FORBIDDEN = re.compile(r"[<>%&\\?/]")


def api_version(service: str, kind: str, namespaced: bool) -> str:
    group = "azure" if service == "azure" else f"{service}.azure"
    if namespaced:
        return f"{group}.m.upbound.io/v1beta1"
    return f"{group}.upbound.io/{AZURE_LEGACY_VERSIONS[(service, kind)]}"


def tag_name(name: str) -> str:
    """`name` as an Azure tag name: forbidden characters (`<>%&\\?/`) become `_`, cut to 512."""
    return _TAG_NAME_FORBIDDEN.sub("_", name)[:MAX_TAG_NAME] or "_"


def tags(ctx: RenderContext) -> dict[str, str]:
    """The deployment's tags under Azure's rules: the scia tags, then the tenant's
    CloudProvider tags that do not clash with them (tag names are case-insensitive), at
    most 50 in all."""
    scia = {
        tag_name(k): v[:MAX_TAG_VALUE]
        for k, v in dataclasses.replace(ctx, extra_tags={}).tags.items()
    }
    taken = {k.lower() for k in scia}
    out: dict[str, str] = {}
    for k, v in sorted(ctx.extra_tags.items()):
        name = tag_name(k)
        if name.lower() in taken or len(out) + len(scia) >= MAX_TAGS:
            continue
        taken.add(name.lower())
        out[name] = v[:MAX_TAG_VALUE]
    return out | scia


def select(component: str) -> dict[str, Any]:
    """A selector for a resource composed by the same XR, by its component label."""
    return {"matchControllerRef": True, "matchLabels": {COMPONENT_LABEL: component}}


def resource(
    ctx: RenderContext,
    service: str,
    kind: str,
    component: str,
    for_provider: dict[str, Any],
    init_provider: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An Azure managed resource with labels, location, resource group, tags and
    providerConfigRef filled in (each only where the kind has the field)."""
    fp = dict(for_provider)
    if kind not in _UNLOCATED:
        fp.setdefault("location", ctx.region)
    if kind not in _GROUPLESS:
        fp.setdefault("resourceGroupNameSelector", select(RESOURCE_GROUP))
    if kind not in _UNTAGGED:
        fp.setdefault("tags", tags(ctx))
    return managed(
        ctx, api_version(service, kind, ctx.identity.namespaced), kind, component, fp, init_provider
    )


def role_assignment(
    ctx: RenderContext, component: str, scope: str, role: str, principal: str
) -> dict[str, Any]:
    """A RoleAssignment of the built-in `role` (its name, e.g. "AcrPush") on `scope` (a
    resource id) to the service principal `principal` (an object id): a managed identity's,
    which Entra ID may not have replicated yet (skipServicePrincipalAadCheck)."""
    return resource(
        ctx,
        "authorization",
        "RoleAssignment",
        component,
        {
            "scope": scope,
            "roleDefinitionName": role,
            "principalId": principal,
            "principalType": "ServicePrincipal",
            "skipServicePrincipalAadCheck": True,
        },
    )


def at_provider(observed: Observed, component: str) -> dict[str, Any]:
    r = observed.get(component) or {}
    at = (r.get("status") or {}).get("atProvider") or {}
    return at if isinstance(at, dict) else {}


def observed_id(observed: Observed, component: str) -> str | None:
    """The Azure resource id of an observed composed resource (status.atProvider.id)."""
    value = at_provider(observed, component).get("id")
    return str(value) if isinstance(value, str) and value else None


def observed_field(observed: Observed, component: str, path: str) -> Any:
    """A forProvider field of an observed resource's spec (what Crossplane applied)."""
    cur: Any = ((observed.get(component) or {}).get("spec") or {}).get("forProvider") or {}
    for part in path.split("."):
        if isinstance(cur, list) and len(cur) == 1:
            cur = cur[0]
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur
