"""The Configuration packages depend on exactly the providers whose kinds are composed, at
the releases ../shared/crds was taken from (function/render/providers.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from function.cloudprovider import PROVIDER_CONFIGS
from function.model import Strategy
from function.render.common import LEGACY_VERSIONS
from function.render.dispatch import render
from function.render.providers import CLOUD_VERSIONS, KUBERNETES_VERSION, provider_package
from tests.render.test_render_azure import FULL_OBSERVED as AZURE_OBSERVED
from tests.render.test_render_azure import azure_ctx
from tests.render.test_render_gcp import FULL_OBSERVED as GCP_OBSERVED
from tests.render.test_render_gcp import HTTPS_INPUT, every_policy
from tests.render.test_render_gcp import ctx as gcp_ctx
from tests.support.crdcheck import SHARED_CRDS

ROOT = Path(__file__).resolve().parents[2]
SOURCES = SHARED_CRDS / "SOURCES.md"
SCOPES = ("legacy", "namespaced")
FUNCTION = "ghcr.io/scia/function-scia"


def dependencies(scope: str) -> dict[str, tuple[str, str]]:
    meta = yaml.safe_load(
        (ROOT / "package" / "configuration" / scope / "crossplane.yaml").read_text()
    )
    return {d["package"]: (d["kind"], d["version"]) for d in meta["spec"]["dependsOn"]}


def api_version(cloud: str, service: str, kind: str, namespaced: bool) -> str:
    group = cloud if service == cloud else f"{service}.{cloud}"
    if namespaced:
        return f"{group}.m.upbound.io/v1beta1"
    return f"{group}.upbound.io/{LEGACY_VERSIONS[cloud][(service, kind)]}"


def composed_kinds() -> set[tuple[str, str]]:
    """(apiVersion, kind) of everything a composition may emit: every provider kind the
    renderers know (both scopes), the CloudProvider's ProviderConfigs, provider-kubernetes."""
    out: set[tuple[str, str]] = set()
    for cloud, versions in LEGACY_VERSIONS.items():
        for service, kind in versions:
            for namespaced in (False, True):
                out.add((api_version(cloud, service, kind, namespaced), kind))
    for pc in PROVIDER_CONFIGS.values():
        out.add((pc.legacy_api, "ProviderConfig"))
        out.add((pc.namespaced_api, "ClusterProviderConfig"))
    for api in ("kubernetes.crossplane.io/v1alpha2", "kubernetes.m.crossplane.io/v1alpha1"):
        out.add((api, "Object"))
    for api in ("kubernetes.crossplane.io/v1alpha1", "kubernetes.m.crossplane.io/v1alpha1"):
        out.add((api, "ProviderConfig"))
    return out


def test_every_composed_kind_has_a_provider() -> None:
    missing = sorted(k for k in composed_kinds() if provider_package(*k) is None)
    assert not missing


@pytest.mark.parametrize("scope", SCOPES)
def test_configuration_depends_on_exactly_the_providers_of_composed_kinds(scope: str) -> None:
    want = {
        pkg: ("Provider", version)
        for pkg, version in (provider_package(*k) for k in composed_kinds() if provider_package(*k))
    }
    got = dependencies(scope)
    assert got.pop(FUNCTION)[0] == "Function"
    assert got == want
    # The list, spelled out (a table change must not silently drop one).
    for name in (
        "provider-gcp-compute",
        "provider-gcp-container",
        "provider-gcp-cloudrun",
        "provider-gcp-monitoring",
        "provider-gcp-sql",
        "provider-gcp-servicenetworking",
        "provider-gcp-redis",
        "provider-family-gcp",
        "provider-azure-azure",
        "provider-azure-network",
        "provider-azure-compute",
        "provider-azure-containerservice",
        "provider-azure-containerapp",
        "provider-azure-insights",
        "provider-azure-operationalinsights",
        "provider-family-azure",
        "provider-family-aws",
        "provider-kubernetes",
    ):
        assert f"xpkg.crossplane.io/crossplane-contrib/{name}" in got, name


def _release(section: str) -> str:
    """The release tag of a `## <section>/` of SOURCES.md."""
    text = SOURCES.read_text()
    body = text.split(f"## {section}/", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"Release tag: (v\d+\.\d+\.\d+)", body)
    assert found, section
    return found.group(1)


@pytest.mark.skipif(not SOURCES.exists(), reason="../shared/crds/SOURCES.md not beside the repo")
def test_versions_are_the_releases_the_crds_were_taken_from() -> None:
    for cloud, constraint in CLOUD_VERSIONS.items():
        assert constraint == f">={_release(cloud)}", cloud
    assert f">={_release('kubernetes')}" == KUBERNETES_VERSION


def _rendered() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for strategy in Strategy:
        for namespaced in (False, True):
            for observed in ({}, GCP_OBSERVED):
                # every policy the strategy can meet (all of them on GCP)
                c = gcp_ctx(strategy, namespaced, HTTPS_INPUT, every_policy(strategy))
                out += render(c, observed=observed).values()
            for observed in ({}, AZURE_OBSERVED):
                a = azure_ctx(strategy, namespaced, policies=("enable-monitoring",))
                out += render(a, observed=observed).values()
    return out


def test_every_rendered_gcp_and_azure_kind_is_served_by_a_dependency() -> None:
    for scope in SCOPES:
        deps = dependencies(scope)
        for body in _rendered():
            served = provider_package(body["apiVersion"], body["kind"])
            assert served is not None and served[0] in deps, (scope, body["apiVersion"])
