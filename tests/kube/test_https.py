"""require-https on kubernetes: TLS on the NLB with an ACM certificate, no plain HTTP."""

from __future__ import annotations

import pytest

from function.render.kube import workload as kw
from function.status import SSL_CERT_ANNOTATION, endpoints
from tests.kube.helpers import (
    AUTH_READY,
    CERT_ARN,
    cert_observed,
    ctx,
    https_ctx,
    manifest,
    render,
)
from tests.support.crdcheck import assert_all_valid
from tests.support.kube_observed import object_at_provider

IMAGE = "registry.example/app:1"


def _service_name(out: dict[str, dict[str, object]]) -> str:
    (name,) = [n for n, b in out.items() if b["kind"] == "Object" and n.endswith("-service")]
    return name


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
def test_a_certificate_then_a_tls_only_load_balancer(namespaced: bool) -> None:
    c = https_ctx(namespaced=namespaced, image=IMAGE)
    first = render(c, AUTH_READY)
    cert = first["certificate"]
    assert cert["kind"] == "Certificate"
    assert cert["spec"]["forProvider"]["domainName"] == "flask-app.team-a.apps.example.com"
    assert cert["spec"]["forProvider"]["validationMethod"] == "DNS"
    # No Service before the certificate's ARN: never a plain-HTTP load balancer first.
    assert not any(n.endswith("-service") for n in first)
    assert any("require-https" in n and "certificate" in n for n in c.notes)

    out = render(c, AUTH_READY | cert_observed())
    svc = manifest(out, _service_name(out))
    assert svc["spec"]["type"] == "LoadBalancer"
    assert svc["spec"]["ports"] == [
        {"name": "https", "port": 443, "targetPort": 5000, "protocol": "TCP"}
    ]
    notes = svc["metadata"]["annotations"]
    assert notes[kw.SSL_CERT] == CERT_ARN
    assert notes[kw.SSL_PORTS] == "443"
    assert notes[kw.SSL_POLICY] == c.policy.https.ssl_policy
    assert notes[kw.NLB_TYPE] == "nlb"
    for name, body in out.items():
        assert_all_valid([{**body, "metadata": {"name": f"x-{name}"} | body["metadata"]}])


def test_the_platforms_certificate_needs_no_acm_resource() -> None:
    arn = "arn:aws:acm:eu-west-1:123456789012:certificate/ffffffff-0000-1111-2222-333333333333"
    c = https_ctx(certificate_arn=arn, image=IMAGE)
    out = render(c, AUTH_READY)
    assert "certificate" not in out
    assert manifest(out, _service_name(out))["metadata"]["annotations"][kw.SSL_CERT] == arn


def test_without_the_policy_the_service_is_plain_http_on_80() -> None:
    out = render(ctx(image=IMAGE), AUTH_READY)
    svc = manifest(out, _service_name(out))
    assert [p["port"] for p in svc["spec"]["ports"]] == [80]
    assert kw.SSL_CERT not in svc["metadata"]["annotations"]
    assert "certificate" not in out


def test_a_policy_added_later_keeps_the_existing_service_until_tls_can_replace_it() -> None:
    plain = render(ctx(image=IMAGE), AUTH_READY)
    name = _service_name(plain)
    seen = {name: {**plain[name], "status": {"atProvider": object_at_provider(plain[name])}}}
    c = https_ctx(image=IMAGE)
    waiting = render(c, AUTH_READY | seen)
    assert waiting[name]["spec"]["forProvider"]["manifest"] == manifest(plain, name)
    done = render(c, AUTH_READY | seen | cert_observed())
    assert [p["port"] for p in manifest(done, name)["spec"]["ports"]] == [443]


AVAILABLE = {"kind": "Deployment", "status": {"availableReplicas": 1}}


def _deployment(service: str) -> str:
    return service.removesuffix("-service") + "-deployment"


def test_the_endpoint_is_https_when_the_load_balancer_terminates_tls() -> None:
    out = render(https_ctx(image=IMAGE), AUTH_READY | cert_observed())
    name = _service_name(out)
    host = "k8s-x.elb.eu-west-1.amazonaws.com"
    live = manifest(out, name) | {"status": {"loadBalancer": {"ingress": [{"hostname": host}]}}}
    # something answers behind it (tests/kube/test_workload.py: nothing before)
    serving = {_deployment(name): {"status": {"atProvider": {"manifest": AVAILABLE}}}}
    observed = {name: {"status": {"atProvider": {"manifest": live}}}} | serving
    assert endpoints(observed)[0]["url"] == f"https://{host}"
    plain = render(ctx(image=IMAGE), AUTH_READY)
    live = manifest(plain, name) | {"status": {"loadBalancer": {"ingress": [{"hostname": host}]}}}
    observed = {name: {"status": {"atProvider": {"manifest": live}}}} | serving
    assert endpoints(observed)[0]["url"] == f"http://{host}"
    assert SSL_CERT_ANNOTATION == kw.SSL_CERT
