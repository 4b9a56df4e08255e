"""Write the AKS and GKE build examples: the express API on Azure or GCP kubernetes without
spec.image, and the observed composed resources while its image is built on the cluster,
once it is built (the Deployment rolls it out), and once it runs (both scopes), then the
next commit's failed build (`failed`) and its rollout rolled back (`rolled-back`), from
the real Reconciler and the way the providers and the cluster report them
(tests/support/inproc.py, tests/support/kube_observed.py; the stages of
tests/kube/make_examples.py).

    PYTHONPATH=. python tests/kube/make_cloud_build_examples.py [azure|gcp]
    # rewrites examples/<scope>/xr-azure-build-*.yaml, observed-azure-build-*.yaml and
    # examples/gke-build/<scope>/xr-gcp-build-*.yaml, observed-gcp-build-*.yaml

GKE builds need `gcp.project` and `gcp.projectNumber` in the function input (Workload
Identity's pool and the builder's principal), platform values the shipped compositions
do not set: the GKE examples are written, and render, with the shipped composition's
input plus `GCP_PLATFORM` (tests/e2e/test_render_cluster_builds.py); they live in
examples/gke-build/, apart from the examples rendered with the shipped compositions as
they are (examples/render.py `examples`).
"""

from __future__ import annotations

import asyncio
import copy
import sys
from pathlib import Path
from typing import Any

from examples import render as R
from tests.kube.make_examples import next_commit_stages, repositories, stage_of, write_stage
from tests.support import inproc as P

EXAMPLES = Path(R.__file__).resolve().parent
# file name -> (the generator's stage, what the example shows)
STAGES = {
    "building": ("building", "while the first image is built on the cluster (the build Job runs)"),
    "built": (
        "rolling-out",
        "once the build Job completed: the Deployment rolls the built image out",
    ),
    "running": ("running", "running: the built image rolled out, the Service answers"),
}
# The platform values GKE builds need (the project's workload pool, the principal's number).
GCP_PLATFORM = {"project": "acme-prod", "projectNumber": "123456789012"}
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


GKE_SPEC = {**SPEC, "cloudProvider": "gcp", "region": "europe-west1"}
GKE_LEGACY = {
    **copy.deepcopy(LEGACY),
    "metadata": {
        "name": "express-gke-4t8mz",
        "uid": "6c1b9e3a-2d4f-4a7b-8e5c-9f0a1b2c3d4e",
        "labels": {
            "crossplane.io/claim-name": "express-gke",
            "crossplane.io/claim-namespace": "team-a",
        },
    },
}
GKE_LEGACY["spec"] = {**GKE_LEGACY["spec"], **GKE_SPEC}
GKE_LEGACY["spec"]["claimRef"] = {**GKE_LEGACY["spec"]["claimRef"], "name": "express-gke"}
GKE_NAMESPACED = {
    **copy.deepcopy(NAMESPACED),
    "metadata": {
        "name": "express-gke",
        "namespace": "team-b",
        "uid": "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b",
    },
    "spec": copy.deepcopy(GKE_SPEC),
}
CLOUDS = {
    "azure": ("Azure", {"legacy": LEGACY, "namespaced": NAMESPACED}),
    "gcp": ("GCP", {"legacy": GKE_LEGACY, "namespaced": GKE_NAMESPACED}),
}


def gcp_input(inp: dict[str, Any]) -> dict[str, Any]:
    """The shipped input with the platform values GKE builds need."""
    return {**inp, "gcp": {**inp.get("gcp", {}), **GCP_PLATFORM}}


# The next commit's stages written for each cloud (tests/kube/make_examples.py
# `next_commit_stages`): its build failed, and its rollout rolled back.
NEXT_STAGES = {
    "failed": "after the team pinned the next commit, its build Job failed: the first "
    "commit's image keeps serving; status says so and where the build log is",
    "rolled-back": "after the team pinned the next commit, its rollout did not progress within "
    "progressDeadlineSeconds: the function rolls the Deployment back to the first commit's "
    "image, and status says so",
}


async def main(clouds: list[str]) -> None:
    repos, after = repositories()
    generator = "tests/kube/make_cloud_build_examples.py"
    for cloud in clouds:
        title, xrs = CLOUDS[cloud]
        for scope, xr in xrs.items():
            folder = EXAMPLES / scope if cloud == "azure" else EXAMPLES / "gke-build" / scope
            inp = P.function_input(scope, repos)
            if cloud == "gcp":
                inp = gcp_input(inp)
            extra = (
                "\n# Render with the shipped composition whose input's gcp block adds "
                "project: acme-prod, projectNumber: '123456789012'."
                if cloud == "gcp"
                else ""
            )
            heading = f"The express API on {title} kubernetes without spec.image ({scope} scope)"
            prefix = f"{cloud}-build"
            for name, (stage, what) in STAGES.items():
                pinned, observed = await stage_of(copy.deepcopy(xr), inp, stage)
                write_stage(folder, prefix, name, pinned, observed, what, heading, generator,
                            extra)  # fmt: skip
            stages = await next_commit_stages(pinned, observed, inp, after)
            for name, what in NEXT_STAGES.items():
                pinned, observed = stages["build-failed" if name == "failed" else name]
                write_stage(folder, prefix, name, pinned, observed, what, heading, generator,
                            extra)  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:] or list(CLOUDS)))
