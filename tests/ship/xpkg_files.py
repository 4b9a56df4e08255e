"""Read Crossplane packages: `docker save` tarballs written by `crossplane xpkg build`, and
images pulled from an OCI registry over its HTTP API (Distribution spec v2)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

XPKG_LABEL = "io.crossplane.xpkg"
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


@dataclass
class Image:
    """An image's config and its layers (compressed bytes by sha256 digest of those bytes)."""

    config: dict[str, Any]
    layers: list[str]
    blobs: dict[str, bytes] = field(default_factory=dict)

    def layer_by_role(self, role: str) -> bytes:
        """The layer Crossplane labels `io.crossplane.xpkg:<digest>: <role>` (base; upbound for examples)."""
        labels = self.config.get("config", {}).get("Labels") or {}
        digests = [
            k.split(":", 1)[1] for k, v in labels.items() if k.startswith(XPKG_LABEL) and v == role
        ]
        assert len(digests) == 1, f"{role}: {labels}"
        return self.blobs[digests[0]]

    def package_documents(self) -> list[dict[str, Any]]:
        """The documents of package.yaml in the base layer."""
        return [
            d
            for d in yaml.safe_load_all(file_in_layer(self.layer_by_role("base"), "package.yaml"))
            if d
        ]


def file_in_layer(layer: bytes, name: str) -> str:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as tar:
        member = tar.extractfile(name)
        assert member is not None, name
        return member.read().decode()


def layer_names(layer: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as tar:
        return tar.getnames()


def read_xpkg(path: Path) -> Image:
    """A `docker save` tarball (what `crossplane xpkg build` writes)."""
    with tarfile.open(path) as tar:

        def read(name: str) -> bytes:
            member = tar.extractfile(name)
            assert member is not None, name
            return member.read()

        (manifest,) = json.loads(read("manifest.json"))
        config = json.loads(read(manifest["Config"]))
        blobs = {}
        layers = []
        for name in manifest["Layers"]:
            data = read(name)
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            blobs[digest] = data
            layers.append(digest)
    return Image(config=config, layers=layers, blobs=blobs)


class Registry:
    """GETs against a registry's /v2/ API (plain HTTP: loopback only)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def get(self, path: str, accept: str | None = None) -> tuple[bytes, str]:
        req = urllib.request.Request(self.base + path, headers={"Accept": accept} if accept else {})
        with urllib.request.urlopen(req, timeout=30) as rsp:
            return rsp.read(), rsp.headers.get("Content-Type", "")

    def tags(self, repository: str) -> list[str]:
        body, _ = self.get(f"/v2/{repository}/tags/list")
        return list(json.loads(body)["tags"])

    def pull(self, repository: str, reference: str) -> tuple[dict[str, Any], Image]:
        """The manifest (a single-platform one: an index is followed to its first entry) and
        the image, with every blob checked against its digest."""
        body, _ = self.get(f"/v2/{repository}/manifests/{reference}", MANIFEST_TYPES)
        manifest = json.loads(body)
        if "manifests" in manifest:
            digest = manifest["manifests"][0]["digest"]
            body, _ = self.get(f"/v2/{repository}/manifests/{digest}", MANIFEST_TYPES)
            manifest = json.loads(body)
        blobs = {}
        for desc in [manifest["config"], *manifest["layers"]]:
            data, _ = self.get(f"/v2/{repository}/blobs/{desc['digest']}")
            assert "sha256:" + hashlib.sha256(data).hexdigest() == desc["digest"]
            assert len(data) == desc["size"]
            blobs[desc["digest"]] = data
        config = json.loads(blobs.pop(manifest["config"]["digest"]))
        layers = [d["digest"] for d in manifest["layers"]]
        return manifest, Image(config=config, layers=layers, blobs=blobs)
