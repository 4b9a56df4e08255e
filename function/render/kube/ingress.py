"""A public service behind an Ingress, whatever the cluster's cloud (pure).

The shared Ingress builder: a cloud's renderer (render/gcp/kubernetes.py for GKE; AKS's
reuses it) chooses the controller (`ingress_class_name`, the `spec.ingressClassName` of an
IngressClass the cluster serves, or `class_annotation`, the legacy
`kubernetes.io/ingress.class` annotation some controllers still require: GKE's Ingress
controller takes only the annotation, `gce` for an external Application Load Balancer),
the controller's annotations, and TLS (`Tls`: the hosts, and a Secret's name when the
certificate is a Kubernetes Secret; none when the controller attaches a certificate of the
cloud's by annotation, as GKE's `ingress.gcp.kubernetes.io/pre-shared-cert` does).

The Ingress routes every path of `host` (every host when None) to the unit's Service on
its `http` port (workload.py: the Service behind an Ingress is ClusterIP,
`service(..., behind_ingress=True)`). Its readiness: the controller has published an
address in `status.loadBalancer.ingress` (`INGRESS_HAS_ADDRESS`, a provider-kubernetes
Object's DeriveFromCelQuery).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from function.render.kube import workload as kw

# The legacy Ingress class annotation (deprecated upstream, still the only class selector
# GKE's Ingress controller reads).
CLASS_ANNOTATION = "kubernetes.io/ingress.class"
# An Ingress Object is Ready once its controller published an address (an IP or a host
# name) for it: what a load balancer in front of the Ingress reports when it exists.
INGRESS_HAS_ADDRESS = (
    "object.?status.?loadBalancer.?ingress.orValue([]).exists(i, "
    "(has(i.ip) && i.ip != '') || (has(i.hostname) && i.hostname != ''))"
)


@dataclass(frozen=True)
class IngressTls:
    """TLS on the Ingress: the `hosts` it covers and, when the certificate is a Kubernetes
    Secret in the Ingress's namespace, the Secret's name (None: the controller attaches
    the cloud's certificate itself, named in an annotation)."""

    hosts: tuple[str, ...]
    secret_name: str | None = None


def ingress(
    *,
    namespace: str,
    instance: str,
    unit: kw.Unit,
    ingress_class_name: str | None = None,
    class_annotation: str | None = None,
    annotations: dict[str, str] | None = None,
    host: str | None = None,
    tls: IngressTls | None = None,
) -> dict[str, Any]:
    """The `networking.k8s.io/v1` Ingress of `unit`'s Service, named like the unit.

    Exactly one of `ingress_class_name` (spec.ingressClassName) and `class_annotation`
    (the `kubernetes.io/ingress.class` value) chooses the controller; `annotations` are
    the controller's own. `host`: the one host routed (None: any host). `tls`: the TLS
    block (None: none).

    Raises ValueError when neither or both class selectors are given (a class-less Ingress
    would be taken by whichever controller is the cluster's default).
    """
    if (ingress_class_name is None) == (class_annotation is None):
        raise ValueError("an Ingress needs exactly one of ingress_class_name, class_annotation")
    meta: dict[str, Any] = {
        "name": unit.name,
        "namespace": namespace,
        "labels": kw.selector(instance, unit),
    }
    notes = dict(annotations or {})
    if class_annotation is not None:
        notes[CLASS_ANNOTATION] = class_annotation
    if notes:
        meta["annotations"] = notes
    backend = {"service": {"name": unit.name, "port": {"name": kw.PORT_NAME}}}
    rule: dict[str, Any] = {
        "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}
    }
    if host is not None:
        rule = {"host": host, **rule}
    spec: dict[str, Any] = {}
    if ingress_class_name is not None:
        spec["ingressClassName"] = ingress_class_name
    if tls is not None:
        block: dict[str, Any] = {"hosts": list(tls.hosts)}
        if tls.secret_name is not None:
            block["secretName"] = tls.secret_name
        spec["tls"] = [block]
    spec["rules"] = [rule]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": meta,
        "spec": spec,
    }
