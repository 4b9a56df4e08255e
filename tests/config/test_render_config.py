"""spec.env / envFrom / services.*.secretRef render to references only, per strategy and scope,
validated against the provider CRDs; the instance or Lambda role reads exactly those."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from function.model import Strategy
from function.render.dispatch import IMAGE_NEEDS_LAUNCHER, render
from function.xr import AppSpec
from tests.render.test_render_aws import FULL_OBSERVED, ctx
from tests.support.crdcheck import assert_all_valid

ENV_VALUE = "plain-config-value-7d1"
CONFIG_SPEC: dict[str, Any] = {
    "repository": {"url": "https://github.com/acme/flask-app"},
    "region": "eu-west-1",
    "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1",
    "env": [{"name": "GREETING", "value": ENV_VALUE}],
    "envFrom": [
        {"secretRef": {"name": "app-secrets", "keys": [{"key": "api-key", "as": "API_KEY"}]}}
    ],
    "services": {"postgres": {"secretRef": {"name": "db", "key": "url"}}},
}


def configured(strategy: Strategy, namespaced: bool) -> Any:
    c = ctx(strategy, namespaced)
    spec = AppSpec.model_validate(CONFIG_SPEC)
    return c.__class__(**{**c.__dict__, "spec": spec})


def _dump(out: dict[str, Any]) -> str:
    return json.dumps(out, sort_keys=True)


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
@pytest.mark.parametrize("strategy", [Strategy.VM, Strategy.SERVERLESS])
def test_config_renders_references_only(strategy: Strategy, namespaced: bool) -> None:
    out = render(configured(strategy, namespaced), observed=FULL_OBSERVED)
    for name, body in out.items():
        assert_all_valid([{**body, "metadata": {**body["metadata"], "name": f"x-{name}"}}])
    versions = {n: b for n, b in out.items() if b["kind"] == "SecretVersion"}
    assert len(versions) == 2  # API_KEY and the postgres URL
    refs = sorted(
        (
            b["spec"]["forProvider"]["secretStringSecretRef"]["name"],
            b["spec"]["forProvider"]["secretStringSecretRef"]["key"],
        )
        for b in versions.values()
    )
    assert refs == [("app-secrets", "api-key"), ("db", "url")]
    for b in versions.values():
        ref = b["spec"]["forProvider"]["secretStringSecretRef"]
        # legacy: the tenant's own namespace, explicitly; namespaced: the MR's own.
        assert ref.get("namespace") == (None if namespaced else "team-a")
        assert "secretString" not in b["spec"]["forProvider"]
    param = out["config-env"]
    assert param["spec"]["forProvider"]["type"] == "String"
    assert json.loads(param["spec"]["forProvider"]["insecureValue"]) == {"GREETING": ENV_VALUE}
    # The configuration value is in the SSM parameter and nowhere else.
    rest = {n: b for n, b in out.items() if n != "config-env"}
    assert ENV_VALUE not in _dump(rest)


def _policy(out: dict[str, Any], name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(out[name]["spec"]["forProvider"]["policy"])
    return doc


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
def test_vm_launcher_and_instance_role(namespaced: bool) -> None:
    out = render(configured(Strategy.VM, namespaced), observed=FULL_OBSERVED)
    lt = out["launch-template"]["spec"]["forProvider"]
    assert lt["iamInstanceProfile"] == {
        "nameSelector": {
            "matchControllerRef": True,
            "matchLabels": {"scia.io/component": "instance-profile"},
        }
    }
    script = base64.b64decode(lt["userData"]).decode()
    assert "/usr/local/libexec/scia-launch /etc/scia/launch.json -- /bin/bash -lc" in script
    launch = json.loads(script.split("<<'SCIA_LAUNCH_CONFIG_EOF'\n", 1)[1].split("\n", 1)[0])
    assert launch["region"] == "eu-west-1" and launch["version"]
    names = {s.get("name") for s in launch["sources"]}
    assert names == {None, "API_KEY", "DATABASE_URL"}
    assert ENV_VALUE not in script
    doc = _policy(out, "instance-config-policy")
    actions = sorted(a for s in doc["Statement"] for a in s["Action"])
    assert actions == ["secretsmanager:GetSecretValue", "ssm:GetParameter"]
    resources = [r for s in doc["Statement"] for r in s["Resource"]]
    assert all(
        r.startswith(
            (
                "arn:aws:ssm:eu-west-1:*:parameter/scia/team-a/flask-app-",
                "arn:aws:secretsmanager:eu-west-1:*:secret:scia/team-a/flask-app-",
            )
        )
        for r in resources
    )
    assert len(resources) == 3 and "*" not in [r[-1] for r in resources]
    assert out["instance-role"]["kind"] == "Role"
    assert out["instance-config-policy"]["spec"]["forProvider"]["roleSelector"]["matchLabels"] == {
        "scia.io/component": "instance-role"
    }


def test_vm_without_config_is_unchanged() -> None:
    out = render(ctx(Strategy.VM, False), observed=FULL_OBSERVED)
    assert not {"instance-config-policy", "config-env"} & set(out)
    # The instances always have a role now: it writes the app's log group (render/aws/vm.py).
    policy = json.loads(out["instance-logs-policy"]["spec"]["forProvider"]["policy"])
    assert {a for s in policy["Statement"] for a in s["Action"]} == {
        "logs:CreateLogStream",
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
    }
    assert (
        "scia-launch"
        not in base64.b64decode(out["launch-template"]["spec"]["forProvider"]["userData"]).decode()
    )


def test_serverless_gets_pointers_and_a_read_policy() -> None:
    out = render(configured(Strategy.SERVERLESS, True), observed=FULL_OBSERVED)
    env = out["lambda-function"]["spec"]["forProvider"]["environment"]["variables"]
    launch = json.loads(env["SCIA_LAUNCH_CONFIG"])
    assert {s["from"] for s in launch["sources"]} == {"ssm-json", "secret"}
    assert ENV_VALUE not in json.dumps(env)
    assert _policy(out, "lambda-config-policy")["Statement"]


def test_a_new_secret_value_or_env_value_rolls_out() -> None:
    c = configured(Strategy.VM, False)
    first = render(c, observed=FULL_OBSERVED)
    version = next(n for n, b in first.items() if b["kind"] == "SecretVersion")
    seen = FULL_OBSERVED | {version: {"status": {"atProvider": {"versionId": "v-2"}}}}
    again = render(c, observed=seen)
    ud = lambda out: out["launch-template"]["spec"]["forProvider"]["userData"]  # noqa: E731
    assert ud(first) != ud(again)  # the provider wrote a new version: a new launch template
    assert ud(render(c, observed=seen)) == ud(again)  # and it is stable
    spec = AppSpec.model_validate({**CONFIG_SPEC, "env": [{"name": "GREETING", "value": "other"}]})
    changed = render(c.__class__(**{**c.__dict__, "spec": spec}), observed=seen)
    assert ud(changed) != ud(again)


def _objects(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        n: b["spec"]["forProvider"]["manifest"] for n, b in out.items() if b["kind"] == "Object"
    }


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
def test_kubernetes_pods_read_their_configuration_with_their_own_pod_identity(
    namespaced: bool,
) -> None:
    c = configured(Strategy.KUBERNETES, namespaced)
    out = render(c, observed=FULL_OBSERVED)
    assert IMAGE_NEEDS_LAUNCHER in c.notes  # spec.image: the team's image must run it
    for name, body in out.items():
        assert_all_valid([{**body, "metadata": {**body["metadata"], "name": f"x-{name}"}}])
    objects = _objects(out)
    # No Kubernetes Secret anywhere: the values travel by reference only.
    assert not [m for m in objects.values() if m["kind"] == "Secret"]
    assert ENV_VALUE not in _dump({n: b for n, b in out.items() if n != "config-env"})
    account = objects["app-account"]
    assert account["kind"] == "ServiceAccount" and account["metadata"]["name"] == "scia-app"
    assoc = out["app-pod-identity"]["spec"]["forProvider"]
    assert assoc["serviceAccount"] == "scia-app"
    assert assoc["namespace"] == account["metadata"]["namespace"]
    assert assoc["roleArnSelector"]["matchControllerRef"] is True
    trust = json.loads(out["app-role"]["spec"]["forProvider"]["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    policy = _policy(out, "app-config-policy")
    actions = sorted(a for s in policy["Statement"] for a in s["Action"])
    assert actions == ["secretsmanager:GetSecretValue", "ssm:GetParameter"]
    assert "addon-eks-pod-identity-agent" in out
    deployments = [m for m in objects.values() if m["kind"] == "Deployment"]
    assert deployments
    for dep in deployments:
        pod = dep["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == "scia-app"
        env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
        launch = json.loads(env["SCIA_LAUNCH_CONFIG"])
        assert {s["from"] for s in launch["sources"]} == {"ssm-json", "secret"}
        assert ENV_VALUE not in env["SCIA_LAUNCH_CONFIG"]


def test_kubernetes_without_config_has_no_app_identity() -> None:
    from tests.render.test_render_aws import ctx as plain

    out = render(plain(Strategy.KUBERNETES, False), observed=FULL_OBSERVED)
    assert not {"app-role", "app-config-policy", "app-pod-identity", "app-account"} & set(out)
    for dep in (m for m in _objects(out).values() if m["kind"] == "Deployment"):
        pod = dep["spec"]["template"]["spec"]
        assert "serviceAccountName" not in pod
        assert [e["name"] for e in pod["containers"][0]["env"]] == ["PORT"]


def test_kubernetes_a_new_value_rolls_the_deployment_out() -> None:
    c = configured(Strategy.KUBERNETES, False)
    first = render(c, observed=FULL_OBSERVED)
    version = next(n for n, b in first.items() if b["kind"] == "SecretVersion")
    seen = FULL_OBSERVED | {version: {"status": {"atProvider": {"versionId": "v-2"}}}}

    def template(out: dict[str, Any]) -> Any:
        dep = next(m for m in _objects(out).values() if m["kind"] == "Deployment")
        return dep["spec"]["template"]

    again = render(c, observed=seen)
    assert template(first) != template(again)  # a new pod template: a rolling update
    assert template(render(c, observed=seen)) == template(again)
    spec = AppSpec.model_validate({**CONFIG_SPEC, "env": [{"name": "GREETING", "value": "other"}]})
    changed = render(c.__class__(**{**c.__dict__, "spec": spec}), observed=seen)
    assert template(changed) != template(again)
