"""The shared Ingress builder (render/kube/ingress.py) and the public Service behind an
Ingress (workload.service(behind_ingress=True)): cloud-neutral, pure."""

from __future__ import annotations

import pytest

from function.render.kube import ingress as ki
from function.render.kube import workload as kw

UNIT = kw.Unit(name="web", port=8080, health_path="/healthz", public=True)
INTERNAL = kw.Unit(name="api", port=9000, health_path="/", public=False)


def test_an_ingress_with_a_class_annotation_a_host_and_a_cloud_certificate() -> None:
    m = ki.ingress(
        namespace="shop",
        instance="shop",
        unit=UNIT,
        class_annotation="gce",
        annotations={"example.com/cert": "my-cert"},
        host="shop.team-a.apps.example.com",
        tls=ki.IngressTls(hosts=("shop.team-a.apps.example.com",)),
    )
    assert m["apiVersion"] == "networking.k8s.io/v1" and m["kind"] == "Ingress"
    meta = m["metadata"]
    assert meta["name"] == "web" and meta["namespace"] == "shop"
    assert meta["labels"] == kw.selector("shop", UNIT)
    assert meta["annotations"] == {"example.com/cert": "my-cert", ki.CLASS_ANNOTATION: "gce"}
    assert "ingressClassName" not in m["spec"]
    assert m["spec"]["tls"] == [{"hosts": ["shop.team-a.apps.example.com"]}]
    (rule,) = m["spec"]["rules"]
    assert rule["host"] == "shop.team-a.apps.example.com"
    (path,) = rule["http"]["paths"]
    assert path == {
        "path": "/",
        "pathType": "Prefix",
        "backend": {"service": {"name": "web", "port": {"name": kw.PORT_NAME}}},
    }


def test_an_ingress_class_name_a_secret_certificate_and_any_host() -> None:
    m = ki.ingress(
        namespace="shop",
        instance="shop",
        unit=UNIT,
        ingress_class_name="webapprouting.kubernetes.azure.com",
        tls=ki.IngressTls(hosts=("a.example.com",), secret_name="web-tls"),
    )
    assert m["spec"]["ingressClassName"] == "webapprouting.kubernetes.azure.com"
    assert "annotations" not in m["metadata"]
    assert m["spec"]["tls"] == [{"hosts": ["a.example.com"], "secretName": "web-tls"}]
    assert "host" not in m["spec"]["rules"][0]
    plain = ki.ingress(namespace="shop", instance="shop", unit=UNIT, ingress_class_name="x")
    assert "tls" not in plain["spec"]


@pytest.mark.parametrize("both", [False, True])
def test_an_ingress_names_exactly_one_class(both: bool) -> None:
    extra = {"ingress_class_name": "nginx", "class_annotation": "gce"} if both else {}
    with pytest.raises(ValueError, match="exactly one"):
        ki.ingress(namespace="n", instance="n", unit=UNIT, **extra)  # type: ignore[arg-type]


def test_the_public_service_behind_an_ingress_is_cluster_ip_on_the_http_port() -> None:
    neg = {"cloud.google.com/neg": '{"ingress": true}'}
    svc = kw.service(
        namespace="shop",
        instance="shop",
        unit=UNIT,
        tags={},
        annotations=neg,
        behind_ingress=True,
    )
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["ports"] == [
        {"name": kw.PORT_NAME, "port": kw.PUBLIC_PORT, "targetPort": 8080, "protocol": "TCP"}
    ]
    assert svc["metadata"]["annotations"] == neg
    # TLS is the Ingress's: an EKS-style Tls is ignored behind one.
    tls = kw.Tls(certificate_arn="arn:aws:acm:x", ssl_policy="p")
    bare = kw.service(
        namespace="shop", instance="shop", unit=UNIT, tags={}, tls=tls, behind_ingress=True
    )
    assert bare["spec"]["type"] == "ClusterIP" and "annotations" not in bare["metadata"]
    assert bare["spec"]["ports"][0]["port"] == kw.PUBLIC_PORT


def test_without_an_ingress_the_services_are_as_before() -> None:
    public = kw.service(namespace="s", instance="s", unit=UNIT, tags={}, annotations={"a": "b"})
    assert public["spec"]["type"] == "LoadBalancer"
    assert public["metadata"]["annotations"] == {"a": "b"}
    internal = kw.service(namespace="s", instance="s", unit=INTERNAL, tags={}, behind_ingress=True)
    assert internal["spec"]["type"] == "ClusterIP" and "annotations" not in internal["metadata"]


def test_ingress_readiness_waits_for_a_published_address() -> None:
    assert "status.?loadBalancer.?ingress" in ki.INGRESS_HAS_ADDRESS
    assert "i.ip" in ki.INGRESS_HAS_ADDRESS and "i.hostname" in ki.INGRESS_HAS_ADDRESS
