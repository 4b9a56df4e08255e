"""The GKE nodes' own service account: least privilege instead of the project's default.

A node pool that names no service account runs as the project's Compute Engine default
service account, which projects often still grant `roles/editor`; with the
`cloud-platform` scope every pod that reaches the node's metadata server (any pod, unless
Workload Identity's `GKE_METADATA` hides it) gets that account's token. GKE's hardening
guide asks for a service account of the cluster's own with the Kubernetes Engine Default
Node Service Account role instead
(https://cloud.google.com/kubernetes-engine/docs/how-to/hardening-your-cluster#use_least_privilege_sa).

Composed here, per deployment:

- `node-service-account`: a cloudplatform `ServiceAccount`, account id
  `scia-node-<12 hex of the XR's uid>` (6-30 characters, `[a-z][-a-z0-9]*[a-z0-9]`);
- `node-service-account-role`: `roles/container.defaultNodeServiceAccount` (logs,
  metrics, resource metadata: what the node agents write) on the project
  (`gcp.project`, else the ProviderConfig's), once the account's email is observed.

The node pool names the account's observed email (`nodeConfig.serviceAccount`), so a new
pool is composed once that email is observed (a note says so meanwhile). The account is
immutable on a pool (Terraform's ForceNew recreates every node): a pool observed without
one, made before this account existed, keeps the project's default, and nothing here is
composed for it (a pool of ours always has its account beside it). A pool observed with
the account keeps its email even while the account's status is lost, and the account's
email is remembered in the pin (function/lastknown.py) for a pool whose status is lost.
Every observed generation of the pool counts (render/replace.py). Images built on the
cluster are pulled as the nodes' account (render/gcp/build.py `nodes-registry-reader`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from function.render.common import RenderContext, Resources
from function.render.gcp.common import Observed, at_provider, waiting
from function.render.names import EXTERNAL_NAME
from function.render.replace import family

NODE_POOL = "node-pool"
NODE_SERVICE_ACCOUNT = "node-service-account"
NODE_ROLE = "node-service-account-role"
NODE_ROLE_NAME = "roles/container.defaultNodeServiceAccount"
COMPUTE_DEFAULT = "default"  # what GKE reports for a pool on the Compute Engine default


@dataclass(frozen=True)
class NodeIdentity:
    """What the node pool runs as.

    `email`: the account `nodeConfig.serviceAccount` names; None for a pool observed on the
    project's default account (kept, and then `member` is the default account's, given
    `gcp.projectNumber`). `ready`: whether the pool may be composed now."""

    resources: Resources = field(default_factory=dict)
    email: str | None = None
    ready: bool = True
    member: str | None = None  # the IAM member images are pulled as, when known


def node_account_id(ctx: RenderContext) -> str:
    """`scia-node-<12 hex of the XR's uid>`: a service account id (6-30 characters)."""
    return f"scia-node-{hashlib.sha256(ctx.identity.uid.encode()).hexdigest()[:12]}"


def _pool_account(observed: Observed, name: str) -> str | None:
    config = at_provider(observed, name, "nodeConfig")
    if isinstance(config, list):  # v1beta1 (the namespaced kinds) wraps objects in a list
        config = config[0] if config else None
    value = config.get("serviceAccount") if isinstance(config, dict) else None
    return str(value) if value else None


def node_identity(ctx: RenderContext, observed: Observed) -> NodeIdentity:
    """The nodes' account and its role (module docstring); pure. Every observed generation
    of the pool counts (render/replace.py: an immutable change makes a new one beside)."""
    pools = family(NODE_POOL, observed)
    accounts = [
        a for n in pools if (a := _pool_account(observed, n)) not in (None, COMPUTE_DEFAULT)
    ]
    pool_account = accounts[-1] if accounts else None
    legacy = (
        bool(pools)
        and pool_account is None
        and NODE_SERVICE_ACCOUNT not in observed  # else ours, its status lost or not yet in
    )
    if legacy:
        # Made before the nodes had an account of their own: changing it recreates the pool.
        number = ctx.settings.gcp.project_number
        member = f"serviceAccount:{number}-compute@developer.gserviceaccount.com"
        return NodeIdentity(member=member if number else None)
    account = ctx.resource(
        "cloudplatform",
        "ServiceAccount",
        NODE_SERVICE_ACCOUNT,
        {
            "displayName": f"scia nodes {ctx.identity.deployment_name}"[:100],
            "description": f"GKE nodes of {ctx.who}: logs and metrics only"[:256],
        },
    )
    account["metadata"]["annotations"] = {EXTERNAL_NAME: node_account_id(ctx)}
    out: Resources = {NODE_SERVICE_ACCOUNT: account}
    # The pool's own account first: what it runs as cannot change without recreating it.
    observed_email = at_provider(observed, NODE_SERVICE_ACCOUNT, "email")
    email = pool_account
    if email is None and observed_email:
        email = str(observed_email)
    if email is None:
        waiting(ctx, "the node pool", f"{NODE_SERVICE_ACCOUNT}'s email")
        # An observed pool is never left out (that would delete it).
        return NodeIdentity(out, None, ready=bool(pools))
    grant: dict[str, Any] = {"role": NODE_ROLE_NAME, "member": f"serviceAccount:{email}"}
    if ctx.settings.gcp.project:
        grant["project"] = ctx.settings.gcp.project
    out[NODE_ROLE] = ctx.resource("cloudplatform", "ProjectIAMMember", NODE_ROLE, grant)
    return NodeIdentity(out, email, ready=True, member=f"serviceAccount:{email}")
