"""The harness's own pieces that need no control plane."""

from __future__ import annotations

import socket
import threading

import pytest

from function.render.common import LEGACY_VERSIONS
from tests.controlplane.harness import SHARED_CRDS, crd_files, load_yaml, provider_crd_files
from tests.controlplane.netns import NetworkNamespace


@pytest.mark.skipif(not SHARED_CRDS.is_dir(), reason=f"{SHARED_CRDS} missing")
def test_every_kind_the_compositions_emit_gets_its_crd_in_both_scopes() -> None:
    installed = set()
    for f in [*crd_files(), *provider_crd_files(False), *provider_crd_files(True)]:
        doc = load_yaml(f)
        installed.add((doc["spec"]["group"], doc["spec"]["names"]["kind"]))
    for cloud, versions in LEGACY_VERSIONS.items():
        for svc, kind in versions:
            # Azure's resource group is in the provider's own group (azure.upbound.io)
            group = cloud if svc == cloud else f"{svc}.{cloud}"
            assert (f"{group}.upbound.io", kind) in installed
            assert (f"{group}.m.upbound.io", kind) in installed
        assert (f"{cloud}.upbound.io", "ProviderConfig") in installed
        assert (f"{cloud}.m.upbound.io", "ClusterProviderConfig") in installed
    assert {"aws", "gcp", "azure"} <= set(LEGACY_VERSIONS)


def test_the_network_namespace_hides_its_listeners() -> None:
    ns = NetworkNamespace()
    try:
        if not ns.private:
            pytest.skip(f"no private network namespace here: {ns.reason}")
        server = ns.run(socket.create_server, ("127.0.0.1", 0))
        port = server.getsockname()[1]
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), 2).close()
        inside = ns.run(socket.create_connection, ("127.0.0.1", port), 2)
        inside.close()
        server.close()
        assert ns.run(threading.current_thread).name == "controlplane-netns"
    finally:
        ns.close()
