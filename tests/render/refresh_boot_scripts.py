"""Rewrite the vm boot script in the observed examples that have no generator of their own.

    PYTHONPATH=. python tests/render/refresh_boot_scripts.py [--check]

The examples in `PAIRS` (an XR with its pinned decision, and the composed resources as the
providers report them) were written once and are kept by hand; the vm examples with a
generator (`python -m examples.vm.generate`, tests/config/make_datastore_examples.py)
are rewritten by it instead. When the boot script (function/render/startup.py) changes,
what the provider reports once it applied the new desired state changes with it: the
launch template's `userData`, the instance template's `metadataStartupScript`, the scale
set's Custom Script extension `settings`. This script reconciles each pair in-process
(the real Reconciler, the example repositories mirrored as the demo does) and writes the
rendered value into that one field of the observed resource; nothing else in the file
changes (the files are PyYAML dumps, `sort_keys=False`, kept with their header).

`--check` writes nothing and exits 1 when a file would change.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from examples import render as R
from tests.support import inproc as P

EXAMPLES = R.EXAMPLES
# (xr, observed, function input overrides, dump width)
PAIRS: list[tuple[str, str, dict[str, Any], int]] = [
    ("legacy/xr-provisioning.yaml", "legacy/observed-provisioning.yaml", {}, 80),
    ("legacy/xr-running.yaml", "legacy/observed-running.yaml", {}, 80),
    ("legacy/xr-gcp-provisioning.yaml", "legacy/observed-gcp-provisioning.yaml", {}, 80),
    ("legacy/xr-gcp-running.yaml", "legacy/observed-gcp-running.yaml", {}, 80),
    ("legacy/xr-azure-running.yaml", "legacy/observed-azure-running.yaml", {}, 100),
    (
        "datastores/xr-flask-postgres.yaml",
        "datastores/observed-flask-postgres.yaml",
        {"dataStores": {"compose": True}},
        80,
    ),
    (
        "datastores/xr-counter-redis.yaml",
        "datastores/observed-counter-redis.yaml",
        {"dataStores": {"compose": True}},
        80,
    ),
]


def _boot(body: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    """Where a vm resource keeps its boot script: (the object holding it, the key)."""
    fp = body.get("spec", {}).get("forProvider", {})
    kind = body.get("kind")
    if kind == "LaunchTemplate" and "userData" in fp:
        return fp, "userData"
    if kind == "InstanceTemplate" and "metadataStartupScript" in fp:
        return fp, "metadataStartupScript"
    if kind == "LinuxVirtualMachineScaleSet" and fp.get("extension"):
        return fp["extension"][0], "settings"
    return None


def _split_header(text: str) -> tuple[str, str]:
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines) and lines[i].startswith("#"):
        i += 1
    return "".join(lines[:i]), "".join(lines[i:])


async def refresh(
    xr_rel: str, observed_rel: str, overrides: dict[str, Any], width: int, repos: Path
) -> tuple[Path, str, str]:
    """(the observed file, its text now, its text with the rendered boot script)."""
    path = EXAMPLES / observed_rel
    text = path.read_text()
    header, body = _split_header(text)
    docs = [d for d in yaml.safe_load_all(body) if d]
    xr = P.load_xr(EXAMPLES / xr_rel)
    observed = {d["metadata"]["annotations"][P.RESOURCE_NAME]: d for d in docs}
    out = await P.reconcile(xr, observed, P.function_input(P.scope_of(xr), repos, **overrides))
    assert not out.fatal, (xr_rel, out.results)
    for doc in docs:
        where = _boot(doc)
        if where is None:
            continue
        holder, key = where
        # The desired value; a replaced immutable template is desired twice until the new
        # generation is Ready (the old one as observed): the one that is not the observed.
        rendered = {b[0][key] for d in out.desired.values() if (b := _boot(d)) is not None}
        new = rendered - {holder[key]}
        assert len(new) <= 1, f"{observed_rel}: {len(new)} boot scripts"
        if new:
            holder[key] = new.pop()
    return path, text, header + yaml.safe_dump_all(docs, sort_keys=False, width=width)


async def main(check: bool) -> int:
    repos = Path(tempfile.mkdtemp(prefix="boot-script-examples-"))
    R.build_repositories(repos)
    stale = []
    for xr_rel, observed_rel, overrides, width in PAIRS:
        path, before, after = await refresh(xr_rel, observed_rel, overrides, width, repos)
        if before != after:
            stale.append(str(path.relative_to(R.REPO_ROOT)))
            if not check:
                path.write_text(after)
    for name in stale:
        print(("stale: " if check else "rewrote: ") + name)
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main("--check" in sys.argv[1:])))
