"""A GCP vm under require-https, through the whole reconcile: the endpoint is the
certificate's host, a result names the DNS A record to create, and the deployment is
Provisioning until the certificate's status.atProvider.expireTime (set only once Google
issued it) is observed; then Running. Both XRD scopes."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from function.reconcile import Reconciler, ReconcileRequest
from tests.reconcile.test_reconcile import inp, reconciler

ROOT = Path(__file__).resolve().parents[2]
ADDRESS = "34.120.7.7"
SELF = "https://www.googleapis.com/compute/v1/projects/acme-prod"
READY = [
    {"type": "Ready", "status": "True", "reason": "Available"},
    {"type": "Synced", "status": "True", "reason": "ReconcileSuccess"},
]


def _xr(namespaced: bool) -> dict[str, Any]:
    xr = yaml.safe_load((ROOT / "examples" / "legacy" / "xr-gcp.yaml").read_text())
    xr["spec"]["policies"] = ["require-https"]
    if namespaced:
        xr["apiVersion"] = "scia.io/v1alpha1"
        xr["kind"] = "AppDeployment"
        xr["metadata"] = {"name": "flask-app-gcp", "namespace": "team-a",
                          "uid": xr["metadata"]["uid"]}  # fmt: skip
        del xr["spec"]["claimRef"]
    return xr


def _observe(desired: dict[str, Any], issued: bool) -> dict[str, dict[str, Any]]:
    """Every desired resource as the provider would report it, Ready."""
    out: dict[str, dict[str, Any]] = {}
    for name, body in desired.items():
        o = copy.deepcopy(body)
        fp = o["spec"].get("forProvider") or {}
        at: dict[str, Any] = {"selfLink": f"{SELF}/global/x/{name}", "id": name}
        if name == "instance-group":
            at["instanceGroup"] = f"{SELF}/regions/europe-west1/instanceGroups/ig-1"
            template = desired.get("instance-template", {}).get("spec", {}).get("forProvider", {})
            fp["version"][0]["instanceTemplate"] = template.get("name", "t")
        if name == "lb-address":
            at["address"] = ADDRESS
        if name == "certificate" and issued:
            at["expireTime"] = "2027-02-28T10:00:00.000-08:00"
        o["metadata"]["name"] = name
        o["status"] = {"conditions": READY, "atProvider": at}
        out[name] = o
    return out


async def _converge(rec: Reconciler, xr: dict[str, Any], issued: bool, repos: Path) -> Any:
    observed: dict[str, dict[str, Any]] = {}
    settings = inp(repos) | {"policy": {"https": {"domain": "apps.example.com"}}}
    result = None
    for _ in range(10):  # bounded: each round composes what the last one's status allows
        result = await rec.reconcile(ReconcileRequest(xr=xr, observed=observed, input=settings))
        assert not result.fatal, result.results
        xr = copy.deepcopy(xr) | {"status": result.status}
        nxt = _observe(result.desired, issued)
        if set(nxt) == set(observed):
            break
        observed = nxt
    return result


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
async def test_https_vm_endpoint_dns_record_and_phase(repos: Path, namespaced: bool) -> None:
    host = "flask-app-gcp.team-a.apps.example.com"
    waiting = await _converge(reconciler(), _xr(namespaced), issued=False, repos=repos)
    assert {"certificate", "forwarding-rule-https"} <= set(waiting.desired)
    groups = {b["apiVersion"].split("/")[0] for b in waiting.desired.values()}
    assert all((".m." in g) == namespaced for g in groups), groups
    status = waiting.status
    assert status["endpoints"][0] == {
        "name": "load-balancer",
        "type": "http",
        "url": f"https://{host}",
    }
    assert status["phase"] == "Provisioning"
    assert f"DNS A record {host} -> {ADDRESS}" in status["message"]
    said = [m for _, m in waiting.results]
    assert any(f"DNS A record {host} -> {ADDRESS}" in m for m in said), said
    assert not waiting.composite_ready

    issued = await _converge(reconciler(), _xr(namespaced), issued=True, repos=repos)
    assert issued.status["phase"] == "Running", issued.status["message"]
    assert issued.status["endpoints"][0]["url"] == f"https://{host}"
    assert not any("A record" in m for _, m in issued.results)
