"""An Azure vm under require-https through the real Reconciler, both XRD scopes: a new
deployment converges to Running behind its Application Gateway, and a running one that
gains the policy keeps everything it has (its load balancer untouched) while the gateway
is composed beside it; only the rule that admitted the internet to the app port leaves,
and only once the new revision is Ready."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.reconcile.test_https_unmet import HTTPS_INPUT
from tests.support import inproc as P
from tests.support.strategies import xr_for

KEYS = ["legacy-azure-vm", "namespaced-azure-vm"]
LB = ("public-ip", "load-balancer", "lb-backend-pool", "lb-probe", "lb-rule")


def _https(xr: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(xr)
    out["spec"]["policies"] = sorted({*out["spec"].get("policies", []), "require-https"})
    return out


def _ip_config(out: Any) -> dict[str, Any]:
    fp = out.desired["vm-scale-set"]["spec"]["forProvider"]
    config: dict[str, Any] = fp["networkInterface"][0]["ipConfiguration"][0]
    return config


@pytest.mark.parametrize("key", KEYS)
async def test_a_new_deployment_runs_behind_its_gateway(key: str, repos: Path) -> None:
    xr = _https(xr_for(key))
    inp = P.function_input(P.scope_of(xr), repos, **HTTPS_INPUT)
    out, running, observed = await P.converge(xr, inp, rounds=12)
    status = running["status"]
    assert status["phase"] == "Running", status.get("message")
    host = f"{xr['metadata'].get('name')}"
    [endpoint] = status["endpoints"]
    assert endpoint["name"] == "app-gateway" and endpoint["url"].startswith("https://")
    assert endpoint["url"].endswith(".apps.example.com"), (host, endpoint)
    assert {"app-gateway", "gateway-certificate-read", *LB} <= set(out.desired)
    assert _ip_config(out)["applicationGatewayBackendAddressPoolIds"] == [
        observed["app-gateway"]["status"]["atProvider"]["backendAddressPool"][0]["id"]
    ]
    assert "nsg-allow-app-via-lb" not in out.desired
    costs = {c["resource"] for c in status["cost"]["breakdown"]}
    assert {"app-gateway", "app-gateway-capacity", "gateway-public-ip", "load-balancer"} <= costs


@pytest.mark.parametrize("key", KEYS)
async def test_a_running_deployment_that_gains_the_policy(key: str, repos: Path) -> None:
    xr = xr_for(key)
    inp = P.function_input(P.scope_of(xr), repos, **HTTPS_INPUT)
    first, running, observed = await P.converge(xr, inp)
    assert running["status"]["phase"] == "Running"
    assert "nsg-allow-app-via-lb" in observed
    lb_before = {n: copy.deepcopy(first.desired[n]) for n in LB}

    xr2 = _https(running)
    out = await P.reconcile(xr2, observed, inp)
    for _ in range(3):  # the new decision may take a reconcile or two (analysis)
        if out.status.get("phase") != "Analyzing":
            break
        out = await P.reconcile(xr2, observed, inp)
    assert not out.fatal, out.results
    assert out.status["decision"]["revision"] == 2, out.status["decision"]
    # Nothing that runs leaves while the gateway is composed beside it.
    assert set(observed) <= set(out.desired), set(observed) - set(out.desired)
    for n in LB:  # the load balancer is untouched
        assert out.desired[n]["spec"] == lb_before[n]["spec"], n
    assert {"gateway-identity", "gateway-subnet", "gateway-public-ip"} <= set(out.desired)
    # The provider creates what is desired, round by round: the gateway comes, the scale
    # set joins it, and each round's desired set keeps everything observed or retires it.
    done, current = out, P.with_status(xr2, out.status)
    for _ in range(12):
        now = P.observed_from(done.desired)
        again = await P.reconcile(current, now, inp)
        assert not again.fatal, again.results
        retired = set(again.status["decision"].get("retired") or [])
        assert set(now) - set(again.desired) <= retired, set(now) - set(again.desired)
        current = P.with_status(current, again.status)
        if again.desired == done.desired and again.status.get("phase") == "Running":
            done = again
            break
        done = again
    assert done.status["phase"] == "Running", done.status.get("message")
    assert "app-gateway" in done.desired
    assert "applicationGatewayBackendAddressPoolIds" in _ip_config(done)
    assert "nsg-allow-app-via-lb" not in done.desired  # retired once revision 2 was Ready
    for n in LB:
        assert done.desired[n]["spec"] == lb_before[n]["spec"], n
