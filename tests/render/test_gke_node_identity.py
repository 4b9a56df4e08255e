"""GKE nodes run as a service account of their own with the node role only, never as the
project's Compute Engine default account (render/gcp/nodes.py); a pool made before keeps
what it runs as (the field recreates the pool), and no lost status changes it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from function.lastknown import effective
from function.model import Strategy
from function.render.dispatch import render
from function.render.gcp.nodes import NODE_ROLE_NAME, node_account_id
from function.render.immutable import IMMUTABLE
from tests.render.test_render_gcp import ctx
from tests.support.crdcheck import assert_all_valid

EMAIL = "scia-node-0123456789ab@acme-prod.iam.gserviceaccount.com"
DEFAULT = "serviceAccount:123456789012-compute@developer.gserviceaccount.com"
PLATFORM = {"gcp": {"project": "acme-prod", "projectNumber": "123456789012"}}
REPO = "projects/acme-prod/locations/europe-west1/repositories/r-1"


def _observed(**resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Observed resources (name -> status.atProvider), Ready."""
    ready = [{"type": "Ready", "status": "True", "reason": "Available"}]
    return {
        name.replace("_", "-"): {"status": {"atProvider": at, "conditions": ready}}
        for name, at in resources.items()
    }


def _pool(out: dict[str, dict[str, Any]]) -> dict[str, Any]:
    config: dict[str, Any] = out["node-pool"]["spec"]["forProvider"]["nodeConfig"]
    return config


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
def test_a_new_pool_waits_for_its_own_account_then_runs_as_it(namespaced: bool) -> None:
    c = ctx(Strategy.KUBERNETES, namespaced, PLATFORM)
    first = render(c, observed={})
    assert "node-pool" not in first and "node-service-account-role" not in first
    account = first["node-service-account"]
    assert account["kind"] == "ServiceAccount"
    assert account["metadata"]["annotations"]["crossplane.io/external-name"] == (node_account_id(c))
    assert 6 <= len(node_account_id(c)) <= 30
    assert any("node-service-account's email" in n for n in c.notes)

    c = ctx(Strategy.KUBERNETES, namespaced, PLATFORM)
    out = render(c, observed=_observed(node_service_account={"email": EMAIL}))
    assert _pool(out)["serviceAccount"] == EMAIL
    assert _pool(out)["oauthScopes"] == ["https://www.googleapis.com/auth/cloud-platform"]
    grant = out["node-service-account-role"]["spec"]["forProvider"]
    assert grant == {
        "role": NODE_ROLE_NAME,
        "member": f"serviceAccount:{EMAIL}",
        "project": "acme-prod",
    }
    assert_all_valid(
        [{**b, "metadata": {**b["metadata"], "name": f"x-{n}"}} for n, b in out.items()]
    )


def test_images_built_on_the_cluster_are_pulled_as_the_nodes_account() -> None:
    c = ctx(Strategy.KUBERNETES, False, PLATFORM, spec={"image": None})
    out = render(
        c,
        observed=_observed(
            node_service_account={"email": EMAIL},
            artifact_repository={"name": REPO, "registryUri": "europe-west1-docker.pkg.dev/x"},
        ),
    )
    reader = out["nodes-registry-reader"]["spec"]["forProvider"]
    assert reader["member"] == f"serviceAccount:{EMAIL}"
    assert reader["role"] == "roles/artifactregistry.reader"


@pytest.mark.parametrize("reported", [None, "default"])
def test_a_pool_made_on_the_default_account_keeps_it(reported: str | None) -> None:
    """No account is composed for it and none named: the field would recreate every node.
    Its built images are still pulled as the default account."""
    pool_at: dict[str, Any] = {"nodeConfig": {"machineType": "e2-standard-2"}}
    if reported:
        pool_at["nodeConfig"]["serviceAccount"] = reported
    c = ctx(Strategy.KUBERNETES, False, PLATFORM, spec={"image": None})
    out = render(
        c,
        observed=_observed(
            node_pool=pool_at,
            artifact_repository={"name": REPO, "registryUri": "europe-west1-docker.pkg.dev/x"},
        ),
    )
    assert "serviceAccount" not in _pool(out)
    assert "node-service-account" not in out and "node-service-account-role" not in out
    assert out["nodes-registry-reader"]["spec"]["forProvider"]["member"] == DEFAULT


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
def test_a_pool_on_its_account_keeps_it_whatever_status_is_lost(namespaced: bool) -> None:
    whole = _observed(
        node_service_account={"email": EMAIL},
        node_pool={
            "nodeConfig": [{"serviceAccount": EMAIL}] if namespaced else {"serviceAccount": EMAIL}
        },
    )
    want = _pool(render(ctx(Strategy.KUBERNETES, namespaced, PLATFORM), observed=whole))
    assert want["serviceAccount"] == EMAIL
    # The account's status lost: the pool's own report names it.
    lost_account = copy.deepcopy(whole)
    lost_account["node-service-account"]["status"].pop("atProvider")
    out = render(ctx(Strategy.KUBERNETES, namespaced, PLATFORM), observed=lost_account)
    assert _pool(out) == want
    # Both lost (a restore without status): the pin remembers the account's email.
    known = effective(whole, {}).known
    assert known["node-service-account"] == {"email": EMAIL}
    both = copy.deepcopy(whole)
    for name in ("node-service-account", "node-pool"):
        both[name]["status"].pop("atProvider")
    filled = effective(both, known).observed
    out = render(ctx(Strategy.KUBERNETES, namespaced, PLATFORM), observed=filled)
    assert _pool(out) == want
    assert "node-service-account-role" in out


def test_an_observed_pool_is_never_left_out_while_its_account_is_unknown() -> None:
    observed = _observed(node_pool={}, node_service_account={})
    out = render(ctx(Strategy.KUBERNETES, False, PLATFORM), observed=observed)
    assert "node-pool" in out


def test_the_nodes_account_is_immutable_on_a_pool() -> None:
    """A change is a new pool beside the old (render/replace.py), never a silent recreate."""
    assert "nodeConfig.serviceAccount" in IMMUTABLE[("container", "NodePool")].fields


def test_a_replaced_generation_counts_as_the_pool() -> None:
    """Once only a replacement generation (`node-pool-g<hash>`) is observed, it is the pool:
    it keeps its account, and is not left out while the account's email is unknown."""
    gen = _observed(node_pool_gabc123={"nodeConfig": {"serviceAccount": EMAIL}})
    out = render(ctx(Strategy.KUBERNETES, False, PLATFORM), observed=gen)
    pools = [n for n in out if n.startswith("node-pool")]
    assert pools and all(
        out[n]["spec"]["forProvider"]["nodeConfig"]["serviceAccount"] == EMAIL for n in pools
    )
    legacy = _observed(node_pool_gabc123={"nodeConfig": {"serviceAccount": "default"}})
    out = render(ctx(Strategy.KUBERNETES, False, PLATFORM), observed=legacy)
    assert "node-service-account" not in out
    assert any(n.startswith("node-pool") for n in out)
