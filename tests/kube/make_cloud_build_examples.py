"""Write the AKS build examples: the express API on Azure kubernetes without spec.image, and
the observed composed resources while its image is built on the cluster, once it is built
(the Deployment rolls it out), and once it runs (both scopes), from the real Reconciler
and the way the providers and the cluster report them (tests/support/inproc.py,
tests/support/kube_observed.py).

    PYTHONPATH=. python tests/kube/make_cloud_build_examples.py
    # rewrites examples/*/xr-azure-build-*.yaml and observed-azure-build-*.yaml

GKE builds need `gcp.project` and `gcp.projectNumber` in the function input, which the
shipped compositions do not set: no GKE build example is written (docs/multicloud.md).
"""

from __future__ import annotations

import asyncio
import copy
import tempfile
from pathlib import Path
from typing import Any

import yaml

from examples import render as R
from tests.kube.make_examples import stage_of
from tests.support import inproc as P

EXAMPLES = Path(R.__file__).resolve().parent
# file name -> (the generator's stage, what the example shows)
STAGES = {
    "building": ("building", "while the first image is built on AKS (the build Job runs)"),
    "built": (
        "rolling-out",
        "once the build Job completed: the Deployment rolls the built image out",
    ),
    "running": ("running", "running: the built image rolled out, the Service answers"),
}
SPEC = {
    "repository": {"url": "https://github.com/acme/express-api", "ref": "main"},
    "prompt": "the express API on kubernetes, highly available",
    "cloudProvider": "azure",
    "region": "westeurope",
    "strategy": "kubernetes",
    "budget": {"maxMonthlyCost": 800},
}
LEGACY = {
    "apiVersion": "scia.io/v1alpha1",
    "kind": "XAppDeployment",
    "metadata": {
        "name": "express-aks-7q2lk",
        "uid": "3e9a1c5b-7d2f-4b8e-a6c4-1f0e2d3c4b5a",
        "labels": {
            "crossplane.io/claim-name": "express-aks",
            "crossplane.io/claim-namespace": "team-a",
        },
    },
    "spec": {
        "claimRef": {
            "apiVersion": "scia.io/v1alpha1",
            "kind": "AppDeployment",
            "name": "express-aks",
            "namespace": "team-a",
        },
        **SPEC,
    },
}
NAMESPACED = {
    "apiVersion": "scia.io/v1alpha1",
    "kind": "AppDeployment",
    "metadata": {
        "name": "express-aks",
        "namespace": "team-b",
        "uid": "8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d",
    },
    "spec": copy.deepcopy(SPEC),
}


async def main() -> None:
    repos = Path(tempfile.mkdtemp(prefix="aks-build-examples-"))
    R.build_repositories(repos)
    for scope, xr in (("legacy", LEGACY), ("namespaced", NAMESPACED)):
        inp = P.function_input(scope, repos)
        for name, (stage, what) in STAGES.items():
            pinned, observed = await stage_of(copy.deepcopy(xr), inp, stage)
            status = pinned["status"]
            keep: dict[str, Any] = {k: status[k] for k in ("decision", "history") if k in status}
            doc = {**copy.deepcopy(xr), "status": keep}
            head = (
                f"# The express API on Azure kubernetes without spec.image ({scope} scope), "
                f"{what}.\n# Render with observed-azure-build-{name}.yaml. Written by "
                "tests/kube/make_cloud_build_examples.py.\n"
            )
            (EXAMPLES / scope / f"xr-azure-build-{name}.yaml").write_text(
                head + yaml.safe_dump(doc, sort_keys=False, width=100)
            )
            docs = [observed[n] for n in sorted(observed)]
            (EXAMPLES / scope / f"observed-azure-build-{name}.yaml").write_text(
                f"# Observed composed resources of xr-azure-build-{name}.yaml ({what}).\n"
                "# (lastTransitionTime is left out of the conditions so the example does not "
                "age past readyGraceSeconds.)\n"
                + yaml.safe_dump_all(docs, sort_keys=False, width=100)
            )


if __name__ == "__main__":
    asyncio.run(main())
