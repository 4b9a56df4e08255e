"""The Kubernetes manifests inside the composed provider-kubernetes Objects, validated by a
real kube-apiserver (v1.35, the control-plane harness's binaries): server-side dry-run
creates with strict field validation, so an unknown or misspelled field, a wrong type, an
invalid value or a missing required field is an error, as it would be on EKS.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from examples import render as R
from function.pinning import ServiceSummary
from function.render.aws.eks_app import render_app
from function.render.aws.secrets import AppConfig
from function.render.dispatch import render as dispatch_render
from tests.api_server.cluster import Cluster, running, unavailable
from tests.kube.helpers import AUTH_READY, READY, cert_observed, ctx, https_ctx, observe, render
from tests.kube.make_cloud_build_examples import gcp_input
from tests.kube.make_examples import aks_https_input, gke_https_input
from tests.kube.test_cluster_app import CLOUDS as CLUSTER_CLOUDS
from tests.kube.test_cluster_builds import CLOUDS as BUILD_CLOUDS
from tests.kube.test_cluster_builds import JOB as BUILD_JOB
from tests.kube.test_cluster_builds import make_ctx as build_ctx
from tests.kube.test_gke_https import CLUSTER_READY, cloud_observed, gke_https_ctx
from tests.support import inproc as P

Manifest = dict[str, Any]
TOKEN_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:scia/team-a/app-AbCdEf"


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    with running(tmp_path_factory.mktemp("kube-manifests")) as c:
        yield c


def _plural(cluster: Cluster, api_version: str, kind: str) -> tuple[str, bool]:
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    r = cluster.admin.get(base)
    assert r.status_code == 200, f"{api_version}: {r.text}"
    for res in r.json()["resources"]:
        if res["kind"] == kind and "/" not in res["name"]:
            return f"{base}/{res['name']}", bool(res["namespaced"])
    raise AssertionError(f"{api_version} has no kind {kind}")


def _path(cluster: Cluster, m: Manifest) -> str:
    collection, namespaced = _plural(cluster, m["apiVersion"], m["kind"])
    if namespaced:
        base, plural = collection.rsplit("/", 1)
        return f"{base}/namespaces/{m['metadata']['namespace']}/{plural}"
    return collection


def _dry_run(cluster: Cluster, m: Manifest) -> str | None:
    r = cluster.admin.post(
        _path(cluster, m), params={"dryRun": "All", "fieldValidation": "Strict"}, json=m
    )
    if r.status_code in (200, 201):
        return None
    return f"{m['kind']} {m['metadata'].get('name')}: {r.status_code} {r.json().get('message')}"


def _manifests(out: dict[str, Manifest]) -> list[Manifest]:
    return [b["spec"]["forProvider"]["manifest"] for b in out.values() if b["kind"] == "Object"]


def _check(cluster: Cluster, manifests: list[Manifest]) -> None:
    # Namespaces for real (a dry-run create in a namespace that does not exist is refused).
    for m in manifests:
        if m["kind"] == "Namespace":
            r = cluster.admin.post("/api/v1/namespaces", json=m)
            assert r.status_code in (201, 409), r.text
    errors = [e for m in manifests if m["kind"] != "Namespace" and (e := _dry_run(cluster, m))]
    assert not errors, "\n".join(errors)


def _scenarios() -> dict[str, list[Manifest]]:
    services = [
        ServiceSummary(name="web", path="web", port=3000, has_dockerfile=True,
                       dockerfile_path="web/Dockerfile"),
        ServiceSummary(name="api", path="api", port=8000, health_check_path="/health",
                       has_dockerfile=True, dockerfile_path="api/Dockerfile"),
    ]  # fmt: skip
    out: dict[str, list[Manifest]] = {}
    for namespaced in (False, True):
        scope = "namespaced" if namespaced else "legacy"
        given = ctx(namespaced=namespaced, image="registry.example/app:1")
        out[f"{scope}-image"] = _manifests(render(given, AUTH_READY))
        private = ctx(
            namespaced=namespaced,
            settings={"build": {"repositoryCredentialsSecretRef": {"name": "creds"}}},
        )
        token = {"git-token": {"status": {"atProvider": {"arn": TOKEN_ARN}}}}
        first = render(private, AUTH_READY | token)
        job = next(n for n in first if n.startswith("build-0"))
        out[f"{scope}-build"] = _manifests(
            render(private, AUTH_READY | token | observe(first, [job]))
        )
        tls = https_ctx(namespaced=namespaced, image="registry.example/app:1")
        out[f"{scope}-https"] = _manifests(render(tls, AUTH_READY | cert_observed()))
        configured = ctx(namespaced=namespaced, image="registry.example/app:1")
        config = AppConfig(
            sources=[{"from": "secret", "name": "API_KEY", "id": "scia/team-a/x/API_KEY"}],
            statements=[{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"]}],
            version="v1",
            region="eu-west-1",
        )
        out[f"{scope}-configured"] = _manifests(render_app(configured, AUTH_READY, None, config))
        mono = ctx(namespaced=namespaced, services=services, min_nodes=1)
        first = render(mono, AUTH_READY)
        jobs = [n for n in first if n.startswith("build-0")]
        out[f"{scope}-monorepo"] = _manifests(render(mono, AUTH_READY | observe(first, jobs)))
        # GKE and AKS: the same objects with their clouds' Service annotations.
        for cloud, (make, cluster, _) in CLUSTER_CLOUDS.items():
            c = (
                make(namespaced, policies=("enable-monitoring",))
                if cloud == "azure"
                else (make(namespaced))
            )
            ready = {cluster: {"status": {"conditions": READY}}}
            out[f"{scope}-{cloud}"] = _manifests(dispatch_render(c, ready))
            # Built on the cluster: the Job (its cloud's login) next to the Deployment.
            b = build_ctx(cloud, namespaced)
            seen = BUILD_CLOUDS[cloud][1]()
            first = dispatch_render(b, seen)
            built = seen | observe(first, [BUILD_JOB], job="Complete")
            b = dataclasses.replace(b, notes=[], report={})
            out[f"{scope}-{cloud}-build"] = _manifests(dispatch_render(b, built))
        # GKE under require-https: the ClusterIP Service with NEGs behind a GKE Ingress.
        first = dispatch_render(gke_https_ctx(namespaced), CLUSTER_READY)
        out[f"{scope}-gcp-https"] = _manifests(
            dispatch_render(
                gke_https_ctx(namespaced), CLUSTER_READY | cloud_observed(first, issued=False)
            )
        )
    return out


SCENARIOS = _scenarios()


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_object_manifests_are_valid_kubernetes(apiserver: Cluster, scenario: str) -> None:
    manifests = SCENARIOS[scenario]
    kinds = {m["kind"] for m in manifests}
    assert {"Namespace", "Deployment", "Service", "HorizontalPodAutoscaler"} <= kinds
    if scenario.endswith("gcp-https"):
        assert "Ingress" in kinds
    if "build" in scenario or "configured" in scenario:
        assert {"Job" if "build" in scenario else "Deployment", "ServiceAccount"} <= kinds
    _check(apiserver, manifests)


def test_the_check_catches_a_misspelled_field(apiserver: Cluster, tmp_path: Path) -> None:
    manifests = SCENARIOS["legacy-image"]
    dep = next(m for m in manifests if m["kind"] == "Deployment")
    bad = {**dep, "spec": {**dep["spec"], "progresDeadlineSeconds": 600}}
    _check(apiserver, [m for m in manifests if m["kind"] == "Namespace"])
    error = _dry_run(apiserver, bad)
    assert error is not None and "progresDeadlineSeconds" in error
    probe = {**dep}
    pod = dep["spec"]["template"]["spec"]
    box = {**pod["containers"][0], "readinessProbe": {"httpGet": {"path": "/"}}}
    probe["spec"] = {**dep["spec"], "template": {**dep["spec"]["template"],
                     "spec": {**pod, "containers": [box]}}}  # fmt: skip
    assert _dry_run(apiserver, probe) is not None  # a probe without a port


def _object_examples() -> list[Any]:
    """Every shipped example whose observed state has provider-kubernetes Objects (the
    kubernetes, AKS and GKE build examples at each stage): (id, xr, observed, cloud)."""
    out = []
    for ex in R.examples():
        if ex.observed is not None and "\nkind: Object\n" in ex.observed.read_text():
            out.append(pytest.param(ex.xr, ex.observed, id=ex.name))
    for folder in ("gke-build", "gke-https", "aks-https"):
        for scope in ("legacy", "namespaced"):
            for xr in sorted((R.EXAMPLES / folder / scope).glob("xr-*.yaml")):
                observed = xr.with_name(xr.name.replace("xr-", "observed-", 1))
                out.append(pytest.param(xr, observed, id=f"{folder}/{scope}/{xr.stem}"))
    return out


@pytest.mark.parametrize(("xr_path", "observed_path"), _object_examples())
async def test_every_example_object_is_valid_kubernetes(
    apiserver: Cluster, repos: Path, xr_path: Path, observed_path: Path
) -> None:
    """What each example renders inside its Objects (the Deployment rolled back with its
    annotations, the build Jobs kept from the revision before, ...) passes the API server's
    strict validation."""
    xr = P.load_xr(xr_path)
    scope = P.scope_of(xr)
    inp = P.function_input(scope, repos)
    if "gke-build" in xr_path.parts:
        inp = gcp_input(inp)
    if "gke-https" in xr_path.parts:
        inp = gke_https_input(inp)
    if "aks-https" in xr_path.parts:
        inp = aks_https_input(inp)
    out = await P.reconcile(xr, P.load_observed(observed_path), inp)
    assert not out.fatal, out.results
    manifests = _manifests(out.desired)
    assert manifests
    _check(apiserver, manifests)


def test_the_shared_ingress_and_its_cluster_ip_service_are_valid_kubernetes(
    apiserver: Cluster,
) -> None:
    """render/kube/ingress.py's Ingress (class annotation or class name, TLS with or without
    a Secret, one host or any) and the ClusterIP Service behind it pass strict validation."""
    from function.render.kube import ingress as ki
    from function.render.kube import workload as kw

    unit = kw.Unit(name="web", port=8080, health_path="/healthz", public=True)
    ns = "ingress-check"
    manifests: list[Manifest] = [
        kw.namespace_manifest(ns, ns),
        kw.service(
            namespace=ns,
            instance=ns,
            unit=unit,
            tags={},
            behind_ingress=True,
            annotations={"cloud.google.com/neg": '{"ingress": true}'},
        ),
        ki.ingress(
            namespace=ns,
            instance=ns,
            unit=unit,
            class_annotation="gce",
            annotations={"kubernetes.io/ingress.allow-http": "false"},
            host="web.example.com",
            tls=ki.IngressTls(hosts=("web.example.com",)),
        ),
    ]
    _check(apiserver, manifests)
    for variant in (
        ki.ingress(
            namespace=ns,
            instance=ns,
            unit=unit,
            ingress_class_name="nginx",
            tls=ki.IngressTls(hosts=("web.example.com",), secret_name="web-tls"),
        ),
        ki.ingress(namespace=ns, instance=ns, unit=unit, ingress_class_name="nginx"),
    ):
        assert _dry_run(apiserver, variant) is None
