"""The packages for real: pushed to an OCI registry on loopback, installed by Crossplane's
package manager, and a claim reconciled through the installed Function.

What is real: `.ci/build-packages --push` builds the Function and Configuration xpkgs with
the Crossplane CLI and pushes them to Debian's docker-registry (in the control plane's
network namespace); a `Function` and a `Configuration` object make core pull them, unpack
them and create their revisions; the Configuration's revision installs the legacy XRD and
compositions from the package.
What stands in for a Deployment (core runs with --package-runtime=External): the harness
acts as the external runtime. It creates the function's TLS Secret (signed by Crossplane's
CA) and writes the active FunctionRevision's status.tlsServerSecretName and
status.endpoint, pointing at the function-scia process of the harness: the same Python
package as the runtime image, started from the project's virtualenv, not from the image.
The Configuration is installed with skipDependencyResolution: its provider dependencies
live on xpkg.crossplane.io, which this machine cannot reach (no provider runs here).
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from examples import render as R
from tests.controlplane.api import (
    API,
    CLAIM_SPEC,
    DEPLOYER,
    TENANT,
    install_cloudprovider,
    onboard,
)
from tests.controlplane.harness import (
    REPO_ROOT,
    XP_NAMESPACE,
    ControlPlane,
    Proc,
    provider_crd_files,
)
from tests.controlplane.kube import condition, wait_for

pytestmark = [
    pytest.mark.controlplane,
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("docker-registry") is None,
        reason="docker-registry not installed (Debian package docker-registry; .ci/setup installs it)",
    ),
]
PKG = "pkg.crossplane.io/v1"
VERSION = "v" + (REPO_ROOT / "function" / "__version__.py").read_text().split('"')[1]


@pytest.fixture(scope="module")
def registry(controlplane: ControlPlane) -> Iterator[str]:
    """docker-registry on the namespace's loopback; yields host:port."""
    cp = controlplane
    port = cp.ns.free_port()
    d = cp.work / "registry"
    (d / "storage").mkdir(parents=True, exist_ok=True)
    (d / "config.yml").write_text(
        yaml.safe_dump(
            {
                "version": 0.1,
                "log": {"level": "warn"},
                "storage": {"filesystem": {"rootdirectory": str(d / "storage")}},
                "http": {"addr": f"127.0.0.1:{port}"},
            }
        )
    )
    proc: Proc = cp.spawn("docker-registry", ["docker-registry", "serve", str(d / "config.yml")])
    try:
        import httpx

        def answers() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=2).is_success
            except httpx.TransportError:  # not listening yet
                return False

        wait_for("registry answers /v2/", lambda: cp.ns.run(answers), 120)
        yield f"127.0.0.1:{port}"
    finally:
        proc.stop()


def test_function_and_configuration_packages_installed_and_serving(
    controlplane: ControlPlane, registry: str, repos: Path
) -> None:
    cp, kube = controlplane, controlplane.kube
    out = cp.work / "xpkg"
    built = cp.ns.run(
        subprocess.run,
        [str(REPO_ROOT / ".ci" / "build-packages"), "--out", str(out), "--push", f"{registry}/scia"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    # The harness's hand-made revision steps aside: the package manager makes the real one.
    kube.delete(PKG, "FunctionRevision", "function-scia-local")
    try:
        kube.apply(
            {"apiVersion": PKG, "kind": "Function", "metadata": {"name": "function-scia"},
             "spec": {"package": f"{registry}/scia/function-scia:{VERSION}"}}
        )  # fmt: skip
        revision = wait_for(
            "the package manager pulled the Function and made an active revision",
            lambda: next(
                (r for r in kube.list(PKG, "FunctionRevision", labels={
                    "pkg.crossplane.io/package": "function-scia"})
                 if r["spec"].get("desiredState") == "Active"), None),
            180, describe=cp.describe,
        )  # fmt: skip
        act_as_external_runtime(cp, revision["metadata"]["name"])
        wait_for(
            "FunctionRevision RevisionHealthy",
            lambda: condition(
                kube.get(PKG, "FunctionRevision", revision["metadata"]["name"]), "RevisionHealthy"
            ).get("status") == "True",
            180, describe=cp.describe,
        )  # fmt: skip
        caps = (kube.get(PKG, "FunctionRevision", revision["metadata"]["name"]) or {})["status"]
        assert caps.get("capabilities") == ["composition"]  # read from the package

        kube.apply(
            {"apiVersion": PKG, "kind": "Configuration", "metadata": {"name": "configuration-scia"},
             "spec": {"package": f"{registry}/scia/configuration-scia:{VERSION}",
                      "skipDependencyResolution": True}}
        )  # fmt: skip
        wait_for(
            "the Configuration's XRD installed and offered",
            lambda: condition(
                kube.get("apiextensions.crossplane.io/v1", "CompositeResourceDefinition",
                         "xappdeployments.scia.io"), "Offered"
            ).get("status") == "True",
            240, describe=cp.describe,
        )  # fmt: skip
        cp.wait_established("appdeployments.scia.io")
        kube.forget(API)
        shipped = kube.get(
            "apiextensions.crossplane.io/v1", "Composition", "appdeployment-aws-legacy"
        )
        assert shipped is not None, "the package's composition is not installed"
        assert any(o.get("kind") == "ConfigurationRevision"
                   for o in shipped["metadata"].get("ownerReferences", []))  # fmt: skip
        # The package's composition names github.com/acme/...: unreachable here. A platform
        # composition mirroring it (as the demo does) is selected by the claim.
        local = yaml.safe_load(
            R.mirrored_composition(
                REPO_ROOT / "compositions" / "legacy.yaml", repos, cp.work, 10
            ).read_text()
        )
        local["metadata"]["name"] = "appdeployment-aws-legacy-mirrored"
        kube.apply(local)
        cp.install_crds(provider_crd_files(namespaced=False))  # what it composes (no provider)
        install_cloudprovider(cp)  # onboarding's quota counts cloudproviders too
        onboard(cp, TENANT)
        tenant = kube.as_user(DEPLOYER)
        spec = {**CLAIM_SPEC, "compositionRef": {"name": "appdeployment-aws-legacy-mirrored"}}
        tenant.create({"apiVersion": API, "kind": "AppDeployment",
                       "metadata": {"name": "packaged", "namespace": TENANT}, "spec": spec})  # fmt: skip
        try:
            xr = wait_for(
                "the claim decided through the packaged Function",
                lambda: (c := kube.get(API, "AppDeployment", "packaged", TENANT))
                and (c.get("status") or {}).get("decision")
                and c,
                240, describe=cp.describe,
            )  # fmt: skip
            assert xr["status"]["decision"]["decidedBy"] in ("knowledge-base", "llm")
        finally:
            kube.delete(API, "AppDeployment", "packaged", TENANT)
            wait_for(
                "the claim deleted",
                lambda: kube.get(API, "AppDeployment", "packaged", TENANT) is None,
                180,
            )
    finally:
        kube.delete(
            "apiextensions.crossplane.io/v1", "Composition", "appdeployment-aws-legacy-mirrored"
        )
        kube.delete(PKG, "Configuration", "configuration-scia")
        kube.delete(PKG, "Function", "function-scia")
        wait_for(
            "the packages and their XRD removed",
            lambda: kube.get("apiextensions.crossplane.io/v1", "CompositeResourceDefinition",
                             "xappdeployments.scia.io") is None
            and not kube.list(PKG, "FunctionRevision"),
            240,
        )  # fmt: skip
        kube.forget(API)
        cp.install_function_revision()


def act_as_external_runtime(cp: ControlPlane, revision: str) -> None:
    """What the Deployment runtime does for a function revision, minus the Deployment: the
    server TLS Secret (the certificate the function process serves), then the revision's
    status.tlsServerSecretName and status.endpoint."""
    tls = cp.function_tls
    data = {
        k: base64.b64encode((tls / k).read_bytes()).decode()
        for k in ("tls.crt", "tls.key", "ca.crt")
    }
    secret: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "function-scia-tls-server", "namespace": XP_NAMESPACE}, "data": data,
    }  # fmt: skip
    cp.kube.apply(secret)
    cp.kube.patch(
        PKG, "FunctionRevision", revision,
        {"status": {"endpoint": f"127.0.0.1:{cp.ports.function}",
                    "tlsServerSecretName": "function-scia-tls-server"}},
        subresource="status",
    )  # fmt: skip
