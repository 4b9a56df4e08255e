"""The Azure vm under require-https examples (examples/vm/azure-https/, written by
`python -m examples.vm.generate`), rendered by the real `crossplane render` through the real
function server with the shipped composition plus the platform's Key Vault certificate:
the gateway being created (Provisioning, the DNS record named, the scale set waiting for
the gateway's pool) and serving (Running at https://<deployment>.<tenant>.<domain>), both
XRD scopes, every manifest valid against the provider CRDs, every status field declared."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from examples.vm.azure_https import INPUT
from tests.support.render_env import Env, assert_resources_valid, split
from tests.support.xrstatus import XRDS, status_errors

pytestmark = pytest.mark.e2e
HERE = Path(__file__).resolve().parents[2] / "examples" / "vm" / "azure-https"
SCOPES = ["legacy", "namespaced"]
HOST = "flask-app-https.team-b.apps.example.com"


def render(
    env: Env, scope: str, step: str
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    observed = HERE / scope / f"observed-{step}.yaml"
    xr_path = HERE / scope / f"xr-{step}.yaml"
    comp = env.composition(scope, **INPUT)
    xr, resources, results = split(env.render(xr_path, scope, observed, comp))
    assert not [r for r in results if r.get("severity") == "SEVERITY_FATAL"], results
    seen = {
        d["metadata"]["annotations"]["crossplane.io/composition-resource-name"]
        for d in yaml.safe_load_all(observed.read_text())
        if d
    }
    assert seen == set(resources), f"{step}: {seen ^ set(resources)}"
    assert_resources_valid(resources)
    written = {k: v for k, v in xr["status"].items() if k != "conditions"}
    shipped = yaml.safe_load(xr_path.read_text())
    shipped.pop("status")
    errors = status_errors(XRDS[scope], shipped, written)
    assert not errors, "\n".join(errors)
    assert xr["status"]["decision"]["revision"] == 1  # the pin is reused, not decided again
    return xr, resources, results


@pytest.mark.parametrize("scope", SCOPES)
def test_the_gateway_being_created(env: Env, scope: str) -> None:
    xr, resources, results = render(env, scope, "provisioning")
    status = xr["status"]
    assert status["phase"] == "Provisioning"
    assert any(f"DNS record {HOST} -> 20.31.0.10" in r.get("message", "") for r in results)
    assert "vm-scale-set" not in resources  # it waits for the gateway's backend pool id
    assert {"app-gateway", "gateway-certificate-read", "load-balancer"} <= set(resources)


@pytest.mark.parametrize("scope", SCOPES)
def test_the_gateway_serves(env: Env, scope: str) -> None:
    xr, resources, results = render(env, scope, "running")
    assert not any("DNS record" in r.get("message", "") for r in results)
    status = xr["status"]
    assert status["phase"] == "Running", status["message"]
    assert [e["url"] for e in status["endpoints"]] == [f"https://{HOST}"]
    gateway = resources["app-gateway"]["spec"]["forProvider"]
    assert gateway["sslCertificate"][0]["keyVaultSecretId"] == (
        "https://acme-platform-kv.vault.azure.net/secrets/team-b-wildcard"
    )
    ip = resources["vm-scale-set"]["spec"]["forProvider"]["networkInterface"][0]["ipConfiguration"][
        0
    ]
    [pool] = ip["applicationGatewayBackendAddressPoolIds"]
    assert pool.endswith("/backendAddressPools/app")
    assert "nsg-allow-app-via-lb" not in resources
    costs = {c["resource"] for c in status["cost"]["breakdown"]}
    assert {"app-gateway", "app-gateway-capacity", "gateway-public-ip"} <= costs


@pytest.mark.parametrize("scope", SCOPES)
def test_without_the_certificate_setting_the_pin_is_refused(env: Env, scope: str) -> None:
    """With the shipped composition (no certificate setting) the explicit vm under
    require-https gets a fatal result naming the field: Crossplane changes and deletes
    nothing of what runs."""
    xr_path = HERE / scope / "xr-running.yaml"
    with pytest.raises(RuntimeError, match=r"fatal result: invalid input\.policy\.https\."
                       r"keyVaultCertificate"):  # fmt: skip
        env.render(xr_path, scope, HERE / scope / "observed-running.yaml")
