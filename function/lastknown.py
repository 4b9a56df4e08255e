"""Observed provider values the render depends on, and their last known values (pure).

Some desired fields come from observed state: the auto scaling group's `trafficSource`
from the target group's ARN, CloudWatch alarm dimensions from ARNs, the HTTPS listener
from the certificate's ARN, `status.endpoints` from DNS names and URLs. An observed
resource whose `status.atProvider` is missing (restored from a backup without status,
status pruned) would silently drop those fields, and with them resources. So every value
read is remembered in the pin (`status.decision.lastObserved`) and used while the
provider does not report it; a value never seen on a resource that has evidently existed
is refused rather than guessed, when it changes what is rendered (only when the resource
reports no `atProvider` at all: a partial one is the provider's own report).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from function.render.immutable import ObservedResource

Observed = dict[str, dict[str, Any]]

# Composition resource name -> the status.atProvider fields anything reads from it.
READ_AT_PROVIDER: dict[str, tuple[str, ...]] = {
    "target-group": ("arn",),
    "autoscaling-group": ("arn",),
    "load-balancer": ("arn", "dnsName"),
    "lambda-function": ("arn", "version"),
    "function-url": ("functionUrl",),
    "eks-cluster": ("arn", "endpoint"),
    "launch-template": ("latestVersion",),
    "image-repository": ("arn", "repositoryUrl"),
    "build-logs": ("arn",),
    "app-logs": ("arn",),
    "build-status": ("arn",),
    "build-project": ("arn",),
    "git-token": ("arn",),
    # GCP (function/render/gcp): references provider-upjet-gcp's selectors cannot make
    "instance-group": ("instanceGroup",),
    "backend-service": ("selfLink",),
    "http-proxy": ("selfLink",),
    "https-proxy": ("selfLink",),
    "url-map": ("selfLink",),
    "app-service-account": ("email",),  # the identity workloads run as (render/gcp/secrets.py)
    "node-service-account": ("email",),  # what GKE nodes run as (render/gcp/nodes.py)
    # composed Cloud SQL (render/gcp/datastores.py): the proxies' target, the peering's id
    "db-postgres": ("connectionName",),
    "db-mysql": ("connectionName",),
    "private-services-connection": ("id",),
    "memorystore-redis": ("host", "port", "serverCaCerts"),  # the launcher's target
    "redis-auth-version": ("version",),
    "certificate": ("arn", "selfLink", "expireTime"),  # GCP: set once issued (gcp/vm.py)
    "ingress-certificate": ("selfLink", "expireTime"),  # GKE's (gcp/kubernetes.py)
    "ingress-address": ("address",),
    # and where the app answers
    "lb-address": ("address",),
    "cloud-run-service": ("uri",),
    "gke-cluster": ("endpoint",),
    # builds on GKE (render/gcp/build.py): the repository's name for its grants, its URI
    "artifact-repository": ("name", "registryUri"),
    # Azure (function/render/azure): ids that fields without a reference selector name,
    "lb-backend-pool": ("id",),
    "lb-probe": ("id",),
    "lb-rule": ("id",),
    "vm-scale-set": ("id",),
    "log-workspace": ("id",),
    "container-app": ("id", "ingress", "latestRevisionFqdn"),
    # (webAppRouting: the application routing add-on's identity, require-https's grant)
    "aks-cluster": ("id", "fqdn", "oidcIssuerUrl", "kubeletIdentity", "webAppRouting"),
    # builds on AKS (render/azure/build.py): role assignment scopes and principals, the push
    # identity's client id, where images go
    "container-registry": ("id", "loginServer"),
    "builder-identity": ("principalId", "clientId", "tenantId"),
    "build-key-vault": ("id", "vaultUri"),
    # the app's configuration (render/azure/secrets.py): its identity and vault
    "app-identity": ("id", "principalId", "clientId", "tenantId"),
    "key-vault": ("id", "vaultUri"),
    # composed PostgreSQL (render/azure/datastores.py): the host in the app's URL
    "postgres-server": ("id", "fqdn"),
    # require-https on vm (render/azure/gateway.py): the gateway's identity, its backend
    # pool (the scale set joins it), and where the app answers
    "gateway-identity": ("id", "principalId"),
    "app-gateway": ("id", "backendAddressPool"),
    "gateway-public-ip": ("fqdn", "ipAddress"),
    # and where the app answers
    "public-ip": ("fqdn", "ipAddress"),
}
AT_PROVIDER_FIELDS = tuple(sorted({f for fs in READ_AT_PROVIDER.values() for f in fs}))

# Set by crossplane-runtime's managed reconciler once the external resource was created
# (pkg/meta: AnnotationKeyExternalCreateSucceeded); metadata survives a backup restore.
CREATE_SUCCEEDED = "crossplane.io/external-create-succeeded"


def _conditions(resource: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        c for c in (resource.get("status") or {}).get("conditions") or [] if isinstance(c, dict)
    ]


def has_existed(resource: dict[str, Any]) -> bool:
    """The resource evidently existed with a populated status before: it is Ready, or it
    has no status at all although its external resource was created (a restore)."""
    conditions = _conditions(resource)
    if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
        return True
    annotations = (resource.get("metadata") or {}).get("annotations") or {}
    return not conditions and CREATE_SUCCEEDED in annotations


def _copy(resource: dict[str, Any]) -> dict[str, Any]:
    """A copy to fill in, that still converts the whole observed resource on demand."""
    body = copy.deepcopy(dict(resource))
    if isinstance(resource, ObservedResource):
        return ObservedResource(body, resource.whole)
    return body


@dataclass
class Effective:
    observed: Observed  # the observed resources with missing read fields filled in
    known: dict[str, dict[str, Any]]  # what to pin as last known
    filled: list[str] = field(default_factory=list)  # name.field filled from the pin
    # (name, field) missing with nothing known, on a resource that has existed
    lost: list[tuple[str, str]] = field(default_factory=list)


def effective(observed: Observed, known: dict[str, dict[str, Any]]) -> Effective:
    """Observed resources as the render should see them (inputs are not modified)."""
    out = Effective(observed=observed, known={})
    copied = False
    for name, fields in READ_AT_PROVIDER.items():
        resource = observed.get(name)
        if resource is None:
            continue  # gone or not created yet: nothing is known about the new one
        at = (resource.get("status") or {}).get("atProvider") or {}
        remembered = known.get(name) or {}
        for f in fields:
            value = at.get(f) if isinstance(at, dict) else None
            if value not in (None, ""):
                out.known.setdefault(name, {})[f] = value
            elif f in remembered:
                if not copied:
                    out.observed = {n: r for n, r in observed.items()}
                    copied = True
                body = _copy(out.observed[name])
                status = body.setdefault("status", {})
                if not isinstance(status.get("atProvider"), dict):
                    status["atProvider"] = {}
                status["atProvider"][f] = remembered[f]
                out.observed[name] = body
                out.known.setdefault(name, {})[f] = remembered[f]
                out.filled.append(f"{name}.{f}")
            elif not at and has_existed(resource):
                # An existing resource with no atProvider at all lost its status; a partial
                # atProvider is the provider's own report and is trusted as it is.
                out.lost.append((name, f))
    return out


PLACEHOLDER = {"latestVersion": 1}


def with_placeholders(observed: Observed, lost: list[tuple[str, str]]) -> Observed:
    """`observed` with a stand-in for every lost value: rendering it and comparing with the
    render without them shows whether the lost values matter to the desired state."""
    out = dict(observed)
    for name, f in lost:
        body = _copy(out[name])
        at = body.setdefault("status", {}).setdefault("atProvider", {})
        at[f] = PLACEHOLDER.get(f, f"unknown-{name}-{f}")
        out[name] = body
    return out
