"""Refusals name the field the user wrote, on every cloud: the cloud's own allowlist in the
function input (`input.gcp.vm.allowedInstanceTypes`, not AWS's `input.vm....`), the XR's
`spec.region` when a region change cannot be followed (not a composed resource's
`spec.forProvider.location`), and a region spelled like a display name gets a hint."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from function.cloudprovider import parse_cloud_provider_spec
from function.errors import InputError
from function.input import FunctionInput
from function.model import Strategy
from function.render.common import RenderContext
from function.render.dispatch import render, render_plan
from function.render.replace import ReplacementRefused
from function.xr import AppSpec
from tests.render import test_render_aws as aws
from tests.render import test_render_azure as azure
from tests.render import test_render_gcp as gcp
from tests.render.test_replace import start

SCOPES = pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
MOVES = {"aws": ("eu-west-1", "us-west-2"), "gcp": ("europe-west1", "us-central1"),
         "azure": ("westeurope", "eastus")}  # fmt: skip


def _ctx(cloud: str, strategy: Strategy, namespaced: bool) -> tuple[RenderContext, Any]:
    if cloud == "aws":
        return aws.ctx(strategy, namespaced), aws.FULL_OBSERVED
    if cloud == "gcp":
        return gcp.ctx(strategy, namespaced), gcp.FULL_OBSERVED
    return azure.azure_ctx(strategy, namespaced), azure.FULL_OBSERVED


def _observed_as_rendered(c: RenderContext, extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(extra)
    for name, body in render(c, extra).items():
        out[name] = {**copy.deepcopy(body), "status": extra.get(name, {}).get("status", {})}
    return out


@SCOPES
@pytest.mark.parametrize("strategy", [Strategy.VM, Strategy.KUBERNETES])
@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_a_region_change_that_cannot_be_followed_names_spec_region(
    cloud: str, strategy: Strategy, namespaced: bool
) -> None:
    c, extra = _ctx(cloud, strategy, namespaced)
    was, now = MOVES[cloud]
    assert c.region == was
    before = start(c) if cloud == "aws" else _observed_as_rendered(c, extra)
    moved = dataclasses.replace(c, spec=c.spec.model_copy(update={"region": now}))
    with pytest.raises(ReplacementRefused) as e:
        render_plan(moved, before)
    said = str(e.value)
    assert said.startswith(f"spec.region: a deployment cannot move from {was} to {now}")
    assert f"set spec.region back to {was}" in said


@pytest.mark.parametrize("cloud", ["gcp", "azure"])
@pytest.mark.parametrize(
    ("strategy", "path", "field"),
    [
        (Strategy.VM, "vm.instanceType", "vm.allowedInstanceTypes"),
        (Strategy.KUBERNETES, "kubernetes.nodeInstanceType", "kubernetes.allowedNodeTypes"),
    ],
)
def test_a_pin_outside_the_allowlist_names_the_clouds_input_field(
    cloud: str, strategy: Strategy, path: str, field: str
) -> None:
    from function.guard.pincheck import _kubernetes, _vm

    settings = FunctionInput.model_validate({}).for_cloud(cloud)
    d = gcp.DECISIONS[strategy]
    kind, attr = path.split(".")
    params = getattr(d, kind).model_copy(update={_snake(attr): "t3.micro"})
    d = d.model_copy(update={kind: params})
    check = _vm if strategy is Strategy.VM else _kubernetes
    said = [str(v) for v in check(d, settings, "status.decision.parameters")]
    assert said and said[0].startswith(f"status.decision.parameters.{path}: 't3.micro'")
    assert f"is not in input.{cloud}.{field} " in said[0], said
    # AWS's input keeps its own path.
    aws_said = [str(v) for v in check(d.model_copy(update={kind: params.model_copy(
        update={_snake(attr): "n2-highmem-96"})}), FunctionInput(), "p")]  # fmt: skip
    assert f"is not in input.{field} " in aws_said[0]


def _snake(camel: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in camel)


def test_an_unlisted_region_names_the_clouds_allowlist() -> None:
    assert FunctionInput().for_cloud("gcp").field("regions") == "input.gcp.regions"
    assert FunctionInput().field("regions") == "input.regions"
    assert FunctionInput().for_cloud("azure").field("blockedPorts") == "input.blockedPorts"


@pytest.mark.parametrize(
    ("cloud", "region", "hint"),
    [
        ("azure", "West Europe", "not its display name: 'westeurope'"),
        ("azure", "East US 2", "not its display name: 'eastus2'"),
        ("gcp", "Europe West1", "(like us-central1)"),
        ("aws", "US East 1", "(like us-east-1)"),
    ],
)
def test_a_badly_spelled_region_is_refused_with_a_hint(cloud: str, region: str, hint: str) -> None:
    with pytest.raises(ValueError, match="spelled like a region") as e:
        AppSpec.model_validate(
            {"repository": {"url": "https://github.com/a/b"}, "cloudProvider": cloud,
             "region": region}
        )  # fmt: skip
    assert hint in str(e.value)
    assert "String should match pattern" not in str(e.value)
    with pytest.raises(InputError) as ie:
        project = {"project": "acme-prod"} if cloud == "gcp" else {}
        creds = {"secretRef": {"name": "s", "key": "k"}}
        parse_cloud_provider_spec(
            {"spec": {"type": cloud, "credentials": creds, "defaultRegion": region, **project}}
        )
    assert ie.value.field == "spec.defaultRegion" and hint in ie.value.reason
