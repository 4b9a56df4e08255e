"""Which Crossplane provider package serves each kind the function composes.

The Configuration packages (package/configuration/*/crossplane.yaml) must depend on every
provider whose kinds a composition emits, at least at the release the schemas were taken
from (../shared/crds/SOURCES.md): a platform that installs a Configuration then gets every
CRD a deployment on any cloud needs. tests/ship/test_provider_dependencies.py holds the
packages to this table and the table to every kind the renderers and the CloudProvider
composition emit.

Upjet's provider families are split by API group: `<service>.<cloud>.upbound.io` (and its
namespaced `<service>.<cloud>.m.upbound.io`) is served by `provider-<cloud>-<service>`;
the root group `<cloud>.upbound.io` holds the ProviderConfig kinds, served by the family
provider `provider-family-<cloud>`, and, on Azure, `ResourceGroup`, served by
`provider-azure-azure` (provider-upjet-azure `cmd/provider/azure`).
"""

from __future__ import annotations

from typing import Final

REGISTRY: Final = "xpkg.crossplane.io/crossplane-contrib"
# The releases the CRDs in ../shared/crds were taken from (SOURCES.md "Release tag").
CLOUD_VERSIONS: Final[dict[str, str]] = {"aws": ">=v2.6.0", "gcp": ">=v3.0.0", "azure": ">=v2.7.0"}
KUBERNETES_VERSION: Final = ">=v1.2.1"
_PROVIDER_CONFIG_KINDS: Final = {"ProviderConfig", "ClusterProviderConfig", "StoreConfig"}
_KUBERNETES_GROUPS: Final = {"kubernetes.crossplane.io", "kubernetes.m.crossplane.io"}


def provider_package(api_version: str, kind: str) -> tuple[str, str] | None:
    """(package, version constraint) of the provider serving `kind` in `api_version`'s
    group; None for a group no provider serves (Crossplane's own, scia.io)."""
    group = api_version.split("/", 1)[0]
    if group in _KUBERNETES_GROUPS:
        return f"{REGISTRY}/provider-kubernetes", KUBERNETES_VERSION
    parts = group.split(".")
    if parts[-2:] != ["upbound", "io"]:
        return None
    parts = [p for p in parts[:-2] if p != "m"]
    if len(parts) == 1 and parts[0] in CLOUD_VERSIONS:
        cloud = parts[0]
        if kind in _PROVIDER_CONFIG_KINDS:
            return f"{REGISTRY}/provider-family-{cloud}", CLOUD_VERSIONS[cloud]
        return f"{REGISTRY}/provider-{cloud}-{cloud}", CLOUD_VERSIONS[cloud]
    if len(parts) == 2 and parts[1] in CLOUD_VERSIONS:
        service, cloud = parts
        return f"{REGISTRY}/provider-{cloud}-{service}", CLOUD_VERSIONS[cloud]
    return None
