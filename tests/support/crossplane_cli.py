"""Run the real Crossplane CLI (v2.2.1, built by `.ci/build-crossplane-cli`) from tests.

    from tests.support.crossplane_cli import render, beta_validate, development_function

Binary: `$SCIA_CROSSPLANE` if set, else `${SCIA_CACHE:-~/.cache/function-scia}/bin/crossplane`.

Findings (checked with the CLI built from github.com/crossplane/crossplane/v2 v2.2.1):

`crossplane render XR COMPOSITION FUNCTIONS`
- Without Docker, every Function must carry the annotation
  `render.crossplane.io/runtime: Development` (+ `...runtime-development-target:
  127.0.0.1:<port>`); the function then has to be served with `insecure=True`
  (`development_function()` writes such a manifest). `-a key=value` overrides the
  annotations of all functions.
- Output: the XR first (only `apiVersion`, `kind`, `metadata.name/namespace` and
  `status` unless `--include-full-xr`/`-x`, which `render()` passes by default),
  then the composed resources sorted by composition resource name, with
  `metadata.generateName: <xr-name>-`, annotation
  `crossplane.io/composition-resource-name`, label `crossplane.io/composite`, an
  ownerReference to the XR with `uid: ""`, and for a namespaced XR
  `metadata.namespace` set to the XR's namespace; then `Result` documents
  (`render.crossplane.io/v1beta1`) with `-r`, a `Context` document with `-c`.
  Whole numbers come back as YAML integers. The XR's Ready condition uses the
  fixed time 2024-01-01T00:00:00Z. A fatal result makes the CLI exit non-zero.

`crossplane beta validate EXTENSIONS RESOURCES`
- It always adds the Crossplane image (default `xpkg.crossplane.io/crossplane/
  crossplane:<cli version>`) as a dependency to load Crossplane's own CRDs, and
  downloads it unless `<cache-dir>/<image with ':' replaced by '@'>/` exists.
  So it is offline only with a pre-seeded cache: `beta_validate()` writes
  `../shared/crds/crossplane/*.yaml` into `<cache_dir>/scia.local/crossplane-crds@shared/`
  and passes `--crossplane-image scia.local/crossplane-crds:shared`.
- Extensions must be CRD and XRD files only: `pkg.crossplane.io` Provider/Function/
  Configuration objects and `meta.pkg.crossplane.io` Configurations make it fetch
  packages. `beta_validate()` points HTTPS_PROXY at a closed local port so any
  such attempt fails at once instead of reaching a registry.
- It applies schema defaults, reports unknown fields, type/enum errors and CEL
  rules (`[x] CEL validation error ... spec.forProvider.maxSize is a required
  parameter`); it does not check `metadata` (names, namespace, scope) and a kind
  without schema is only a warning (`[!] could not find CRD/XRD`) unless
  `--error-on-missing-schemas` (passed by default here). Exit code 1 on failure.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from tests.support.crdcheck import SHARED_CRDS

JsonDict = dict[str, Any]
Manifests = Path | Mapping[str, Any] | Sequence[Mapping[str, Any]]

BUILD_SCRIPT = ".ci/build-crossplane-cli"
LOCAL_CROSSPLANE_IMAGE = "scia.local/crossplane-crds:shared"


class CrossplaneCliMissingError(RuntimeError):
    """The CLI binary is not built."""


class RenderError(RuntimeError):
    """`crossplane render` exited non-zero (stderr in the message)."""

    def __init__(self, returncode: int, stderr: str) -> None:
        super().__init__(f"crossplane render failed (exit {returncode}):\n{stderr.strip()}")
        self.returncode = returncode
        self.stderr = stderr


def cache_root() -> Path:
    return Path(os.environ.get("SCIA_CACHE") or Path.home() / ".cache" / "function-scia")


def crossplane_binary() -> Path:
    """Path of the Crossplane CLI; raises CrossplaneCliMissingError with the fix."""
    override = os.environ.get("SCIA_CROSSPLANE")
    path = Path(override) if override else cache_root() / "bin" / "crossplane"
    if not (path.is_file() and os.access(path, os.X_OK)):
        origin = "$SCIA_CROSSPLANE" if override else "the cache"
        raise CrossplaneCliMissingError(
            f"Crossplane CLI not found at {path} ({origin}); build it with {BUILD_SCRIPT}"
        )
    return path


def development_function(
    name: str, target: str, package: str = "xpkg.crossplane.io/scia/function-scia:v0.0.0-dev"
) -> JsonDict:
    """A Function manifest that `crossplane render` calls at `target` (host:port)."""
    return {
        "apiVersion": "pkg.crossplane.io/v1beta1",
        "kind": "Function",
        "metadata": {
            "name": name,
            "annotations": {
                "render.crossplane.io/runtime": "Development",
                "render.crossplane.io/runtime-development-target": target,
            },
        },
        "spec": {"package": package},
    }


def _materialize(value: Manifests, folder: Path, stem: str) -> Path:
    if isinstance(value, Path):
        return value
    docs = [value] if isinstance(value, Mapping) else list(value)
    path = folder / f"{stem}.yaml"
    path.write_text(yaml.safe_dump_all([dict(d) for d in docs], sort_keys=False), encoding="utf-8")
    return path


def parse_documents(text: str) -> list[JsonDict]:
    return [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]


def render(
    xr: Manifests,
    composition: Manifests,
    functions: Manifests,
    observed: Manifests | None = None,
    required: Manifests | None = None,
    credentials: Manifests | None = None,
    extra_args: Sequence[str] = (),
    timeout: float = 120,
    *,
    include_full_xr: bool = True,
) -> list[JsonDict]:
    """Run `crossplane render`; returns the output documents (the XR first).

    Each input is a file/folder Path or the manifest(s) as dicts. `observed` feeds
    `--observed-resources`, `required` `--required-resources`, `credentials`
    (Secrets) `--function-credentials`; `extra_args` go last (e.g. `-r`, `-c`).
    """
    binary = crossplane_binary()
    with tempfile.TemporaryDirectory(prefix="scia-render-") as tmp:
        folder = Path(tmp)
        args = [
            str(binary),
            "render",
            str(_materialize(xr, folder, "xr")),
            str(_materialize(composition, folder, "composition")),
            str(_materialize(functions, folder, "functions")),
            f"--timeout={max(int(timeout) - 5, 5)}s",
        ]
        if include_full_xr:
            args.append("--include-full-xr")
        if observed is not None:
            args.append(f"--observed-resources={_materialize(observed, folder, 'observed')}")
        if required is not None:
            args.append(f"--required-resources={_materialize(required, folder, 'required')}")
        if credentials is not None:
            args.append(
                f"--function-credentials={_materialize(credentials, folder, 'credentials')}"
            )
        args.extend(extra_args)
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RenderError(proc.returncode, proc.stderr)
    return parse_documents(proc.stdout)


def seed_crossplane_schemas(cache_dir: Path, crossplane_crds: Path) -> None:
    """Pre-fill the validate cache with Crossplane's CRDs so nothing is downloaded."""
    image_dir = cache_dir / LOCAL_CROSSPLANE_IMAGE.replace(":", "@")
    image_dir.mkdir(parents=True, exist_ok=True)
    docs = []
    for path in sorted(crossplane_crds.glob("*.yaml")):
        text = path.read_text(encoding="utf-8").strip()
        docs.append(text.removeprefix("---").strip())
    if not docs:
        raise FileNotFoundError(f"no Crossplane CRDs in {crossplane_crds}")
    (image_dir / "package.yaml").write_text("\n---\n".join(docs) + "\n", encoding="utf-8")


def beta_validate(
    extensions_dir_or_files: Path | Sequence[Path],
    resources_file: Manifests,
    cache_dir: Path,
    *,
    error_on_missing_schemas: bool = True,
    timeout: float = 300,
    crossplane_crds: Path = SHARED_CRDS / "crossplane",
) -> subprocess.CompletedProcess[str]:
    """Run `crossplane beta validate` offline; check `returncode` (0 = all valid).

    Extensions: CRD/XRD files or folders only (see the module docstring).
    """
    binary = crossplane_binary()
    extensions = (
        [extensions_dir_or_files]
        if isinstance(extensions_dir_or_files, Path)
        else list(extensions_dir_or_files)
    )
    cache_dir.mkdir(parents=True, exist_ok=True)
    seed_crossplane_schemas(cache_dir, crossplane_crds)
    env = dict(os.environ)
    # A closed local port: a package download attempt fails fast, never leaves the host.
    env.update({"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"})
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    with tempfile.TemporaryDirectory(prefix="scia-validate-") as tmp:
        resources = _materialize(resources_file, Path(tmp), "resources")
        args = [
            str(binary),
            "beta",
            "validate",
            ",".join(str(p) for p in extensions),
            str(resources),
            f"--cache-dir={cache_dir}",
            f"--crossplane-image={LOCAL_CROSSPLANE_IMAGE}",
        ]
        if error_on_missing_schemas:
            args.append("--error-on-missing-schemas")
        return subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, check=False, env=env
        )
