"""An allowlist entry the decision can never choose is named, with its field and why, not
skipped in silence (function/decide/allowlists.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from function.decide.allowlists import unusable_entries
from function.input import FunctionInput
from function.pricing.catalog import load_catalog
from function.reconcile import ReconcileRequest
from tests.reconcile.test_reconcile import ROOT, inp, reconciler

CATALOG = load_catalog()


def _settings(cloud: str, raw: dict[str, Any]) -> FunctionInput:
    return FunctionInput.model_validate(raw).for_cloud(cloud)


def test_a_clean_allowlist_gives_no_warning() -> None:
    for cloud, region in (("aws", "eu-west-1"), ("gcp", "europe-west1"), ("azure", "westeurope")):
        assert unusable_entries(_settings(cloud, {}), CATALOG, region) == [], cloud


def test_a_typo_on_aws_names_the_top_level_field() -> None:
    s = _settings("aws", {"vm": {"allowedInstanceTypes": ["t3.small", "t3.smal", "t3.small"]}})
    assert unusable_entries(s, CATALOG, "eu-west-1") == [
        "input.vm.allowedInstanceTypes: 't3.smal' is not in the aws pricing catalog; "
        "never chosen (1 of its 2 entries are usable here)"
    ]


def test_another_clouds_type_names_the_clouds_own_block() -> None:
    s = _settings(
        "gcp",
        {
            "gcp": {
                "vm": {"allowedInstanceTypes": ["e2-small", "t3.small"]},
                "kubernetes": {"allowedNodeTypes": ["Standard_D2s_v5", "e2-standard-2"]},
            }
        },
    )
    got = unusable_entries(s, CATALOG, "europe-west1")
    assert got == [
        "input.gcp.vm.allowedInstanceTypes: 't3.small' is not in the gcp pricing catalog; "
        "never chosen (1 of its 2 entries are usable here)",
        "input.gcp.kubernetes.allowedNodeTypes: 'Standard_D2s_v5' is not in the gcp pricing "
        "catalog; never chosen (1 of its 2 entries are usable here)",
    ]


def test_a_type_not_priced_in_the_region_says_so() -> None:
    region = CATALOG.by_region["westeurope"]
    instances = {k: v for k, v in region.instances.items() if k != "Standard_B2s"}
    catalog = CATALOG.model_copy(
        update={
            "by_region": {
                **CATALOG.by_region,
                "westeurope": region.model_copy(update={"instances": instances}),
            }
        }
    )
    s = _settings("azure", {"azure": {"vm": {"allowedInstanceTypes": ["Standard_B2s"]}}})
    assert unusable_entries(s, catalog, "westeurope")[0] == (
        "input.azure.vm.allowedInstanceTypes: 'Standard_B2s' has no price in westeurope; "
        "never chosen (0 of its 1 entries are usable here)"
    )


async def test_the_decision_reports_it_as_a_warning(repos: Path) -> None:
    """Through the real Reconciler: the decision is made from the usable entries, and the
    XR's results name the entry left out."""
    xr = yaml.safe_load((ROOT / "examples" / "legacy" / "xr.yaml").read_text())
    xr.pop("status", None)
    raw = inp(repos) | {"vm": {"allowedInstanceTypes": ["t3.small", "t3.medium", "m9z.huge"]}}
    rec = reconciler()
    out = await rec.reconcile(ReconcileRequest(xr=xr, observed={}, input=raw))
    warnings = [m for sev, m in out.results if sev == "Warning"]
    assert any(
        m.startswith("input.vm.allowedInstanceTypes: 'm9z.huge' is not in the aws pricing")
        for m in warnings
    ), out.results
    vm = out.status["decision"]["parameters"]["vm"]
    assert vm["instanceType"] in ("t3.small", "t3.medium")


async def test_when_nothing_fits_the_failure_names_the_unusable_entries(repos: Path) -> None:
    """Every entry a typo: the decision fails, and says the entries are why (not only that
    no size fits)."""
    xr = yaml.safe_load((ROOT / "examples" / "legacy" / "xr.yaml").read_text())
    xr.pop("status", None)
    xr["spec"]["strategy"] = "vm"
    raw = inp(repos) | {"vm": {"allowedInstanceTypes": ["t3.smal"]}}
    out = await reconciler().reconcile(ReconcileRequest(xr=xr, observed={}, input=raw))
    assert out.status["phase"] == "Failed", out.status
    text = " ".join(m for _, m in out.results) + out.status.get("message", "")
    assert "input.vm.allowedInstanceTypes: 't3.smal' is not in the aws pricing catalog" in text
    assert not out.desired
