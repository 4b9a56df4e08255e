"""GCP: every strategy x scope renders manifests that provider-upjet-gcp v3's CRDs accept,
with GCP's names, labels, network rules and the references selectors cannot make."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from pydantic import ValidationError

from function.input import FunctionInput
from function.model import Decision, KubernetesParams, ServerlessParams, Strategy, VmParams
from function.pinning import AnalysisSummary
from function.render.common import RenderContext, UnsupportedTarget
from function.render.dispatch import render, render_plan
from function.render.gcp.serverless import cloud_run_image_problem
from function.render.names import EXTERNAL_NAME, gcp_label_problem
from function.xr import AppSpec, XrIdentity
from tests.support.crdcheck import assert_all_valid

IMAGE = "europe-west1-docker.pkg.dev/acme-prod/apps/flask-app:1.2.3"

DECISIONS = {
    Strategy.VM: Decision(
        strategy=Strategy.VM,
        port=5000,
        health_check_path="/healthz",
        reason="r",
        confidence=0.8,
        vm=VmParams(instance_type="e2-small", min_size=2, max_size=4, desired_capacity=2),
    ),
    Strategy.KUBERNETES: Decision(
        strategy=Strategy.KUBERNETES,
        reason="r",
        confidence=0.7,
        kubernetes=KubernetesParams(
            node_instance_type="e2-standard-2", min_nodes=2, max_nodes=4, desired_nodes=3
        ),
    ),
    Strategy.SERVERLESS: Decision(
        strategy=Strategy.SERVERLESS,
        port=3000,
        reason="r",
        confidence=0.6,
        serverless=ServerlessParams(memory_mb=1024, timeout_seconds=30),
    ),
}


def _at(**fields: Any) -> dict[str, Any]:
    return {"status": {"atProvider": fields}}


SELF = "https://www.googleapis.com/compute/v1/projects/acme-prod/global"
# Observed values some resources wait for: with these every resource is composed.
FULL_OBSERVED: dict[str, dict[str, Any]] = {
    "instance-group": _at(
        instanceGroup="https://www.googleapis.com/compute/v1/projects/acme-prod/regions/"
        "europe-west1/instanceGroups/ig-1"
    ),
    "backend-service": _at(selfLink=f"{SELF}/backendServices/bs-1"),
    "url-map": _at(selfLink=f"{SELF}/urlMaps/um-1"),
    "http-proxy": _at(selfLink=f"{SELF}/targetHttpProxies/hp-1"),
    "https-proxy": _at(selfLink=f"{SELF}/targetHttpsProxies/sp-1"),
    "certificate": _at(selfLink=f"{SELF}/sslCertificates/c-1"),
    # Cloud Run runs as the app's own account once its email is observed.
    "app-service-account": _at(email="scia-app-0123456789ab@acme-prod.iam.gserviceaccount.com"),
    "node-service-account": _at(email="scia-node-0123456789ab@acme-prod.iam.gserviceaccount.com"),
}
ALL_POLICIES = {"policies": ["require-https", "enable-monitoring"]}


def every_policy(strategy: Strategy) -> dict[str, list[str]]:
    """Every policy the strategy can meet on GCP: all of them (GKE serves HTTPS through an
    Ingress, render/gcp/kubernetes.py)."""
    return ALL_POLICIES


HTTPS_INPUT = {"policy": {"https": {"domain": "apps.example.com"}}}


def ctx(
    strategy: Strategy,
    namespaced: bool,
    settings: dict[str, Any] | None = None,
    spec: dict[str, Any] | None = None,
    tenant: str = "team-a",
    name: str = "flask-app",
) -> RenderContext:
    fn_input = FunctionInput.model_validate(settings or {}).for_cloud("gcp")
    return RenderContext(
        identity=XrIdentity(
            name=f"{name}-x1",
            uid="u-1",
            tenant=tenant,
            namespaced=namespaced,
            deployment_name=name,
        ),
        spec=AppSpec.model_validate(
            {
                "repository": {"url": "https://github.com/acme/flask-app"},
                "cloudProvider": "gcp",
                "region": "europe-west1",
                "image": IMAGE,
                **(spec or {}),
            }
        ),
        settings=fn_input,
        policy=fn_input.policy,
        decision=DECISIONS[strategy],
        commit="a" * 40,
        analysis=AnalysisSummary(language="python", framework="flask", port=5000),
        extra_tags={"Cost Center": "R&D"},
    )


def _named(out: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**b, "metadata": {**b["metadata"], "name": f"x-{n}"}} for n, b in out.items()]


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
@pytest.mark.parametrize("strategy", list(Strategy))
def test_every_manifest_validates_against_the_gcp_crds(
    strategy: Strategy, namespaced: bool
) -> None:
    c = ctx(strategy, namespaced, HTTPS_INPUT, every_policy(strategy))
    out = render(c, observed=FULL_OBSERVED)
    expected = {
        Strategy.VM: {
            "network",
            "subnetwork",
            "router",
            "router-nat",
            "firewall-app",
            "instance-template",
            "instance-group",
            "autoscaler",
            "health-check",
            "backend-service",
            "url-map",
            "redirect-map",
            "http-proxy",
            "https-proxy",
            "certificate",
            "lb-address",
            "forwarding-rule-http",
            "forwarding-rule-https",
            "alert-cpu",
            "alert-5xx",
        },
        Strategy.KUBERNETES: {
            "network",
            "subnetwork",
            "gke-cluster",
            "node-pool",
            "node-service-account",
            "node-service-account-role",
            "alert-node-cpu",
            "ingress-address",  # require-https: the Ingress's address and certificate
            "ingress-certificate",
            "kubernetes-provider-config",  # the workload waits for the cluster's Ready
        },
        Strategy.SERVERLESS: {"cloud-run-service", "alert-5xx", "app-service-account"},
    }[strategy]
    assert set(out) == expected
    for name, body in out.items():
        group, version = body["apiVersion"].split("/")
        if group in ("kubernetes.crossplane.io", "kubernetes.m.crossplane.io"):
            assert group.startswith("kubernetes.m.") == namespaced, name
            assert ("namespace" in body["metadata"]) == namespaced
            continue
        assert group.endswith(".gcp.m.upbound.io" if namespaced else ".gcp.upbound.io"), name
        assert version == "v1beta1" if namespaced else version.startswith("v1beta"), name
        assert ("namespace" in body["metadata"]) == namespaced
    assert_all_valid(_named(out))


def test_legacy_versions_are_the_served_ones() -> None:
    """Cluster-scoped compute kinds with a v1beta2 serve only it in v3: any v1beta1 we
    emitted for them would be refused; the CRD check above fails on an unserved version."""
    out = render(ctx(Strategy.VM, False, HTTPS_INPUT, ALL_POLICIES), observed=FULL_OBSERVED)
    versions = {b["kind"]: b["apiVersion"].split("/")[1] for b in out.values()}
    assert versions["InstanceTemplate"] == "v1beta2"
    assert versions["RegionInstanceGroupManager"] == "v1beta2"
    assert versions["TargetHTTPProxy"] == "v1beta1"  # no v1beta2 exists for it


def test_names_and_labels_follow_gcp_rules_for_hostile_identities() -> None:
    tenant, name = "9" + "t" * 62, "Flask.App." + "x" * 200
    for strategy in Strategy:
        out = render(
            ctx(strategy, False, HTTPS_INPUT, every_policy(strategy), tenant=tenant, name=name),
            observed=FULL_OBSERVED,
        )
        for component, body in out.items():
            fp = body["spec"].get("forProvider") or {}
            names = [(body["metadata"].get("annotations") or {}).get(EXTERNAL_NAME)]
            names += [fp.get("name"), fp.get("baseInstanceName")]
            for n in filter(None, names):
                assert re.fullmatch(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", n), (component, n)
            for key in ("labels", "resourceLabels", "userLabels"):
                for k, v in (fp.get(key) or {}).items():
                    assert gcp_label_problem(k, v) is None, (component, k, v)
        if strategy is Strategy.KUBERNETES:
            cluster = out["gke-cluster"]["metadata"]["annotations"][EXTERNAL_NAME]
            assert len(cluster) <= 40
        if strategy is Strategy.SERVERLESS:
            assert len(out["cloud-run-service"]["metadata"]["annotations"][EXTERNAL_NAME]) <= 49


def test_vm_opens_only_the_app_port_to_googles_load_balancers_never_ssh() -> None:
    out = render(ctx(Strategy.VM, False), observed=FULL_OBSERVED)
    firewalls = [b["spec"]["forProvider"] for b in out.values() if b["kind"] == "Firewall"]
    assert len(firewalls) == 1
    fw = firewalls[0]
    assert fw["direction"] == "INGRESS"
    assert sorted(fw["sourceRanges"]) == ["130.211.0.0/22", "35.191.0.0/16"]
    assert fw["allow"] == [{"protocol": "tcp", "ports": ["5000"]}]
    tmpl = out["instance-template"]["spec"]["forProvider"]
    assert fw["targetTags"] == tmpl["tags"]
    assert tmpl["metadata"]["block-project-ssh-keys"] == "TRUE"
    # no public IP by default: Cloud NAT carries the boot-time fetch
    assert "accessConfig" not in tmpl["networkInterface"][0]
    assert "router-nat" in out
    script = tmpl["metadataStartupScript"]
    assert "a" * 40 in script and "https://github.com/acme/flask-app" in script
    assert "apt-get" in script and "dnf" not in script


def test_vm_references_wait_for_observed_self_links() -> None:
    c = ctx(Strategy.VM, False)
    out = render(c, observed={})
    assert not {"backend-service", "url-map", "http-proxy", "forwarding-rule-http"} & set(out)
    assert any("backend-service is composed once" in n for n in c.notes)
    out = render(c, observed=FULL_OBSERVED)
    fp = out["backend-service"]["spec"]["forProvider"]
    assert (
        fp["backend"][0]["group"]
        == FULL_OBSERVED["instance-group"]["status"]["atProvider"]["instanceGroup"]
    )
    assert out["url-map"]["spec"]["forProvider"]["defaultService"].endswith("/bs-1")
    rule = out["forwarding-rule-http"]["spec"]["forProvider"]
    assert rule["target"].endswith("/hp-1") and rule["portRange"] == "80"
    group = out["instance-group"]["spec"]
    assert group["initProvider"] == {"targetSize": 2}
    assert "targetSize" not in group["forProvider"]
    policy = out["autoscaler"]["spec"]["forProvider"]["autoscalingPolicy"]
    assert (policy["minReplicas"], policy["maxReplicas"]) == (2, 4)


def test_https_redirects_http_and_serves_a_managed_certificate() -> None:
    out = render(ctx(Strategy.VM, False, HTTPS_INPUT, ALL_POLICIES), observed=FULL_OBSERVED)
    assert (
        out["http-proxy"]["spec"]["forProvider"]["urlMapSelector"]["matchLabels"][
            "scia.io/component"
        ]
        == "redirect-map"
    )
    redirect = out["redirect-map"]["spec"]["forProvider"]["defaultUrlRedirect"]
    assert redirect["httpsRedirect"] is True
    cert = out["certificate"]["spec"]["forProvider"]["managed"]["domains"]
    assert cert == ["flask-app.team-a.apps.example.com"]
    assert out["https-proxy"]["spec"]["forProvider"]["sslCertificates"][0].endswith("/c-1")
    assert out["forwarding-rule-https"]["spec"]["forProvider"]["portRange"] == "443"
    with pytest.raises(UnsupportedTarget, match=r"policy\.https\.domain"):
        render(ctx(Strategy.VM, False, None, ALL_POLICIES), observed=FULL_OBSERVED)


def test_existing_network_composes_no_network_and_picks_the_regions_subnetwork() -> None:
    net = {
        "network": "projects/acme-prod/global/networks/main",
        "subnetworks": [
            "projects/acme-prod/regions/us-central1/subnetworks/main-us",
            "projects/acme-prod/regions/europe-west1/subnetworks/main-eu",
        ],
        "podsRangeName": "pods",
        "servicesRangeName": "services",
    }
    for strategy in (Strategy.VM, Strategy.KUBERNETES):
        out = render(ctx(strategy, False, {"gcp": {"network": net}}), observed=FULL_OBSERVED)
        assert not {"network", "subnetwork", "router", "router-nat"} & set(out)
        assert_all_valid(_named(out))
    vm = render(ctx(Strategy.VM, False, {"gcp": {"network": net}}), observed=FULL_OBSERVED)
    iface = vm["instance-template"]["spec"]["forProvider"]["networkInterface"][0]
    assert iface["subnetwork"].endswith("/main-eu")
    with pytest.raises(UnsupportedTarget, match="no subnetwork in europe-west1"):
        render(
            ctx(
                Strategy.VM,
                False,
                {"gcp": {"network": net | {"subnetworks": net["subnetworks"][:1]}}},
            ),
            observed={},
        )


def test_kubernetes_node_pool_is_autoscaled_over_two_zones() -> None:
    out = render(ctx(Strategy.KUBERNETES, False), observed=FULL_OBSERVED)
    pool = out["node-pool"]["spec"]
    assert pool["forProvider"]["nodeLocations"] == ["europe-west1-b", "europe-west1-c"]
    auto = pool["forProvider"]["autoscaling"]
    assert (auto["totalMinNodeCount"], auto["totalMaxNodeCount"]) == (2, 4)
    assert pool["initProvider"] == {"initialNodeCount": 2}  # ceil(3 nodes / 2 zones)
    cluster = out["gke-cluster"]["spec"]["forProvider"]
    assert cluster["removeDefaultNodePool"] is True and cluster["location"] == "europe-west1"
    assert cluster["ipAllocationPolicy"] == {
        "clusterSecondaryRangeName": "pods",
        "servicesSecondaryRangeName": "services",
    }
    ranges = out["subnetwork"]["spec"]["forProvider"]["secondaryIpRange"]
    assert [r["rangeName"] for r in ranges] == ["pods", "services"]


def test_cloud_run_is_public_without_an_iam_binding_and_sized_by_memory() -> None:
    out = render(ctx(Strategy.SERVERLESS, True), observed=FULL_OBSERVED)
    fp = out["cloud-run-service"]["spec"]["forProvider"]
    assert fp["invokerIamDisabled"] is True and fp["ingress"] == "INGRESS_TRAFFIC_ALL"
    container = fp["template"]["containers"][0]
    assert container["image"] == IMAGE
    assert container["ports"] == {"containerPort": 3000}
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "1024Mi"}
    assert fp["template"]["timeout"] == "30s"


@pytest.mark.parametrize(
    ("image", "project", "problem"),
    [
        (IMAGE, None, None),
        (IMAGE, "acme-prod", None),
        ("us-docker.pkg.dev/acme-prod/apps/api@sha256:" + "a" * 64, None, None),
        (IMAGE, "other-proj", "is in project 'acme-prod'"),
        ("gcr.io/acme-prod/api:1", None, "not in Artifact Registry"),
        ("docker.io/library/nginx:1", None, "not in Artifact Registry"),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1", None, "not in Artifact Registry"),
        (None, None, "needs a container image"),
    ],
)
def test_cloud_run_images_must_come_from_artifact_registry(
    image: str | None, project: str | None, problem: str | None
) -> None:
    found = cloud_run_image_problem(image, project)
    assert (found is None) if problem is None else (problem in (found or "")), found


def test_a_bad_image_is_refused_naming_spec_image() -> None:
    with pytest.raises(UnsupportedTarget, match=r"spec\.image"):
        render(ctx(Strategy.SERVERLESS, False, spec={"image": "gcr.io/acme-prod/api:1"}), {})


def test_a_new_commit_is_a_new_instance_template_generation_the_group_moves_to() -> None:
    first = render(ctx(Strategy.VM, False), observed=FULL_OBSERVED)
    ready = {"conditions": [{"type": "Ready", "status": "True"}]}
    observed = {
        n: {**b, "status": {**ready, **(FULL_OBSERVED.get(n, {}).get("status") or {})}}
        for n, b in first.items()
    }
    observed["instance-template"]["status"]["atProvider"] = {
        "selfLink": f"{SELF}/instanceTemplates/t-1"
    }
    c2 = ctx(Strategy.VM, False)
    c2 = RenderContext(**{**c2.__dict__, "commit": "b" * 40, "notes": []})
    plan = render_plan(c2, observed)
    new = [n for n in plan.desired if n.startswith("instance-template-g")]
    assert len(new) == 1, sorted(plan.desired)
    # the old template stays while the group still names it
    assert "instance-template" in plan.desired
    assert (
        plan.desired[new[0]]["spec"]["forProvider"]["name"]
        != first["instance-template"]["spec"]["forProvider"]["name"]
    )


def test_running_waits_until_the_group_runs_its_template_on_every_instance() -> None:
    from function.status import group_rollout_pending

    out = render(ctx(Strategy.VM, False), observed=FULL_OBSERVED)
    group = out["instance-group"]
    template = out["instance-template"]
    name = template["spec"]["forProvider"]["name"]

    def observed(have: str | None, state: dict[str, Any] | None) -> dict[str, Any]:
        body = copy.deepcopy(group)
        if have:
            body["spec"]["forProvider"]["version"][0]["instanceTemplate"] = have
        body["status"] = {"atProvider": {"status": [state]} if state else {}}
        return {"instance-group": body, "instance-template": template}

    done = {"isStable": True, "versionTarget": [{"isReached": True}]}
    link = f"projects/acme-prod/global/instanceTemplates/{name}"
    assert group_rollout_pending("instance-group", group, observed(link, done)) is None
    assert group_rollout_pending("instance-group", group, observed(link, None)) is None
    assert "runs instance template None" in (
        group_rollout_pending("instance-group", group, observed(None, done)) or ""
    )
    old = "projects/acme-prod/global/instanceTemplates/older"
    assert "rolling out" in (
        group_rollout_pending("instance-group", group, observed(old, done)) or ""
    )
    moving = {"isStable": False, "versionTarget": [{"isReached": False}]}
    assert "replacing its instances" in (
        group_rollout_pending("instance-group", group, observed(link, moving)) or ""
    )


def test_configuration_is_refused_on_gke_not_dropped() -> None:
    # vm and Cloud Run get it (tests/render/test_gcp_config.py); GKE not yet.
    c = ctx(Strategy.KUBERNETES, False, spec={"env": [{"name": "MODE", "value": "prod"}]})
    with pytest.raises(UnsupportedTarget, match=r"spec\.env: "):
        render(c, observed={})


CHANNELS = [
    "projects/acme-prod/notificationChannels/1234567890",
    "projects/acme-prod/notificationChannels/987",
]


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
@pytest.mark.parametrize("strategy", list(Strategy))
def test_every_alert_policy_notifies_the_platforms_channels(
    strategy: Strategy, namespaced: bool
) -> None:
    settings = {**HTTPS_INPUT, "gcp": {"notificationChannels": CHANNELS}}
    out = render(
        ctx(strategy, namespaced, settings, every_policy(strategy)), observed=FULL_OBSERVED
    )
    alerts = {n: b for n, b in out.items() if b["kind"] == "AlertPolicy"}
    assert alerts
    for body in alerts.values():
        assert body["spec"]["forProvider"]["notificationChannels"] == CHANNELS
    assert_all_valid(_named(alerts))
    # Without channels none is named (incidents show in Cloud Monitoring).
    plain = render(
        ctx(strategy, namespaced, HTTPS_INPUT, every_policy(strategy)), observed=FULL_OBSERVED
    )
    for n in alerts:
        assert "notificationChannels" not in plain[n]["spec"]["forProvider"]


@pytest.mark.parametrize(
    "channel",
    [
        "projects/acme-prod/notificationChannels/abc",
        "notificationChannels/123",
        "projects/acme-prod/notificationChannels/1/../2",
    ],
)
def test_a_malformed_notification_channel_is_refused_naming_the_field(channel: str) -> None:
    with pytest.raises(ValidationError) as err:
        FunctionInput.model_validate({"gcp": {"notificationChannels": [channel]}})
    assert "notificationChannels" in str(err.value) or "notification_channels" in str(err.value)
