"""What provider-kubernetes reports for an Object, and what the cluster's controllers made of
its manifest: `status.atProvider.manifest` as a cluster would show it (for tests that play
the providers; nothing here is product code).

- a Job: `Complete` (or `Failed`) condition;
- a Deployment: generation and observedGeneration, every replica updated and available,
  `Progressing=True/NewReplicaSetAvailable` (or `False/ProgressDeadlineExceeded`);
- a Service of type LoadBalancer: an NLB hostname on EKS (the AWS load balancer
  annotations), a public IP on AKS and GKE (their load balancers report `ip`, no hostname);
- an Ingress: the address its controller's load balancer serves on (GKE's: the static
  address the Ingress names, `GLOBAL_ADDRESS`).
"""

from __future__ import annotations

import copy
from typing import Any

NLB_HOST = "a1b2c3d4e5f6-0123456789abcdef.elb.eu-west-1.amazonaws.com"
# What AKS's and GKE's load balancers report for a Service (documentation range, RFC 5737).
LB_IP = "203.0.113.10"
# A reserved GCP global address (tests/support/inproc.py reports it for `lb-address`): the
# address a GKE Ingress serves on, the static one it names.
GLOBAL_ADDRESS = "34.120.10.20"
# What an Ingress controller's load balancer on the cluster reports (AKS's application
# routing NGINX: a public IP on the cluster's load balancer; RFC 5737).
INGRESS_IP = "203.0.113.20"
AWS_LB = "service.beta.kubernetes.io/aws-load-balancer-"


def _cond(typ: str, status: str, reason: str, message: str = "") -> dict[str, Any]:
    return {
        "type": typ,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2026-11-29T10:00:00Z",
        "lastUpdateTime": "2026-11-29T10:00:00Z",
    }


def in_cluster(
    manifest: dict[str, Any],
    *,
    ready: bool = True,
    job: str = "Complete",
    rollout: str = "done",
    generation: int = 1,
) -> dict[str, Any]:
    """`manifest` as the cluster returns it once its controllers acted.

    job: "Complete", "Failed" or "Running"; rollout: "done", "progressing" or "deadline".
    """
    m = copy.deepcopy(manifest)
    m.setdefault("metadata", {})["generation"] = generation
    kind = m.get("kind")
    if kind == "Job":
        conds = []
        if ready and job == "Complete":
            conds = [_cond("Complete", "True", "Completed")]
        elif job == "Failed":
            conds = [
                _cond(
                    "Failed",
                    "True",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                )
            ]
        m["status"] = {"conditions": conds} if conds else {"active": 1}
    elif kind == "Deployment":
        replicas = 2
        m["spec"]["replicas"] = replicas
        if not ready or rollout == "progressing":
            m["status"] = {
                "observedGeneration": generation,
                "replicas": replicas + 1,
                "updatedReplicas": 1,
                "availableReplicas": replicas,
                "conditions": [_cond("Progressing", "True", "ReplicaSetUpdated")],
            }
        elif rollout == "deadline":
            m["status"] = {
                "observedGeneration": generation,
                "replicas": replicas + 1,
                "updatedReplicas": 1,
                "availableReplicas": replicas,
                "conditions": [
                    _cond("Available", "True", "MinimumReplicasAvailable"),
                    _cond(
                        "Progressing",
                        "False",
                        "ProgressDeadlineExceeded",
                        'ReplicaSet "x" has timed out progressing.',
                    ),
                ],
            }
        else:
            m["status"] = {
                "observedGeneration": generation,
                "replicas": replicas,
                "updatedReplicas": replicas,
                "readyReplicas": replicas,
                "availableReplicas": replicas,
                "conditions": [
                    _cond("Available", "True", "MinimumReplicasAvailable"),
                    _cond("Progressing", "True", "NewReplicaSetAvailable"),
                ],
            }
    elif kind == "Service" and (m.get("spec") or {}).get("type") == "LoadBalancer" and ready:
        notes = (m.get("metadata") or {}).get("annotations") or {}
        aws = any(str(k).startswith(AWS_LB) for k in notes)
        address = {"hostname": NLB_HOST} if aws else {"ip": LB_IP}
        m["status"] = {"loadBalancer": {"ingress": [address]}}
    elif kind == "Ingress" and ready:
        # GKE's names its static address; a class-named one (AKS's application routing
        # NGINX) serves on its controller's public IP.
        ip = INGRESS_IP if (m.get("spec") or {}).get("ingressClassName") else GLOBAL_ADDRESS
        m["status"] = {"loadBalancer": {"ingress": [{"ip": ip}]}}
    return m


def object_at_provider(body: dict[str, Any], ready: bool = True, **how: Any) -> dict[str, Any]:
    """status.atProvider of an observed provider-kubernetes Object (its desired body)."""
    manifest = ((body.get("spec") or {}).get("forProvider") or {}).get("manifest")
    if not isinstance(manifest, dict):
        return {}
    return {"manifest": in_cluster(manifest, ready=ready, **how)}


def is_object(body: dict[str, Any] | None) -> bool:
    return (
        bool(body)
        and body.get("kind") == "Object"
        and "crossplane.io" in str(body.get("apiVersion"))
    )
