"""The application's Kubernetes manifests: Deployment, Service, HorizontalPodAutoscaler,
PodDisruptionBudget, one set per service (pure; wrapped in Objects by render/aws/eks_app.py).

The public entry point is a Service of type LoadBalancer for the primary service, with the
annotations of the AWS cloud provider's own service controller, which EKS runs in its
control plane (an NLB, instance targets; no add-on to install). Other services of a
monorepo get a ClusterIP Service: they are reached inside the cluster by name.

`require-https` (`Tls`): the public Service's NLB listens on 443 only, with TLS terminated by
the load balancer with an ACM certificate (`aws-load-balancer-ssl-cert`, `-ssl-ports`,
`-ssl-negotiation-policy`: the same annotations of the service controller; NLB TLS listeners
since Kubernetes 1.15). An NLB cannot redirect (layer 4), so there is no port 80 at all: no
plain-HTTP endpoint, as on vm (where 80 answers only with a redirect).

Configuration (issue 16): `Unit.env` (EnvVar objects) and `Unit.env_from` (EnvFromSource
objects) go into the container as they are; PORT is always set. The app's configuration
arrives as `SCIA_LAUNCH_CONFIG` in `Unit.env` (names and ids only), read at start by the
launcher in the image with the Pod Identity role of `Unit.service_account`
(render/aws/eks_app.py): no value is in any manifest, and no Kubernetes Secret is made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from function.render.kube.sizing import PodSize

# Annotations of the AWS cloud provider's service controller (kubernetes/cloud-provider-aws,
# legacy in-tree `aws` provider: pkg/providers/v1/aws.go ServiceAnnotation*).
NLB_TYPE = "service.beta.kubernetes.io/aws-load-balancer-type"
HEALTH_PROTOCOL = "service.beta.kubernetes.io/aws-load-balancer-healthcheck-protocol"
HEALTH_PATH = "service.beta.kubernetes.io/aws-load-balancer-healthcheck-path"
EXTRA_TAGS = "service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags"
SSL_CERT = "service.beta.kubernetes.io/aws-load-balancer-ssl-cert"
SSL_PORTS = "service.beta.kubernetes.io/aws-load-balancer-ssl-ports"
SSL_POLICY = "service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy"
HTTPS_PORT = 443
LAST_GOOD = "scia.io/last-good-image"
COMMIT_LABEL = "scia.io/commit"
CPU_TARGET_PERCENT = 60
PUBLIC_PORT = 80
PORT_NAME = "http"  # the plain-HTTP port of every Service (an Ingress routes to it by name)


@dataclass(frozen=True)
class Tls:
    """TLS on the public load balancer: the ACM certificate's ARN and the security policy."""

    certificate_arn: str
    ssl_policy: str


@dataclass(frozen=True)
class Unit:
    """One service of the deployment as it runs on the cluster."""

    name: str  # a DNS label, unique in the deployment
    port: int
    health_path: str
    public: bool
    env: list[dict[str, Any]] = field(default_factory=list)
    env_from: list[dict[str, Any]] = field(default_factory=list)
    service_account: str | None = None  # None: the namespace's default, no AWS identity
    pod_labels: dict[str, str] = field(default_factory=dict)  # e.g. AKS workload identity's


def selector(instance: str, unit: Unit) -> dict[str, str]:
    return {"app.kubernetes.io/name": unit.name, "app.kubernetes.io/instance": instance}


def _probe(unit: Unit, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": unit.health_path, "port": unit.port},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def deployment(
    *,
    namespace: str,
    instance: str,
    unit: Unit,
    image: str,
    size: PodSize,
    commit: str,
    progress_deadline: int,
    last_good: str | None,
) -> dict[str, Any]:
    """The Deployment of `unit` running `image`.

    No `spec.replicas`: the HorizontalPodAutoscaler owns it (provider-kubernetes applies the
    manifest as a patch, so a replica count here would undo every scaling decision).
    `last_good` is written as an annotation: the image of the last rollout that completed,
    read back from the observed object to roll back to (render/kube/rollout.py).
    """
    labels = selector(instance, unit)
    env = [{"name": "PORT", "value": str(unit.port)}] + [
        e for e in unit.env if e.get("name") != "PORT"
    ]
    container: dict[str, Any] = {
        "name": unit.name,
        "image": image,
        "ports": [{"name": "http", "containerPort": unit.port, "protocol": "TCP"}],
        "env": env,
        "resources": {
            "requests": {"cpu": f"{size.cpu_millis}m", "memory": f"{size.memory_mib}Mi"},
            "limits": {"memory": f"{size.memory_mib}Mi"},
        },
        # Up to 5 minutes to start (slow first boots, migrations), then the usual probes.
        "startupProbe": _probe(unit, 5, 60),
        "readinessProbe": _probe(unit, 10, 3),
        "livenessProbe": _probe(unit, 20, 3),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    if unit.env_from:
        container["envFrom"] = list(unit.env_from)
    pod: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": 30,
        "containers": [container],
    }
    if unit.service_account:
        # EKS Pod Identity mounts its own projected token (audience pods.eks.amazonaws.com)
        # and sets AWS_CONTAINER_CREDENTIALS_FULL_URI; the Kubernetes API token stays out.
        pod["serviceAccountName"] = unit.service_account
    if size.highly_available:
        pod["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": key,
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": labels},
            }
            for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
        ]
    meta: dict[str, Any] = {
        "name": unit.name,
        "namespace": namespace,
        "labels": {**labels, COMMIT_LABEL: commit[:12]},
    }
    if last_good:
        meta["annotations"] = {LAST_GOOD: last_good}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "selector": {"matchLabels": labels},
            "progressDeadlineSeconds": progress_deadline,
            "revisionHistoryLimit": 5,
            "strategy": {
                "type": "RollingUpdate",
                # Never below the serving capacity while a new version starts.
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {"metadata": {"labels": {**unit.pod_labels, **labels}}, "spec": pod},
        },
    }


def aws_annotations(unit: Unit, tags: dict[str, str]) -> dict[str, str]:
    """A public Service's annotations on EKS: an NLB health-checking `unit`'s path, tagged."""
    return {
        NLB_TYPE: "nlb",
        HEALTH_PROTOCOL: "http",
        HEALTH_PATH: unit.health_path,
        # `k=v` pairs joined by ',': a tag holding either character is left out (it would
        # read as other tags, even as one of the product's).
        EXTRA_TAGS: ",".join(
            f"{k}={v}" for k, v in sorted(tags.items()) if not set(",=") & set(k + v)
        ),
    }


def service(
    *,
    namespace: str,
    instance: str,
    unit: Unit,
    tags: dict[str, str],
    tls: Tls | None = None,
    annotations: dict[str, str] | None = None,
    behind_ingress: bool = False,
) -> dict[str, Any]:
    """The Service of `unit`: a public load balancer for the primary service, else
    ClusterIP. With `tls` (public only, EKS) the NLB listens on 443 with TLS and nothing
    else. `annotations`: the public Service's, for the cluster's cloud provider (GKE, AKS:
    their renderers); None is EKS's (`aws_annotations`).

    `behind_ingress`: the public service is reached through an Ingress (render/kube/
    ingress.py), which terminates TLS: its Service is ClusterIP on the plain-HTTP port
    (`PORT_NAME`, `PUBLIC_PORT`), with `annotations` as given (e.g. GKE's NEG annotation)
    and no load balancer of its own; `tls` does not apply."""
    secure = tls is not None and unit.public and not behind_ingress
    port = (
        {"name": "https", "port": HTTPS_PORT, "targetPort": unit.port, "protocol": "TCP"}
        if secure
        else {"name": PORT_NAME, "port": PUBLIC_PORT, "targetPort": unit.port, "protocol": "TCP"}
    )
    spec: dict[str, Any] = {"selector": selector(instance, unit), "ports": [port]}
    meta: dict[str, Any] = {
        "name": unit.name,
        "namespace": namespace,
        "labels": selector(instance, unit),
    }
    if unit.public and behind_ingress:
        spec["type"] = "ClusterIP"
        if annotations:
            meta["annotations"] = dict(annotations)
    elif unit.public:
        spec["type"] = "LoadBalancer"
        if annotations is not None:
            meta["annotations"] = dict(annotations)
        else:
            meta["annotations"] = aws_annotations(unit, tags)
        if secure:
            assert tls is not None
            meta["annotations"] |= {
                SSL_CERT: tls.certificate_arn,
                SSL_PORTS: str(HTTPS_PORT),
                SSL_POLICY: tls.ssl_policy,
            }
    else:
        spec["type"] = "ClusterIP"
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def autoscaler(*, namespace: str, instance: str, unit: Unit, size: PodSize) -> dict[str, Any]:
    """Replicas between the decided bounds, on average CPU against the request."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": unit.name, "namespace": namespace, "labels": selector(instance, unit)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": unit.name},
            "minReplicas": size.min_replicas,
            "maxReplicas": size.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": CPU_TARGET_PERCENT},
                    },
                }
            ],
        },
    }


def disruption_budget(*, namespace: str, instance: str, unit: Unit) -> dict[str, Any]:
    """At most one replica away at a time (node drains, upgrades) when highly available."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": unit.name, "namespace": namespace, "labels": selector(instance, unit)},
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": selector(instance, unit)},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


def service_account(
    namespace: str, name: str, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    """The app's ServiceAccount: EKS Pod Identity gives its pods the app's AWS role; on AKS
    its annotations name the managed identity workload identity federates it with."""
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta,
        "automountServiceAccountToken": False,
    }


def namespace_manifest(name: str, instance: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {
                "app.kubernetes.io/instance": instance,
                # Pod Security Admission: the app's pods meet the restricted profile's
                # basics (no privilege escalation, dropped capabilities, RuntimeDefault).
                "pod-security.kubernetes.io/warn": "restricted",
            },
        },
    }
