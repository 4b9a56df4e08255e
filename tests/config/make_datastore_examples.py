"""Write the composed-data-store examples of kubernetes and serverless: an XR after its
decision, and the composed resources as the providers report them once Running, from the
real Reconciler (the vm examples of examples/datastores were written by hand before).

    PYTHONPATH=. python tests/config/make_datastore_examples.py [STEM ...]

- `xr-flask-kubernetes.yaml` (legacy): examples/apps/flask-app on kubernetes with a
  composed PostgreSQL, `env` and an `envFrom` secret; the EKS cluster reports its cluster
  security group, which the store admits;
- `xr-counter-serverless.yaml` (namespaced): examples/apps/counter-app on Lambda (a given
  ECR image) with a composed Redis: the function in the VPC behind a NAT gateway;
- `xr-flask-gcp-vm.yaml` (legacy): flask-app on GCP vm, its PostgreSQL bound, `env` and an
  `envFrom` secret: Secret Manager copies read by the launcher as the app's service account;
- `xr-counter-gcp-run.yaml` (namespaced): counter-app on Cloud Run, its Redis bound: Cloud
  Run reads the Secret Manager copy itself;
- `xr-flask-azure-vm.yaml` (legacy): flask-app on an Azure VM scale set, its PostgreSQL
  bound, `env` and an `envFrom` secret: Key Vault copies read at each start by the launcher
  with the app's managed identity (IMDS);
- `xr-counter-azure-app.yaml` (namespaced): counter-app on Container Apps, its Redis bound:
  the launcher in the image reads the Key Vault copy with the identity endpoint;
- `xr-flask-gcp-sql.yaml` (legacy) and `xr-flask-gcp-run-sql.yaml` (namespaced): flask-app on
  GCP vm and on Cloud Run with a composed Cloud SQL PostgreSQL, reached through the Cloud SQL
  Auth Proxy with IAM database authentication; each also with its provisioning state;
- `xr-counter-gcp-redis.yaml` (namespaced): counter-app on GCP vm with a composed
  Memorystore Redis (AUTH, TLS with the instance's CA), also with its provisioning state.

Commits of the example repositories are deterministic (fixed dates): the pins stay valid.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from examples import render as R
from tests.support import inproc as P

EXAMPLES = Path(R.__file__).resolve().parent / "datastores"
RESOURCE_NAME = "crossplane.io/composition-resource-name"
CLUSTER_SG = "sg-0c1a2b3c4d5e6f708"
READY = [
    {"type": "Ready", "status": "True", "reason": "Available"},
    {"type": "Synced", "status": "True", "reason": "ReconcileSuccess"},
]

KUBERNETES = {
    "apiVersion": "scia.io/v1alpha1",
    "kind": "XAppDeployment",
    "metadata": {
        "name": "flask-k8s-7q2pd",
        "uid": "5f0e9d8c-7b6a-4c3d-9e2f-1a0b9c8d7e6f",
        "labels": {
            "crossplane.io/claim-name": "flask-k8s",
            "crossplane.io/claim-namespace": "team-a",
        },
    },
    "spec": {
        "claimRef": {
            "apiVersion": "scia.io/v1alpha1",
            "kind": "AppDeployment",
            "name": "flask-k8s",
            "namespace": "team-a",
        },
        "repository": {"url": "https://github.com/acme/flask-app", "ref": "main"},
        "prompt": "the flask app on kubernetes",
        "region": "eu-west-1",
        "strategy": "kubernetes",
        "budget": {"maxMonthlyCost": 800},
        "env": [{"name": "LOG_LEVEL", "value": "info"}],
        "envFrom": [
            {
                "secretRef": {
                    "name": "flask-k8s-secrets",
                    "keys": [{"key": "session-key", "as": "SECRET_KEY"}],
                }
            }
        ],
    },
}
SERVERLESS = {
    "apiVersion": "scia.io/v1alpha1",
    "kind": "AppDeployment",
    "metadata": {
        "name": "counter-fn",
        "namespace": "team-b",
        "uid": "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d",
    },
    "spec": {
        "repository": {"url": "https://github.com/acme/counter-app", "ref": "main"},
        "prompt": "a hit counter, called now and then",
        "region": "eu-west-1",
        "strategy": "serverless",
        "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/counter-app:v1",
        "budget": {"maxMonthlyCost": 300},
        "services": {"redis": {"production": False}},
    },
}
# GCP (render/gcp/secrets.py): bound stores and secrets through Secret Manager.
GCP_VM = {
    "apiVersion": "scia.io/v1alpha1",
    "kind": "XAppDeployment",
    "metadata": {
        "name": "flask-gce-4m8rt",
        "uid": "2c7d9e1f-3a4b-4c5d-8e6f-7a8b9c0d1e2f",
        "labels": {
            "crossplane.io/claim-name": "flask-gce",
            "crossplane.io/claim-namespace": "team-a",
        },
    },
    "spec": {
        "claimRef": {
            "apiVersion": "scia.io/v1alpha1",
            "kind": "AppDeployment",
            "name": "flask-gce",
            "namespace": "team-a",
        },
        "repository": {"url": "https://github.com/acme/flask-app", "ref": "main"},
        "prompt": "the flask app on two small instances",
        "cloudProvider": "gcp",
        "region": "europe-west1",
        "strategy": "vm",
        "budget": {"maxMonthlyCost": 300},
        "env": [{"name": "LOG_LEVEL", "value": "info"}],
        "envFrom": [
            {
                "secretRef": {
                    "name": "flask-gce-secrets",
                    "keys": [{"key": "session-key", "as": "SECRET_KEY"}],
                }
            }
        ],
        "services": {"postgres": {"secretRef": {"name": "team-a-postgres", "key": "url"}}},
    },
}
GCP_RUN = {
    "apiVersion": "scia.io/v1alpha1",
    "kind": "AppDeployment",
    "metadata": {
        "name": "counter-run",
        "namespace": "team-b",
        "uid": "6b5a4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d",
    },
    "spec": {
        "repository": {"url": "https://github.com/acme/counter-app", "ref": "main"},
        "prompt": "a hit counter, called now and then",
        "cloudProvider": "gcp",
        "region": "europe-west1",
        "strategy": "serverless",
        "image": "europe-west1-docker.pkg.dev/acme-prod/apps/counter-app:v1",
        "budget": {"maxMonthlyCost": 100},
        "env": [{"name": "COUNTER_KEY", "value": "hits"}],
        "services": {"redis": {"secretRef": {"name": "team-b-redis", "key": "url"}}},
    },
}
# Azure (render/azure/secrets.py): bound stores and secrets through Key Vault.
AZURE_VM = {
    "apiVersion": "scia.io/v1alpha1",
    "kind": "XAppDeployment",
    "metadata": {
        "name": "flask-vmss-9k3wd",
        "uid": "4d3c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a0f",
        "labels": {
            "crossplane.io/claim-name": "flask-vmss",
            "crossplane.io/claim-namespace": "team-a",
        },
    },
    "spec": {
        "claimRef": {
            "apiVersion": "scia.io/v1alpha1",
            "kind": "AppDeployment",
            "name": "flask-vmss",
            "namespace": "team-a",
        },
        "repository": {"url": "https://github.com/acme/flask-app", "ref": "main"},
        "prompt": "the flask app on two small instances",
        "cloudProvider": "azure",
        "region": "westeurope",
        "strategy": "vm",
        "budget": {"maxMonthlyCost": 300},
        "env": [{"name": "LOG_LEVEL", "value": "info"}],
        "envFrom": [
            {
                "secretRef": {
                    "name": "flask-vmss-secrets",
                    "keys": [{"key": "session-key", "as": "SECRET_KEY"}],
                }
            }
        ],
        "services": {"postgres": {"secretRef": {"name": "team-a-postgres", "key": "url"}}},
    },
}
AZURE_APP = {
    "apiVersion": "scia.io/v1alpha1",
    "kind": "AppDeployment",
    "metadata": {
        "name": "counter-aca",
        "namespace": "team-b",
        "uid": "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
    },
    "spec": {
        "repository": {"url": "https://github.com/acme/counter-app", "ref": "main"},
        "prompt": "a hit counter, called now and then",
        "cloudProvider": "azure",
        "region": "westeurope",
        "strategy": "serverless",
        "image": "acmeapps.azurecr.io/counter-app:v1",
        "budget": {"maxMonthlyCost": 100},
        "env": [{"name": "COUNTER_KEY", "value": "hits"}],
        "services": {"redis": {"secretRef": {"name": "team-b-redis", "key": "url"}}},
    },
}
# GCP composed stores (render/gcp/datastores.py): Cloud SQL reached with IAM database
# authentication through the Cloud SQL Auth Proxy, no password anywhere.
GCP_SQL_VM = copy.deepcopy(GCP_VM)
GCP_SQL_VM["metadata"] |= {"name": "flask-sql-8c2kd", "uid": "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d"}
GCP_SQL_VM["metadata"]["labels"]["crossplane.io/claim-name"] = "flask-sql"
GCP_SQL_VM["spec"]["claimRef"]["name"] = "flask-sql"
GCP_SQL_VM["spec"] |= {
    "prompt": "the flask app on two small instances with its own postgres",
    "services": {"postgres": {}},
}
GCP_SQL_RUN = {
    "apiVersion": "scia.io/v1alpha1",
    "kind": "AppDeployment",
    "metadata": {
        "name": "flask-run-sql",
        "namespace": "team-b",
        "uid": "3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a",
    },
    "spec": {
        "repository": {"url": "https://github.com/acme/flask-app", "ref": "main"},
        "prompt": "the flask app, called now and then, with a small database",
        "cloudProvider": "gcp",
        "region": "europe-west1",
        "strategy": "serverless",
        "image": "europe-west1-docker.pkg.dev/acme-prod/apps/flask-app:v1",
        "budget": {"maxMonthlyCost": 100},
        "services": {"postgres": {"production": False}},
    },
}
# Memorystore (render/gcp/datastores.py): AUTH and TLS, the AUTH string copied by reference
# from the provider's connection Secret to Secret Manager, the URL built by the launcher.
GCP_REDIS_VM = {
    "apiVersion": "scia.io/v1alpha1",
    "kind": "AppDeployment",
    "metadata": {
        "name": "counter-redis",
        "namespace": "team-b",
        "uid": "5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b",
    },
    "spec": {
        "repository": {"url": "https://github.com/acme/counter-app", "ref": "main"},
        "prompt": "a hit counter on a small instance, with its own redis",
        "cloudProvider": "gcp",
        "region": "europe-west1",
        "strategy": "vm",
        "budget": {"maxMonthlyCost": 200},
        "env": [{"name": "COUNTER_KEY", "value": "hits"}],
        "services": {"redis": {}},
    },
}
# Stems rendered with the composition's gcp input plus gcp.dataStores.compose: true; each
# also gets observed-<stem>-provisioning.yaml (the store still being created).
GCP_COMPOSED = ("flask-gcp-sql", "flask-gcp-run-sql", "counter-gcp-redis")
CASES = {
    "flask-gcp-sql": (
        "legacy",
        GCP_SQL_VM,
        "flask-app on GCP vm with a composed Cloud SQL PostgreSQL (IAM authentication)",
    ),
    "flask-gcp-run-sql": (
        "namespaced",
        GCP_SQL_RUN,
        "flask-app on Cloud Run with a composed Cloud SQL PostgreSQL (Auth Proxy sidecar)",
    ),
    "counter-gcp-redis": (
        "namespaced",
        GCP_REDIS_VM,
        "counter-app on GCP vm with a composed Memorystore Redis (AUTH and TLS, the URL built "
        "by the launcher)",
    ),
    "flask-azure-vm": (
        "legacy",
        AZURE_VM,
        "flask-app on an Azure VM scale set, PostgreSQL bound, secrets read by the launcher "
        "from Key Vault",
    ),
    "counter-azure-app": (
        "namespaced",
        AZURE_APP,
        "counter-app on Azure Container Apps, Redis bound, read by the launcher from Key Vault",
    ),
    "flask-gcp-vm": (
        "legacy",
        GCP_VM,
        "flask-app on GCP vm, PostgreSQL bound, secrets read by the launcher from Secret Manager",
    ),
    "counter-gcp-run": (
        "namespaced",
        GCP_RUN,
        "counter-app on Cloud Run, Redis bound, read by Cloud Run from Secret Manager",
    ),
    "flask-kubernetes": (
        "legacy",
        KUBERNETES,
        "flask-app on kubernetes with a composed PostgreSQL",
    ),
    "counter-serverless": ("namespaced", SERVERLESS, "counter-app on Lambda with a composed Redis"),
}


def _observed_doc(xr: dict[str, Any], name: str, body: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(body)
    meta = doc.setdefault("metadata", {})
    meta.setdefault("annotations", {})[RESOURCE_NAME] = name
    meta.setdefault("labels", {})["crossplane.io/composite"] = xr["metadata"]["name"]
    h = hashlib.sha256(f"{xr['metadata']['uid']}/{name}".encode()).hexdigest()[:5]
    meta.setdefault("name", f"{xr['metadata']['name']}-{h}")
    if doc["kind"] == "ProviderConfig":
        return doc
    at = P.reported(name, True, doc)
    if name == "eks-cluster":
        at["vpcConfig"] = {"clusterSecurityGroupId": CLUSTER_SG}
    doc["status"] = {"conditions": READY, "atProvider": at}
    return doc


def _group_runs_its_template(observed: dict[str, Any]) -> None:
    """A GCP instance group as the provider reports it once rolled out: its version names
    the template generation its selector picks (resolved), stable, version target reached."""
    for body in observed.values():
        if body["kind"] != "RegionInstanceGroupManager":
            continue
        version = body["spec"]["forProvider"]["version"][0]
        component = version["instanceTemplateSelector"]["matchLabels"]["scia.io/component"]
        name = observed[component]["spec"]["forProvider"]["name"]
        version["instanceTemplate"] = (
            f"https://www.googleapis.com/compute/v1/projects/acme-prod/regions/europe-west1/"
            f"instanceTemplates/{name}"
        )
        body["status"]["atProvider"]["status"] = [
            {"isStable": True, "versionTarget": [{"isReached": True}]}
        ]


def provisioning(observed: dict[str, Any]) -> dict[str, Any]:
    """The Running observed state as it was while the stores were being created: the
    network, the account and the peering Ready; each Cloud SQL or Memorystore instance
    created but not Ready, reporting nothing yet (Memorystore's AUTH copy waits for the
    connection Secret the provider writes once the instance exists); nothing that waits for
    an instance (its database and user, the app) composed yet."""
    base = ("network", "subnetwork", "router", "app-service-account", "private-services-")
    out: dict[str, Any] = {}
    for name, body in observed.items():
        if name in ("db-postgres", "db-mysql", "memorystore-redis", "redis-auth-version"):
            doc = copy.deepcopy(body)
            doc["status"] = {
                "conditions": [
                    {"type": "Ready", "status": "False", "reason": "Creating"},
                    {"type": "Synced", "status": "True", "reason": "ReconcileSuccess"},
                ],
                "atProvider": {},
            }
            out[name] = doc
        elif name.startswith(base) or name.startswith("app-sql-") or name == "redis-auth":
            out[name] = body
    return out


async def running(xr: dict[str, Any], inp: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    rec = P.reconciler()
    out = await P.reconcile(xr, {}, inp, rec)
    observed: dict[str, Any] = {}
    for _ in range(8):
        assert not out.fatal, out.results
        xr = P.with_status(xr, out.status)
        observed = {n: _observed_doc(xr, n, b) for n, b in out.desired.items()}
        _group_runs_its_template(observed)
        again = await P.reconcile(xr, observed, inp, rec)
        settled = set(again.desired) == set(out.desired)
        out = again
        if settled:
            break
    assert out.status.get("phase") == "Running", out.status
    return P.with_status(xr, out.status), observed


async def main(only: list[str]) -> None:
    repos = Path(tempfile.mkdtemp(prefix="datastore-examples-"))
    R.build_repositories(repos)
    for stem, (scope, xr, what) in CASES.items():
        if only and stem not in only:
            continue
        stores = P.compose_stores(scope) if stem in GCP_COMPOSED else {}
        inp = P.function_input(scope, repos, **({"dataStores": {"compose": True}} | stores))
        pinned, observed = await running(copy.deepcopy(xr), inp)
        status = pinned["status"]
        keep = {k: status[k] for k in ("decision", "history") if k in status}
        doc = {**copy.deepcopy(xr), "status": keep}
        setting = "gcp.dataStores" if stem in GCP_COMPOSED else "dataStores"
        head = (
            f"# {scope}: {what}, after it was decided and is Running.\n"
            f"# Render with the shipped composition whose input sets {setting}.compose: true;\n"
            f"# observed-{stem}.yaml is what the providers report. Written by "
            "tests/config/make_datastore_examples.py.\n"
        )
        (EXAMPLES / f"xr-{stem}.yaml").write_text(
            head + yaml.safe_dump(doc, sort_keys=False, width=100)
        )
        if stem in GCP_COMPOSED:  # the same pin before anything was observed
            early = copy.deepcopy(doc)
            early["status"]["decision"].pop("lastObserved", None)
            (EXAMPLES / f"xr-{stem}-provisioning.yaml").write_text(
                f"# {scope}: {what}, decided, while its store is being created.\n"
                f"# Render with observed-{stem}-provisioning.yaml and the composition whose input "
                "sets gcp.dataStores.compose: true.\n# Written by "
                "tests/config/make_datastore_examples.py.\n"
                + yaml.safe_dump(early, sort_keys=False, width=100)
            )
            docs = [provisioning(observed)[n] for n in sorted(provisioning(observed))]
            (EXAMPLES / f"observed-{stem}-provisioning.yaml").write_text(
                f"# xr-{stem}.yaml while its store is being created: the network, "
                "the app's service account and the private services connection are Ready.\n"
                + yaml.safe_dump_all(docs, sort_keys=False, width=100)
            )
        docs = [observed[n] for n in sorted(observed)]
        (EXAMPLES / f"observed-{stem}.yaml").write_text(
            f"# The composed resources of xr-{stem}.yaml as the providers report them: Ready.\n"
            + yaml.safe_dump_all(docs, sort_keys=False, width=100)
        )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
