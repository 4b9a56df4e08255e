"""The examples, reconciled in-process (no gRPC, no `crossplane render`), for tests.

The same inputs `examples/render.py` renders: the shipped composition's function input
with the `https://github.com/acme/` mirror pointing at the local example repositories.
Observed composed resources are keyed by their composition resource name, as Crossplane
sends them.
"""

from __future__ import annotations

import copy
import datetime
from pathlib import Path
from typing import Any

import yaml

from examples import render as R
from function.decide.engine import DecisionEngine
from function.decide.jobs import DecisionJobs
from function.lastknown import READ_AT_PROVIDER
from function.reconcile import Reconciler, ReconcileRequest, ReconcileResult
from function.render.names import EXTERNAL_NAME
from tests.support.kube_observed import GLOBAL_ADDRESS, is_object, object_at_provider

ROOT = Path(__file__).resolve().parents[2]
RESOURCE_NAME = "crossplane.io/composition-resource-name"
GKE_ENDPOINT = "34.76.0.10"


def scope_of(xr: dict[str, Any]) -> str:
    return "legacy" if xr.get("kind") == "XAppDeployment" else "namespaced"


def function_input(scope: str, repos: Path, wait: float = 30.0, **overrides: Any) -> dict[str, Any]:
    """The shipped composition's function input, mirrored to `repos`, with `overrides`."""
    doc = yaml.safe_load((ROOT / "compositions" / f"{scope}.yaml").read_text())
    inp: dict[str, Any] = copy.deepcopy(doc["spec"]["pipeline"][0]["input"])
    inp["urlRewrites"] = [{"prefix": R.MIRRORED_PREFIX, "replacement": f"file://{repos}/"}]
    inp.setdefault("analysis", {})["allowFileUrls"] = True
    inp.setdefault("decision", {})["waitSeconds"] = wait
    inp.update(overrides)
    return inp


def compose_stores(scope: str) -> dict[str, Any]:
    """Input overrides that let tenants have data stores composed on AWS (`dataStores`), GCP
    and Azure (`gcp.dataStores`, `azure.dataStores`, added to the composition's own blocks)."""
    doc = yaml.safe_load((ROOT / "compositions" / f"{scope}.yaml").read_text())
    inp = doc["spec"]["pipeline"][0]["input"]
    on = {"dataStores": {"compose": True}}
    return on | {cloud: (inp.get(cloud) or {}) | on for cloud in ("gcp", "azure")}


def load_xr(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(path.read_text())
    return doc


def load_observed(path: Path | None) -> dict[str, dict[str, Any]]:
    if path is None:
        return {}
    return {
        d["metadata"]["annotations"][RESOURCE_NAME]: d
        for d in yaml.safe_load_all(path.read_text())
        if d
    }


def reconciler() -> Reconciler:
    return Reconciler(DecisionEngine(), DecisionJobs(workers=2))


async def reconcile(
    xr: dict[str, Any],
    observed: dict[str, dict[str, Any]],
    inp: dict[str, Any],
    rec: Reconciler | None = None,
) -> ReconcileResult:
    return await (rec or reconciler()).reconcile(
        ReconcileRequest(xr=copy.deepcopy(xr), observed=copy.deepcopy(observed), input=inp)
    )


def with_status(xr: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    """The XR as the API server keeps it after the function's status was applied."""
    return {**copy.deepcopy(xr), "status": copy.deepcopy(status)}


def without_status(xr: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in xr.items() if k != "status"}


def timestamp(ago: datetime.timedelta = datetime.timedelta(0)) -> str:
    at = datetime.datetime.now(datetime.UTC) - ago
    return at.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def observed_from(
    desired: dict[str, dict[str, Any]],
    *,
    ready: bool = True,
    since: datetime.timedelta = datetime.timedelta(minutes=1),
    at_provider: dict[str, dict[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """The desired resources as a provider would report them: Synced, Ready (or not yet)."""
    out = {}
    for name, body in desired.items():
        conditions = [
            {
                "type": "Ready",
                "status": "True" if ready else "False",
                "reason": "Available" if ready else "Creating",
                "lastTransitionTime": timestamp(since),
            },
            {
                "type": "Synced",
                "status": "True",
                "reason": "ReconcileSuccess",
                "lastTransitionTime": timestamp(since),
            },
        ]
        status: dict[str, Any] = {"conditions": conditions}
        status["atProvider"] = (at_provider or {}).get(name) or reported(name, ready, body)
        out[name] = {**copy.deepcopy(body), "status": status}
        if ready:
            _resolve(out[name], desired)
    return out


def _resolve(body: dict[str, Any], desired: dict[str, dict[str, Any]]) -> None:
    """What the provider writes into a spec once it resolves a reference the rollout check
    reads: a GCP instance group's template (by its selector's component label)."""
    if body.get("kind") != "RegionInstanceGroupManager":
        return
    for version in body["spec"]["forProvider"].get("version") or []:
        label = (version.get("instanceTemplateSelector") or {}).get("matchLabels") or {}
        template = desired.get(label.get("scia.io/component", ""))
        name = ((template or {}).get("spec") or {}).get("forProvider", {}).get("name")
        if name:
            version["instanceTemplate"] = f"projects/acme-prod/global/instanceTemplates/{name}"


ACCOUNT = "123456789012"


def repository_url(body: dict[str, Any] | None) -> str:
    """What ECR reports as a composed repository's URL: its account and region, and the
    name it was created with (the external-name annotation the function composes)."""
    body = body or {}
    name = ((body.get("metadata") or {}).get("annotations") or {}).get(EXTERNAL_NAME)
    region = ((body.get("spec") or {}).get("forProvider") or {}).get("region") or "eu-west-1"
    return f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{name or 'scia/x-0123abcd'}"


# A stand-in for a Memorystore instance's CA (a public certificate; not a real one).
MEMORYSTORE_CA = (
    "-----BEGIN CERTIFICATE-----\nMIIBscia0memorystore0example0ca0not0a0real0certificate\n"
    "-----END CERTIFICATE-----\n"
)


# What only AWS reports of the fields the function reads (the other clouds report none of
# them; `version` is also a GCP Secret Manager SecretVersion's, e.g. Memorystore's AUTH string).
AWS_ONLY = ("arn", "dnsName", "functionUrl", "latestVersion", "repositoryUrl")
# What only GCP reports of them (a Google-managed certificate's expiry, once issued).
GCP_ONLY = ("expireTime",)


def cloud_of(body: dict[str, Any] | None) -> str:
    """The cloud whose provider reports `body`: its API group (`*.gcp.upbound.io`,
    `*.azure.upbound.io` and their `.m.` namespaced twins); AWS otherwise."""
    group = str((body or {}).get("apiVersion", "")).split("/")[0]
    for cloud in ("gcp", "azure"):
        if group.endswith((f"{cloud}.upbound.io", f"{cloud}.m.upbound.io")):
            return cloud
    return "aws"


def _value(name: str, field: str, body: dict[str, Any] | None, cloud: str) -> Any:
    """What `cloud`'s provider reports for `field` of the composed resource `name`."""
    fp = ((body or {}).get("spec") or {}).get("forProvider") or {}
    if cloud == "gcp" and field == "endpoint":
        return GKE_ENDPOINT  # GKE reports its control plane's IP address, no scheme
    if name == "node-service-account" and field == "email":
        return "scia-node-0123456789ab@acme-prod.iam.gserviceaccount.com"  # GKE nodes' own
    if cloud == "azure" and field == "fqdn" and (body or {}).get("kind") == "KubernetesCluster":
        # AKS: <dnsPrefix>-<hash>.hcp.<location>.azmk8s.io
        prefix = fp.get("dnsPrefix") or name
        return f"{prefix}-0123abcd.hcp.{fp.get('location') or 'westeurope'}.azmk8s.io"
    if field == "webAppRouting":
        # AKS reports the application routing add-on (and the identity it made) only when on
        routing = fp.get("webAppRouting")
        if not isinstance(routing, dict):
            return None
        identity = {
            "objectId": "66666666-6666-6666-6666-666666666666",
            "clientId": "77777777-7777-7777-7777-777777777777",
            "userAssignedIdentityId": "/subscriptions/00000000-0000-0000-0000-000000000000/"
            "resourceGroups/MC_rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
            "webapprouting-aks",
        }
        return {**routing, "webAppRoutingIdentity": [identity]}
    if cloud == "azure" and field == "fqdn" and name == "postgres-server":
        return f"scia-{name}-0123abcd.postgres.database.azure.com"  # a flexible server
    if cloud == "azure" and field == "backendAddressPool":
        # An Application Gateway's pools (render/azure/gateway.py), each with its id
        gateway = _value(name, "id", body, cloud)
        pools = fp.get("backendAddressPool") or []
        return [
            {"name": p["name"], "id": f"{gateway}/backendAddressPools/{p['name']}"} for p in pools
        ]
    if cloud == "azure" and field == "fqdn":
        # A public IP's DNS name: <domainNameLabel>.<location>.cloudapp.azure.com
        label = fp.get("domainNameLabel") or name
        return f"{label}.{fp.get('location') or 'westeurope'}.cloudapp.azure.com"
    return {
        "arn": f"arn:aws:service:eu-west-1:123456789012:{name}/0123456789abcdef",
        "dnsName": f"{name}-1234567890.eu-west-1.elb.amazonaws.com",
        "functionUrl": "https://abcdefghijklmnop.lambda-url.eu-west-1.on.aws/",
        "endpoint": "https://ABCDEF0123456789.gr7.eu-west-1.eks.amazonaws.com",
        "latestVersion": 1,
        "version": "1",
        "repositoryUrl": repository_url(body),
        # GCP
        "selfLink": f"https://www.googleapis.com/compute/v1/projects/acme-prod/global/x/{name}",
        "instanceGroup": "https://www.googleapis.com/compute/v1/projects/acme-prod/regions/"
        f"europe-west1/instanceGroups/{name}",
        "address": GLOBAL_ADDRESS,
        "expireTime": "2027-02-28T18:00:00.000-08:00",  # issued: Google sets it then
        "uri": f"https://{name}-abc123xyz-ew.a.run.app",
        "email": "scia-app-0123456789ab@acme-prod.iam.gserviceaccount.com",
        "connectionName": f"acme-prod:europe-west1:{name}",
        "host": "10.100.0.3",  # Memorystore: its private IP, TLS port and CA
        "port": 6378,
        "serverCaCerts": [{"cert": MEMORYSTORE_CA, "serialNumber": "0"}],
        # Azure
        "id": f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/"
        f"providers/Microsoft.Scia/{name}",
        "ipAddress": "20.0.0.1",
        "ingress": {"fqdn": f"{name}.wittysea-12345678.westeurope.azurecontainerapps.io"},
        "latestRevisionFqdn": f"{name}--rev1.wittysea-12345678.westeurope.azurecontainerapps.io",
        "oidcIssuerUrl": "https://westeurope.oic.prod-aks.azure.com/00000000-0000-0000-0000-"
        "000000000000/11111111-1111-1111-1111-111111111111/",
        "kubeletIdentity": {"objectId": "22222222-2222-2222-2222-222222222222"},
        "loginServer": "teamaflaskapp0123abcd.azurecr.io",
        "principalId": "33333333-3333-3333-3333-333333333333",
        "clientId": "44444444-4444-4444-4444-444444444444",
        "tenantId": "55555555-5555-5555-5555-555555555555",
        "vaultUri": f"https://{name}-0123abcd.vault.azure.net/",
        # GCP builds
        "name": f"{name}-0123abcd",
        "registryUri": f"europe-west1-docker.pkg.dev/acme-prod/{name}-0123abcd",
    }[field]


def reported(name: str, ready: bool, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a provider reports in status.atProvider for a created resource (plausible
    values for every field the function reads, as the resource's own cloud reports them:
    READ_AT_PROVIDER is keyed by composition name, which clouds share, e.g. an Azure
    `load-balancer` reports no ARN or DNS name, a GKE cluster an IP, not an EKS URL); for
    a provider-kubernetes Object (its desired `body`), the object as the cluster shows it
    (tests/support/kube_observed.py)."""
    if body is not None and is_object(body):
        return object_at_provider(body, ready)
    if not ready:
        return {}
    cloud = cloud_of(body)
    at: dict[str, Any] = {"id": f"{name}-0123456789abcdef"}
    for field in READ_AT_PROVIDER.get(name, ()):
        if (cloud != "aws" and field in AWS_ONLY) or (cloud != "gcp" and field in GCP_ONLY):
            continue
        value = _value(name, field, body, cloud)
        if value is not None:
            at[field] = value
    return at


def set_condition(
    resource: dict[str, Any], typ: str, status: str, reason: str, message: str = ""
) -> None:
    conditions = [
        c for c in resource.setdefault("status", {}).get("conditions", []) if c["type"] != typ
    ]
    conditions.append(
        {
            "type": typ,
            "status": status,
            "reason": reason,
            "message": message,
            "lastTransitionTime": timestamp(),
        }
    )
    resource["status"]["conditions"] = conditions


async def converge(
    xr: dict[str, Any],
    inp: dict[str, Any],
    *,
    ready: bool = True,
    keep: dict[str, dict[str, Any]] | None = None,
    rounds: int = 6,
) -> tuple[ReconcileResult, dict[str, Any], dict[str, dict[str, Any]]]:
    """Reconcile, let the provider report every desired resource (Ready or not), and again,
    until the desired state stops changing (some resources are composed only once others
    are observed). `keep`: observed resources that stay as they are (not re-derived).

    Returns the last result, the XR with its status, and the observed resources."""
    observed = dict(keep or {})
    out = await reconcile(xr, observed, inp)
    for _ in range(rounds):
        assert not out.fatal, out.results
        xr = with_status(xr, out.status)
        now = (keep or {}) | observed_from(
            {n: b for n, b in out.desired.items() if n not in (keep or {})}, ready=ready
        )
        again = await reconcile(xr, now, inp)
        settled = again.desired == out.desired and set(now) == set(observed)
        out, observed = again, now
        if settled:
            break
    assert not out.fatal, out.results
    return out, with_status(xr, out.status), observed
