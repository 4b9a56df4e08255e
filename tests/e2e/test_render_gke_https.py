"""`crossplane render` of the GKE require-https examples (both scopes; written by
tests/kube/make_examples.py): a global static address and a Google-managed certificate,
the public Service ClusterIP with network endpoint groups behind a GKE Ingress naming
both; Provisioning with the DNS record to create until the certificate is issued, then
Running at https://<host>. They render with the shipped composition whose input adds the
platform's `policy.https.domain`, through the real gRPC function."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from examples import render as R
from function.render.gcp import kubernetes as gke
from function.render.kube import ingress as ki
from tests.kube.make_examples import GKE_HTTPS_DOMAIN
from tests.support.kube_observed import GLOBAL_ADDRESS
from tests.support.render_env import Env, assert_resources_valid, split

pytestmark = pytest.mark.e2e
SCOPES = ["legacy", "namespaced"]
SVC = "k8s-express-gke-https-service"
ING = "k8s-express-gke-https-ingress"
EXTERNAL_NAME = "crossplane.io/external-name"


def _render(env: Env, scope: str, stage: str) -> tuple[dict[str, Any], dict[str, Any]]:
    ex = R.EXAMPLES / "gke-https" / scope
    shipped = yaml.safe_load((R.REPO_ROOT / "compositions" / f"{scope}.yaml").read_text())
    policy = shipped["spec"]["pipeline"][0]["input"].get("policy") or {}
    policy = {**policy, "https": {**(policy.get("https") or {}), "domain": GKE_HTTPS_DOMAIN}}
    xr, resources, results = split(
        env.render(
            ex / f"xr-gke-https-{stage}.yaml",
            scope,
            ex / f"observed-gke-https-{stage}.yaml",
            env.composition(scope, policy=policy),
        )
    )
    assert not [r for r in results if r.get("severity") == "SEVERITY_FATAL"], results
    assert not any("decided revision" in r["message"] for r in results)  # the pin is reused
    assert_resources_valid(resources)
    return xr, resources


def _host(scope: str) -> str:
    """<deployment>.<tenant>.<domain>: the claim's or the XR's name and namespace."""
    return f"express-gke-https.{'team-a' if scope == 'legacy' else 'team-b'}.{GKE_HTTPS_DOMAIN}"


@pytest.mark.parametrize("scope", SCOPES)
def test_provisioning_until_google_issues_the_certificate(env: Env, scope: str) -> None:
    xr, resources = _render(env, scope, "provisioning")
    status = xr["status"]
    host = _host(scope)
    assert status["phase"] == "Provisioning"
    assert f"create the DNS A record {host} -> {GLOBAL_ADDRESS}" in status["message"]
    cert = resources["ingress-certificate"]
    assert cert["kind"] == "ManagedSSLCertificate"
    assert cert["spec"]["forProvider"]["managed"]["domains"] == [host]
    assert resources["ingress-address"]["kind"] == "GlobalAddress"
    svc = resources[SVC]["spec"]["forProvider"]["manifest"]
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["metadata"]["annotations"] == {gke.NEG: gke.NEG_INGRESS}
    ing = resources[ING]["spec"]["forProvider"]["manifest"]
    notes = ing["metadata"]["annotations"]
    address_name = resources["ingress-address"]["metadata"]["annotations"][EXTERNAL_NAME]
    assert notes[gke.STATIC_IP] == address_name
    assert notes[gke.PRE_SHARED_CERT] == cert["metadata"]["annotations"][EXTERNAL_NAME]
    assert notes[gke.ALLOW_HTTP] == "false" and notes[ki.CLASS_ANNOTATION] == "gce"
    assert ing["spec"]["rules"][0]["host"] == host
    assert resources[ING]["spec"]["readiness"]["celQuery"] == ki.INGRESS_HAS_ADDRESS


@pytest.mark.parametrize("scope", SCOPES)
def test_running_at_https_once_issued(env: Env, scope: str) -> None:
    xr, resources = _render(env, scope, "running")
    status = xr["status"]
    assert status["phase"] == "Running", status["message"]
    apps = [e for e in status["endpoints"] if e["type"] == "http"]
    assert apps == [{"name": "express-gke-https", "type": "http", "url": f"https://{_host(scope)}"}]
    # Nothing serves plain HTTP: no load-balancer Service, the Ingress allows no HTTP.
    kinds = {
        (
            b["spec"]["forProvider"]["manifest"]["kind"],
            b["spec"]["forProvider"]["manifest"].get("spec", {}).get("type"),
        )
        for b in resources.values()
        if b["kind"] == "Object"
    }
    assert ("Service", "LoadBalancer") not in kinds
