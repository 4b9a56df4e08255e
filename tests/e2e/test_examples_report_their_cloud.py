"""Every GCP and Azure example reports what GCP and Azure report, never AWS values.

Found by a fresh-user check of issue 19: the shipped GKE and AKS running examples showed an
ELB host name at status.endpoints[0] (and the GKE one an EKS API endpoint), because the
test provider that wrote them (tests/support/inproc.py `reported`, kube_observed.py)
answered by composition-resource name, which clouds share (`load-balancer`, `certificate`),
and gave every LoadBalancer Service an NLB host. A Service on GKE or AKS reports an IP, a
GKE cluster its control plane's IP, an AKS cluster `<prefix>-<hash>.hcp.<region>.azmk8s.io`.

Checked for every GCP and Azure XR under examples/ (both scopes, every strategy shipped):
its status (the pin's lastObserved included) and its observed resources' provider status,
and the status the function derives from them (in-process, the example's own input).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from examples import render as R
from examples.vm.azure_https import INPUT as AZURE_HTTPS_INPUT
from tests.kube.make_cloud_build_examples import gcp_input
from tests.kube.make_examples import aks_https_input, gke_https_input
from tests.support import inproc as P

# Values only AWS reports: its DNS names, ARNs, Lambda URLs.
AWS_VALUE = re.compile(r"amazonaws\.com|arn:aws[a-z-]*:|\.on\.aws\b")
IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def _xrs() -> list[Path]:
    out = []
    for xr in sorted(R.EXAMPLES.rglob("xr*.yaml")):
        spec = P.load_xr(xr).get("spec") or {}
        if spec.get("cloudProvider") in ("gcp", "azure"):
            out.append(xr)
    return out


def _observed(xr: Path) -> Path | None:
    o = xr.with_name(xr.name.replace("xr", "observed", 1))
    return o if o.exists() else None


def _strings(obj: Any, where: str = "") -> list[tuple[str, str]]:
    if isinstance(obj, str):
        return [(where, obj)]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in _strings(v, f"{where}.{k}")]
    if isinstance(obj, list):
        return [s for i, v in enumerate(obj) for s in _strings(v, f"{where}[{i}]")]
    return []


def _provider_status(body: dict[str, Any]) -> Any:
    """What the provider reports: status, but of an Object only the object's own status
    (its manifest, as the cluster returns it, holds the app's files)."""
    status = dict(body.get("status") or {})
    at = status.get("atProvider")
    if isinstance(at, dict) and isinstance(at.get("manifest"), dict):
        status["atProvider"] = {"manifest.status": at["manifest"].get("status")}
    return status


def _aws_values(obj: Any, where: str) -> list[str]:
    return [f"{w}: {s}" for w, s in _strings(obj, where) if AWS_VALUE.search(s)]


def test_the_examples_are_found() -> None:
    names = {f"{p.parent.name}/{p.stem}" for p in _xrs()}
    assert {"legacy/xr-azure-build-running", "namespaced/xr-azure-build-running"} <= names
    assert {"legacy/xr-gcp-build-running", "namespaced/xr-gcp-build-running"} <= names
    assert {"datastores/xr-flask-azure-vm", "datastores/xr-flask-gcp-vm"} <= names
    assert {"legacy/xr-gke-https-running", "namespaced/xr-gke-https-running"} <= names


@pytest.mark.parametrize("xr", _xrs(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_no_aws_value_in_a_gcp_or_azure_example(xr: Path) -> None:
    problems = _aws_values(P.load_xr(xr).get("status") or {}, "status")
    observed = _observed(xr)
    for name, body in P.load_observed(observed).items():
        problems += _aws_values(_provider_status(body), f"{name}.status")
    assert not problems, "\n".join(problems)


def _input(xr: Path, repos: Path) -> dict[str, Any]:
    scope = P.scope_of(P.load_xr(xr))
    inp = P.function_input(scope, repos)
    if xr.parent.parent.name == "gke-build":
        inp = gcp_input(inp)  # the platform values GKE builds need (their README)
    if xr.parent.parent.name == "azure-https":
        inp |= AZURE_HTTPS_INPUT  # the platform's Key Vault certificate (its header)
    if xr.parent.parent.name == "gke-https":
        inp = gke_https_input(inp)  # the platform's domain for certificates (their header)
    if xr.parent.parent.name == "aks-https":
        inp = aks_https_input(inp)  # the platform's certificate and domain (their header)
    return inp


@pytest.mark.parametrize(
    "xr", [x for x in _xrs() if _observed(x)], ids=lambda p: f"{p.parent.name}/{p.stem}"
)
async def test_the_derived_status_reports_the_examples_cloud(xr: Path, repos: Path) -> None:
    """The status the function derives from the example's observed resources: no AWS
    value; a cluster's public Service answers at an IP, its API at the cloud's own host."""
    doc = P.load_xr(xr)
    observed = P.load_observed(_observed(xr))
    out = await P.reconcile(doc, observed, _input(xr, repos))
    assert not out.fatal, out.results
    problems = _aws_values(out.status, "status")
    assert not problems, "\n".join(problems)
    endpoints = {e["name"]: e["url"] for e in out.status.get("endpoints") or []}
    for name, url in endpoints.items():
        if name == "gke-cluster":
            assert IPV4.match(url.removeprefix("https://")), url
        elif name == "aks-cluster":
            assert url.startswith("https://") and url.endswith(".azmk8s.io"), url
    services = [
        b
        for b in observed.values()
        if ((b.get("status") or {}).get("atProvider") or {}).get("manifest", {}).get("kind")
        in ("Service", "Ingress")
    ]
    for body in services:
        manifest = body["status"]["atProvider"]["manifest"]
        for ingress in ((manifest.get("status") or {}).get("loadBalancer") or {}).get(
            "ingress"
        ) or []:
            assert set(ingress) == {"ip"} and IPV4.match(ingress["ip"]), ingress
