"""Write the kubernetes examples: an XR pinned to the kubernetes strategy, and the observed
composed resources while its image is built, once it is built, while it rolls out, and once
it runs (both scopes), from the real Reconciler and the way the providers and the cluster
report them (tests/support/kube_observed.py).

    PYTHONPATH=. python tests/kube/make_examples.py        # rewrites examples/*/xr-kubernetes-*.yaml

The example repository is examples/apps/express-api (it has a Dockerfile), mirrored the
way the demo does; commits are deterministic (fixed dates), so the pins stay valid.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import tempfile
from pathlib import Path
from typing import Any

import yaml

from examples import render as R
from tests.support import inproc as P
from tests.support.kube_observed import is_object, object_at_provider

EXAMPLES = Path(R.__file__).resolve().parent
RESOURCE_NAME = "crossplane.io/composition-resource-name"
HEADER = {
    "building": "while the first image is built on the cluster (the build Job runs; nothing "
    "runs yet)",
    "built": "the image is built (the Job Complete): the Deployment is created with it and "
    "reports nothing yet",
    "rolling-out": "after the build: the Deployment rolls the built image out",
    "running": "running: the image rolled out, the NLB answers at status.endpoints[0]",
}

LEGACY = {
    "apiVersion": "scia.io/v1alpha1",
    "kind": "XAppDeployment",
    "metadata": {
        "name": "express-k8s-4fj2w",
        "uid": "7c4e1b2a-9d3f-4e5a-8b6c-0d1e2f3a4b5c",
        "labels": {
            "crossplane.io/claim-name": "express-k8s",
            "crossplane.io/claim-namespace": "team-a",
        },
    },
    "spec": {
        "claimRef": {
            "apiVersion": "scia.io/v1alpha1",
            "kind": "AppDeployment",
            "name": "express-k8s",
            "namespace": "team-a",
        },
        "repository": {"url": "https://github.com/acme/express-api", "ref": "main"},
        "prompt": "the express API on kubernetes, highly available",
        "region": "eu-west-1",
        "strategy": "kubernetes",
        "budget": {"maxMonthlyCost": 800},
    },
}
NAMESPACED = {
    "apiVersion": "scia.io/v1alpha1",
    "kind": "AppDeployment",
    "metadata": {
        "name": "express-k8s",
        "namespace": "team-b",
        "uid": "2b8d4f6a-1c3e-4a5b-9c7d-e8f9a0b1c2d3",
    },
    "spec": {
        "repository": {"url": "https://github.com/acme/express-api", "ref": "main"},
        "prompt": "the express API on kubernetes, highly available",
        "region": "eu-west-1",
        "strategy": "kubernetes",
        "budget": {"maxMonthlyCost": 800},
    },
}

# The objects composed once the image is built (just created at the "built" stage).
WORKLOAD = ("-deployment", "-autoscaler", "-disruption-budget")
READY = [
    {"type": "Ready", "status": "True", "reason": "Available"},
    {"type": "Synced", "status": "True", "reason": "ReconcileSuccess"},
]
NOT_READY = [
    {"type": "Ready", "status": "False", "reason": "Creating"},
    {"type": "Synced", "status": "True", "reason": "ReconcileSuccess"},
]


def _observed_doc(
    xr: dict[str, Any], name: str, body: dict[str, Any], stage: str
) -> dict[str, Any]:
    """`body` as Crossplane composed it and the provider reports it at `stage`."""
    doc = copy.deepcopy(body)
    meta = doc.setdefault("metadata", {})
    meta.setdefault("annotations", {})[RESOURCE_NAME] = name
    labels = meta.setdefault("labels", {})
    labels["crossplane.io/composite"] = xr["metadata"]["name"]
    h = hashlib.sha256(f"{xr['metadata']['uid']}/{name}".encode()).hexdigest()[:5]
    meta.setdefault("name", f"{xr['metadata']['name']}-{h}")
    if doc["kind"] == "ProviderConfig":
        return doc  # no conditions: it exists
    if stage == "built" and name.endswith(WORKLOAD):
        # Just created: observed, not Ready, nothing reported from the cluster yet (every
        # desired resource is observed, so the example never ages past readyGraceSeconds).
        doc["status"] = {"conditions": NOT_READY, "atProvider": {}}
        return doc
    how: dict[str, Any] = {}
    ready = True
    manifest_kind = ((doc["spec"].get("forProvider") or {}).get("manifest") or {}).get("kind")
    if stage == "building" and manifest_kind == "Job":
        how, ready = {"job": "Running"}, False
    if stage == "rolling-out" and manifest_kind == "Deployment":
        how, ready = {"rollout": "progressing"}, False
    at = object_at_provider(doc, ready, **how) if is_object(doc) else P.reported(name, True, doc)
    doc["status"] = {"conditions": READY if ready else NOT_READY, "atProvider": at}
    return doc


async def stage_of(
    xr: dict[str, Any], inp: dict[str, Any], stage: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The XR (with the status of the reconcile before) and the observed resources at
    `stage`, after letting the providers report every desired resource."""
    rec = P.reconciler()
    out = await P.reconcile(xr, {}, inp, rec)
    observed: dict[str, Any] = {}
    for _ in range(8):
        assert not out.fatal, out.results
        xr = P.with_status(xr, out.status)
        observed = {n: _observed_doc(xr, n, b, stage) for n, b in out.desired.items()}
        again = await P.reconcile(xr, observed, inp, rec)
        settled = set(again.desired) == set(out.desired)
        out = again
        if settled:
            break
    return P.with_status(xr, out.status), observed


async def main() -> None:
    repos = Path(tempfile.mkdtemp(prefix="k8s-examples-"))
    R.build_repositories(repos)
    for scope, xr in (("legacy", LEGACY), ("namespaced", NAMESPACED)):
        inp = P.function_input(scope, repos)
        for stage, what in HEADER.items():
            pinned, observed = await stage_of(copy.deepcopy(xr), inp, stage)
            status = pinned["status"]
            keep = {k: status[k] for k in ("decision", "history") if k in status}
            doc = {**copy.deepcopy(xr), "status": keep}
            head = (
                f"# The express API forced onto kubernetes ({scope} scope), {what}.\n"
                f"# Render with observed-kubernetes-{stage}.yaml. Written by "
                "tests/kube/make_examples.py.\n"
            )
            (EXAMPLES / scope / f"xr-kubernetes-{stage}.yaml").write_text(
                head + yaml.safe_dump(doc, sort_keys=False, width=100)
            )
            docs = [observed[n] for n in sorted(observed)]
            (EXAMPLES / scope / f"observed-kubernetes-{stage}.yaml").write_text(
                f"# Observed composed resources of xr-kubernetes-{stage}.yaml ({what}).\n"
                "# (lastTransitionTime is left out of the conditions so the example does not "
                "age past readyGraceSeconds.)\n"
                + yaml.safe_dump_all(docs, sort_keys=False, width=100)
            )


if __name__ == "__main__":
    asyncio.run(main())
