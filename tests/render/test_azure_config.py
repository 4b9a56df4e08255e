"""Azure: spec.env, spec.envFrom and bound stores reach every strategy (VM scale set, AKS,
Container Apps) by reference only (render/azure/secrets.py): Key Vault copies of the
tenant's Secrets in a vault of the deployment's own with RBAC authorization, the app's own
managed identity reading that vault only, the launcher's configuration (names, ids,
versions) in the workload; every manifest validates against provider-upjet-azure's CRDs in
both scopes."""

from __future__ import annotations

import base64
import gzip
import json
import re
from typing import Any

import pytest

from function.model import Strategy
from function.render.azure.secrets import (
    APP_IDENTITY,
    READ_GRANT,
    VAULT,
    WRITE_GRANT,
    secret_name,
)
from function.render.common import RenderContext, UnsupportedTarget
from function.render.dispatch import render_plan
from function.render.names import EXTERNAL_NAME
from function.xr import AppSpec
from tests.render.test_render_azure import FULL_OBSERVED, SETTINGS, azure_ctx
from tests.support.crdcheck import assert_all_valid

READY = [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "True"}]
SPEC: dict[str, Any] = {
    "env": [{"name": "MODE", "value": "prod"}],
    "envFrom": [
        {"secretRef": {"name": "app-secrets", "keys": [{"key": "api-key", "as": "API_KEY"}]}}
    ],
    "services": {"postgres": {"secretRef": {"name": "db", "key": "url"}}},
}
IDENTITY_ID = (
    "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/"
    "userAssignedIdentities/app"
)
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
TENANT_ID = "99999999-8888-7777-6666-555555555555"
VAULT_ID = "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/kv"
VAULT_URI = "https://team-a-flask-app-kv.vault.azure.net/"
ISSUER = "https://westeurope.oic.prod-aks.azure.com/t/c/"
WRITER = "0f0f0f0f-1111-2222-3333-444444444444"
SEEN: dict[str, dict[str, Any]] = {
    APP_IDENTITY: {
        "status": {
            "atProvider": {
                "id": IDENTITY_ID,
                "clientId": CLIENT_ID,
                "principalId": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                "tenantId": TENANT_ID,
            }
        }
    },
    VAULT: {"status": {"atProvider": {"id": VAULT_ID, "vaultUri": VAULT_URI}}},
}
SCOPES = pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])


def cfg_ctx(
    strategy: Strategy,
    namespaced: bool,
    spec: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
) -> RenderContext:
    c = azure_ctx(strategy, namespaced, settings=settings)
    data = {**c.spec.model_dump(by_alias=True, exclude_none=True), **(spec or SPEC)}
    return RenderContext(**{**c.__dict__, "spec": AppSpec.model_validate(data), "notes": []})


def observed(strategy: Strategy, *, seen: bool = True) -> dict[str, dict[str, Any]]:
    """Everything the strategy waits for (the AKS cluster Ready, with its issuer)."""
    out = {k: v for k, v in FULL_OBSERVED.items() if k != "vm-scale-set" and k != "container-app"}
    if strategy is Strategy.KUBERNETES:
        out["aks-cluster"] = {
            "status": {
                "conditions": READY,
                "atProvider": {"id": "/subscriptions/s/aks", "oidcIssuerUrl": ISSUER},
            }
        }
    return out | (SEEN if seen else {})


def _named(desired: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**b, "metadata": {**b["metadata"], "name": f"x-{n}"[:63]}} for n, b in desired.items()]


def launch_config(strategy: Strategy, desired: dict[str, Any]) -> dict[str, Any]:
    """The launcher's configuration as the workload carries it."""
    if strategy is Strategy.SERVERLESS:
        tpl = desired["container-app"]["spec"]["forProvider"]["template"]
        env = {e["name"]: e["value"] for e in tpl["container"][0]["env"]}
        return dict(json.loads(env["SCIA_LAUNCH_CONFIG"]))
    if strategy is Strategy.KUBERNETES:
        dep = next(
            b for n, b in desired.items() if n.startswith("k8s-") and n.endswith("-deployment")
        )
        pod = dep["spec"]["forProvider"]["manifest"]["spec"]["template"]["spec"]
        env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
        return dict(json.loads(env["SCIA_LAUNCH_CONFIG"]))
    ext = desired["vm-scale-set"]["spec"]["forProvider"]["extension"][0]
    script = base64.b64decode(json.loads(ext["settings"])["script"]).decode()
    line = script.split("SCIA_LAUNCH_CONFIG_EOF'\n", 1)[1].split("\n", 1)[0]
    return dict(json.loads(line))


def vm_observed() -> dict[str, dict[str, Any]]:
    return {k: v for k, v in FULL_OBSERVED.items() if k != "vm-scale-set"} | SEEN


def strategy_observed(strategy: Strategy) -> dict[str, dict[str, Any]]:
    return vm_observed() if strategy is Strategy.VM else observed(strategy)


@SCOPES
@pytest.mark.parametrize("strategy", list(Strategy))
@pytest.mark.parametrize("seen", [False, True], ids=["first", "ids-observed"])
def test_every_config_manifest_validates(strategy: Strategy, namespaced: bool, seen: bool) -> None:
    c = cfg_ctx(strategy, namespaced, settings={**SETTINGS, "azure": {
        **SETTINGS["azure"], "secretsWriterObjectId": WRITER}})  # fmt: skip
    obs = strategy_observed(strategy) if seen else {}
    desired = render_plan(c, obs).desired
    kinds = {b["kind"] for b in desired.values()}
    assert "UserAssignedIdentity" in kinds
    if seen:
        assert {"Vault", "Secret", "RoleAssignment"} <= kinds
    assert_all_valid(_named(desired))


@SCOPES
@pytest.mark.parametrize("strategy", list(Strategy))
def test_secrets_are_copied_by_reference_from_the_tenants_namespace(
    strategy: Strategy, namespaced: bool
) -> None:
    c = cfg_ctx(strategy, namespaced)
    desired = render_plan(c, strategy_observed(strategy)).desired
    secrets = [b for b in desired.values() if b["kind"] == "Secret"]
    refs = sorted(
        (s["spec"]["forProvider"]["valueSecretRef"]["name"],
         s["spec"]["forProvider"]["valueSecretRef"]["key"]) for s in secrets
    )  # fmt: skip
    assert refs == [("app-secrets", "api-key"), ("db", "url")]
    for s in secrets:
        fp = s["spec"]["forProvider"]
        if namespaced:  # a namespaced secret reads its own namespace: the tenant's
            assert "namespace" not in fp["valueSecretRef"]
            assert s["metadata"]["namespace"] == "team-a"
        else:
            assert fp["valueSecretRef"]["namespace"] == "team-a"
        assert "value" not in fp and "valueWo" not in fp
        assert fp["keyVaultIdSelector"]["matchControllerRef"] is True
        assert re.fullmatch(r"[0-9a-zA-Z-]{1,127}", fp["name"])
    assert {s["spec"]["forProvider"]["name"] for s in secrets} == {
        secret_name("API_KEY"),
        secret_name("DATABASE_URL"),
    }


def test_secret_names_keep_names_that_differ_only_in_case_apart() -> None:
    assert secret_name("api_key") != secret_name("API_KEY")
    assert secret_name("A_B").startswith("a-b-")


@pytest.mark.parametrize("strategy", list(Strategy))
def test_the_vault_uses_rbac_and_the_app_identity_reads_only_it(strategy: Strategy) -> None:
    c = cfg_ctx(strategy, False)
    desired = render_plan(c, strategy_observed(strategy)).desired
    vault = desired[VAULT]["spec"]["forProvider"]
    assert vault["rbacAuthorizationEnabled"] is True
    assert vault["tenantId"] == TENANT_ID
    assert vault["skuName"] == "standard"
    name = desired[VAULT]["metadata"]["annotations"][EXTERNAL_NAME]
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]", name) and "--" not in name
    grant = desired[READ_GRANT]["spec"]["forProvider"]
    assert grant["roleDefinitionName"] == "Key Vault Secrets User"
    assert grant["scope"] == VAULT_ID  # the vault only: no resource group, no subscription
    assert grant["principalId"] == SEEN[APP_IDENTITY]["status"]["atProvider"]["principalId"]
    # No writer grant unless the platform names the provider's principal.
    assert WRITE_GRANT not in desired
    roles = [b["spec"]["forProvider"] for b in desired.values() if b["kind"] == "RoleAssignment"]
    assert all(r["scope"] != "/subscriptions/s" for r in roles)


def test_the_providers_principal_may_write_the_copies_on_that_vault_only() -> None:
    settings = {**SETTINGS, "azure": {**SETTINGS["azure"], "secretsWriterObjectId": WRITER}}
    c = cfg_ctx(Strategy.SERVERLESS, True, settings=settings)
    desired = render_plan(c, observed(Strategy.SERVERLESS)).desired
    grant = desired[WRITE_GRANT]["spec"]["forProvider"]
    assert grant["roleDefinitionName"] == "Key Vault Secrets Officer"
    assert (grant["scope"], grant["principalId"]) == (VAULT_ID, WRITER)


@SCOPES
@pytest.mark.parametrize("strategy", list(Strategy))
def test_the_workload_runs_as_the_app_identity_with_names_never_values(
    strategy: Strategy, namespaced: bool
) -> None:
    c = cfg_ctx(strategy, namespaced)
    desired = render_plan(c, strategy_observed(strategy)).desired
    cfg = launch_config(strategy, desired)
    assert cfg["azure"] == {"clientId": CLIENT_ID}
    sources = {s.get("name"): s for s in cfg["sources"]}
    assert cfg["sources"][0] == {"from": "values", "values": {"MODE": "prod"}}
    for env_name in ("API_KEY", "DATABASE_URL"):
        src = sources[env_name]
        assert src == {
            "from": "azure-secret",
            "name": env_name,
            "vault": VAULT_URI,
            "id": secret_name(env_name),
            "version": "",
        }
    if strategy is Strategy.VM:
        fp = desired["vm-scale-set"]["spec"]["forProvider"]
        assert fp["identity"] == {"type": "UserAssigned", "identityIds": [IDENTITY_ID]}
    elif strategy is Strategy.SERVERLESS:
        fp = desired["container-app"]["spec"]["forProvider"]
        assert IDENTITY_ID in fp["identity"]["identityIds"]
        assert "secret" not in fp  # no Container App secret: nothing from a Secret here
    else:
        account = desired["app-account"]["spec"]["forProvider"]["manifest"]
        assert account["metadata"]["name"] == "scia-app"
        assert account["metadata"]["annotations"] == {
            "azure.workload.identity/client-id": CLIENT_ID
        }
        dep = next(b for n, b in desired.items() if n.endswith("-deployment"))
        tpl = dep["spec"]["forProvider"]["manifest"]["spec"]["template"]
        assert tpl["metadata"]["labels"]["azure.workload.identity/use"] == "true"
        assert tpl["spec"]["serviceAccountName"] == "scia-app"
        fed = desired["app-federation"]["spec"]["forProvider"]
        ns = dep["spec"]["forProvider"]["manifest"]["metadata"]["namespace"]
        assert fed["subject"] == f"system:serviceaccount:{ns}:scia-app"
        assert fed["issuer"] == ISSUER
        assert fed["audience"] == ["api://AzureADTokenExchange"]


@pytest.mark.parametrize("strategy", list(Strategy))
def test_the_workload_waits_for_its_identity_and_a_running_one_is_kept(
    strategy: Strategy,
) -> None:
    c = cfg_ctx(strategy, False)
    obs = strategy_observed(strategy)
    first = render_plan(c, {k: v for k, v in obs.items() if k not in SEEN}).desired
    workload = {
        Strategy.VM: "vm-scale-set",
        Strategy.SERVERLESS: "container-app",
        Strategy.KUBERNETES: "app-namespace",
    }[strategy]
    assert workload not in first
    assert VAULT not in first and READ_GRANT not in first
    if strategy is Strategy.KUBERNETES:
        return
    # A workload that runs already (configuration added later) is never left out, and
    # keeps running without a launch configuration it could not read yet.
    running = {k: v for k, v in obs.items() if k not in SEEN} | {workload: FULL_OBSERVED[workload]}
    kept = render_plan(cfg_ctx(strategy, False), running).desired
    assert workload in kept
    assert "SCIA_LAUNCH_CONFIG" not in json.dumps(kept[workload])


@pytest.mark.parametrize("strategy", list(Strategy))
def test_a_new_secret_version_rolls_out_like_a_new_commit(strategy: Strategy) -> None:
    c = cfg_ctx(strategy, False)
    obs = strategy_observed(strategy)
    before = render_plan(c, obs).desired
    component = next(n for n, b in before.items() if b["kind"] == "Secret")
    again = render_plan(
        cfg_ctx(strategy, False),
        obs | {component: {"status": {"atProvider": {"version": "0a1b2c3d"}}}},
    ).desired
    old, new = launch_config(strategy, before), launch_config(strategy, again)
    assert old["version"] != new["version"]
    assert "0a1b2c3d" in {s.get("version") for s in new["sources"]}
    if strategy is Strategy.VM:
        tags = [
            d["vm-scale-set"]["spec"]["forProvider"]["extension"][0]["forceUpdateTag"]
            for d in (before, again)
        ]
        assert tags[0] != tags[1] and all(t.startswith("a" * 12) for t in tags)


def test_no_configuration_composes_no_identity_or_vault() -> None:
    for strategy in Strategy:
        obs = strategy_observed(strategy)
        desired = render_plan(azure_ctx(strategy, False), obs).desired
        assert not {APP_IDENTITY, VAULT, READ_GRANT} & set(desired)
        if strategy is Strategy.VM:
            ext = desired["vm-scale-set"]["spec"]["forProvider"]["extension"][0]
            assert ext["forceUpdateTag"] == "a" * 12  # unchanged for existing scale sets
            assert "identity" not in desired["vm-scale-set"]["spec"]["forProvider"]


def test_the_vm_script_installs_the_launcher() -> None:
    desired = render_plan(cfg_ctx(Strategy.VM, False), vm_observed()).desired
    ext = desired["vm-scale-set"]["spec"]["forProvider"]["extension"][0]
    script = base64.b64decode(json.loads(ext["settings"])["script"]).decode()
    packed = script.split("SCIA_LAUNCHER_EOF' | gunzip")[1].split("SCIA_LAUNCHER_EOF")[0]
    source = gzip.decompress(base64.b64decode("".join(packed.split("\n")[1:]))).decode()
    assert "def _fetch_token" in source and "azure-secret" in source
    assert "scia-launch /etc/scia/launch.json" in script


def test_composed_stores_are_still_refused_on_azure_naming_the_field() -> None:
    c = cfg_ctx(Strategy.SERVERLESS, False, spec={"services": {"redis": {}}})
    with pytest.raises(
        UnsupportedTarget, match=r"spec\.services\.redis: this decision composes no redis"
    ):
        render_plan(c, {})


def test_the_writer_principal_is_not_a_decision_input() -> None:
    """azure.secretsWriterObjectId names an identity: setting it (or the field's arrival)
    never moves a pin's inputs hash, so no Azure deployment is decided again for it."""
    from function.input import FunctionInput

    plain = FunctionInput.model_validate(SETTINGS).for_cloud("azure")
    named = FunctionInput.model_validate(
        {**SETTINGS, "azure": {**SETTINGS["azure"], "secretsWriterObjectId": WRITER}}
    ).for_cloud("azure")
    assert plain.decision_fingerprint() == named.decision_fingerprint()
    assert "secrets_writer_object_id" not in json.dumps(plain.decision_fingerprint())
