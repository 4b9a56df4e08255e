"""Contexts and observed states for the kubernetes workload tests."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from function.input import FunctionInput
from function.model import Decision, KubernetesParams, Strategy
from function.pinning import AnalysisSummary, ServiceSummary
from function.render.aws.eks_app import Registry, render_app
from function.render.common import RenderContext, Resources
from function.xr import AppSpec, XrIdentity
from tests.support.kube_observed import object_at_provider

COMMIT = "0123456789abcdef0123456789abcdef01234567"
OLD_COMMIT = "fedcba9876543210fedcba9876543210fedcba98"
REPO_URL = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team-a-flask-app"
REPO_ARN = "arn:aws:ecr:eu-west-1:123456789012:repository/team-a-flask-app"
REGISTRY = Registry(component="image-repository", url=REPO_URL, arn=REPO_ARN)
READY = [
    {"type": "Ready", "status": "True", "reason": "Available"},
    {"type": "Synced", "status": "True", "reason": "ReconcileSuccess"},
]
AUTH_READY = {"cluster-auth": {"status": {"conditions": READY}}}


def decision(min_nodes: int = 2, max_nodes: int = 4) -> Decision:
    return Decision(
        strategy=Strategy.KUBERNETES,
        port=5000,
        health_check_path="/healthz",
        reason="r",
        confidence=0.7,
        kubernetes=KubernetesParams(
            node_instance_type="t3.medium",
            min_nodes=min_nodes,
            max_nodes=max_nodes,
            desired_nodes=min_nodes,
        ),
    )


def ctx(
    *,
    namespaced: bool = False,
    image: str | None = None,
    commit: str = COMMIT,
    services: list[ServiceSummary] | None = None,
    settings: dict[str, Any] | None = None,
    min_nodes: int = 2,
    has_dockerfile: bool = True,
) -> RenderContext:
    spec: dict[str, Any] = {
        "repository": {"url": "https://github.com/acme/flask-app"},
        "region": "eu-west-1",
    }
    if image:
        spec["image"] = image
    return RenderContext(
        identity=XrIdentity(
            name="flask-app-x1",
            uid="u-1",
            tenant="team-a",
            namespaced=namespaced,
            deployment_name="flask-app",
        ),
        spec=AppSpec.model_validate(spec),
        settings=FunctionInput.model_validate(settings or {}),
        decision=decision(min_nodes),
        commit=commit,
        analysis=AnalysisSummary(
            language="python",
            framework="flask",
            port=5000,
            memory_gib=0.5,
            has_dockerfile=has_dockerfile,
            dockerfile_path="Dockerfile" if has_dockerfile else None,
            services=services or [],
        ),
    )


def manifest(out: Resources, name: str) -> dict[str, Any]:
    m: dict[str, Any] = out[name]["spec"]["forProvider"]["manifest"]
    return m


def observe(out: Resources, names: list[str], **how: Any) -> dict[str, dict[str, Any]]:
    """The named Objects of `out` as provider-kubernetes reports them (Ready), with the
    object as the cluster shows it (`how`: job=..., rollout=..., generation=...)."""
    return {
        n: {
            **copy.deepcopy(out[n]),
            "status": {"conditions": READY, "atProvider": object_at_provider(out[n], **how)},
        }
        for n in names
    }


def render(
    c: RenderContext, observed: dict[str, dict[str, Any]], registry: Registry | None = REGISTRY
) -> Resources:
    c.notes.clear()
    c.report.clear()
    return render_app(c, observed, registry)


CERT_ARN = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"


def https_ctx(*, certificate_arn: str | None = None, **kw: Any) -> RenderContext:
    """`ctx` with the require-https policy, and a domain (or the platform's certificate)."""
    https: dict[str, Any] = (
        {"certificateArn": certificate_arn} if certificate_arn else {"domain": "apps.example.com"}
    )
    c = ctx(settings={"policy": {"https": https}}, **kw)
    spec = c.spec.model_copy(update={"policies": ["require-https"]})
    return dataclasses.replace(c, spec=spec, policy=c.settings.policy)


def cert_observed(arn: str = CERT_ARN) -> dict[str, dict[str, Any]]:
    return {"certificate": {"status": {"conditions": READY, "atProvider": {"arn": arn}}}}
