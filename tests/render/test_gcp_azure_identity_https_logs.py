"""GCP and Azure guarantees AWS has: Cloud Run always runs as the app's own service
account (never the project's default compute account); Cloud Run and Container Apps say
where the app's logs are (status.logs.application); a GCP vm under require-https reports
the certificate's host, says which DNS record to create, and is not Running until Google
has issued the certificate. Both XRD scopes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from function.model import Strategy
from function.render.dispatch import render
from function.render.gcp.secrets import APP_SERVICE_ACCOUNT, READ_GRANT
from function.render.names import EXTERNAL_NAME
from function.status import Phase, endpoints
from function.workload import workload_phase, workload_status
from tests.render import test_render_azure as azure
from tests.render import test_render_gcp as gcp
from tests.support.crdcheck import assert_all_valid

SCOPES = pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
EMAIL = "scia-app-0123456789ab@acme-prod.iam.gserviceaccount.com"
WITH_EMAIL = {APP_SERVICE_ACCOUNT: {"status": {"atProvider": {"email": EMAIL}}}}


def _named(out: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**b, "metadata": {"name": f"x-{n}"} | b["metadata"]} for n, b in out.items()]


@SCOPES
@pytest.mark.parametrize(
    "config",
    [{}, {"env": [{"name": "MODE", "value": "prod"}]}],
    ids=["no-configuration", "plain-env-only"],
)
def test_cloud_run_always_runs_as_the_apps_own_service_account(
    namespaced: bool, config: dict[str, Any]
) -> None:
    c = gcp.ctx(Strategy.SERVERLESS, namespaced, spec=config)
    first = render(c, {k: v for k, v in gcp.FULL_OBSERVED.items() if k != APP_SERVICE_ACCOUNT})
    # Until the account's email is observed the service waits (never the default account).
    assert set(first) == {APP_SERVICE_ACCOUNT}
    assert any("own service account" in n for n in c.notes)
    c = gcp.ctx(Strategy.SERVERLESS, namespaced, spec=config)
    out = render(c, gcp.FULL_OBSERVED | WITH_EMAIL)
    run = out["cloud-run-service"]["spec"]["forProvider"]
    assert run["template"]["serviceAccount"] == EMAIL
    assert READ_GRANT not in out  # nothing to read: the account has no role
    assert_all_valid(_named(out))


@SCOPES
@pytest.mark.parametrize("policies", [[], ["enable-monitoring"]], ids=["plain", "monitoring"])
def test_an_existing_cloud_run_service_keeps_everything_while_the_account_is_created(
    namespaced: bool, policies: list[str]
) -> None:
    """A service composed before it had an account of its own (no email observed yet):
    nothing it had is left out (that would delete it, and the reconcile refuses a desired
    set that shrinks without a new revision), and the account is composed beside it."""
    spec = {"policies": policies}
    before = render(gcp.ctx(Strategy.SERVERLESS, namespaced, spec=spec), WITH_EMAIL)
    running = copy.deepcopy(before["cloud-run-service"])
    del running["spec"]["forProvider"]["template"]["serviceAccount"]  # as made before
    observed = {n: b for n, b in before.items() if n != APP_SERVICE_ACCOUNT}
    observed["cloud-run-service"] = running
    kept = render(gcp.ctx(Strategy.SERVERLESS, namespaced, spec=spec), observed)
    assert set(kept) == set(observed) | {APP_SERVICE_ACCOUNT}
    assert kept["cloud-run-service"]["spec"]["forProvider"] == running["spec"]["forProvider"]
    assert ("alert-5xx" in kept) == bool(policies)


@SCOPES
def test_cloud_run_and_container_apps_say_where_the_apps_logs_are(namespaced: bool) -> None:
    c = gcp.ctx(Strategy.SERVERLESS, namespaced)
    out = render(c, gcp.FULL_OBSERVED | WITH_EMAIL)
    name = out["cloud-run-service"]["metadata"]["annotations"][EXTERNAL_NAME]
    logs = workload_status(c.report)["logs"]["application"]
    assert logs == (
        f'Cloud Logging: resource.type="cloud_run_revision" resource.labels.service_name="{name}"'
    )
    a = azure.azure_ctx(Strategy.SERVERLESS, namespaced)
    out = render(a, azure.FULL_OBSERVED)
    app = out["container-app"]["metadata"]["annotations"][EXTERNAL_NAME]
    workspace = out["log-workspace"]["metadata"]["annotations"][EXTERNAL_NAME]
    assert out["container-app-environment"]["spec"]["forProvider"]["logsDestination"] == (
        "log-analytics"
    )
    assert workload_status(a.report)["logs"]["application"] == (
        f"Log Analytics workspace {workspace}: ContainerAppConsoleLogs_CL "
        f'| where ContainerAppName_s == "{app}"'
    )


ADDRESS = "34.120.7.7"


def _https_observed(issued: bool) -> dict[str, dict[str, Any]]:
    cert = dict(gcp.FULL_OBSERVED["certificate"]["status"]["atProvider"])
    if issued:
        cert["expireTime"] = "2027-02-28T10:00:00.000-08:00"
    ready = {"conditions": [{"type": "Ready", "status": "True"}]}
    return gcp.FULL_OBSERVED | {
        "certificate": {"status": {"atProvider": cert} | ready},
        "lb-address": {"status": {"atProvider": {"address": ADDRESS}} | ready},
        "forwarding-rule-https": {"status": ready},
        "forwarding-rule-http": {"status": ready},
    }


@SCOPES
def test_gcp_vm_https_reports_the_certificates_host_and_waits_for_issuance(
    namespaced: bool,
) -> None:
    c = gcp.ctx(Strategy.VM, namespaced, gcp.HTTPS_INPUT, {"policies": ["require-https"]})
    host = "flask-app.team-a.apps.example.com"
    out = render(c, _https_observed(issued=False))
    assert out["certificate"]["spec"]["forProvider"]["managed"]["domains"] == [host]
    https = c.report["https"]
    assert https == {
        "host": host,
        "address": ADDRESS,
        "issued": False,
        "message": https["message"],
    }
    # The operator is told which record to create, in a result (a note) and the phase.
    said = [n for n in c.notes if "A record" in n]
    assert said and f"DNS A record {host} -> {ADDRESS}" in said[0]
    phase, message = workload_phase(Phase.RUNNING, "all 20 resources are ready", c.report)
    assert phase is Phase.PROVISIONING and f"{host} -> {ADDRESS}" in message
    # The endpoint is the certificate's host, never the bare address no certificate names.
    urls = [e["url"] for e in endpoints(_https_observed(False), https["host"])]
    assert urls == [f"https://{host}"]
    assert "https" not in workload_status(c.report)  # not a status field (XRDs prune it)

    issued = gcp.ctx(Strategy.VM, namespaced, gcp.HTTPS_INPUT, {"policies": ["require-https"]})
    render(issued, _https_observed(issued=True))
    assert issued.report["https"]["issued"] is True
    assert not [n for n in issued.notes if "A record" in n]
    assert workload_phase(Phase.RUNNING, "ok", issued.report) == (Phase.RUNNING, "ok")


def test_gcp_vm_without_https_reports_the_address() -> None:
    c = gcp.ctx(Strategy.VM, False)
    render(c, gcp.FULL_OBSERVED)
    assert "https" not in c.report
    observed = _https_observed(False)
    del observed["forwarding-rule-https"]
    assert [e["url"] for e in endpoints(observed)] == [f"http://{ADDRESS}"]


def test_a_failed_deployment_stays_failed_whatever_the_certificate() -> None:
    c = gcp.ctx(Strategy.VM, False, gcp.HTTPS_INPUT, {"policies": ["require-https"]})
    render(c, _https_observed(issued=False))
    assert workload_phase(Phase.FAILED, "x: broken", c.report) == (Phase.FAILED, "x: broken")
