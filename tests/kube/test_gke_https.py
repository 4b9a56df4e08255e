"""require-https on GKE (render/gcp/kubernetes.py `gke_https`): a global static address and
a Google-managed certificate, the public Service ClusterIP with network endpoint groups,
and a GKE Ingress (class gce) naming both, with no plain-HTTP endpoint; the endpoint is
https://<host>, Provisioning until Google issued the certificate. Both XRD scopes."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from function.model import Strategy
from function.render.common import RenderContext, UnsupportedTarget
from function.render.dispatch import render
from function.render.gcp import kubernetes as gke
from function.render.kube import ingress as ki
from function.render.kube import workload as kw
from function.status import Phase, endpoints
from function.workload import workload_phase
from tests.kube.helpers import READY, observe
from tests.render.test_render_gcp import HTTPS_INPUT
from tests.render.test_render_gcp import ctx as gcp_ctx
from tests.support.crdcheck import assert_all_valid
from tests.support.kube_observed import GLOBAL_ADDRESS

SCOPES = pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
HOST = "flask-app.team-a.apps.example.com"
DEP = "k8s-flask-app-deployment"
SVC = "k8s-flask-app-service"
ING = "k8s-flask-app-ingress"
EXTERNAL_NAME = "crossplane.io/external-name"
CLUSTER_READY = {"gke-cluster": {"status": {"conditions": READY}}}


def gke_https_ctx(namespaced: bool, **settings: Any) -> RenderContext:
    return gcp_ctx(
        Strategy.KUBERNETES,
        namespaced,
        settings or HTTPS_INPUT,
        {"policies": ["require-https"]},
    )


def _fresh(c: RenderContext) -> RenderContext:
    return dataclasses.replace(c, notes=[], report={})


def _named(out: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**b, "metadata": {**b["metadata"], "name": b["metadata"].get("name") or f"x-{n}"}}
        for n, b in out.items()
    ]


def _manifest(out: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    m: dict[str, Any] = out[name]["spec"]["forProvider"]["manifest"]
    return m


def cloud_observed(out: dict[str, dict[str, Any]], issued: bool) -> dict[str, dict[str, Any]]:
    """The address reserved and the certificate created (issued or still provisioning)."""
    cert: dict[str, Any] = {"selfLink": "https://compute.googleapis.com/x/sslCertificates/c"}
    if issued:
        cert["expireTime"] = "2027-02-28T10:00:00.000-08:00"
    return {
        "ingress-address": {**out["ingress-address"], "status": {"conditions": READY,
                       "atProvider": {"address": GLOBAL_ADDRESS}}},
        "ingress-certificate": {**out["ingress-certificate"], "status": {"conditions": READY,
                        "atProvider": cert}},
    }  # fmt: skip


@SCOPES
def test_the_address_and_certificate_first_then_the_ingress(namespaced: bool) -> None:
    c = gke_https_ctx(namespaced)
    out = render(c, CLUSTER_READY)
    address, cert = out["ingress-address"], out["ingress-certificate"]
    # Not the vm's components: a GCP vm replaced by GKE keeps its own until GKE is Ready.
    assert "lb-address" not in out and "certificate" not in out
    assert address["kind"] == "GlobalAddress" and cert["kind"] == "ManagedSSLCertificate"
    # The version each kind serves in its scope (render/common.py api_version; the CRDs).
    group = "compute.gcp.m.upbound.io" if namespaced else "compute.gcp.upbound.io"
    for body in (address, cert):
        assert body["apiVersion"].startswith(f"{group}/v1beta")
        assert ("namespace" in body["metadata"]) == namespaced
    assert address["spec"]["forProvider"]["addressType"] == "EXTERNAL"
    assert address["spec"]["forProvider"]["ipVersion"] == "IPV4"
    assert cert["spec"]["forProvider"]["managed"]["domains"] == [HOST]
    # The public Service is ClusterIP with network endpoint groups from the start: never a
    # plain-HTTP load balancer.
    svc = _manifest(out, SVC)
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["metadata"]["annotations"] == {gke.NEG: gke.NEG_INGRESS}
    assert svc["spec"]["ports"][0]["name"] == kw.PORT_NAME
    assert out[SVC]["spec"]["readiness"] == {"policy": "SuccessfulCreate"}
    assert ING not in out
    assert any("the Ingress is composed once ingress-address" in n for n in c.notes)
    assert c.report["https"]["host"] == HOST and c.report["https"]["issued"] is False
    assert_all_valid(_named(out))

    c = _fresh(c)
    out = render(c, CLUSTER_READY | cloud_observed(out, issued=False))
    ing = _manifest(out, ING)
    assert ing["kind"] == "Ingress" and ing["apiVersion"] == "networking.k8s.io/v1"
    notes = ing["metadata"]["annotations"]
    # The address and certificate by the GCP names they are given (external names).
    assert notes[gke.STATIC_IP] == out["ingress-address"]["metadata"]["annotations"][EXTERNAL_NAME]
    assert (
        notes[gke.PRE_SHARED_CERT]
        == out["ingress-certificate"]["metadata"]["annotations"][EXTERNAL_NAME]
    )
    assert notes[gke.ALLOW_HTTP] == "false"
    assert notes[ki.CLASS_ANNOTATION] == "gce"
    assert "ingressClassName" not in ing["spec"] and "tls" not in ing["spec"]
    (rule,) = ing["spec"]["rules"]
    assert rule["host"] == HOST
    assert rule["http"]["paths"][0]["backend"]["service"]["name"] == svc["metadata"]["name"]
    assert out[ING]["spec"]["readiness"] == {
        "policy": "DeriveFromCelQuery",
        "celQuery": ki.INGRESS_HAS_ADDRESS,
    }
    # GKE derives the load balancer's health check from this probe: an HTTP GET on the
    # container port the Service targets.
    container = _manifest(out, DEP)["spec"]["template"]["spec"]["containers"][0]
    probe = container["readinessProbe"]["httpGet"]
    assert probe["port"] == svc["spec"]["ports"][0]["targetPort"]
    assert probe["port"] == container["ports"][0]["containerPort"]
    assert probe["path"] == (c.decision.health_check_path or "/")
    assert_all_valid(_named(out))


@SCOPES
def test_https_endpoint_and_provisioning_until_the_certificate_is_issued(
    namespaced: bool,
) -> None:
    c = gke_https_ctx(namespaced)
    first = render(c, CLUSTER_READY)
    cloud = cloud_observed(first, issued=False)
    out = render(_fresh(c), CLUSTER_READY | cloud)
    seen = CLUSTER_READY | cloud | observe(out, [DEP, SVC, ING])
    c = _fresh(c)
    render(c, seen)
    https = c.report["https"]
    assert https["host"] == HOST and https["address"] == GLOBAL_ADDRESS and not https["issued"]
    said = [n for n in c.notes if "A record" in n]
    assert said and f"DNS A record {HOST} -> {GLOBAL_ADDRESS}" in said[0]
    phase, message = workload_phase(Phase.RUNNING, "all resources are ready", c.report)
    assert phase is Phase.PROVISIONING and f"{HOST} -> {GLOBAL_ADDRESS}" in message
    # The endpoint is the certificate's host, from the Ingress's observed address.
    assert [e for e in endpoints(seen, https["host"]) if e["type"] == "http"] == [
        {"name": "flask-app", "type": "http", "url": f"https://{HOST}"}
    ]
    # Nothing answers before the Deployment has an available replica.
    assert [e for e in endpoints({ING: seen[ING]}, HOST) if e["type"] == "http"] == []

    issued = _fresh(c)
    render(issued, seen | cloud_observed(first, issued=True))
    assert issued.report["https"]["issued"] is True
    assert not [n for n in issued.notes if "A record" in n]
    assert workload_phase(Phase.RUNNING, "ok", issued.report) == (Phase.RUNNING, "ok")


def test_without_a_domain_nothing_is_composed_and_the_field_is_named() -> None:
    c = gke_https_ctx(False, policy={"https": {}})
    with pytest.raises(UnsupportedTarget, match=r"policy\.https\.domain"):
        render(c, CLUSTER_READY)


def test_without_require_https_gke_keeps_its_passthrough_load_balancer() -> None:
    c = gcp_ctx(Strategy.KUBERNETES, False)
    out = render(c, CLUSTER_READY)
    assert "ingress-address" not in out and "ingress-certificate" not in out and ING not in out
    svc = _manifest(out, SVC)
    assert svc["spec"]["type"] == "LoadBalancer"
    assert svc["metadata"]["annotations"] == {gke.L4_RBS: "enabled"}
    assert "https" not in c.report


def test_the_cluster_serves_gke_ingress() -> None:
    """The HttpLoadBalancing add-on stays on (GKE's default: nothing disables it) and the
    cluster is VPC-native (alias IPs), which network endpoint groups need."""
    out = render(gke_https_ctx(False), CLUSTER_READY)
    cluster = out["gke-cluster"]["spec"]["forProvider"]
    assert cluster["networkingMode"] == "VPC_NATIVE"
    assert cluster["ipAllocationPolicy"]["clusterSecondaryRangeName"]
    assert "addonsConfig" not in cluster
    # No firewall rule of ours: the Ingress controller opens Google's ranges to the pods.
    assert not [n for n, b in out.items() if b["kind"] == "Firewall"]


def test_priced_as_the_ingress_application_load_balancer() -> None:
    """Under require-https GKE's entry point is the Ingress's global external Application
    Load Balancer: the same forwarding-rule and data prices as the passthrough NLB, named
    for what they are (pricing/estimate.py `_gcp_lb`)."""
    from function.pricing.catalog import load_catalog
    from function.pricing.estimate import estimate

    d = gcp_ctx(Strategy.KUBERNETES, False).decision
    catalog = load_catalog()
    plain = estimate(d, "europe-west1", catalog)
    https = estimate(d, "europe-west1", catalog, https=True)
    assert https.monthly_total == plain.monthly_total
    rule = {i.resource: i.description for i in https.breakdown}["lb-forwarding-rule"]
    assert "Ingress's global external Application Load Balancer" in rule
    before = {i.resource: i.description for i in plain.breakdown}["lb-forwarding-rule"]
    assert "passthrough Network Load Balancer" in before
