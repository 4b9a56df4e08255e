"""The Azure vm under require-https (an Application Gateway, function/render/azure/gateway.py):
flask-app on `cloudProvider: azure`, `strategy: vm`, pinned, and its observed composed
resources while the gateway is being created and once it serves.

Written by `python -m examples.vm.generate` (examples/vm/generate.py calls `write_scope`
for each scope) into examples/vm/azure-https/<scope>/:

- xr-provisioning.yaml + observed-provisioning.yaml: the gateway's identity may read the
  certificate, the gateway exists but is not Ready yet; the scale set waits for its
  backend pool's id; phase Provisioning, a result names the DNS record to create;
- xr-running.yaml + observed-running.yaml: everything Ready, the scale set in the gateway's
  pool; phase Running, the endpoint https://flask-app-https.team-b.apps.example.com.

They render with the shipped composition whose function input adds `INPUT` (the platform's
Key Vault certificate and DNS domain; the shipped one has no `policy` block, and adding it
there would change every shipped pin's inputs hash). The provider is played here: every
desired resource is reported Ready (but the gateway at the provisioning step) with what
Azure reports for the fields the function reads (function/lastknown.py READ_AT_PROVIDER).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from examples import render as demo
from examples import steps
from examples.build.generate import Resources, split
from function.lastknown import READ_AT_PROVIDER

HERE = Path(__file__).resolve().parent / "azure-https"
KEPT_STATUS = ("decision", "history")
VAULT_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/platform/providers/"
    "Microsoft.KeyVault/vaults/acme-platform-kv"
)
# What the function input adds to the shipped composition's for these examples.
INPUT: dict[str, Any] = {
    "policy": {
        "https": {
            "domain": "apps.example.com",
            "keyVaultCertificate": {"vaultId": VAULT_ID, "name": "team-b-wildcard"},
        }
    }
}
SUBSCRIPTION = "/subscriptions/00000000-0000-0000-0000-000000000000"
GROUP = "team-b-flask-app-https-rg"
HOW = (
    "Render with the shipped composition whose function input adds policy.https: "
    "{domain: apps.example.com, keyVaultCertificate: {vaultId: <acme-platform-kv's id>, "
    "name: team-b-wildcard}} (examples/vm/azure_https.py INPUT)."
)


def xr_doc(scope: str) -> dict[str, Any]:
    return steps.team_b_xr(
        scope,
        "flask-app-https",
        "5c2e8a41-7d3b-4f6a-9e1c-2b8d4f6a0c3e",
        {
            "repository": {"url": "https://github.com/acme/flask-app", "ref": "main"},
            "prompt": "a small Flask API on instances, HTTPS only",
            "cloudProvider": "azure",
            "region": "westeurope",
            "strategy": "vm",
            "policies": ["require-https"],
            "budget": {"maxMonthlyCost": 600},
        },
    )


def composition(comp: Path, work: Path, scope: str) -> Path:
    """The shipped composition (as the demo mirrors it) with INPUT in its function input."""
    doc = yaml.safe_load(comp.read_text())
    for step in doc["spec"]["pipeline"]:
        if step["functionRef"]["name"] == "function-scia":
            step["input"] |= copy.deepcopy(INPUT)
    out = work / f"composition-{scope}-azure-https.yaml"
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out


def _value(name: str, field: str, body: dict[str, Any]) -> Any:
    """What Azure reports for `field` of the composed resource `name`."""
    fp = body["spec"]["forProvider"]
    external = body["metadata"].get("annotations", {}).get("crossplane.io/external-name", name)
    rid = f"{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.Scia/{external}"
    if field == "id":
        return rid
    if field == "backendAddressPool":  # an Application Gateway's pools, with their ids
        return [{"name": p["name"], "id": f"{rid}/backendAddressPools/{p['name']}"}
                for p in fp.get("backendAddressPool") or []]  # fmt: skip
    if field == "fqdn":  # a public IP's DNS name: <domainNameLabel>.<location>.cloudapp.azure.com
        return f"{fp.get('domainNameLabel') or name}.{fp.get('location')}.cloudapp.azure.com"
    if field == "ipAddress":
        return "20.31.0.10" if name == "gateway-public-ip" else "20.31.0.20"
    # Identities' ids; None: a field only another cloud reports (an AWS load balancer's ARN)
    return {
        "principalId": "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b",
        "clientId": "7a2b3c4d-5e6f-4a70-8b9c-0d1e2f3a4b5c",
        "tenantId": "8b3c4d5e-6f7a-4b80-9c0d-1e2f3a4b5c6d",
    }.get(field)


def observed(desired: Resources, xr_name: str, creating: tuple[str, ...] = ()) -> Resources:
    """The desired resources as Azure reports them: Ready (those in `creating`: being
    created, nothing reported yet)."""
    out: Resources = {}
    for i, (name, body) in enumerate(sorted(desired.items())):
        obj = copy.deepcopy(body)
        obj["metadata"].pop("generateName", None)
        obj["metadata"]["name"] = f"{xr_name}-{i:04x}"
        ready = name not in creating
        fields = ("id", *READ_AT_PROVIDER.get(name, ())) if ready else ()
        at = {f: v for f in fields if (v := _value(name, f, obj)) is not None}
        condition = "True" if ready else "False"
        reason = "Available" if ready else "Creating"
        obj["status"] = {
            "conditions": [
                {"type": "Ready", "status": condition, "reason": reason},
                {"type": "Synced", "status": "True", "reason": "ReconcileSuccess"},
            ],
            "atProvider": at,
        }
        out[name] = obj
    return out


def write_xr(path: Path, doc: dict[str, Any], status: dict[str, Any], what: str) -> None:
    body = doc | {"status": {k: status[k] for k in KEPT_STATUS if k in status}}
    path.write_text(
        f"# {what}\n# {HOW}\n# Written by `python -m examples.vm.generate`.\n"
        + yaml.safe_dump(body, sort_keys=False)
    )


def write_scope(scope: str, work: Path, crossplane: Path, comp: Path, functions: Path) -> None:
    """Both steps of one scope."""
    out = HERE / scope
    out.mkdir(parents=True, exist_ok=True)
    comp = composition(comp, work, scope)
    fresh = work / f"xr-azure-https-{scope}.yaml"
    fresh.write_text(yaml.safe_dump(xr_doc(scope), sort_keys=False))
    xr, desired = split(demo.render(crossplane, fresh, comp, functions))
    name = xr["metadata"]["name"]
    assert xr["status"]["strategy"] == "vm", xr["status"]
    pinned = work / f"xr-azure-https-{scope}-pinned.yaml"
    last = {"xr": xr}

    def step(seen: Resources) -> Resources:
        pinned.write_text(yaml.safe_dump(xr_doc(scope) | {"status": last["xr"]["status"]}))
        obs = work / "observed-azure-https.yaml"
        obs.write_text(yaml.safe_dump_all(list(seen.values())))
        last["xr"], resources = split(demo.render(crossplane, pinned, comp, functions, obs))
        return resources

    def settle(creating: tuple[str, ...]) -> tuple[Resources, Resources]:
        """Play the provider until the desired set stops growing: (desired, observed)."""
        now = desired
        for _ in range(8):  # the identity, its grant, the gateway, the scale set, ...
            seen = observed(now, name, creating)
            again = step(seen)
            if set(again) == set(now):
                return again, seen
            now = again
        raise AssertionError(f"the desired set did not settle: {sorted(now)}")

    # Azure creates each layer in turn: the identity, its read of the certificate, the
    # gateway. The gateway is being created: the scale set waits for its pool's id.
    desired, seen = settle(("app-gateway",))
    status = last["xr"]["status"]
    assert status["phase"] == "Provisioning" and "vm-scale-set" not in desired, status
    write_xr(out / "xr-provisioning.yaml", xr_doc(scope), status,
             "flask-app on an Azure vm under require-https, pinned; the Application Gateway "
             "is being created. Render it with observed-provisioning.yaml.")  # fmt: skip
    steps.write_observed(out / "observed-provisioning.yaml",
                         "the Application Gateway is being created; its identity may read "
                         "the certificate", seen, "examples.vm.generate")  # fmt: skip
    # The gateway is Ready: the scale set joins its pool, then its autoscale setting.
    desired, seen = settle(())
    status = last["xr"]["status"]
    assert status["phase"] == "Running", status
    assert status["endpoints"][0]["url"] == "https://flask-app-https.team-b.apps.example.com"
    write_xr(out / "xr-running.yaml", xr_doc(scope), status,
             "flask-app on an Azure vm under require-https once the Application Gateway "
             "serves. Render it with observed-running.yaml.")  # fmt: skip
    steps.write_observed(out / "observed-running.yaml",
                         "the Application Gateway serves https://flask-app-https.team-b."
                         "apps.example.com; the scale set is in its backend pool", seen,
                         "examples.vm.generate")  # fmt: skip
