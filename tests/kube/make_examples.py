"""Write the kubernetes examples: an XR pinned to the kubernetes strategy, and the observed
composed resources while its image is built, once it is built, while it rolls out, and once
it runs (both scopes), from the real Reconciler and the way the providers and the cluster
report them (tests/support/kube_observed.py). Then the team pins the next commit
(spec.repository.ref: its SHA; decision revision 2 replaces 1, docs/status.md): while its
image is built (next-building), once its build Job failed (build-failed), while it rolls
out (next-rolling-out), and once its rollout exceeded progressDeadlineSeconds and the
function rolled the Deployment back (rolled-back); the first commit's image serves
throughout. Each XR carries the status (decision, history) the reconcile before wrote.

    PYTHONPATH=. python tests/kube/make_examples.py        # rewrites examples/*/xr-kubernetes-*.yaml

It also writes examples/gke-https/<scope>/: the express API on GKE under `require-https`
(a GKE Ingress with a Google-managed certificate, render/gcp/kubernetes.py) once everything
runs but Google has not issued the certificate yet (`provisioning`: the DNS record is
missing), and once it has (`running`). They render with the shipped composition whose input
adds `policy.https.domain` (`GKE_HTTPS_DOMAIN`), which the shipped compositions leave to the
platform.

The example repository is examples/apps/express-api (it has a Dockerfile), mirrored the
way the demo does; commits are deterministic (fixed dates), so the pins stay valid.

It also writes the AKS require-https examples (examples/aks-https/<scope>): the express API
from spec.image on AKS under require-https, served by the application routing add-on with
the platform's Key Vault certificate, while the Deployment rolls out and NGINX has not yet
published the Ingress's address (provisioning), and once it runs (running). They render
with the shipped composition whose input adds `AKS_HTTPS_PLATFORM` (`policy.https`: the
domain and the Key Vault certificate), as a platform that serves HTTPS on AKS sets them.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from examples import render as R
from examples.build.generate import next_commit
from function.reconcile import Reconciler
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

# GKE under require-https (examples/gke-https/<scope>): the platform's DNS zone for
# per-deployment certificates, and the XRs (a given image: no build, no platform project).
GKE_HTTPS_DOMAIN = "apps.example.com"
GKE_HTTPS_SPEC = {
    "repository": {"url": "https://github.com/acme/express-api", "ref": "main"},
    "prompt": "the express API on GKE, HTTPS only",
    "image": "europe-west1-docker.pkg.dev/acme-prod/apps/express-api:1.0.0",
    "cloudProvider": "gcp",
    "region": "europe-west1",
    "strategy": "kubernetes",
    "policies": ["require-https"],
    "budget": {"maxMonthlyCost": 800},
}
GKE_HTTPS = {
    "legacy": {
        "apiVersion": "scia.io/v1alpha1",
        "kind": "XAppDeployment",
        "metadata": {
            "name": "express-gke-https-8w3rd",
            "uid": "5d2c8e1f-3a4b-4c6d-9e7f-0a1b2c3d4e5f",
            "labels": {
                "crossplane.io/claim-name": "express-gke-https",
                "crossplane.io/claim-namespace": "team-a",
            },
        },
        "spec": {
            "claimRef": {
                "apiVersion": "scia.io/v1alpha1",
                "kind": "AppDeployment",
                "name": "express-gke-https",
                "namespace": "team-a",
            },
            **GKE_HTTPS_SPEC,
        },
    },
    "namespaced": {
        "apiVersion": "scia.io/v1alpha1",
        "kind": "AppDeployment",
        "metadata": {
            "name": "express-gke-https",
            "namespace": "team-b",
            "uid": "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
        },
        "spec": copy.deepcopy(GKE_HTTPS_SPEC),
    },
}
GKE_HTTPS_HEADER = {
    "provisioning": "everything runs and the GKE Ingress has its static address, but Google "
    "has not issued the certificate: Provisioning until the DNS A record of the host points "
    "at the address (status.message says which)",
    "running": "the certificate is issued: Running, serving only HTTPS at status.endpoints[0]",
}


def gke_https_input(inp: dict[str, Any]) -> dict[str, Any]:
    """The shipped input with the platform's domain for per-deployment certificates."""
    policy = inp.get("policy") or {}
    https = {**(policy.get("https") or {}), "domain": GKE_HTTPS_DOMAIN}
    return {**inp, "policy": {**policy, "https": https}}


def unissued(observed: dict[str, Any]) -> dict[str, Any]:
    """`observed` before Google issued the certificate: no expireTime (it is set once the
    certificate is ACTIVE, render/gcp/vm.py `https_report`)."""
    out = copy.deepcopy(observed)
    if "ingress-certificate" in out:
        cert = out["ingress-certificate"]
        cert.get("status", {}).get("atProvider", {}).pop("expireTime", None)
    return out


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


@dataclass(frozen=True)
class Seen:
    """How the cluster reports the Objects at a stage: the build Job of `commit` (every Job
    when None; the others are Complete), the Deployment's rollout (in_cluster's `rollout`)
    at `generation`, and whether the workload Objects were just created (observed, nothing
    reported yet)."""

    job: str = "Complete"
    commit: str | None = None
    rollout: str = "done"
    generation: int = 1
    just_created: bool = False
    address: bool = True  # an Ingress's controller has published its address


STAGES = {
    "building": Seen(job="Running"),
    "built": Seen(just_created=True),
    "rolling-out": Seen(rollout="progressing"),
    "running": Seen(),
}


def _observed_doc(
    xr: dict[str, Any], name: str, body: dict[str, Any], seen: Seen
) -> dict[str, Any]:
    """`body` as Crossplane composed it and the provider reports it as `seen` says."""
    doc = copy.deepcopy(body)
    meta = doc.setdefault("metadata", {})
    meta.setdefault("annotations", {})[RESOURCE_NAME] = name
    labels = meta.setdefault("labels", {})
    labels["crossplane.io/composite"] = xr["metadata"]["name"]
    h = hashlib.sha256(f"{xr['metadata']['uid']}/{name}".encode()).hexdigest()[:5]
    meta.setdefault("name", f"{xr['metadata']['name']}-{h}")
    if doc["kind"] == "ProviderConfig":
        return doc  # no conditions: it exists
    if seen.just_created and name.endswith(WORKLOAD):
        # Just created: observed, not Ready, nothing reported from the cluster yet (every
        # desired resource is observed, so the example never ages past readyGraceSeconds).
        doc["status"] = {"conditions": NOT_READY, "atProvider": {}}
        return doc
    how: dict[str, Any] = {}
    ready = True
    manifest_kind = ((doc["spec"].get("forProvider") or {}).get("manifest") or {}).get("kind")
    if manifest_kind == "Job" and (seen.commit is None or f"-{seen.commit[:12]}-" in name):
        how = {"job": seen.job}
        ready = seen.job == "Complete"
    if manifest_kind == "Ingress":
        ready = seen.address
    reported = ready
    if manifest_kind == "Deployment":
        how["generation"] = seen.generation
        if seen.rollout != "done":
            # Not Ready (its readiness: every replica updated and available); the cluster
            # reports the rollout in progress, or given up (in_cluster's `ready` is whether
            # the controller got that far).
            how["rollout"], ready, reported = seen.rollout, False, seen.rollout == "deadline"
    at = object_at_provider(doc, reported, **how) if is_object(doc) else P.reported(name, True, doc)
    doc["status"] = {"conditions": READY if ready else NOT_READY, "atProvider": at}
    return doc


async def settle(
    xr: dict[str, Any],
    inp: dict[str, Any],
    seen: Seen,
    observed: dict[str, Any] | None = None,
    rec: Reconciler | None = None,
    adjust: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The XR (with the status of the reconcile before) and the observed resources once
    the providers reported every desired resource as `seen` says (then changed by
    `adjust`, when given) and nothing changes any more, starting from `observed` (bounded:
    eight reconciles)."""
    rec = rec or P.reconciler()
    out = await P.reconcile(xr, observed or {}, inp, rec)
    seen_docs: dict[str, Any] = {}
    for _ in range(8):
        assert not out.fatal, out.results
        xr = P.with_status(xr, out.status)
        seen_docs = {n: _observed_doc(xr, n, b, seen) for n, b in out.desired.items()}
        if adjust is not None:
            seen_docs = adjust(seen_docs)
        again = await P.reconcile(xr, seen_docs, inp, rec)
        settled = again.desired == out.desired
        out = again
        if settled:
            break
    assert not out.fatal, out.results
    return P.with_status(xr, out.status), seen_docs


async def stage_of(
    xr: dict[str, Any], inp: dict[str, Any], stage: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The XR (with the status of the reconcile before) and the observed resources at
    `stage` (STAGES), after letting the providers report every desired resource."""
    return await settle(xr, inp, STAGES[stage])


def deadline_exceeded(
    xr: dict[str, Any], observed: dict[str, Any], generation: int = 2
) -> dict[str, Any]:
    """`observed` once the Deployment controller gave up on the rollout it shows:
    Progressing=False/ProgressDeadlineExceeded (progressDeadlineSeconds passed with the new
    pods never available); the previous ReplicaSet's pods still serve."""
    out = copy.deepcopy(observed)
    for name, doc in out.items():
        manifest = ((doc.get("spec") or {}).get("forProvider") or {}).get("manifest") or {}
        if manifest.get("kind") == "Deployment":
            stuck = Seen(rollout="deadline", generation=generation)
            out[name] = _observed_doc(xr, name, doc, stuck)
    return out


async def next_commit_stages(
    running: dict[str, Any], observed: dict[str, Any], inp: dict[str, Any], after: str
) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """After `running` (the first commit serves, `observed`), the team pins the next commit
    `after` (spec.repository.ref: its SHA; decision revision 2 replaces 1): the XR and the
    observed resources while its image is built, once its build failed, while it rolls out,
    and once its rollout did not progress (the function rolled it back)."""
    xr = copy.deepcopy(running)
    xr["spec"]["repository"]["ref"] = after
    rec = P.reconciler()
    out: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    out["next-building"] = await settle(xr, inp, Seen(job="Running", commit=after), observed, rec)
    pinned, building = out["next-building"]
    assert pinned["status"]["decision"]["revision"] == 2, pinned["status"]
    out["build-failed"] = await settle(pinned, inp, Seen(job="Failed", commit=after), building, rec)
    rolling = Seen(commit=after, rollout="progressing", generation=2)
    out["next-rolling-out"] = await settle(pinned, inp, rolling, building, rec)
    xr_rolling, seen_rolling = out["next-rolling-out"]
    out["rolled-back"] = (xr_rolling, deadline_exceeded(xr_rolling, seen_rolling))
    return out


NEXT_HEADER = {
    "next-building": "after the team pinned the next commit (decision revision 2 replaces "
    "1): its image is built while the first commit's keeps serving",
    "build-failed": "the next commit's build Job failed: the first commit's image keeps "
    "serving; status says so and where the build log is",
    "next-rolling-out": "the next commit's image is built: the Deployment rolls it out while "
    "the first commit's pods serve",
    "rolled-back": "the next commit's rollout did not progress within progressDeadlineSeconds "
    "(ProgressDeadlineExceeded): the function rolls the Deployment back to the first "
    "commit's image, and status says so",
}


def write_stage(
    folder: Path, prefix: str, stage: str, xr: dict[str, Any], observed: dict[str, Any],
    what: str, title: str, generator: str, extra: str = "",
) -> None:  # fmt: skip
    """examples/<folder>/xr-<prefix>-<stage>.yaml (the XR's spec and the status a reconcile
    reads back: decision and history) and observed-<prefix>-<stage>.yaml."""
    status = xr["status"]
    keep = {k: status[k] for k in ("decision", "history") if k in status}
    doc = {**{k: v for k, v in xr.items() if k != "status"}, "status": keep}
    head = (
        f"# {title}, {what}.\n"
        f"# Render with observed-{prefix}-{stage}.yaml. Written by {generator}.{extra}\n"
    )
    (folder / f"xr-{prefix}-{stage}.yaml").write_text(
        head + yaml.safe_dump(doc, sort_keys=False, width=100)
    )
    docs = [observed[n] for n in sorted(observed)]
    (folder / f"observed-{prefix}-{stage}.yaml").write_text(
        f"# Observed composed resources of xr-{prefix}-{stage}.yaml ({what}).\n"
        "# (lastTransitionTime is left out of the conditions so the example does not "
        "age past readyGraceSeconds.)\n" + yaml.safe_dump_all(docs, sort_keys=False, width=100)
    )


# The platform's HTTPS settings AKS needs under require-https (examples/aks-https): the
# domain every deployment's host is under, and the Key Vault certificate that covers them.
AKS_HTTPS_PLATFORM = {
    "https": {
        "domain": "apps.example.com",
        "keyVaultCertificate": {
            "vaultId": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/"
            "platform/providers/Microsoft.KeyVault/vaults/acme-certs",
            "name": "apps-wildcard",
        },
    }
}
AKS_HTTPS_SPEC = {
    "repository": {"url": "https://github.com/acme/express-api", "ref": "main"},
    "prompt": "the express API on kubernetes, HTTPS only",
    "cloudProvider": "azure",
    "region": "westeurope",
    "strategy": "kubernetes",
    "image": "acmeapps.azurecr.io/express-api:1.0.0",
    "policies": ["require-https"],
    "budget": {"maxMonthlyCost": 800},
}
AKS_HTTPS = {
    "legacy": {
        "apiVersion": "scia.io/v1alpha1",
        "kind": "XAppDeployment",
        "metadata": {
            "name": "express-tls-9k3vd",
            "uid": "5d2c8e1f-3a4b-4c6d-9e7f-8a1b2c3d4e5f",
            "labels": {
                "crossplane.io/claim-name": "express-tls",
                "crossplane.io/claim-namespace": "team-a",
            },
        },
        "spec": {
            "claimRef": {
                "apiVersion": "scia.io/v1alpha1",
                "kind": "AppDeployment",
                "name": "express-tls",
                "namespace": "team-a",
            },
            **AKS_HTTPS_SPEC,
        },
    },
    "namespaced": {
        "apiVersion": "scia.io/v1alpha1",
        "kind": "AppDeployment",
        "metadata": {
            "name": "express-tls",
            "namespace": "team-b",
            "uid": "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
        },
        "spec": copy.deepcopy(AKS_HTTPS_SPEC),
    },
}
AKS_HTTPS_STAGES = {
    "provisioning": (
        Seen(rollout="progressing", address=False),
        "while the Deployment rolls out and NGINX has not published the Ingress's address "
        "yet (no endpoint)",
    ),
    "running": (
        Seen(),
        "running: NGINX serves the Key Vault certificate for the deployment's host, "
        "https://<host> at status.endpoints[0] (a result names the DNS A record to create)",
    ),
}


def aks_https_input(inp: dict[str, Any]) -> dict[str, Any]:
    """The shipped input with the platform's HTTPS settings AKS needs (AKS_HTTPS_PLATFORM)."""
    return {**inp, "policy": {**inp.get("policy", {}), **AKS_HTTPS_PLATFORM}}


async def aks_https_examples(repos: Path, generator: str) -> None:
    """examples/aks-https/<scope>/{xr,observed}-azure-https-<stage>.yaml."""
    for scope, xr in AKS_HTTPS.items():
        folder = EXAMPLES / "aks-https" / scope
        folder.mkdir(parents=True, exist_ok=True)
        inp = aks_https_input(P.function_input(scope, repos))
        title = f"The express API on AKS under require-https ({scope} scope)"
        extra = (
            "\n# Render with the shipped composition whose input adds policy.https: domain "
            "apps.example.com and keyVaultCertificate (tests/kube/make_examples.py "
            "AKS_HTTPS_PLATFORM)."
        )
        for stage, (seen, what) in AKS_HTTPS_STAGES.items():
            pinned, observed = await settle(copy.deepcopy(xr), inp, seen)
            write_stage(folder, "azure-https", stage, pinned, observed, what, title, generator,
                        extra)  # fmt: skip


def repositories() -> tuple[Path, str]:
    """The example repositories, and the next commit of express-api (branch `next`; main
    stays on the first), as examples/build/generate.py makes it."""
    repos = Path(tempfile.mkdtemp(prefix="k8s-examples-"))
    R.build_repositories(repos)
    return repos, next_commit(repos / "express-api")


async def gke_https_stages(
    xr: dict[str, Any], inp: dict[str, Any]
) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """The GKE require-https XR (with the status of the reconcile before) and its observed
    resources with the certificate not yet issued, then issued."""
    rec = P.reconciler()
    provisioning, waiting = await settle(copy.deepcopy(xr), inp, Seen(), rec=rec, adjust=unissued)
    assert provisioning["status"]["phase"] == "Provisioning", provisioning["status"]
    running, observed = await settle(provisioning, inp, Seen(), waiting, rec)
    assert running["status"]["phase"] == "Running", running["status"]
    return {"provisioning": (provisioning, waiting), "running": (running, observed)}


async def main() -> None:
    repos, after = repositories()
    generator = "tests/kube/make_examples.py"
    for scope, xr in GKE_HTTPS.items():
        inp = gke_https_input(P.function_input(scope, repos))
        title = f"The express API on GKE under require-https ({scope} scope)"
        extra = (
            "\n# Render with the shipped composition whose input's policy block adds "
            f"https: {{domain: {GKE_HTTPS_DOMAIN}}}."
        )
        folder = EXAMPLES / "gke-https" / scope
        folder.mkdir(parents=True, exist_ok=True)
        for stage, (pinned, observed) in (await gke_https_stages(xr, inp)).items():
            write_stage(folder, "gke-https", stage, pinned, observed, GKE_HTTPS_HEADER[stage],
                        title, generator, extra)  # fmt: skip
    for scope, xr in (("legacy", LEGACY), ("namespaced", NAMESPACED)):
        inp = P.function_input(scope, repos)
        title = f"The express API forced onto kubernetes ({scope} scope)"
        for stage, what in HEADER.items():
            pinned, observed = await stage_of(copy.deepcopy(xr), inp, stage)
            write_stage(EXAMPLES / scope, "kubernetes", stage, pinned, observed, what, title,
                        generator)  # fmt: skip
        stages = await next_commit_stages(pinned, observed, inp, after)
        for stage, what in NEXT_HEADER.items():
            pinned, observed = stages[stage]
            write_stage(EXAMPLES / scope, "kubernetes", stage, pinned, observed, what, title,
                        generator)  # fmt: skip
    await aks_https_examples(repos, generator)


if __name__ == "__main__":
    asyncio.run(main())
