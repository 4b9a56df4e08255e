"""GCP: spec.env, spec.envFrom and bound stores reach Cloud Run by reference only
(render/gcp/secrets.py): Secret Manager copies of the tenant's Secrets, the app's own
service account, a read grant limited to this deployment's secrets, native secret env
references; every manifest validates against provider-upjet-gcp v3's CRDs in both scopes."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest

from function.analysis.profile import AppProfile
from function.decide.rules import DecisionError, RulesEngine
from function.input import FunctionInput
from function.model import Strategy
from function.pricing.catalog import load_catalog
from function.pricing.estimate import UsageAssumptions
from function.render.common import UnsupportedTarget
from function.render.dispatch import render_plan
from function.render.gcp.secrets import (
    APP_SERVICE_ACCOUNT,
    READ_GRANT,
    gke_account,
    secret_prefix,
    service_account_id,
)
from function.render.names import EXTERNAL_NAME
from function.xr import AppSpec
from tests.render.test_render_gcp import _named, ctx
from tests.support.crdcheck import assert_all_valid

EMAIL = "scia-app-0123456789ab@acme-prod.iam.gserviceaccount.com"
SPEC: dict[str, Any] = {
    "env": [{"name": "MODE", "value": "prod"}],
    "envFrom": [
        {"secretRef": {"name": "app-secrets", "keys": [{"key": "api-key", "as": "API_KEY"}]}}
    ],
    "services": {"postgres": {"secretRef": {"name": "db", "key": "url"}}},
}
SA_SEEN = {APP_SERVICE_ACCOUNT: {"status": {"atProvider": {"email": EMAIL}}}}


def _env(desired: dict[str, Any]) -> list[dict[str, Any]]:
    tpl = desired["cloud-run-service"]["spec"]["forProvider"]["template"]
    env: list[dict[str, Any]] = tpl["containers"][0]["env"]
    return env


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
@pytest.mark.parametrize("seen", [False, True], ids=["first", "account-observed"])
def test_every_config_manifest_validates(namespaced: bool, seen: bool) -> None:
    c = ctx(Strategy.SERVERLESS, namespaced, spec=SPEC)
    plan = render_plan(c, SA_SEEN if seen else {})
    kinds = sorted({b["kind"] for b in plan.desired.values()})
    expected = {"Secret", "SecretVersion", "ServiceAccount"}
    if seen:
        expected |= {"ProjectIAMMember", "V2Service"}
    assert set(kinds) == expected
    assert_all_valid(_named(plan.desired))


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
def test_secrets_are_copied_by_reference_from_the_tenants_namespace(namespaced: bool) -> None:
    c = ctx(Strategy.SERVERLESS, namespaced, spec=SPEC, tenant="team-a")
    desired = render_plan(c, SA_SEEN).desired
    versions = [b for b in desired.values() if b["kind"] == "SecretVersion"]
    refs = sorted(
        (v["spec"]["forProvider"]["secretDataSecretRef"]["name"],
         v["spec"]["forProvider"]["secretDataSecretRef"]["key"]) for v in versions
    )  # fmt: skip
    assert refs == [("app-secrets", "api-key"), ("db", "url")]
    for v in versions:
        ref = v["spec"]["forProvider"]["secretDataSecretRef"]
        if namespaced:  # a namespaced version reads its own namespace: the tenant's
            assert "namespace" not in ref and v["metadata"]["namespace"] == "team-a"
        else:
            assert ref["namespace"] == "team-a"
        assert "secretData" not in v["spec"]["forProvider"]
    # Cloud Run reads the secrets itself: references, never values, in its manifest.
    env = {e["name"]: e for e in _env(desired)}
    assert env["MODE"] == {"name": "MODE", "value": "prod"}
    prefix = secret_prefix(c)
    for name in ("API_KEY", "DATABASE_URL"):
        ref = env[name]["valueSource"]["secretKeyRef"]
        assert ref == {"secret": f"{prefix}{name}", "version": "latest"}
        assert "value" not in env[name]
    ids = {
        b["metadata"]["annotations"][EXTERNAL_NAME]
        for b in desired.values()
        if b["kind"] == "Secret"
    }
    assert ids == {f"{prefix}API_KEY", f"{prefix}DATABASE_URL"}
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,255}", i) for i in ids)


def test_the_app_runs_as_its_own_account_reading_only_its_secrets() -> None:
    c = ctx(Strategy.SERVERLESS, False, spec=SPEC)
    desired = render_plan(c, SA_SEEN).desired
    account = desired[APP_SERVICE_ACCOUNT]
    assert re.fullmatch(
        r"[a-z][-a-z0-9]{4,28}[a-z0-9]", account["metadata"]["annotations"][EXTERNAL_NAME]
    )
    assert account["metadata"]["annotations"][EXTERNAL_NAME] == service_account_id(c)
    tpl = desired["cloud-run-service"]["spec"]["forProvider"]["template"]
    assert tpl["serviceAccount"] == EMAIL
    grant = desired[READ_GRANT]["spec"]["forProvider"]
    assert grant["role"] == "roles/secretmanager.secretAccessor"
    assert grant["member"] == f"serviceAccount:{EMAIL}"
    assert f'startsWith("{secret_prefix(c)}")' in grant["condition"]["expression"]
    # Another deployment's prefix differs: the condition does not reach its secrets.
    other = dataclasses.replace(c, identity=c.identity.model_copy(update={"uid": "u-2"}))
    assert secret_prefix(other) != secret_prefix(c)


def test_the_project_is_named_when_the_input_gives_it() -> None:
    c = ctx(Strategy.SERVERLESS, False, settings={"gcp": {"project": "acme-prod"}}, spec=SPEC)
    grant = render_plan(c, SA_SEEN).desired[READ_GRANT]["spec"]["forProvider"]
    assert grant["project"] == "acme-prod"


def test_the_service_waits_for_its_account_and_an_existing_one_is_kept() -> None:
    c = ctx(Strategy.SERVERLESS, False, spec=SPEC)
    first = render_plan(c, {})
    assert "cloud-run-service" not in first.desired and READ_GRANT not in first.desired
    assert any("app-service-account's email" in n for n in first.notes)
    # A service that already runs (configuration added later) is never left out.
    running = {
        "cloud-run-service": {
            "spec": {"forProvider": {"location": "europe-west1", "template": {"containers": []}}}
        }
    }
    kept = render_plan(ctx(Strategy.SERVERLESS, False, spec=SPEC), running).desired
    assert kept["cloud-run-service"]["spec"]["forProvider"]["template"] == {"containers": []}


def test_a_new_secret_version_is_a_new_revision() -> None:
    c = ctx(Strategy.SERVERLESS, False, spec=SPEC)
    desired = render_plan(c, SA_SEEN).desired
    version = next(n for n, b in desired.items() if b["kind"] == "SecretVersion")
    seen = SA_SEEN | {version: {"status": {"atProvider": {"version": "3"}}}}
    again = render_plan(ctx(Strategy.SERVERLESS, False, spec=SPEC), seen).desired
    refs = [e["valueSource"]["secretKeyRef"]["version"] for e in _env(again) if "valueSource" in e]
    assert sorted(refs) == ["3", "latest"]


def test_no_configuration_still_runs_as_its_own_account_with_no_role() -> None:
    # Cloud Run never runs as the project's default compute account: the app's own one is
    # composed (and awaited) with nothing to read; it gets no grant.
    first = render_plan(ctx(Strategy.SERVERLESS, False), {}).desired
    assert set(first) == {APP_SERVICE_ACCOUNT}
    desired = render_plan(ctx(Strategy.SERVERLESS, False), SA_SEEN).desired
    assert set(desired) == {APP_SERVICE_ACCOUNT, "cloud-run-service"}
    template = desired["cloud-run-service"]["spec"]["forProvider"]["template"]
    assert template["serviceAccount"] == EMAIL
    assert "env" not in template["containers"][0]


def test_env_only_needs_no_grant() -> None:
    c = ctx(Strategy.SERVERLESS, True, spec={"env": SPEC["env"]})
    desired = render_plan(c, SA_SEEN).desired
    assert set(desired) == {APP_SERVICE_ACCOUNT, "cloud-run-service"}
    assert _env(desired) == [{"name": "MODE", "value": "prod"}]
    assert "prod" not in json.dumps({k: v for k, v in desired.items() if k != "cloud-run-service"})


@pytest.mark.parametrize("field", ["env", "envFrom", "services"])
def test_gke_without_the_pool_refuses_configuration_naming_the_field(field: str) -> None:
    with pytest.raises(UnsupportedTarget, match=rf"spec\.{field}: on GKE .*gcp\.projectNumber"):
        render_plan(ctx(Strategy.KUBERNETES, False, spec={field: SPEC[field]}), {})
    only_project = {"gcp": {"project": "acme-prod"}}
    with pytest.raises(UnsupportedTarget, match=rf"spec\.{field}: on GKE"):
        render_plan(
            ctx(Strategy.KUBERNETES, False, settings=only_project, spec={field: SPEC[field]}), {}
        )


GKE_INPUT = {"gcp": {"project": "acme-prod", "projectNumber": "123456789012"}}
GKE_READY: dict[str, Any] = {
    "gke-cluster": {
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "atProvider": {"endpoint": "34.1.2.3"},
        }
    },
    # The nodes' own account (render/gcp/nodes.py): the node pool names its email.
    "node-service-account": {
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "atProvider": {"email": "scia-node-0123456789ab@acme-prod.iam.gserviceaccount.com"},
        }
    },
}


def _gke_deployment(desired: dict[str, Any]) -> dict[str, Any]:
    dep = next(b for n, b in desired.items() if n.startswith("k8s-") and n.endswith("deployment"))
    manifest: dict[str, Any] = dep["spec"]["forProvider"]["manifest"]
    return manifest


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
def test_gke_pods_read_secret_manager_with_workload_identity(namespaced: bool) -> None:
    c = ctx(Strategy.KUBERNETES, namespaced, settings=GKE_INPUT, spec=SPEC)
    plan = render_plan(c, GKE_READY)
    assert_all_valid(_named(plan.desired))
    desired = plan.desired
    # No Google service account for the app, no Kubernetes Secret: the grant goes to the
    # principal of the app's Kubernetes ServiceAccount, limited to this deployment's secrets.
    assert APP_SERVICE_ACCOUNT not in desired
    manifests = [
        b["spec"]["forProvider"]["manifest"] for b in desired.values() if b["kind"] == "Object"
    ]
    assert not [m for m in manifests if m["kind"] == "Secret"]
    account = gke_account(c)
    assert re.fullmatch(r"scia-app-[0-9a-f]{10}", account)
    dep = _gke_deployment(desired)
    ns = dep["metadata"]["namespace"]
    grant = desired[READ_GRANT]["spec"]["forProvider"]
    assert grant["member"] == (
        "principal://iam.googleapis.com/projects/123456789012/locations/global/"
        f"workloadIdentityPools/acme-prod.svc.id.goog/subject/ns/{ns}/sa/{account}"
    )
    assert grant["role"] == "roles/secretmanager.secretAccessor"
    assert f'startsWith("{secret_prefix(c)}")' in grant["condition"]["expression"]
    sa = desired["app-account"]["spec"]["forProvider"]["manifest"]
    assert (sa["metadata"]["name"], sa["metadata"]["namespace"]) == (account, ns)
    pod = dep["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    launch = json.loads(env["SCIA_LAUNCH_CONFIG"])
    prefix = secret_prefix(c)
    assert launch["project"] == "acme-prod"
    assert launch["sources"][1:] == [
        {"from": "gcp-secret", "name": "API_KEY", "id": f"{prefix}API_KEY", "version": "latest"},
        {"from": "gcp-secret", "name": "DATABASE_URL", "id": f"{prefix}DATABASE_URL",
         "version": "latest"},
    ]  # fmt: skip
    # The cluster serves the GKE metadata server (the pods' federated tokens).
    node = desired["node-pool"]["spec"]["forProvider"]["nodeConfig"]
    assert node["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    # Another deployment's account (same project's pool) is another principal.
    other = dataclasses.replace(c, identity=c.identity.model_copy(update={"uid": "u-2"}))
    assert gke_account(other) != account


def test_gke_a_new_secret_version_rolls_the_deployment_out() -> None:
    c = ctx(Strategy.KUBERNETES, False, settings=GKE_INPUT, spec=SPEC)
    desired = render_plan(c, GKE_READY).desired
    version = next(n for n, b in desired.items() if b["kind"] == "SecretVersion")
    seen = GKE_READY | {version: {"status": {"atProvider": {"version": "4"}}}}
    again = render_plan(ctx(Strategy.KUBERNETES, False, settings=GKE_INPUT, spec=SPEC), seen)

    def launch(d: dict[str, Any]) -> dict[str, Any]:
        pod = _gke_deployment(d)["spec"]["template"]["spec"]
        env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
        return dict(json.loads(env["SCIA_LAUNCH_CONFIG"]))

    assert launch(desired)["version"] != launch(again.desired)["version"]
    assert "4" in {s.get("version") for s in launch(again.desired)["sources"]}


def _template(desired: dict[str, Any]) -> dict[str, Any]:
    name = next(n for n in desired if n.startswith("instance-template"))
    fp: dict[str, Any] = desired[name]["spec"]["forProvider"]
    return fp


def _launch_config(script: str) -> dict[str, Any]:
    line = script.split("<<'SCIA_LAUNCH_CONFIG_EOF'\n", 1)[1].split("\n", 1)[0]
    found: dict[str, Any] = json.loads(line)
    return found


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
def test_vm_instances_run_the_launcher_as_the_apps_account(namespaced: bool) -> None:
    c = ctx(Strategy.VM, namespaced, settings={"gcp": {"project": "acme-prod"}}, spec=SPEC)
    plan = render_plan(c, SA_SEEN)
    assert_all_valid(_named(plan.desired))
    tpl = _template(plan.desired)
    assert tpl["serviceAccount"] == {
        "email": EMAIL,
        "scopes": ["https://www.googleapis.com/auth/cloud-platform"],
    }
    script = tpl["metadataStartupScript"]
    config = _launch_config(script)
    prefix = secret_prefix(c)
    assert config["project"] == "acme-prod"
    assert config["sources"] == [
        {"from": "values", "values": {"MODE": "prod"}},
        {"from": "gcp-secret", "name": "API_KEY", "id": f"{prefix}API_KEY", "version": "latest"},
        {
            "from": "gcp-secret",
            "name": "DATABASE_URL",
            "id": f"{prefix}DATABASE_URL",
            "version": "latest",
        },
    ]
    assert "scia-launch /etc/scia/launch.json -- " in script
    assert READ_GRANT in plan.desired


def test_a_vm_waits_for_its_account_and_running_instances_keep_their_template() -> None:
    fresh = render_plan(ctx(Strategy.VM, False, spec=SPEC), {})
    assert not [n for n in fresh.desired if n.startswith("instance-")]
    assert "network" in fresh.desired and APP_SERVICE_ACCOUNT in fresh.desired
    plain = render_plan(ctx(Strategy.VM, False), {}).desired
    running = {n: b for n, b in plain.items() if n.startswith("instance-template")}
    kept = render_plan(ctx(Strategy.VM, False, spec=SPEC), running).desired
    assert _template(kept) == _template(plain)  # unchanged until the account is known
    # ... and the account (with the secrets' copies) is composed meanwhile, or never would be
    assert APP_SERVICE_ACCOUNT in kept
    assert {b["kind"] for b in kept.values()} >= {"Secret", "SecretVersion", "ServiceAccount"}


def test_a_new_secret_version_is_a_new_instance_template() -> None:
    desired = render_plan(ctx(Strategy.VM, False, spec=SPEC), SA_SEEN).desired
    version = next(n for n, b in desired.items() if b["kind"] == "SecretVersion")
    seen = SA_SEEN | {version: {"status": {"atProvider": {"version": "2"}}}}
    again = render_plan(ctx(Strategy.VM, False, spec=SPEC), seen).desired
    before = _launch_config(_template(desired)["metadataStartupScript"])
    after = _launch_config(_template(again)["metadataStartupScript"])
    assert before["version"] != after["version"]


def _gcp_spec(**extra: Any) -> AppSpec:
    return AppSpec.model_validate(
        {
            "repository": {"url": "https://github.com/acme/app"},
            "cloudProvider": "gcp",
            "image": "us-central1-docker.pkg.dev/acme-prod/apps/api:1",
            **SPEC,
            **extra,
        }
    )


def test_the_engine_chooses_gke_for_configuration_only_with_the_pool() -> None:
    settings = FunctionInput.model_validate(GKE_INPUT).for_cloud("gcp")
    rules = RulesEngine(settings, load_catalog(), UsageAssumptions())
    app = AppProfile.model_validate(
        {"name": "app", "url": "https://github.com/acme/app", "ref": "main",
         "commit": "a" * 40, "language": "python", "framework": "flask", "ports": [5000],
         "start_command": "gunicorn app:app --bind 0.0.0.0:5000", "confidence": 0.9}
    )  # fmt: skip
    got = rules.decide(app, _gcp_spec(strategy="kubernetes"))
    assert got.decision.strategy is Strategy.KUBERNETES


def test_the_engine_never_chooses_gke_for_configuration_without_the_pool() -> None:
    rules = RulesEngine(FunctionInput().for_cloud("gcp"), load_catalog(), UsageAssumptions())
    app = AppProfile.model_validate(
        {"name": "app", "url": "https://github.com/acme/app", "ref": "main",
         "commit": "a" * 40, "language": "python", "framework": "flask", "ports": [5000],
         "start_command": "gunicorn app:app --bind 0.0.0.0:5000", "confidence": 0.9}
    )  # fmt: skip
    out = rules.decide(app, _gcp_spec())
    assert out.decision.strategy is not Strategy.KUBERNETES
    assert rules.decide(app, _gcp_spec(strategy="vm")).decision.strategy is Strategy.VM
    with pytest.raises(DecisionError, match=r"spec\.strategy kubernetes: on gcp, spec\.env"):
        rules.decide(app, _gcp_spec(strategy="kubernetes"))


@pytest.mark.parametrize(
    ("cloud", "why"),
    [
        ("gcp", r"\(function input gcp\.dataStores\.compose\)"),
        ("azure", r"\(function input azure\.dataStores\.compose\)"),
    ],
)
def test_a_store_to_compose_is_refused_on_gcp_and_azure_naming_the_field(
    cloud: str, why: str
) -> None:
    """AWS's dataStores.compose does not reach other clouds: GCP has its own switch
    (gcp.dataStores, render/gcp/datastores.py), and so has Azure (azure.dataStores)."""
    settings = FunctionInput.model_validate({"dataStores": {"compose": True}}).for_cloud(cloud)
    rules = RulesEngine(settings, load_catalog(), UsageAssumptions())
    app = AppProfile.model_validate(
        {"name": "app", "url": "https://github.com/acme/app", "ref": "main",
         "commit": "a" * 40, "language": "python", "framework": "flask", "ports": [5000],
         "confidence": 0.9, "datastores": ["postgres"]}
    )  # fmt: skip
    spec = AppSpec.model_validate(
        {"repository": {"url": "https://github.com/acme/app"}, "cloudProvider": cloud,
         "services": {"postgres": {}}}
    )  # fmt: skip
    with pytest.raises(DecisionError, match=r"invalid spec\.services\.postgres: .*" + why):
        rules.decide(app, spec)


def test_the_decision_prices_the_secret_store() -> None:
    """The engine's estimate (status.cost, the budget check) includes Secret Manager: the
    spec's two secrets (an envFrom key and a bound store) as two active versions."""
    rules = RulesEngine(FunctionInput().for_cloud("gcp"), load_catalog(), UsageAssumptions())
    app = AppProfile.model_validate(
        {"name": "app", "url": "https://github.com/acme/app", "ref": "main",
         "commit": "a" * 40, "language": "python", "framework": "flask", "ports": [5000],
         "start_command": "gunicorn app:app --bind 0.0.0.0:5000", "confidence": 0.9}
    )  # fmt: skip
    got = rules.decide(app, _gcp_spec(strategy="vm"))
    items = {i.resource: i for i in got.cost.breakdown}
    assert items["secret-manager-versions"].quantity == 2
    assert all(
        "secret-manager-versions" in {i.resource for i in c.cost.breakdown}
        for c in got.alternatives
    )
