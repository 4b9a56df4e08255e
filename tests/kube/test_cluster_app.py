"""The application on GKE and AKS, as on EKS: access from the cluster's connection secret,
then the same Deployment/Service/HPA/PDB Objects, the endpoint from the observed Service,
and the rollout watched and rolled back the same way (render/kube/app.py)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from function.model import Strategy
from function.render.common import RenderContext
from function.render.dispatch import render
from function.render.kube.app import PROVIDER_CONFIG
from function.render.kube.rollout import FAILED_IMAGE
from function.render.kube.workload import LAST_GOOD
from function.status import Phase, endpoints
from function.workload import workload_phase
from tests.kube.helpers import READY, observe
from tests.render.test_render_azure import azure_ctx
from tests.render.test_render_gcp import ctx as gcp_ctx
from tests.support.crdcheck import assert_all_valid

SCOPES = pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
GCP_IMAGE = "europe-west1-docker.pkg.dev/acme-prod/apps/flask-app:1.2.3"
AZ_IMAGE = "acmeapps.azurecr.io/flask-app:1.4.2"
DEP = "k8s-flask-app-deployment"
SVC = "k8s-flask-app-service"
HPA = "k8s-flask-app-autoscaler"
PDB = "k8s-flask-app-disruption-budget"


def _gcp(namespaced: bool, **kw: Any) -> RenderContext:
    return gcp_ctx(Strategy.KUBERNETES, namespaced, **kw)


def _azure(namespaced: bool, **kw: Any) -> RenderContext:
    return azure_ctx(Strategy.KUBERNETES, namespaced, **kw)


CLOUDS: dict[str, tuple[Callable[..., RenderContext], str, str]] = {
    "gcp": (_gcp, "gke-cluster", GCP_IMAGE),
    "azure": (_azure, "aks-cluster", AZ_IMAGE),
}
CLOUD = pytest.mark.parametrize("cloud", sorted(CLOUDS))


def _ready(component: str) -> dict[str, dict[str, Any]]:
    return {component: {"status": {"conditions": READY}}}


def _named(out: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**b, "metadata": {**b["metadata"], "name": b["metadata"].get("name") or f"x-{n}"}}
        for n, b in out.items()
    ]


def _manifest(out: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    m: dict[str, Any] = out[name]["spec"]["forProvider"]["manifest"]
    return m


def _image(out: dict[str, dict[str, Any]]) -> str:
    return str(_manifest(out, DEP)["spec"]["template"]["spec"]["containers"][0]["image"])


@CLOUD
@SCOPES
def test_access_first_then_the_workload_once_the_cluster_is_ready(
    cloud: str, namespaced: bool
) -> None:
    make, cluster, _ = CLOUDS[cloud]
    c = make(namespaced)
    first = render(c, {})
    assert PROVIDER_CONFIG in first and DEP not in first
    assert any("credentials are published" in n for n in c.notes)
    # The cluster writes the kubeconfig where the ProviderConfig reads it.
    ref = first[cluster]["spec"]["writeConnectionSecretToRef"]
    read = first[PROVIDER_CONFIG]["spec"]["credentials"]["secretRef"]
    assert read["name"] == ref["name"] and read["key"] == "kubeconfig"
    if namespaced:
        assert set(ref) == {"name"} and read["namespace"] == "team-a"
    else:
        assert ref["namespace"] == read["namespace"] == "crossplane-system"
    assert_all_valid(_named(first))

    out = render(c, _ready(cluster))
    assert {"app-namespace", DEP, SVC, HPA, PDB} <= set(out)
    objects = [b for b in out.values() if b["kind"] == "Object"]
    assert all(
        b["spec"]["providerConfigRef"]["name"] == first[PROVIDER_CONFIG]["metadata"]["name"]
        for b in objects
    )
    assert_all_valid(_named(out))
    assert c.report["rollout"]["state"] == "RollingOut"
    # Kept from then on, even when the cluster's Ready condition flips.
    again = render(c, observe(out, [DEP, SVC]))
    assert DEP in again and SVC in again


def test_gke_reaches_the_cluster_with_a_google_credential() -> None:
    pc = render(_gcp(False), {})[PROVIDER_CONFIG]["spec"]
    assert pc["identity"] == {"type": "GoogleApplicationCredentials", "source": "InjectedIdentity"}
    secret = {"workload": {"gkeIdentity": {"source": "Secret", "secretName": "gke-sa"}}}
    for namespaced, ns in ((False, "crossplane-system"), (True, "team-a")):
        pc = render(_gcp(namespaced, settings=secret), {})[PROVIDER_CONFIG]["spec"]
        assert pc["identity"]["secretRef"] == {
            "namespace": ns,
            "name": "gke-sa",
            "key": "credentials",
        }
    # A tenant's CloudProvider: its own service account key, in its own namespace.
    import dataclasses

    tenant = {"namespace": "team-a", "name": "gcp-creds", "key": "key.json"}
    c = dataclasses.replace(_gcp(False), tenant_credentials=tenant)
    assert render(c, {})[PROVIDER_CONFIG]["spec"]["identity"]["secretRef"] == tenant
    # AKS's kubeconfig carries the cluster user's certificate: no identity.
    assert "identity" not in render(_azure(False), {})[PROVIDER_CONFIG]["spec"]


def test_gke_identity_secret_needs_a_name() -> None:
    from function.input import FunctionInput

    with pytest.raises(ValueError, match="secretName"):
        FunctionInput.model_validate({"workload": {"gkeIdentity": {"source": "Secret"}}})


def test_each_cloud_annotates_its_public_service() -> None:
    gke = render(_gcp(False), _ready("gke-cluster"))
    svc = _manifest(gke, SVC)
    assert svc["spec"]["type"] == "LoadBalancer"
    assert svc["metadata"]["annotations"] == {"cloud.google.com/l4-rbs": "enabled"}
    aks = render(_azure(False, extra_tags={"cost=center": "x", "team": "a,b", "owner": "ops"}),
                 _ready("aks-cluster"))  # fmt: skip
    notes = _manifest(aks, SVC)["metadata"]["annotations"]
    assert notes["service.beta.kubernetes.io/port_80_health-probe_protocol"] == "http"
    assert notes["service.beta.kubernetes.io/port_80_health-probe_request-path"] == "/"
    tags = dict(t.split("=") for t in notes["service.beta.kubernetes.io/azure-pip-tags"].split(","))
    assert tags["owner"] == "ops" and tags["scia.io_deployment"] == "flask-app"
    assert "team" not in tags and not any("cost" in k for k in tags)
    for out in (gke, aks):
        assert not any(
            "aws-load-balancer" in k for k in _manifest(out, SVC)["metadata"]["annotations"]
        )


@CLOUD
def test_rolled_out_then_a_stuck_rollout_rolls_back(cloud: str) -> None:
    make, cluster, image = CLOUDS[cloud]
    c = make(False)
    out = render(c, _ready(cluster))
    assert _image(out) == image
    serving = observe(out, [DEP, SVC])
    done = render(c, serving)
    assert c.report["rollout"]["state"] == "Running"
    assert c.report["workloads"][0]["state"] == "serving"
    assert _manifest(done, DEP)["metadata"]["annotations"][LAST_GOOD] == image
    phase, _ = workload_phase(Phase.RUNNING, "all ready", c.report)
    assert phase is Phase.RUNNING
    # A new image that never becomes available: rolled back to the last good one.
    new = image.rsplit(":", 1)[0] + ":2.0.0"
    c2 = dataclasses_replace_image(c, new)
    out2 = render(c2, observe(done, [DEP, SVC]))
    assert _image(out2) == new
    stuck = observe(out2, [DEP], rollout="deadline", generation=2)
    back = render(c2, observe(done, [SVC]) | stuck)
    assert _image(back) == image
    assert _manifest(back, DEP)["metadata"]["annotations"][FAILED_IMAGE] == new
    assert c2.report["rollout"]["state"] == "RolledBack"
    phase, _ = workload_phase(Phase.RUNNING, "all ready", c2.report)
    assert phase is Phase.FAILED


def dataclasses_replace_image(c: RenderContext, image: str) -> RenderContext:
    import dataclasses

    spec = c.spec.model_copy(update={"image": image})
    return dataclasses.replace(c, spec=spec, notes=[], report={})


@CLOUD
def test_endpoint_is_the_observed_services_address(cloud: str) -> None:
    make, cluster, _ = CLOUDS[cloud]
    out = render(make(False), _ready(cluster))
    seen = observe(out, [SVC, DEP])
    status = seen[SVC]["status"]["atProvider"]["manifest"]["status"]
    status["loadBalancer"] = {"ingress": [{"ip": "34.120.7.8"}]}
    got = endpoints(seen)
    assert got == [{"name": "flask-app", "type": "http", "url": "http://34.120.7.8"}]
    # The address exists before anything answers there (the first image builds, or its
    # pods are not available yet): not the app's endpoint then.
    assert endpoints({SVC: seen[SVC]}) == []
    seen[DEP]["status"]["atProvider"]["manifest"]["status"]["availableReplicas"] = 0
    assert endpoints(seen) == []


@CLOUD
def test_without_an_image_nothing_runs_and_the_status_says_why(cloud: str) -> None:
    make, cluster, _ = CLOUDS[cloud]
    c = make(False, image=None) if cloud == "azure" else make(False, spec={"image": None})
    out = render(c, _ready(cluster))
    assert DEP not in out and SVC not in out and "app-namespace" in out
    assert c.report["rollout"]["state"] == "Building"
    # Without spec.image the image is built (tests/kube/test_cluster_builds.py): until the
    # registry exists the status says what the build waits for, or which input to set.
    message = c.report["rollout"]["message"]
    why = "the build waits for" if cloud == "azure" else "gcp.project and gcp.projectNumber"
    assert why in message and message in c.notes
    phase, _ = workload_phase(Phase.RUNNING, "all ready", c.report)
    assert phase is Phase.PROVISIONING


def test_logs_are_named_where_the_cloud_keeps_them() -> None:
    c = _gcp(False)
    render(c, _ready("gke-cluster"))
    assert c.report["logs"]["application"].startswith(
        'Cloud Logging: resource.type="k8s_container"'
    )
    assert 'namespace_name="flask-app"' in c.report["workloads"][0]["logGroup"]
    plain = _azure(False)
    render(plain, _ready("aks-cluster"))
    assert "logs" not in plain.report and "logGroup" not in plain.report["workloads"][0]
    monitored = _azure(False, policies=("enable-monitoring",))
    out = render(monitored, _ready("aks-cluster"))
    logs = monitored.report["logs"]["application"]
    ws = out["log-workspace"]["metadata"]["annotations"]["crossplane.io/external-name"]
    assert logs.startswith(f"Log Analytics workspace {ws}: ContainerLogV2")


def test_objects_are_left_alone_by_the_cloud_namers() -> None:
    for c, cluster in ((_gcp(True), "gke-cluster"), (_azure(True), "aks-cluster")):
        out = render(c, _ready(cluster))
        pc = out[PROVIDER_CONFIG]
        assert set(pc["spec"]) <= {"credentials", "identity"}
        for body in out.values():
            if body["kind"] == "Object":
                assert "annotations" not in body["metadata"]
                assert set(body["spec"]["forProvider"]) == {"manifest"}
        assert copy.deepcopy(out) == render(c, _ready(cluster))


def test_aks_says_what_the_platform_must_grant_to_pull_a_registry_image() -> None:
    """A spec.image in Azure Container Registry is pulled with the kubelet identity, which
    is created with the cluster: the result names it (its object id once observed) and the
    grant it lacks; a public image needs nothing."""
    c = _azure(False)
    render(c, {})
    assert any("needs AcrPull" in n and "once the cluster exists" in n for n in c.notes)
    c = _azure(False)
    aks = _ready("aks-cluster")
    aks["aks-cluster"]["status"]["atProvider"] = {
        "kubeletIdentity": [{"objectId": "11111111-2222-3333-4444-555555555555"}]
    }
    render(c, aks)
    assert any("object id 11111111-2222-3333-4444-555555555555" in n for n in c.notes)
    public = dataclasses_replace_image(_azure(False), "ghcr.io/acme/flask-app:1.4.2")
    render(public, {})
    assert not any("AcrPull" in n for n in public.notes)
