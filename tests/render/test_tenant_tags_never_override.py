"""A CloudProvider's tags never write over the product's tags or labels, on any cloud, once
made valid by that cloud's rules (GCP: lowercase, `[a-z0-9_-]`; Azure: tag names without
case, `/` becomes `_`; AWS: IAM compares tag keys without case, and the EKS load balancer's
tag annotation is `k=v` pairs joined by `,`). Every strategy, both XRD scopes."""

from __future__ import annotations

import dataclasses
import json

import pytest

from function.model import Strategy
from function.render.common import RenderContext
from function.render.dispatch import render
from function.render.kube.workload import EXTRA_TAGS, Unit, aws_annotations
from tests.render import test_render_aws as aws
from tests.render import test_render_azure as azure
from tests.render import test_render_gcp as gcp

# Keys that become a product key under the cloud's rules: each says "evil", none may win.
HOSTILE: dict[str, list[str]] = {
    "aws": ["SCIA.IO/TENANT", "scia.io/Tenant", "Managed-By", "SCIA.IO/STRATEGY"],
    "gcp": [
        "scia_io_tenant",
        "SCIA.IO/TENANT",
        "scia.io/Tenant",
        "scia.io_tenant",
        "Scia.Io.Deployment",
        "Managed-By",
        "SCIA_IO_STRATEGY",
    ],
    "azure": ["SCIA.IO/TENANT", "scia.io_tenant", "scia.io/Tenant", "MANAGED-BY"],
}


def _ctx(
    cloud: str, strategy: Strategy, namespaced: bool
) -> tuple[RenderContext, dict[str, dict[str, object]]]:
    if cloud == "aws":
        return aws.ctx(strategy, namespaced), aws.FULL_OBSERVED
    if cloud == "gcp":
        return gcp.ctx(strategy, namespaced), gcp.FULL_OBSERVED
    return azure.azure_ctx(strategy, namespaced), azure.FULL_OBSERVED


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
@pytest.mark.parametrize("strategy", list(Strategy))
@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_a_tenant_tag_never_overwrites_a_product_tag(
    cloud: str, strategy: Strategy, namespaced: bool
) -> None:
    base, observed = _ctx(cloud, strategy, namespaced)
    c = dataclasses.replace(
        base, extra_tags={k: "evil" for k in HOSTILE[cloud]} | {"cost-center": "cc-1"}
    )
    out = render(c, observed=observed)
    text = json.dumps(out)
    assert "evil" not in text
    assert "cc-1" in text  # the tenant's other tags are there
    key = {"aws": "scia.io/tenant", "gcp": "scia_io_tenant", "azure": "scia.io_tenant"}[cloud]
    found = [d[key] for d in _dicts(out) if key in d]
    assert found and set(found) == {"team-a"}


def test_the_eks_tag_annotation_leaves_out_tags_that_would_read_as_others() -> None:
    unit = Unit(name="web", port=5000, health_path="/healthz", public=True)
    ann = aws_annotations(
        unit,
        {
            "scia.io/tenant=evil": "x",  # would read as scia.io/tenant=evil=x
            "team": "a,scia.io/tenant=evil",
            "cost-center": "cc-1",
            "scia.io/tenant": "team-a",
        },
    )[EXTRA_TAGS]
    pairs = dict(p.split("=", 1) for p in ann.split(","))
    assert pairs == {"cost-center": "cc-1", "scia.io/tenant": "team-a"}


def _dicts(x: object) -> list[dict[str, object]]:
    """Every mapping in `x`, nested ones included (tags, labels, resourceLabels, ...)."""
    if isinstance(x, dict):
        return [x] + [d for v in x.values() for d in _dicts(v)]
    if isinstance(x, list):
        return [d for v in x for d in _dicts(v)]
    return []
