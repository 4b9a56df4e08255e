"""One XR per strategy in both XRD scopes, for tests that cover a rule's whole kind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from function.model import Strategy
from function.policy.https import needs_certificate, never_meets
from tests.support import inproc as P

ROOT = Path(__file__).resolve().parents[2]
LEGACY = ROOT / "examples" / "legacy"
NAMESPACED = ROOT / "examples" / "namespaced"
# (XR file, strategy) for every strategy in both scopes.
XRS = {
    "legacy-vm": (LEGACY / "xr.yaml", "vm"),
    "legacy-kubernetes": (LEGACY / "xr.yaml", "kubernetes"),
    "legacy-serverless": (LEGACY / "xr.yaml", "serverless"),
    "namespaced-vm": (NAMESPACED / "xr.yaml", "vm"),
    "namespaced-kubernetes": (NAMESPACED / "xr.yaml", "kubernetes"),
    "namespaced-serverless": (NAMESPACED / "xr-serverless.yaml", "serverless"),
    # the same on GCP
    "legacy-gcp-vm": (LEGACY / "xr-gcp.yaml", "vm"),
    "legacy-gcp-kubernetes": (LEGACY / "xr-gcp.yaml", "kubernetes"),
    "legacy-gcp-serverless": (LEGACY / "xr-gcp.yaml", "serverless"),
    "namespaced-gcp-vm": (NAMESPACED / "xr-gcp-serverless.yaml", "vm"),
    "namespaced-gcp-kubernetes": (NAMESPACED / "xr-gcp-serverless.yaml", "kubernetes"),
    "namespaced-gcp-serverless": (NAMESPACED / "xr-gcp-serverless.yaml", "serverless"),
    # and on Azure
    "legacy-azure-vm": (LEGACY / "xr-azure.yaml", "vm"),
    "legacy-azure-kubernetes": (LEGACY / "xr-azure.yaml", "kubernetes"),
    "legacy-azure-serverless": (LEGACY / "xr-azure.yaml", "serverless"),
    "namespaced-azure-vm": (NAMESPACED / "xr-azure-serverless.yaml", "vm"),
    "namespaced-azure-kubernetes": (NAMESPACED / "xr-azure-serverless.yaml", "kubernetes"),
    "namespaced-azure-serverless": (NAMESPACED / "xr-azure-serverless.yaml", "serverless"),
}


def image(xr: dict[str, Any]) -> str:
    """An image the cloud's serverless platform can run: Lambda's in ECR in the function's
    region, Cloud Run's in Artifact Registry."""
    if xr["spec"].get("cloudProvider") == "gcp":
        return "europe-west1-docker.pkg.dev/acme-prod/apps/app:1.0.0"
    if xr["spec"].get("cloudProvider") == "azure":
        return "acmeapps.azurecr.io/app:1.0.0"
    return f"123456789012.dkr.ecr.{xr['spec'].get('region', 'us-east-1')}.amazonaws.com/app:1.0.0"


def xr_for(key: str) -> dict[str, Any]:
    path, strategy = XRS[key]
    xr = P.without_status(P.load_xr(path))
    xr["spec"]["strategy"] = strategy
    xr["spec"].pop("budget", None)  # the forced strategy must not be refused for its cost
    cloud = xr["spec"].get("cloudProvider", "aws")
    if never_meets(cloud, Strategy(strategy)) or needs_certificate(cloud, Strategy(strategy)):
        # require-https cannot be met by GKE or AKS, and the shipped input has no
        # certificate setting for the strategies that compose one (an Azure vm's Key Vault
        # certificate): refused (tests/reconcile/test_https_unmet.py covers both)
        xr["spec"]["policies"] = [p for p in xr["spec"].get("policies", []) if p != "require-https"]
    if strategy == "serverless" and "image" not in xr["spec"]:
        xr["spec"]["image"] = image(xr)
    if strategy == "kubernetes" and xr["spec"].get("cloudProvider") in ("gcp", "azure"):
        # GKE and AKS run a given image here (their builds: tests/kube/test_cluster_builds.py).
        xr["spec"].setdefault("image", image(xr))
    return xr
