"""examples/tenancy: onboarding, roles and network policies say what docs/tenancy.md says."""

from __future__ import annotations

from typing import Any

import yaml

from tests.support.crdcheck import REPO_ROOT

TENANCY = REPO_ROOT / "examples" / "tenancy"


def docs(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((TENANCY / name).read_text()) if d]


def test_onboarding_quota_counts_the_claims() -> None:
    by_kind = {d["kind"]: d for d in docs("onboarding.yaml")}
    ns = by_kind["Namespace"]["metadata"]["name"]
    quota = by_kind["ResourceQuota"]
    assert quota["metadata"]["namespace"] == ns
    assert {"count/appdeployments.scia.io", "count/cloudproviders.scia.io"} <= set(
        quota["spec"]["hard"]
    )
    roles = {d["roleRef"]["name"] for d in docs("onboarding.yaml") if d["kind"] == "RoleBinding"}
    assert roles == {"scia-deployer", "scia-viewer"}
    assert all(
        d["metadata"]["namespace"] == ns
        for d in docs("onboarding.yaml")
        if d["kind"] != "Namespace"
    )


def _verbs(role: dict[str, Any], group: str, resource: str) -> set[str]:
    return {
        v
        for r in role["rules"]
        if group in r["apiGroups"] and resource in r["resources"]
        for v in r["verbs"]
    }


def test_deployer_writes_but_never_reads_secrets_and_viewer_only_reads() -> None:
    roles = {d["metadata"]["name"]: d for d in docs("cluster-roles.yaml")}
    deployer, viewer = roles["scia-deployer"], roles["scia-viewer"]
    for res in ("appdeployments", "cloudproviders"):
        assert {"create", "get", "update", "delete"} <= _verbs(deployer, "scia.io", res)
        assert _verbs(viewer, "scia.io", res) == {"get", "list", "watch"}
    assert "create" in _verbs(deployer, "", "secrets")
    assert not {"get", "list", "watch"} & _verbs(deployer, "", "secrets")
    assert not _verbs(viewer, "", "secrets")
    assert all("*" not in r["verbs"] and "*" not in r["resources"] for r in deployer["rules"])


def test_network_policies_admit_only_crossplane_and_the_function() -> None:
    by_name = {d["metadata"]["name"]: d["spec"] for d in docs("network-policy.yaml")}
    fn = by_name["function-scia-from-crossplane"]
    db = by_name["scia-database-from-function"]
    assert fn["policyTypes"] == ["Ingress"] and db["policyTypes"] == ["Ingress"]
    assert [p["port"] for p in fn["ingress"][0]["ports"]] == [9443]
    assert [p["port"] for p in db["ingress"][0]["ports"]] == [5432]
    # The database admits exactly the pods the function policy protects.
    assert db["ingress"][0]["from"] == [
        {"podSelector": {"matchLabels": fn["podSelector"]["matchLabels"]}}
    ]
    assert fn["ingress"][0]["from"] == [{"podSelector": {"matchLabels": {"app": "crossplane"}}}]
