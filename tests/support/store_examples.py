"""The checks every examples/datastores pair shares, rendered through the real `crossplane
render` (tests/config/test_examples_*_datastores.py): the pinned decision is reused, the
status fits the XRD, the resource set is exactly what is observed (Running) or a superset of
it (provisioning: nothing that exists is left out), and every resource validates against
the provider CRDs of its scope."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.support import inproc as P
from tests.support.render_env import ROOT, Env, assert_resources_valid, split
from tests.support.xrstatus import XRDS, status_errors

EXAMPLES = ROOT / "examples" / "datastores"
Rendered = tuple[dict[str, Any], dict[str, dict[str, Any]], list[dict[str, Any]]]


def render(env: Env, scope: str, stem: str, observed: Path, xr: str = "") -> Rendered:
    """`xr-<stem>.yaml` (or `xr`) with `observed`, through the composition of `scope` with
    composed stores."""
    comp = env.composition(scope, **P.compose_stores(scope))
    return split(env.render(EXAMPLES / (xr or f"xr-{stem}.yaml"), scope, observed, comp))


def observed_docs(path: Path) -> dict[str, dict[str, Any]]:
    """An observed file's resources by composition-resource-name."""
    return {
        d["metadata"]["annotations"]["crossplane.io/composition-resource-name"]: d
        for d in yaml.safe_load_all(path.read_text())
        if d
    }


def _no_fatal(results: list[dict[str, Any]]) -> None:
    assert not [r for r in results if r.get("severity") == "SEVERITY_FATAL"], results


def assert_running_on_the_pin(
    rendered: Rendered, *, stem: str, scope: str, strategy: str, group_suffix: str
) -> dict[str, Any]:
    """Running on the example's own pin, with exactly the observed resources, each valid
    and of `scope`'s API groups (`group_suffix`: the namespaced groups' ending, e.g.
    `.gcp.m.upbound.io`; Azure's resource group is in `azure.m.upbound.io` itself).
    Returns the XR's status."""
    xr, resources, results = rendered
    pinned = yaml.safe_load((EXAMPLES / f"xr-{stem}.yaml").read_text())
    _no_fatal(results)
    assert not any("decided revision" in r["message"] for r in results)  # the pin is reused
    status: dict[str, Any] = xr["status"]
    assert status["decision"]["revision"] == pinned["status"]["decision"]["revision"]
    assert (status["strategy"], status["phase"]) == (strategy, "Running")
    without = {k: v for k, v in pinned.items() if k != "status"}
    assert status_errors(XRDS[scope], without, status) == []
    assert set(resources) == set(observed_docs(EXAMPLES / f"observed-{stem}.yaml"))
    assert_resources_valid(resources)
    groups = {b["apiVersion"].split("/")[0] for b in resources.values()}
    assert all(g.endswith(group_suffix) == (scope == "namespaced") for g in groups)
    return status


def assert_provisioning_keeps_what_exists(rendered: Rendered, observed: Path) -> None:
    """Not Running yet, no fault, and every observed resource still desired, valid."""
    xr, resources, results = rendered
    _no_fatal(results)
    assert xr["status"]["phase"] != "Running"
    assert set(observed_docs(observed)) <= set(resources)
    assert_resources_valid(resources)
