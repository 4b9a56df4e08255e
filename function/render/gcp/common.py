"""What every GCP composed resource shares: labels, observed values read by reference.

provider-upjet-gcp's reference selectors do not reach every kind we compose (a global
forwarding rule's target selects a TargetSSLProxy, a URL map's default service a
BackendBucket, an HTTPS proxy's certificates an SSLCertificate, a backend's group a zonal
InstanceGroupManager; see the selectors' descriptions in ../shared/crds/gcp). Those fields
take the referenced resource's observed `status.atProvider.selfLink` (or the managed
instance group's `instanceGroup`), and the resource that needs one is composed on the
reconcile after the value is observed (the pin remembers it, function/lastknown.py).
"""

from __future__ import annotations

import hashlib
from typing import Any

from function.render.common import RenderContext
from function.render.names import gcp_labels

Observed = dict[str, dict[str, Any]]

# Source ranges of Google's external Application Load Balancers' proxies and health
# checks (https://cloud.google.com/load-balancing/docs/health-check-concepts#ip-ranges).
GOOGLE_LB_RANGES = ("35.191.0.0/16", "130.211.0.0/22")


def labels(ctx: RenderContext) -> dict[str, str]:
    """The product's and the CloudProvider's tags as valid GCP labels."""
    return gcp_labels(ctx.own_tags, ctx.extra_tags)


def at_provider(observed: Observed, component: str, field: str) -> Any:
    r = observed.get(component) or {}
    at = (r.get("status") or {}).get("atProvider") or {}
    value = at.get(field) if isinstance(at, dict) else None
    return value if value not in (None, "") else None


def self_link(observed: Observed, component: str) -> str | None:
    """The observed resource's selfLink (else its id), which GCP APIs take as a reference."""
    value = at_provider(observed, component, "selfLink") or at_provider(observed, component, "id")
    return str(value) if value else None


def network_tag(ctx: RenderContext) -> str:
    """The network tag the app's instances carry and its firewall rule targets (RFC 1035)."""
    return "scia-" + hashlib.sha256(ctx.identity.uid.encode()).hexdigest()[:12]


def waiting(ctx: RenderContext, what: str, needs: str) -> None:
    ctx.notes.append(f"{what} is composed once {needs} is observed")
