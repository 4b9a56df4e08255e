"""Azure: every strategy x scope x policy renders manifests the provider CRDs accept, and the
rules that make them safe and correct hold (network exposure, staging on observed ids,
images, names, tags, rollouts)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from function.input import FunctionInput
from function.model import Decision, KubernetesParams, ServerlessParams, Strategy, VmParams
from function.pinning import AnalysisSummary
from function.render.azure.base import MAX_TAG_VALUE, tag_name, tags
from function.render.azure.names import DNS_LABEL, DNS_PREFIX, RULES
from function.render.azure.serverless import container_size
from function.render.common import RenderContext, UnsupportedTarget
from function.render.dispatch import render, render_plan
from function.render.names import EXTERNAL_NAME
from function.xr import AppSpec, XrIdentity
from tests.support.crdcheck import assert_all_valid

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZ1bmN0aW9uLXNjaWEtdGVzdC1rZXk platform@scia"
PULL_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/platform/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/acr-pull"
)
SETTINGS: dict[str, Any] = {
    "azure": {
        "adminSshPublicKey": SSH_KEY,
        "containerRegistries": [{"loginServer": "acmeapps.azurecr.io", "pullIdentityId": PULL_ID}],
    }
}
IMAGE = "acmeapps.azurecr.io/flask-app:1.4.2"
DECISIONS = {
    Strategy.VM: Decision(
        strategy=Strategy.VM,
        port=5000,
        health_check_path="/healthz",
        reason="r",
        confidence=0.8,
        vm=VmParams(
            instance_type="Standard_B2s", min_size=2, max_size=4, desired_capacity=2, volume_gb=30
        ),
    ),
    Strategy.KUBERNETES: Decision(
        strategy=Strategy.KUBERNETES,
        reason="r",
        confidence=0.7,
        kubernetes=KubernetesParams(
            node_instance_type="Standard_D2s_v5", min_nodes=2, max_nodes=4, desired_nodes=2
        ),
    ),
    Strategy.SERVERLESS: Decision(
        strategy=Strategy.SERVERLESS,
        port=3000,
        health_check_path="/health",
        reason="r",
        confidence=0.6,
        serverless=ServerlessParams(memory_mb=1024, timeout_seconds=30),
    ),
}


def _id(component: str) -> dict[str, Any]:
    return {"status": {"atProvider": {"id": f"/subscriptions/s/resourceGroups/g/x/{component}"}}}


# Observed ids some resources wait for: with these every resource is composed.
FULL_OBSERVED: dict[str, dict[str, Any]] = {
    c: _id(c)
    for c in (
        "lb-backend-pool",
        "lb-probe",
        "lb-rule",
        "load-balancer",
        "vm-scale-set",
        "aks-cluster",
        "log-workspace",
        "container-app",
    )
}


def azure_ctx(
    strategy: Strategy,
    namespaced: bool,
    *,
    policies: tuple[str, ...] = (),
    settings: dict[str, Any] | None = None,
    image: str | None = IMAGE,
    commit: str = "a" * 40,
    identity: XrIdentity | None = None,
    extra_tags: dict[str, str] | None = None,
) -> RenderContext:
    spec = AppSpec.model_validate(
        {
            "repository": {"url": "https://github.com/acme/flask-app"},
            "cloudProvider": "azure",
            "region": "westeurope",
            "image": image,
            "policies": list(policies),
        }
    )
    return RenderContext(
        identity=identity
        or XrIdentity(
            name="flask-app-x1",
            uid="u-1",
            tenant="team-a",
            namespaced=namespaced,
            deployment_name="flask-app",
        ),
        spec=spec,
        settings=FunctionInput.model_validate(
            settings if settings is not None else SETTINGS
        ).for_cloud("azure"),
        decision=DECISIONS[strategy],
        commit=commit,
        analysis=AnalysisSummary(language="python", framework="flask", port=5000),
        extra_tags=extra_tags or {},
    )


SCOPES = pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
POLICY_SETS = [(), ("enable-monitoring",)]


@SCOPES
@pytest.mark.parametrize("strategy", list(Strategy))
@pytest.mark.parametrize("policies", POLICY_SETS, ids=["plain", "monitoring"])
def test_every_manifest_validates_against_provider_crds(
    strategy: Strategy, namespaced: bool, policies: tuple[str, ...]
) -> None:
    for observed in ({}, FULL_OBSERVED):
        out = render(azure_ctx(strategy, namespaced, policies=policies), observed=observed)
        assert "resource-group" in out
        for name, body in out.items():
            group = body["apiVersion"].split("/")[0]
            if group in ("kubernetes.crossplane.io", "kubernetes.m.crossplane.io"):
                assert group.startswith("kubernetes.m.") == namespaced, name
                assert ("namespace" in body["metadata"]) == namespaced
                continue
            assert group.endswith(".azure.m.upbound.io" if namespaced else ".azure.upbound.io") or (
                group == ("azure.m.upbound.io" if namespaced else "azure.upbound.io")
            ), name
            assert ("namespace" in body["metadata"]) == namespaced
            assert_all_valid([{**body, "metadata": {**body["metadata"], "name": f"x-{name}"}}])


def test_what_each_strategy_composes_once_everything_is_observed() -> None:
    vm = render(azure_ctx(Strategy.VM, False, policies=("enable-monitoring",)), FULL_OBSERVED)
    assert {
        "resource-group",
        "vnet",
        "subnet",
        "network-security-group",
        "subnet-nsg-association",
        "public-ip",
        "load-balancer",
        "lb-backend-pool",
        "lb-probe",
        "lb-rule",
        "vm-scale-set",
        "autoscale-setting",
        "alert-cpu",
        "alert-unhealthy-backends",
    } <= set(vm)
    aks = render(azure_ctx(Strategy.KUBERNETES, True), FULL_OBSERVED)
    assert set(aks) == {
        "resource-group",
        "vnet",
        "subnet",
        "network-security-group",
        "subnet-nsg-association",
        "nsg-allow-public-service",  # AKS adds no rule to the subnet's group
        "nsg-deny-blocked-ports",
        "aks-cluster",
        "kubernetes-provider-config",  # the workload waits for the cluster's Ready
    }
    ca = render(azure_ctx(Strategy.SERVERLESS, True), FULL_OBSERVED)
    assert set(ca) == {
        "resource-group",
        "log-workspace",
        "container-app-environment",
        "container-app",
    }


def test_vm_network_security_opens_only_the_app_port_and_never_ssh() -> None:
    out = render(azure_ctx(Strategy.VM, False), FULL_OBSERVED)
    rules = {k: b["spec"]["forProvider"] for k, b in out.items() if b["kind"] == "SecurityRule"}
    allows = [r for r in rules.values() if r["access"] == "Allow"]
    assert all(r["direction"] == "Inbound" and r["protocol"] == "Tcp" for r in rules.values())
    # Only the app port, only from the load balancer's probes and the internet via the rule.
    assert {(r["sourceAddressPrefix"], r["destinationPortRange"]) for r in allows} == {
        ("AzureLoadBalancer", "5000"),
        ("Internet", "5000"),
    }
    for r in allows:
        assert r["destinationAddressPrefix"] == "10.20.0.0/20"
        assert "destinationPortRanges" not in r
    deny = rules["nsg-deny-blocked-ports"]
    assert deny["access"] == "Deny" and {"22", "3389", "2375"} <= set(deny["destinationPortRanges"])
    assert deny["priority"] > max(r["priority"] for r in allows)
    # The instances get no public IP: the only way in is the load-balancing rule.
    nic = out["vm-scale-set"]["spec"]["forProvider"]["networkInterface"][0]
    assert "publicIpAddress" not in nic["ipConfiguration"][0]
    lb_rule = out["lb-rule"]["spec"]["forProvider"]
    assert (lb_rule["frontendPort"], lb_rule["backendPort"]) == (80, 5000)
    assert lb_rule["disableOutboundSnat"] is False  # the instances' outbound path


def test_vm_is_staged_on_observed_ids() -> None:
    c = azure_ctx(Strategy.VM, False)
    bare = render_plan(c, {})
    assert "lb-rule" not in bare.desired and "vm-scale-set" not in bare.desired
    assert any("backend pool" in n for n in bare.notes)
    ids = {k: FULL_OBSERVED[k] for k in ("lb-backend-pool", "lb-probe")}
    with_ids = render(c, ids)
    rule = with_ids["lb-rule"]["spec"]["forProvider"]
    assert rule["backendAddressPoolIds"] == [ids["lb-backend-pool"]["status"]["atProvider"]["id"]]
    assert rule["probeId"] == ids["lb-probe"]["status"]["atProvider"]["id"]
    assert "vm-scale-set" not in with_ids  # the rule (outbound access) must exist first
    full = render(c, ids | {"lb-rule": FULL_OBSERVED["lb-rule"]})
    vmss = full["vm-scale-set"]["spec"]
    assert vmss["forProvider"]["healthProbeId"] == rule["probeId"]
    ipc = vmss["forProvider"]["networkInterface"][0]["ipConfiguration"][0]
    assert ipc["loadBalancerBackendAddressPoolIds"] == rule["backendAddressPoolIds"]
    assert vmss["initProvider"] == {"instances": 2}  # the autoscale setting owns it after
    assert "instances" not in vmss["forProvider"]


def test_vm_keeps_ids_from_its_observed_spec_when_status_is_lost() -> None:
    c = azure_ctx(Strategy.VM, False)
    full = render(c, FULL_OBSERVED)
    # Every resource observed with its spec but no status (restored from a backup).
    restored = {k: {"spec": v["spec"]} for k, v in full.items()}
    again = render_plan(c, restored)
    assert (
        again.desired["lb-rule"]["spec"]["forProvider"]["probeId"]
        == (full["lb-rule"]["spec"]["forProvider"]["probeId"])
    )
    assert "vm-scale-set" in again.desired
    assert any("keeps" in n for n in again.notes)


def test_vm_start_script_runs_the_pinned_commit_and_a_new_commit_rolls_out() -> None:
    one = render(azure_ctx(Strategy.VM, False), FULL_OBSERVED)["vm-scale-set"]
    two = render(azure_ctx(Strategy.VM, False, commit="b" * 40), FULL_OBSERVED)["vm-scale-set"]
    ext = one["spec"]["forProvider"]["extension"][0]
    assert (ext["publisher"], ext["type"]) == ("Microsoft.Azure.Extensions", "CustomScript")
    script = base64.b64decode(json.loads(ext["settings"])["script"]).decode()
    assert f"COMMIT={'a' * 40}" in script and "apt-get" in script and "dnf" not in script
    assert "REPO=https://github.com/acme/flask-app" in script and "PORT=5000" in script
    ext2 = two["spec"]["forProvider"]["extension"][0]
    assert ext2["settings"] != ext["settings"] and ext2["forceUpdateTag"] == "b" * 12
    fp = one["spec"]["forProvider"]
    assert fp["upgradeMode"] == "Rolling" and fp["rollingUpgradePolicy"]["maxBatchInstancePercent"]
    assert fp["disablePasswordAuthentication"] is True
    assert fp["adminSshKey"] == [{"username": "scia", "publicKey": SSH_KEY}]
    assert fp["sourceImageReference"]["offer"] == "ubuntu-24_04-lts"


def test_vm_autoscale_only_for_a_range() -> None:
    c = azure_ctx(Strategy.VM, False)
    auto = render(c, FULL_OBSERVED)["autoscale-setting"]["spec"]["forProvider"]
    profile = auto["profile"][0]
    assert profile["capacity"] == {"default": 2, "minimum": 2, "maximum": 4}
    assert [r["scaleAction"]["direction"] for r in profile["rule"]] == ["Increase", "Decrease"]
    fixed = c.decision.model_copy(
        update={
            "vm": VmParams(instance_type="Standard_B2s", min_size=2, max_size=2, desired_capacity=2)
        }
    )
    c2 = RenderContext(**{**c.__dict__, "decision": fixed, "notes": []})
    assert "autoscale-setting" not in render(c2, FULL_OBSERVED)


def test_vm_refuses_require_https_without_its_certificate_and_a_missing_ssh_key() -> None:
    """require-https needs the platform's Key Vault certificate for the Application Gateway
    (tests/render/test_azure_gateway.py renders it with one)."""
    with pytest.raises(UnsupportedTarget, match=r"input\.policy\.https\.keyVaultCertificate"):
        render(azure_ctx(Strategy.VM, False, policies=("require-https",)), FULL_OBSERVED)
    with pytest.raises(UnsupportedTarget, match=r"input\.azure\.adminSshPublicKey"):
        render(azure_ctx(Strategy.VM, False, settings={}), FULL_OBSERVED)


@SCOPES
def test_serverless_container_app_from_acr_with_the_platform_identity(namespaced: bool) -> None:
    out = render(azure_ctx(Strategy.SERVERLESS, namespaced, policies=("require-https",)), {})
    app = out["container-app"]["spec"]["forProvider"]
    assert app["ingress"]["allowInsecureConnections"] is False  # HTTP redirects to HTTPS
    assert app["ingress"]["externalEnabled"] is True and app["ingress"]["targetPort"] == 3000
    assert app["registry"] == [{"server": "acmeapps.azurecr.io", "identity": PULL_ID}]
    assert app["identity"] == {"type": "UserAssigned", "identityIds": [PULL_ID]}
    container = app["template"]["container"][0]
    assert container["image"] == IMAGE
    assert (container["cpu"], container["memory"]) == (0.5, "1Gi")
    assert container["livenessProbe"][0]["path"] == "/health"
    assert "passwordSecretName" not in app["registry"][0]


@pytest.mark.parametrize(
    ("image", "why"),
    [
        (None, "needs spec.image"),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1", "Azure Container Registry"),
        ("docker.io/library/nginx:1", "Azure Container Registry"),
        ("otherregistry.azurecr.io/app:1", "not one the platform pulls from"),
    ],
)
def test_serverless_refuses_images_it_cannot_pull(image: str | None, why: str) -> None:
    with pytest.raises(UnsupportedTarget, match=why) as e:
        render(azure_ctx(Strategy.SERVERLESS, False, image=image), {})
    assert "spec.image" in str(e.value)


def test_container_sizes_follow_the_consumption_ratio() -> None:
    assert container_size(128) == (0.25, "0.5Gi")
    assert container_size(1024) == (0.5, "1Gi")
    assert container_size(1536) == (0.75, "1.5Gi")
    assert container_size(3008) == (1.5, "3Gi")
    assert container_size(10240) == (4.0, "8Gi")


def test_kubernetes_cluster_autoscaler_and_monitoring_wait_for_the_workspace_id() -> None:
    c = azure_ctx(Strategy.KUBERNETES, False, policies=("enable-monitoring",))
    first = render_plan(c, {})
    aks = first.desired["aks-cluster"]["spec"]
    pool = aks["forProvider"]["defaultNodePool"]
    assert (pool["minCount"], pool["maxCount"], pool["autoScalingEnabled"]) == (2, 4, True)
    assert aks["initProvider"] == {"defaultNodePool": {"nodeCount": 2}}
    assert "omsAgent" not in aks["forProvider"] and "log-workspace" in first.desired
    assert any("omsAgent" in n for n in first.notes)
    later = render(c, FULL_OBSERVED)["aks-cluster"]["spec"]["forProvider"]
    assert later["omsAgent"]["logAnalyticsWorkspaceId"].endswith("/log-workspace")
    net = later["networkProfile"]
    assert (net["serviceCidr"], net["dnsServiceIp"]) == ("10.21.0.0/16", "10.21.0.10")
    assert later["defaultNodePool"]["nodePublicIpEnabled"] is False


def test_monitoring_alerts_watch_observed_ids_and_notify_the_action_group() -> None:
    group = (
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ops/providers/"
        "microsoft.insights/actionGroups/oncall"
    )
    settings = {"azure": {**SETTINGS["azure"], "actionGroupId": group}}
    c = azure_ctx(Strategy.SERVERLESS, False, policies=("enable-monitoring",), settings=settings)
    assert not {"alert-5xx", "alert-restarts"} & set(render(c, {}))
    out = render(c, FULL_OBSERVED)
    alert = out["alert-5xx"]["spec"]["forProvider"]
    assert alert["scopes"] == [FULL_OBSERVED["container-app"]["status"]["atProvider"]["id"]]
    assert alert["action"] == [{"actionGroupId": group}]
    assert alert["criteria"][0]["dimension"][0]["values"] == ["5xx"]


HOSTILE = [
    ("team-a", "flask-app"),
    ("t" * 63, "d" * 253),
    ("9lives", "1.2.3"),
    ("a", "_x_"),
    ("kube-system", "internal-app.v2"),
]


@pytest.mark.parametrize(("tenant", "deployment"), HOSTILE)
@pytest.mark.parametrize("strategy", list(Strategy))
def test_names_follow_azure_rules_for_hostile_identities(
    strategy: Strategy, tenant: str, deployment: str
) -> None:
    ident = XrIdentity(
        name=deployment[:253],
        uid="0f1e2d3c-aaaa-bbbb-cccc-000000000001",
        tenant=tenant,
        namespaced=True,
        deployment_name=deployment,
    )
    c = azure_ctx(strategy, True, identity=ident, policies=("enable-monitoring",))
    out = render(c, FULL_OBSERVED)
    seen: set[str] = set()
    for component, body in out.items():
        kind = body["kind"]
        fp = body["spec"].get("forProvider") or {}
        if kind in RULES:
            rule = RULES[kind]
            name = (
                fp["name"]
                if kind == "MonitorAutoscaleSetting"
                else (body["metadata"]["annotations"][EXTERNAL_NAME])
            )
            assert rule.valid(name), (component, kind, name)
            assert name not in seen
            seen.add(name)
        if kind == "PublicIP":
            assert DNS_LABEL.valid(fp["domainNameLabel"]), fp["domainNameLabel"]
        if kind == "KubernetesCluster":
            assert DNS_PREFIX.valid(fp["dnsPrefix"]), fp["dnsPrefix"]


def test_observed_names_are_kept() -> None:
    c = azure_ctx(Strategy.VM, False)
    observed = {
        "vm-scale-set": {
            **FULL_OBSERVED["vm-scale-set"],
            "metadata": {"annotations": {EXTERNAL_NAME: "legacy-vmss-name"}},
        },
        "public-ip": {"spec": {"forProvider": {"domainNameLabel": "old-label"}}},
    }
    out = render(c, FULL_OBSERVED | observed)
    assert out["vm-scale-set"]["metadata"]["annotations"][EXTERNAL_NAME] == "legacy-vmss-name"
    assert out["public-ip"]["spec"]["forProvider"]["domainNameLabel"] == "old-label"


def test_tags_follow_azure_rules() -> None:
    extra = {
        "cost-center": "42",
        "a/b<c>%d&e\\f?g": "x" * 600,
        "MANAGED-BY": "tenant tries to override",
        **{f"k{i}": "v" for i in range(60)},
    }
    c = azure_ctx(Strategy.SERVERLESS, False, extra_tags=extra)
    t = tags(c)
    assert len(t) <= 50
    assert t["managed-by"] == "scia" and "MANAGED-BY" not in t  # case-insensitive clash
    assert t["scia.io_tenant"] == "team-a" and t["scia.io_strategy"] == "serverless"
    for k, v in t.items():
        assert not re.search(r"[<>%&\\?/]", k) and len(k) <= 512 and len(v) <= MAX_TAG_VALUE
    assert tag_name("a/b<c>%d&e\\f?g") == "a_b_c__d_e_f_g"
    out = render(c, {})
    assert out["container-app"]["spec"]["forProvider"]["tags"] == t


def test_docs_list_every_azure_name_rule_and_kind() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "azure-rendering.md").read_text()
    for kind, rule in RULES.items():
        assert f"{rule.min_len}-{rule.max_len} |" in doc, kind
        assert kind in doc, kind
    for rule in (DNS_LABEL, DNS_PREFIX):
        assert f"| {rule.what} | {rule.min_len}-{rule.max_len} |" in doc


def test_endpoints_and_rollout_from_observed_state() -> None:
    from function.status import endpoints, rollout_pending

    observed = {
        "public-ip": {"status": {"atProvider": {"fqdn": "x.westeurope.cloudapp.azure.com"}}},
        "container-app": {
            "status": {
                "atProvider": {
                    "ingress": {"fqdn": "app.nicesea-1.westeurope.azurecontainerapps.io"},
                    "latestRevisionFqdn": "app--r2.nicesea-1.westeurope.azurecontainerapps.io",
                }
            }
        },
        "aks-cluster": {"status": {"atProvider": {"fqdn": "k-1a2b.hcp.westeurope.azmk8s.io"}}},
    }
    assert endpoints(observed) == [
        {"name": "load-balancer", "type": "http", "url": "http://x.westeurope.cloudapp.azure.com"},
        {
            "name": "container-app",
            "type": "http",
            "url": "https://app.nicesea-1.westeurope.azurecontainerapps.io",
        },
        {
            "name": "aks-cluster",
            "type": "kubernetes-api",
            "url": "https://k-1a2b.hcp.westeurope.azmk8s.io",
        },
    ]
    # A new image is rolled out only once the observed app runs it, in both scopes.
    for namespaced in (False, True):
        desired = render(azure_ctx(Strategy.SERVERLESS, namespaced), {})["container-app"]
        old = {
            "spec": {
                "forProvider": {
                    "template": {"container": [{"image": "acmeapps.azurecr.io/flask-app:1.4.1"}]}
                }
            }
        }
        assert rollout_pending("container-app", desired, old)
        new = {"spec": {"forProvider": {"template": {"container": [{"image": IMAGE}]}}}}
        assert rollout_pending("container-app", desired, new) is None


def test_kept_ids_and_labels_survive_the_grpc_layers_reduced_observed_state() -> None:
    """fn.py converts only the observed fields renderers read: the ids a restored rule
    keeps, the DNS label and the AKS prefix must be among them."""
    from crossplane.function import resource
    from crossplane.function.proto.v1 import run_function_pb2 as fnv1

    from function.fn import _observed

    for strategy in (Strategy.VM, Strategy.KUBERNETES):
        c = azure_ctx(strategy, True, policies=("enable-monitoring",))
        full = render(c, FULL_OBSERVED)
        restored = {k: {**v, "status": {}} for k, v in full.items()}
        if "public-ip" in restored:
            restored["public-ip"]["spec"]["forProvider"]["domainNameLabel"] = "kept-label"
        if "aks-cluster" in restored:
            restored["aks-cluster"]["spec"]["forProvider"]["dnsPrefix"] = "kept-prefix"
        req = fnv1.RunFunctionRequest()
        for name, body in restored.items():
            req.observed.resources[name].resource.CopyFrom(resource.dict_to_struct(body))
        reduced = _observed(req)
        assert render(c, reduced) == render(c, restored)
        out = render(c, reduced)
        if strategy is Strategy.VM:
            assert out["lb-rule"]["spec"]["forProvider"] == full["lb-rule"]["spec"]["forProvider"]
            assert out["public-ip"]["spec"]["forProvider"]["domainNameLabel"] == "kept-label"
            assert "vm-scale-set" in out
        else:
            fp = out["aks-cluster"]["spec"]["forProvider"]
            assert fp["dnsPrefix"] == "kept-prefix"
            assert fp["omsAgent"] == full["aks-cluster"]["spec"]["forProvider"]["omsAgent"]


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
def test_the_grpc_layer_keeps_the_rollout_fields_in_both_scopes(namespaced: bool) -> None:
    """A reduced observed resource must still show what the rollout check compares, or a
    deployment never reads as rolled out (a namespaced group is the cluster-scoped one)."""
    from crossplane.function import resource
    from crossplane.function.proto.v1 import run_function_pb2 as fnv1

    from function.fn import _observed
    from function.status import rollout_pending

    c = azure_ctx(Strategy.SERVERLESS, namespaced)
    desired = render(c, FULL_OBSERVED)
    req = fnv1.RunFunctionRequest()
    for name, body in desired.items():
        req.observed.resources[name].resource.CopyFrom(resource.dict_to_struct(body))
    reduced = _observed(req)
    assert (
        rollout_pending("container-app", desired["container-app"], reduced["container-app"]) is None
    )


def _ready(component: str) -> dict[str, Any]:
    body = _id(component)
    body["status"]["conditions"] = [{"type": "Ready", "status": "True", "reason": "Available"}]
    return body


def _inbound(out: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        b["spec"]["forProvider"]
        for b in out.values()
        if b["kind"] == "SecurityRule" and b["spec"]["forProvider"]["direction"] == "Inbound"
    ]


def _allows(rules: list[dict[str, Any]], port: int) -> bool:
    """Whether internet clients reach `port` over TCP: the first rule (by priority) that
    matches such a packet allows it (none matching: Azure's DenyAllInBound)."""
    matching = sorted(
        (
            r
            for r in rules
            if r["sourceAddressPrefix"] in ("Internet", "*")
            and r["protocol"] in ("Tcp", "*")
            and port_in(r, port)
        ),
        key=lambda r: int(r["priority"]),
    )
    return bool(matching) and matching[0]["access"] == "Allow"


def port_in(rule: dict[str, Any], port: int) -> bool:
    ranges = rule.get("destinationPortRanges") or [rule.get("destinationPortRange")]
    for r in filter(None, ranges):
        lo, _, hi = str(r).partition("-")
        if r == "*" or int(lo) <= port <= int(hi or lo):
            return True
    return False


@SCOPES
@pytest.mark.parametrize("strategy", [Strategy.VM, Strategy.KUBERNETES])
def test_internet_clients_reach_the_public_entry_through_the_subnets_security_group(
    strategy: Strategy, namespaced: bool
) -> None:
    """The subnet's security group denies inbound internet traffic by default
    (DenyAllInBound), and AKS does not add rules to a subnet's group: each strategy with a
    load balancer in the deployment's subnet opens exactly the port its public entry
    delivers to the subnet (vm: the rule's backend port; AKS: the public Service's port,
    with floating IP), and still denies the platform's blocked ports. Found by a fresh-user
    check of issue 19: AKS had no rule at all."""
    observed = FULL_OBSERVED | {"aks-cluster": _ready("aks-cluster")}
    out = render(azure_ctx(strategy, namespaced), observed)
    if strategy is Strategy.VM:
        port = int(out["lb-rule"]["spec"]["forProvider"]["backendPort"])
    else:
        [service] = [
            b["spec"]["forProvider"]["manifest"]
            for b in out.values()
            if b["kind"] == "Object"
            and b["spec"]["forProvider"]["manifest"]["kind"] == "Service"
            and b["spec"]["forProvider"]["manifest"]["spec"].get("type") == "LoadBalancer"
        ]
        [entry] = service["spec"]["ports"]
        port = int(entry["port"])
    rules = _inbound(out)
    assert _allows(rules, port), (port, rules)
    for blocked in (22, 3389, 2375):
        assert not _allows(rules, blocked), blocked
    # Nothing else is opened to the internet.
    internet = [
        r for r in rules if r["access"] == "Allow" and r["sourceAddressPrefix"] == "Internet"
    ]
    assert all(r["destinationPortRange"] == str(port) for r in internet), internet
    assert_all_valid(
        [
            {**b, "metadata": {**b["metadata"], "name": f"x-{n}"}}
            for n, b in out.items()
            if b["kind"] == "SecurityRule"
        ]
    )


@SCOPES
def test_aks_node_os_disk_is_at_least_30_gb(namespaced: bool) -> None:
    """AKS refuses a Linux node OS disk under 30 GB (function/clouds.py); the decision's
    default 20 GB is raised, and priced as rendered."""
    from function.pricing.catalog import load_catalog
    from function.pricing.estimate import UsageAssumptions, estimate

    c = azure_ctx(Strategy.KUBERNETES, namespaced)
    assert c.decision.kubernetes is not None and c.decision.kubernetes.disk_gb == 20
    pool = render(c, {})["aks-cluster"]["spec"]["forProvider"]["defaultNodePool"]
    assert pool["osDiskSizeGb"] == 30
    cost = estimate(c.decision, "westeurope", load_catalog(), UsageAssumptions())
    [disks] = [i for i in cost.breakdown if i.resource == "aks-node-disks"]
    assert "30 GiB" in disks.description
    bigger = c.decision.model_copy(
        update={
            "kubernetes": c.decision.kubernetes.model_copy(update={"disk_gb": 64}),
        }
    )
    c2 = RenderContext(**{**c.__dict__, "decision": bigger, "notes": []})
    assert (
        render(c2, {})["aks-cluster"]["spec"]["forProvider"]["defaultNodePool"]["osDiskSizeGb"]
        == 64
    )
