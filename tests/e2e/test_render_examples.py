"""End to end: the real `crossplane render` calls the real function server on loopback."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from examples import render as R
from function.pinning import RENDERER_VERSION
from function.render.names import EXTERNAL_NAME
from tests.support.render_env import Env, assert_resources_valid, split

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("example", R.examples(), ids=lambda e: e.name)
def test_every_example_renders_valid_resources(env: Env, example: Any) -> None:
    scope = example.composition.stem
    xr, resources, results = split(env.render(example.xr, scope, example.observed))
    assert not [r for r in results if r.get("severity") == "SEVERITY_FATAL"]
    status = xr["status"]
    assert status["strategy"] in ("vm", "kubernetes", "serverless")
    assert status["decision"]["decidedBy"] == "knowledge-base"
    assert status["cost"]["estimatedMonthly"] > 0
    assert resources
    groups = {b["apiVersion"].split("/")[0] for b in resources.values()}
    cloud = yaml.safe_load(example.xr.read_text())["spec"].get("cloudProvider", "aws")
    if scope == "namespaced":
        # (Azure's resource group is in the provider's own group, azure.m.upbound.io)
        assert all(f".{g}".endswith((f".{cloud}.m.upbound.io", ".m.crossplane.io")) for g in groups)
        assert all(
            b["metadata"]["namespace"] == xr["metadata"]["namespace"] for b in resources.values()
        )
    else:
        assert all(f".{g}".endswith((f".{cloud}.upbound.io", ".crossplane.io")) for g in groups)
        assert not [g for g in groups if ".m." in g]
    assert_resources_valid(resources)


def test_flask_claim_is_highly_available_vm_under_budget(env: Env) -> None:
    xr, resources, results = split(env.render(R.EXAMPLES / "legacy" / "xr.yaml", "legacy"))
    status = xr["status"]
    assert status["strategy"] == "vm"
    assert status["phase"] == "Provisioning"
    assert status["cost"]["estimatedMonthly"] <= 500
    # The group waits for its launch template's version (an explicit one, so that a new
    # commit starts an instance refresh); the render says so.
    assert "launch-template" in resources and "autoscaling-group" not in resources
    assert any("latestVersion" in r["message"] for r in results)
    assert resources["target-group"]["spec"]["forProvider"]["port"] == 5000
    assert resources["target-group"]["spec"]["forProvider"]["healthCheck"]["path"] == "/healthz"
    assert any("decided revision 1" in r["message"] for r in results)
    tags = resources["vpc"]["spec"]["forProvider"]["tags"]
    assert tags["scia.io/tenant"] == "team-a" and tags["scia.io/deployment"] == "flask-app"


def test_pinned_decision_is_reused_and_running_reports_endpoints(env: Env) -> None:
    ex = R.EXAMPLES / "legacy"
    pinned = yaml.safe_load((ex / "xr-running.yaml").read_text())["status"]["decision"]
    xr, resources, results = split(
        env.render(ex / "xr-running.yaml", "legacy", ex / "observed-running.yaml")
    )
    decision = dict(xr["status"]["decision"])
    # The pin is reused as it is; the render adds what it rendered with and last observed.
    assert decision.pop("renderer") == RENDERER_VERSION
    assert decision.pop("renderedAt")  # a renderer-1 pin: the upgrade is recorded
    assert decision.pop("lastObserved")["target-group"]["arn"].startswith("arn:aws:")
    assert decision == pinned
    assert not any("decided revision" in r["message"] for r in results)
    assert xr["status"]["phase"] == "Running"
    assert xr["status"]["endpoints"] == [
        {
            "name": "load-balancer",
            "type": "http",
            "url": "http://flask-app-lb-1234567890.eu-west-1.elb.amazonaws.com",
        }
    ]
    observed = {
        d["metadata"]["annotations"]["crossplane.io/composition-resource-name"]
        for d in yaml.safe_load_all((ex / "observed-running.yaml").read_text())
        if d
    }
    assert set(resources) == observed
    # The group registers with the target group once its ARN is observed.
    assert (
        resources["autoscaling-group"]["spec"]["forProvider"]["trafficSource"][0]["type"] == "elbv2"
    )
    ready = [c for c in xr["status"].get("conditions", []) if c["type"] == "Ready"]
    assert ready and ready[0]["status"] == "True"


def test_provisioning_is_not_ready(env: Env) -> None:
    ex = R.EXAMPLES / "namespaced"
    xr, _, _ = split(
        env.render(
            ex / "xr-serverless-provisioning.yaml",
            "namespaced",
            ex / "observed-serverless-provisioning.yaml",
        )
    )
    assert xr["status"]["phase"] == "Provisioning"
    ready = [c for c in xr["status"].get("conditions", []) if c["type"] == "Ready"]
    assert ready and ready[0]["status"] == "False"


def test_unreachable_repository_keeps_every_pinned_resource(env: Env) -> None:
    """A fault (here: the repository is gone) re-emits the pinned desired state."""
    ex = R.EXAMPLES / "legacy"
    broken = env.composition(
        "legacy",
        urlRewrites=[
            {"prefix": R.MIRRORED_PREFIX, "replacement": f"file://{env.work}/no-such-mirror/"}
        ],
    )
    xr, resources, results = split(
        env.render(
            ex / "xr-running.yaml", "legacy", ex / "observed-running.yaml", composition=broken
        )
    )
    observed = {
        d["metadata"]["annotations"]["crossplane.io/composition-resource-name"]
        for d in yaml.safe_load_all((ex / "observed-running.yaml").read_text())
        if d
    }
    assert set(resources) == observed
    assert any(
        r["severity"] == "SEVERITY_WARNING" and "keeping decision revision 1" in r["message"]
        for r in results
    )
    assert xr["status"]["phase"] == "Running"


def test_spec_change_decides_again_and_redecide_annotation_too(env: Env) -> None:
    ex = R.EXAMPLES / "legacy"
    xr_doc = yaml.safe_load((ex / "xr-running.yaml").read_text())
    xr_doc["spec"]["prompt"] = "a cheap dev environment"
    xr, _, results = split(env.render(xr_doc, "legacy", ex / "observed-running.yaml"))
    assert xr["status"]["decision"]["revision"] == 2
    assert any("decided revision 2" in r["message"] for r in results)

    xr_doc = yaml.safe_load((ex / "xr-running.yaml").read_text())
    xr_doc["metadata"]["annotations"] = {"scia.io/redecide": "2026-11-26T10:00"}
    xr, _, _ = split(env.render(xr_doc, "legacy", ex / "observed-running.yaml"))
    assert xr["status"]["decision"]["revision"] == 2
    assert xr["status"]["decision"]["redecideToken"] == "2026-11-26T10:00"


def test_bad_input_is_a_fatal_result_naming_the_field(env: Env) -> None:
    xr_doc = yaml.safe_load((R.EXAMPLES / "legacy" / "xr.yaml").read_text())
    xr_doc["spec"]["budget"]["maxMonthlyCost"] = -5
    with pytest.raises(RuntimeError, match=r"spec.budget.maxMonthlyCost"):
        env.render(xr_doc, "legacy")


def test_bad_function_input_is_a_fatal_result_naming_the_field(env: Env) -> None:
    comp = env.composition("legacy", vm={"allowedInstanceTypes": [], "maxInstances": 0})
    with pytest.raises(RuntimeError, match=r"input.vm"):
        env.render(R.EXAMPLES / "legacy" / "xr.yaml", "legacy", composition=comp)


# crossplane beta validate loads Crossplane's own CRDs from this image, through its cache.
# There is no registry here, so the cache is seeded with the published core CRDs of that
# release (../shared/crds/crossplane, see SOURCES.md): the same files the image carries.
CORE_IMAGE = "xpkg.crossplane.io/crossplane/crossplane:v2.3.4"


@pytest.fixture(scope="module")
def validate_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("validate-cache")
    core = cache / CORE_IMAGE.replace(":", "@")
    core.mkdir(parents=True)
    for crd in (ROOT.parent / "shared" / "crds" / "crossplane").glob("*.yaml"):
        shutil.copy(crd, core / crd.name)
    return cache


def _beta_validate(
    env: Env, extensions: list[Path], resources: Path, cache: Path
) -> subprocess.CompletedProcess[str]:
    ext = env.work / f"ext-{resources.stem}"
    if ext.exists():
        shutil.rmtree(ext)
    ext.mkdir()
    for i, p in enumerate(extensions):
        shutil.copy(p, ext / f"{i:03d}-{p.name}")
    return subprocess.run(
        [
            str(env.crossplane),
            "beta",
            "validate",
            str(ext),
            str(resources),
            "--cache-dir",
            str(cache),
            "--crossplane-image",
            CORE_IMAGE,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_beta_validate_examples_against_xrds(env: Env, validate_cache: Path) -> None:
    for scope in ("legacy", "namespaced"):
        xrs = [p for p in sorted((R.EXAMPLES / scope).glob("xr*.yaml"))]
        docs = [yaml.safe_load(p.read_text()) for p in xrs]
        if scope == "legacy":
            docs.append(yaml.safe_load((R.EXAMPLES / "legacy" / "claim.yaml").read_text()))
        bundle = env.work / f"examples-{scope}.yaml"
        bundle.write_text(yaml.safe_dump_all(docs))
        done = _beta_validate(
            env, [ROOT / "xrds" / scope / "definition.yaml"], bundle, validate_cache
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "0 failure cases" in done.stdout, done.stdout


def test_beta_validate_rendered_resources_against_provider_crds(
    env: Env, validate_cache: Path
) -> None:
    crds = ROOT.parent / "shared" / "crds" / "aws"
    for example in R.examples():
        _, resources, _ = split(env.render(example.xr, example.composition.stem, example.observed))
        bundle = env.work / f"rendered-{example.name.replace('/', '-')}.yaml"
        bundle.write_text(yaml.safe_dump_all(list(resources.values())))
        needed = {(b["apiVersion"].split("/")[0], b["kind"].lower()) for b in resources.values()}
        files = [
            p for p in crds.glob("*.yaml") if any(p.name.startswith(g + "_" + k) for g, k in needed)
        ]
        done = _beta_validate(env, files, bundle, validate_cache)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "0 failure cases" in done.stdout, done.stdout


def test_rollback_through_render_with_observed_resources(env: Env) -> None:
    """Decide (rev 1), change the prompt (rev 2), then spec.rollbackToRevision: 1 (rev 3)."""
    ex = R.EXAMPLES / "legacy"
    observed = ex / "observed-running.yaml"
    xr_doc = yaml.safe_load((ex / "xr-running.yaml").read_text())
    first = xr_doc["status"]["decision"]
    xr1, _, _ = split(env.render(xr_doc, "legacy", observed))
    xr_doc["status"] = xr1["status"]
    xr_doc["spec"]["prompt"] = "a cheap dev environment, one instance is plenty"
    xr2, res2, _ = split(env.render(xr_doc, "legacy", observed))
    assert xr2["status"]["decision"]["revision"] == 2
    assert res2["autoscaling-group"]["spec"]["forProvider"]["minSize"] == 1
    assert [h["revision"] for h in xr2["status"]["history"]] == [1, 2]

    xr_doc["status"] = xr2["status"]
    xr_doc["spec"]["rollbackToRevision"] = 1
    xr3, res3, results = split(env.render(xr_doc, "legacy", observed))
    d3 = xr3["status"]["decision"]
    assert (d3["revision"], d3["decidedBy"], d3["rollbackOf"]) == (3, "rollback", 1)
    assert d3["parameters"]["vm"] == first["parameters"]["vm"]
    asg = res3["autoscaling-group"]["spec"]["forProvider"]
    assert asg["minSize"] == first["parameters"]["vm"]["minSize"] == 2
    assert [h["revision"] for h in xr3["status"]["history"]] == [1, 2, 3]
    assert xr3["status"]["history"][-1]["rollbackOf"] == 1
    assert any("rolled back" in r["message"] for r in results)
    assert_resources_valid(res3)


def test_gcp_examples_cover_every_strategy(env: Env) -> None:
    """The same example apps on GCP: vm (legacy), kubernetes (legacy), serverless (v2)."""
    seen = {}
    for scope, name in (
        ("legacy", "xr-gcp.yaml"),
        ("legacy", "xr-gcp-kubernetes.yaml"),
        ("namespaced", "xr-gcp-serverless.yaml"),
    ):
        xr, resources, results = split(env.render(R.EXAMPLES / scope / name, scope))
        assert not [r for r in results if r.get("severity") == "SEVERITY_FATAL"], results
        seen[xr["status"]["strategy"]] = {b["kind"] for b in resources.values()}
        assert "Lambda" not in xr["status"]["reason"] and "EKS" not in xr["status"]["reason"]
        assert_resources_valid(resources)
    assert {"InstanceTemplate", "RegionInstanceGroupManager", "Firewall"} <= seen["vm"]
    # The first render: the node pool waits for its own service account's email.
    assert {"Cluster", "ServiceAccount"} <= seen["kubernetes"] and "NodePool" not in seen[
        "kubernetes"
    ]
    # Cloud Run waits for its own service account's email (the running example has it).
    assert seen["serverless"] == {"ServiceAccount"}


def test_gcp_vm_running_reports_the_load_balancer_address(env: Env) -> None:
    ex = R.EXAMPLES / "legacy"
    xr, resources, results = split(
        env.render(ex / "xr-gcp-running.yaml", "legacy", ex / "observed-gcp-running.yaml")
    )
    status = xr["status"]
    assert status["phase"] == "Running"
    assert status["endpoints"] == [
        {"name": "load-balancer", "type": "http", "url": "http://34.120.10.20"}
    ]
    assert not any("decided revision" in r["message"] for r in results)
    assert {"backend-service", "url-map", "http-proxy", "forwarding-rule-http"} <= set(resources)
    # the references selectors cannot make come from the observed self links, and are pinned
    last = status["decision"]["lastObserved"]
    assert last["instance-group"]["instanceGroup"].endswith(
        "/instanceGroups/" + (resources["instance-group"]["spec"]["forProvider"]["name"])
    )
    assert (
        resources["forwarding-rule-http"]["spec"]["forProvider"]["target"]
        == (last["http-proxy"]["selfLink"])
    )
    costs = {c["resource"] for c in status["cost"]["breakdown"]}
    assert {"gce-instances", "lb-forwarding-rule", "cloud-nat"} <= costs


def test_gcp_vm_provisioning_waits_for_the_instance_group(env: Env) -> None:
    ex = R.EXAMPLES / "legacy"
    xr, resources, results = split(
        env.render(ex / "xr-gcp-provisioning.yaml", "legacy", ex / "observed-gcp-provisioning.yaml")
    )
    assert xr["status"]["phase"] == "Provisioning"
    assert "backend-service" not in resources and "instance-group" in resources
    assert any("instanceGroup is observed" in r["message"] for r in results)


def test_gcp_cloud_run_running_reports_its_url(env: Env) -> None:
    ex = R.EXAMPLES / "namespaced"
    xr, resources, _ = split(
        env.render(
            ex / "xr-gcp-serverless-running.yaml",
            "namespaced",
            ex / "observed-gcp-serverless-running.yaml",
        )
    )
    assert xr["status"]["phase"] == "Running"
    [endpoint] = xr["status"]["endpoints"]
    assert endpoint["name"] == "cloud-run-service" and endpoint["url"].endswith(".a.run.app")
    run = resources["cloud-run-service"]["spec"]["forProvider"]
    assert run["invokerIamDisabled"] is True
    assert run["template"]["containers"][0]["image"].startswith("europe-west1-docker.pkg.dev/")
    # its own service account (no configuration here), never the default compute one
    assert run["template"]["serviceAccount"].startswith("scia-app-")
    assert "app-service-account" in resources and "app-secret-access" not in resources
    service = resources["cloud-run-service"]["metadata"]["annotations"][EXTERNAL_NAME]
    assert xr["status"]["logs"]["application"] == (
        'Cloud Logging: resource.type="cloud_run_revision" '
        f'resource.labels.service_name="{service}"'
    )


def test_azure_examples_cover_every_strategy(env: Env) -> None:
    """The same example apps on Azure: vm (legacy), kubernetes (legacy), serverless (v2)."""
    seen = {}
    for scope, name in (
        ("legacy", "xr-azure.yaml"),
        ("legacy", "xr-azure-kubernetes.yaml"),
        ("namespaced", "xr-azure-serverless.yaml"),
    ):
        xr, resources, results = split(env.render(R.EXAMPLES / scope / name, scope))
        assert not [r for r in results if r.get("severity") == "SEVERITY_FATAL"], results
        seen[xr["status"]["strategy"]] = {b["kind"] for b in resources.values()}
        reason = xr["status"]["reason"]
        assert not any(w in reason for w in ("Lambda", "EKS", "ALB", "Cloud Run", "GKE"))
        assert_resources_valid(resources)
    assert {"ResourceGroup", "VirtualNetwork", "SecurityGroup", "PublicIP", "LoadBalancer"} <= (
        seen["vm"]
    )
    assert {"KubernetesCluster"} <= seen["kubernetes"]
    assert {"Environment", "ContainerApp"} <= seen["serverless"]


def test_azure_vm_running_reports_the_public_ip_name(env: Env) -> None:
    ex = R.EXAMPLES / "legacy"
    xr, resources, results = split(
        env.render(ex / "xr-azure-running.yaml", "legacy", ex / "observed-azure-running.yaml")
    )
    status = xr["status"]
    assert status["phase"] == "Running"
    [endpoint] = status["endpoints"]
    assert endpoint["name"] == "load-balancer"
    assert endpoint["url"].startswith("http://") and endpoint["url"].endswith(
        ".westeurope.cloudapp.azure.com"
    )
    assert not any("decided revision" in r["message"] for r in results)
    assert {"lb-rule", "vm-scale-set", "autoscale-setting", "alert-cpu"} <= set(resources)
    # the ids no selector can resolve come from observed state, and are pinned
    last = status["decision"]["lastObserved"]
    rule = resources["lb-rule"]["spec"]["forProvider"]
    assert rule["probeId"] == last["lb-probe"]["id"]
    assert rule["backendAddressPoolIds"] == [last["lb-backend-pool"]["id"]]
    assert resources["vm-scale-set"]["spec"]["forProvider"]["healthProbeId"] == rule["probeId"]
    costs = {c["resource"] for c in status["cost"]["breakdown"]}
    assert {"vmss-instances", "os-disks", "load-balancer", "public-ip"} <= costs
    assert_resources_valid(resources)


def test_azure_vm_provisioning_waits_for_the_pool_and_probe_ids(env: Env) -> None:
    ex = R.EXAMPLES / "legacy"
    xr, resources, results = split(
        env.render(
            ex / "xr-azure-provisioning.yaml", "legacy", ex / "observed-azure-provisioning.yaml"
        )
    )
    assert xr["status"]["phase"] == "Provisioning"
    assert {"lb-backend-pool", "lb-probe"} <= set(resources)
    assert "lb-rule" not in resources and "vm-scale-set" not in resources
    assert any("backend pool" in r["message"] for r in results)


def test_azure_container_app_running_reports_its_https_url(env: Env) -> None:
    ex = R.EXAMPLES / "namespaced"
    xr, resources, _ = split(
        env.render(
            ex / "xr-azure-serverless-running.yaml",
            "namespaced",
            ex / "observed-azure-serverless-running.yaml",
        )
    )
    assert xr["status"]["phase"] == "Running"
    [endpoint] = xr["status"]["endpoints"]
    assert endpoint["name"] == "container-app"
    assert endpoint["url"].startswith("https://")
    assert endpoint["url"].endswith(".eastus.azurecontainerapps.io")
    app = resources["container-app"]["spec"]["forProvider"]
    assert app["ingress"]["allowInsecureConnections"] is False
    assert app["template"]["container"][0]["image"] == "acmeapps.azurecr.io/express-api:1.0.0"
    assert all(b["metadata"]["namespace"] == "team-b" for b in resources.values())
    workspace = resources["log-workspace"]["metadata"]["annotations"][EXTERNAL_NAME]
    name = resources["container-app"]["metadata"]["annotations"][EXTERNAL_NAME]
    assert xr["status"]["logs"]["application"] == (
        f"Log Analytics workspace {workspace}: ContainerAppConsoleLogs_CL "
        f'| where ContainerAppName_s == "{name}"'
    )
