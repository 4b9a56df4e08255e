"""The Crossplane packages as .ci/build-packages builds them, and a push/pull round trip
through a real OCI registry (Debian's docker-registry) on loopback."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ship.test_provider_dependencies import dependencies as source_dependencies
from tests.ship.xpkg_files import Image, Registry, file_in_layer, read_xpkg

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("SCIA_CACHE", Path.home() / ".cache" / "function-scia"))
CROSSPLANE = Path(os.environ.get("SCIA_CROSSPLANE", CACHE / "bin" / "crossplane"))
VERSION = "v" + (ROOT / "function" / "__version__.py").read_text().split('"')[1]
ENTRYPOINT = ["/venv/fn/bin/function-scia"]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not CROSSPLANE.exists(), reason=f"{CROSSPLANE} missing: .ci/setup builds it"
    ),
]


def runtime_image_tarball(dest: Path) -> Path:
    """A small but real `docker save` image: one layer, the runtime's config (entrypoint,
    user, ports). It stands in for the ~GB runtime image that .ci/build-image makes."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        body = b"#!/bin/sh\nexit 0\n"
        info = tarfile.TarInfo("venv/fn/bin/function-scia")
        info.size, info.mode = len(body), 0o755
        tar.addfile(info, io.BytesIO(body))
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Entrypoint": ENTRYPOINT,
            "User": "65532:65532",
            "Env": ["HF_HUB_OFFLINE=1", "SCIA_METRICS_ADDRESS=0.0.0.0:8080"],
            "ExposedPorts": {"9443/tcp": {}, "8080/tcp": {}},
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    config_bytes = json.dumps(config).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    manifest = [
        {"Config": config_name, "RepoTags": ["function-scia:test"], "Layers": ["layer.tar"]}
    ]
    path = dest / "runtime.tar"
    with tarfile.open(path, "w") as tar:
        for name, data in (
            ("layer.tar", layer_bytes),
            (config_name, config_bytes),
            ("manifest.json", json.dumps(manifest).encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def build_packages(out: Path, *args: str) -> list[Path]:
    done = subprocess.run(
        [str(ROOT / ".ci" / "build-packages"), "--out", str(out), *args],
        env={**os.environ, "SCIA_CROSSPLANE": str(CROSSPLANE)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [Path(p) for p in done.stdout.split()]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("xpkg")
    paths = build_packages(work / "out", "--image", str(runtime_image_tarball(work)))
    return {p.name.removesuffix(f"-{VERSION}.xpkg"): p for p in paths}


def kinds(docs: list[dict[str, Any]]) -> list[str]:
    return sorted(f"{d['kind']}/{d['metadata']['name']}" for d in docs)


def dependencies(docs: list[dict[str, Any]]) -> dict[str, str]:
    (meta,) = [d for d in docs if d["apiVersion"] == "meta.pkg.crossplane.io/v1"]
    return {d["package"]: d["kind"] for d in meta["spec"]["dependsOn"]}


def test_three_packages_are_built(built: dict[str, Path]) -> None:
    assert sorted(built) == [
        "configuration-scia",
        "configuration-scia-namespaced",
        "function-scia",
    ]


def test_function_package_has_the_function_and_its_input_crd(built: dict[str, Path]) -> None:
    image = read_xpkg(built["function-scia"])
    docs = image.package_documents()
    assert kinds(docs) == [
        "CustomResourceDefinition/inputs.scia.fn.crossplane.io",
        "Function/function-scia",
    ]
    (meta,) = [d for d in docs if d["kind"] == "Function"]
    assert meta["apiVersion"] == "meta.pkg.crossplane.io/v1"
    assert meta["spec"]["capabilities"] == ["composition"]
    (crd,) = [d for d in docs if d["kind"] == "CustomResourceDefinition"]
    shipped = yaml.safe_load(
        (ROOT / "package" / "input" / "scia.fn.crossplane.io_inputs.yaml").read_text()
    )
    # Crossplane re-serializes the CRD (adding an empty status); the spec is the shipped one.
    assert crd["metadata"]["name"] == shipped["metadata"]["name"]
    assert crd["spec"] == shipped["spec"]


def test_function_package_embeds_the_runtime_image(built: dict[str, Path]) -> None:
    image = read_xpkg(built["function-scia"])
    cfg = image.config["config"]
    assert cfg["Entrypoint"] == ENTRYPOINT
    assert cfg["User"] == "65532:65532"
    assert set(cfg["ExposedPorts"]) == {"9443/tcp", "8080/tcp"}
    base = image.layer_by_role("base")
    runtime = [image.blobs[d] for d in image.layers if image.blobs[d] is not base]
    assert len(runtime) == 1
    with tarfile.open(fileobj=io.BytesIO(_maybe_gunzip(runtime[0]))) as tar:
        assert "venv/fn/bin/function-scia" in tar.getnames()


def _maybe_gunzip(data: bytes) -> bytes:
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def test_configurations_split_the_two_apis(built: dict[str, Path]) -> None:
    legacy = read_xpkg(built["configuration-scia"]).package_documents()
    namespaced = read_xpkg(built["configuration-scia-namespaced"]).package_documents()
    xrds = lambda docs: {  # noqa: E731
        d["spec"]["names"]["kind"]: d["spec"]["scope"]
        for d in docs
        if d["kind"] == "CompositeResourceDefinition"
    }
    assert xrds(legacy)["XAppDeployment"] == "LegacyCluster"
    assert set(xrds(legacy).values()) == {"LegacyCluster"}
    assert xrds(namespaced) == {"AppDeployment": "Namespaced"}
    for docs, scope in ((legacy, "legacy"), (namespaced, "namespaced")):
        comps = [d for d in docs if d["kind"] == "Composition"]
        assert comps and all(c["metadata"]["labels"]["scia.io/scope"] == scope for c in comps)
        served = {
            d["spec"]["names"]["kind"] for d in docs if d["kind"] == "CompositeResourceDefinition"
        }
        assert {c["spec"]["compositeTypeRef"]["kind"] for c in comps} <= served
        # The shipped files, unchanged.
        for comp in comps:
            name = comp["metadata"]["name"]
            sources = [
                yaml.safe_load(p.read_text()) for p in (ROOT / "compositions").glob("*.yaml")
            ]
            assert comp in sources, name


def test_configurations_depend_on_the_function_and_every_provider_family_rendered(
    built: dict[str, Path],
) -> None:
    # Which providers (tests/ship/test_provider_dependencies.py holds the sources to every
    # composed kind): the built packages carry the sources' dependencies unchanged.
    for name, scope in (
        ("configuration-scia", "legacy"),
        ("configuration-scia-namespaced", "namespaced"),
    ):
        want = {pkg: kind for pkg, (kind, _) in source_dependencies(scope).items()}
        assert dependencies(read_xpkg(built[name]).package_documents()) == want, name
        assert "xpkg.crossplane.io/crossplane-contrib/provider-gcp-container" in want
        assert "xpkg.crossplane.io/crossplane-contrib/provider-azure-containerservice" in want


def test_configuration_examples_layer(built: dict[str, Path]) -> None:
    """Crossplane v2.2 labels the examples layer `upbound` and stores .up/examples.yaml."""
    image = read_xpkg(built["configuration-scia"])
    examples = list(
        yaml.safe_load_all(file_in_layer(image.layer_by_role("upbound"), ".up/examples.yaml"))
    )
    assert [d["kind"] for d in examples if d] == ["AppDeployment"]


# --- registry round trip ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def docker_registry(work: Path) -> Iterator[str]:
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.skip("docker-registry not installed (apt-get install -y docker-registry)")
    port = _free_port()
    config = work / "registry.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "version": 0.1,
                "log": {"level": "warn"},
                "storage": {"filesystem": {"rootdirectory": str(work / "storage")}},
                "http": {"addr": f"127.0.0.1:{port}"},
            }
        )
    )
    log = open(work / "registry.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert proc.poll() is None, (work / "registry.log").read_text()
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("docker-registry did not listen within 30 s")
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.mark.integration
def test_push_and_pull_back_through_a_registry(tmp_path: Path) -> None:
    with docker_registry(tmp_path) as address:
        org = f"{address}/scia"
        paths = build_packages(
            tmp_path / "out", "--image", str(runtime_image_tarball(tmp_path)), "--push", org
        )
        local = {p.name.removesuffix(f"-{VERSION}.xpkg"): read_xpkg(p) for p in paths}
        registry = Registry(f"http://{address}")
        for name, built_image in local.items():
            assert registry.tags(f"scia/{name}") == [VERSION]
            manifest, pulled = registry.pull(f"scia/{name}", VERSION)
            roles = {
                d["digest"]: d.get("annotations", {}).get("io.crossplane.xpkg")
                for d in manifest["layers"]
            }
            assert "base" in roles.values(), manifest
            assert pulled.package_documents() == built_image.package_documents()
            assert _same_layers(pulled, built_image)
        fn_manifest, fn = registry.pull("scia/function-scia", VERSION)
        assert fn.config["config"]["Entrypoint"] == ENTRYPOINT
        assert len(fn_manifest["layers"]) == 2  # the runtime layer and the package layer
        # The Configurations resolve function-scia where it was pushed.
        _, legacy = registry.pull("scia/configuration-scia", VERSION)
        assert dependencies(legacy.package_documents())[f"{org}/function-scia"] == "Function"


def _same_layers(a: Image, b: Image) -> bool:
    return sorted(a.blobs) == sorted(b.blobs)
