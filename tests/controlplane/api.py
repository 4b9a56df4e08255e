"""The product's API on the control plane, per XRD scope, and what a provider would do.

Both XRDs define `scia.io` `AppDeployment` (install one): `Scope` hides the difference.
With the legacy XRD a tenant creates an `AppDeployment` claim and Crossplane creates the
cluster-scoped `XAppDeployment` that composes cluster-scoped `*.aws.upbound.io` resources;
with the v2 XRD the tenant's `AppDeployment` is itself the XR and composes namespaced
`*.aws.m.upbound.io` resources in its namespace.
"""

from __future__ import annotations

import copy
import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from examples import render as R
from tests.controlplane.harness import REPO_ROOT, ControlPlane, provider_crd_files
from tests.controlplane.kube import Kube, condition, wait_for
from tests.support.kube_observed import is_object, object_at_provider

API = "scia.io/v1alpha1"
XRD_API = "apiextensions.crossplane.io/v1"
CRD_API = "apiextensions.k8s.io/v1"
TENANT = "team-a"
DEPLOYER_SA = "deployer"
DEPLOYER = f"system:serviceaccount:{TENANT}:{DEPLOYER_SA}"
TENANCY = REPO_ROOT / "examples" / "tenancy"
# The tenant's AppDeployment spec: examples/legacy/claim.yaml's.
CLAIM_SPEC: dict[str, Any] = yaml.safe_load(
    (REPO_ROOT / "examples" / "legacy" / "claim.yaml").read_text()
)["spec"]
# What the scripted LLM answers: a valid vm decision within the compositions' allowlists.
LLM_DECISION = {
    "strategy": "vm",
    "vm": {"instanceType": "t3.small", "minSize": 2, "maxSize": 3, "desiredCapacity": 2},
    "reason": "two small instances behind an ALB keep the flask app available",
    "confidence": 0.8,
    "alternatives": [],
}


@dataclass(frozen=True)
class Scope:
    name: str  # legacy | namespaced

    @property
    def legacy(self) -> bool:
        return self.name == "legacy"

    @property
    def xrd_file(self) -> Path:
        return REPO_ROOT / "xrds" / self.name / "definition.yaml"

    @property
    def xrd_name(self) -> str:
        return "xappdeployments.scia.io" if self.legacy else "appdeployments.scia.io"

    @property
    def xr_kind(self) -> str:
        return "XAppDeployment" if self.legacy else "AppDeployment"

    @property
    def crds(self) -> list[str]:
        return ["xappdeployments.scia.io", "appdeployments.scia.io"] if self.legacy else [
            "appdeployments.scia.io"]  # fmt: skip

    def mr_group_ok(self, api_version: str) -> bool:
        group = api_version.split("/", maxsplit=1)[0]
        if group.startswith("kubernetes."):  # provider-kubernetes (the kubernetes strategy)
            return (group == "kubernetes.crossplane.io") == self.legacy
        return group.endswith(".aws.m.upbound.io") != self.legacy and group.endswith(".upbound.io")

    def app(self, name: str, spec: dict[str, Any], namespace: str = TENANT) -> dict[str, Any]:
        """What the tenant applies: a claim (legacy) or a namespaced XR (v2)."""
        return {
            "apiVersion": API,
            "kind": "AppDeployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": copy.deepcopy(spec),
        }

    def xr(self, kube: Kube, name: str, namespace: str = TENANT) -> dict[str, Any] | None:
        """The composite resource behind the tenant's AppDeployment (None if not yet)."""
        app = kube.get(API, "AppDeployment", name, namespace)
        if app is None or not self.legacy:
            return app
        ref = (app.get("spec") or {}).get("resourceRef") or {}
        return kube.get(API, "XAppDeployment", ref["name"]) if ref.get("name") else None

    def refs(self, xr: dict[str, Any]) -> list[dict[str, Any]]:
        spec = xr.get("spec") or {}
        refs = spec.get("resourceRefs") if self.legacy else (spec.get("crossplane") or {}).get(
            "resourceRefs")  # fmt: skip
        return list(refs or [])

    def composed(self, kube: Kube, xr: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The composed resources that exist, by composition-resource-name."""
        namespace = None if self.legacy else xr["metadata"]["namespace"]
        out = {}
        for ref in self.refs(xr):
            obj = kube.get(ref["apiVersion"], ref["kind"], ref["name"], namespace)
            if obj is not None:
                key = (
                    obj["metadata"]
                    .get("annotations", {})
                    .get("crossplane.io/composition-resource-name", ref["name"])
                )
                out[key] = obj
        return out


SCOPES = [Scope("legacy"), Scope("namespaced")]


def composition(scope: str, repos: Path, work: Path, llm_url: str) -> dict[str, Any]:
    """The shipped composition with the function input a test platform needs: the example
    repositories mirrored to local git repositories (urlRewrites + allowFileUrls, as the
    demo does) and the LLM enabled at the scripted Ollama server."""
    path = R.mirrored_composition(
        REPO_ROOT / "compositions" / f"{scope}.yaml", repos, work, wait_seconds=10.0
    )
    doc: dict[str, Any] = yaml.safe_load(path.read_text())
    for step in doc["spec"]["pipeline"]:
        if step["functionRef"]["name"] == "function-scia":
            step["input"]["llm"] = {
                "enabled": True,
                "host": llm_url,
                "timeoutSeconds": 30,
                "retryAfterSeconds": 3600,
            }
    return doc


def install_scope(cp: ControlPlane, scope: Scope, repos: Path) -> None:
    """The scope's XRD and composition, tenancy roles and onboarding of the tenant."""
    kube = cp.kube
    cp.install_crds(provider_crd_files(namespaced=not scope.legacy))
    kube.apply_file(TENANCY / "cluster-roles.yaml")
    kube.apply_file(scope.xrd_file)
    wait_for(
        f"XRD {scope.xrd_name} Established",
        lambda: condition(kube.get(XRD_API, "CompositeResourceDefinition", scope.xrd_name),
                          "Established").get("status") == "True",
        describe=cp.describe,
    )  # fmt: skip
    if scope.legacy:
        wait_for(
            f"XRD {scope.xrd_name} Offered",
            lambda: condition(kube.get(XRD_API, "CompositeResourceDefinition", scope.xrd_name),
                              "Offered").get("status") == "True",
        )  # fmt: skip
    for crd in scope.crds:
        cp.wait_established(crd)
    for api in (API,):
        kube.forget(api)
    assert cp.llm is not None
    kube.apply(composition(scope.name, repos, cp.work, cp.llm.url))
    install_cloudprovider(cp)  # before onboarding: its quota counts cloudproviders
    onboard(cp, TENANT)


def install_cloudprovider(cp: ControlPlane) -> None:
    """The CloudProvider XRD and its composition, as shipped (idempotent)."""
    kube = cp.kube
    kube.apply_file(REPO_ROOT / "xrds" / "cloudprovider" / "definition.yaml")

    def has(typ: str) -> bool:
        xrd = kube.get(XRD_API, "CompositeResourceDefinition", "xcloudproviders.scia.io")
        return condition(xrd, typ).get("status") == "True"

    wait_for("XRD xcloudproviders.scia.io Established", lambda: has("Established"))
    wait_for("XRD xcloudproviders.scia.io Offered", lambda: has("Offered"))
    cp.wait_established("cloudproviders.scia.io")
    kube.forget(API)
    kube.apply_file(REPO_ROOT / "compositions" / "cloudprovider.yaml")


def onboard(cp: ControlPlane, tenant: str) -> None:
    """examples/tenancy/cluster-roles.yaml, then onboarding.yaml for the tenant, plus its CI
    ServiceAccount bound to scia-deployer (the identity claims are created with)."""

    def rename(doc: dict[str, Any]) -> None:
        meta = doc["metadata"]
        if doc["kind"] == "Namespace":
            meta["name"] = tenant
        else:
            meta["namespace"] = tenant
            for s in doc.get("subjects", []):
                s["name"] = s["name"].replace("team-a", tenant)

    kube = cp.kube
    kube.apply_file(TENANCY / "cluster-roles.yaml")  # first, as docs/tenancy.md says
    kube.apply_file(TENANCY / "onboarding.yaml", rename)
    kube.apply(
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": DEPLOYER_SA, "namespace": tenant}}
    )  # fmt: skip
    kube.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "scia-deployer-ci", "namespace": tenant},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": "scia-deployer"},
            "subjects": [{"kind": "ServiceAccount", "name": DEPLOYER_SA, "namespace": tenant}],
        }
    )  # fmt: skip

    # Quota admission refuses creates of a counted kind until the quota's status has its
    # usage (the resource-quota controller computes it).
    def counted() -> bool:
        quota = kube.get("v1", "ResourceQuota", "scia", tenant) or {}
        hard = (quota.get("spec") or {}).get("hard") or {}
        used = (quota.get("status") or {}).get("used") or {}
        return bool(hard) and all(k in used for k in hard)

    wait_for(f"ResourceQuota {tenant}/scia has the usage of every counted kind", counted, 180)


def uninstall_scope(cp: ControlPlane, scope: Scope) -> None:
    """Delete every AppDeployment, then the composition and the XRD (and so its CRDs), so
    the other scope's XRD can define scia.io AppDeployment."""
    kube = cp.kube
    for ns in ("team-a", "team-b", "team-q"):
        for app in kube.list(API, "AppDeployment", ns):
            kube.delete(API, "AppDeployment", app["metadata"]["name"], ns)
    if scope.legacy:
        for xr in kube.list(API, "XAppDeployment"):
            kube.delete(API, "XAppDeployment", xr["metadata"]["name"])
    wait_for(
        "every AppDeployment gone",
        lambda: (
            not any(kube.list(API, "AppDeployment", ns) for ns in ("team-a", "team-b", "team-q"))
            and not (scope.legacy and kube.list(API, "XAppDeployment"))
        ),
        timeout=180,
    )
    kube.delete(XRD_API, "Composition", f"appdeployment-aws-{scope.name}")
    kube.delete(XRD_API, "CompositeResourceDefinition", scope.xrd_name)
    wait_for(
        f"XRD {scope.xrd_name} and its CRDs gone",
        lambda: (
            kube.get(XRD_API, "CompositeResourceDefinition", scope.xrd_name) is None
            and all(kube.get(CRD_API, "CustomResourceDefinition", c) is None for c in scope.crds)
        ),
        timeout=180,
    )
    kube.forget(API)


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def provider_status(name: str, obj: dict[str, Any], ready: bool = True) -> dict[str, Any]:
    """The status a provider writes once the cloud resource exists (Ready/Synced and the
    atProvider fields the function reads: ARN, LB DNS name, Function URL, endpoint, a
    launch template's latestVersion)."""
    kind = obj["kind"]
    ident = obj["metadata"]["name"]
    at: dict[str, Any] = {
        "id": ident,
        "arn": f"arn:aws:test:eu-west-1:000000000000:{kind.lower()}/{ident}",
    }
    if kind == "LB":
        at["dnsName"] = f"{name}-{ident}.eu-west-1.elb.amazonaws.com"
    if kind == "FunctionURL":
        at["functionUrl"] = f"https://{ident}.lambda-url.eu-west-1.on.aws/"
    if kind == "Cluster":
        at["endpoint"] = f"https://{ident}.gr7.eu-west-1.eks.amazonaws.com"
    if kind == "LaunchTemplate":  # its first version: the vm's auto scaling group names it
        at["latestVersion"] = 1
    if is_object(obj):  # provider-kubernetes: the object as the cluster shows it
        at = object_at_provider(obj, ready)
    state = "True" if ready else "False"
    return {
        "status": {
            "atProvider": at,
            "conditions": [
                {"type": "Ready", "status": state, "reason": "Available" if ready else "Creating",
                 "lastTransitionTime": now()},
                {"type": "Synced", "status": "True", "reason": "ReconcileSuccess",
                 "lastTransitionTime": now()},
            ],
        }
    }  # fmt: skip


def mark_ready(kube: Kube, resources: dict[str, dict[str, Any]]) -> None:
    """Play the provider: every composed resource Ready and Synced, with atProvider."""
    for name, obj in resources.items():
        meta = obj["metadata"]
        kube.patch(
            obj["apiVersion"],
            obj["kind"],
            meta["name"],
            provider_status(name, obj),
            meta.get("namespace"),
            subresource="status",
        )
