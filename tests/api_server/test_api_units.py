"""scia-api's parts that need no cluster: spec checks, error mapping, views, the schema."""

from __future__ import annotations

from typing import Any

import pytest

from function.api.app import spec_schema_from_xrd
from function.api.auth import bearer, check_name, check_namespace, token_of
from function.api.errors import ApiFailure, ErrorCode, from_kube
from function.api.kube import Cause, KubeError
from function.api.schema import build_schema
from function.api.spec import BudgetInput, DeploymentSpecInput, RepositoryInput, spec_dict, validate
from function.api.types import deployment_of
from tests.api_server.cluster import XRD


def test_spec_dict_keeps_only_what_was_set() -> None:
    spec = DeploymentSpecInput(
        repository=RepositoryInput(url="https://github.com/acme/app"),
        budget=BudgetInput(max_monthly_cost=50),
        cloud_provider_ref_name="aws-prod",
    )
    assert spec_dict(spec) == {
        "repository": {"url": "https://github.com/acme/app"},
        "budget": {"maxMonthlyCost": 50},
        "cloudProviderRef": {"name": "aws-prod"},
    }


def test_every_bad_field_is_named() -> None:
    with pytest.raises(ApiFailure) as e:
        validate(
            {
                "repository": {"url": "no url", "ref": "a..b"},
                "budget": {"maxMonthlyCost": 1e9, "enforcementMode": "strict"},
                "policies": ["make-it-fast"],
                "color": "blue",
            }
        )
    fields = {x.field: x.message for x in e.value.errors}
    assert set(fields) == {
        "spec.repository.url",
        "spec.repository.ref",
        "spec.budget.maxMonthlyCost",
        "spec.budget.enforcementMode",
        "spec.policies",
        "spec.color",
    }
    assert fields["spec.color"] == "unknown field"
    assert all(x.code is ErrorCode.INVALID for x in e.value.errors)
    with pytest.raises(ApiFailure) as missing:
        validate({"prompt": "x"})
    assert missing.value.errors[0].field == "spec.repository.url"


def test_api_server_refusals_keep_their_fields_and_codes() -> None:
    invalid = from_kube(
        KubeError(422, "invalid", [Cause("spec.region", "should match '^[a-z]{2}...'")])
    )
    assert [(x.field, x.code) for x in invalid.errors] == [("spec.region", ErrorCode.INVALID)]
    for status, code in ((401, "UNAUTHENTICATED"), (403, "FORBIDDEN"), (404, "NOT_FOUND"),
                         (409, "CONFLICT"), (0, "UNAVAILABLE"), (500, "FAILED")):  # fmt: skip
        failure = from_kube(KubeError(status, "m"))
        assert failure.errors[0].code.value == code
        assert failure.graphql().extensions == {
            "code": code,
            "errors": [{"field": None, "message": "m", "code": code}],
        }


def test_tokens_names_and_namespaces() -> None:
    assert bearer("Bearer abc.def") == "abc.def"
    assert bearer("bearer  x ") == "x"
    assert bearer("Basic abc") is None
    assert token_of({"connection_params": {"authorization": "Bearer ws-token"}}) == "ws-token"
    with pytest.raises(ApiFailure) as e:
        token_of({})
    assert e.value.errors[0].code is ErrorCode.UNAUTHENTICATED
    for bad in ("Team-A", "a/b", "../x", "", "-a"):
        with pytest.raises(ApiFailure):
            check_namespace(bad)
    with pytest.raises(ApiFailure):
        check_name("x" * 254)
    assert check_name("flask-app.v2") == "flask-app.v2"


STATUS: dict[str, Any] = {
    "phase": "Running",
    "strategy": "vm",
    "cost": {
        "estimatedMonthly": 61.1,
        "currency": "USD",
        "breakdown": [{"resource": "ec2", "monthly": 30.4}],
    },
    "decision": {
        "revision": 3,
        "rollbackOf": 1,
        "decidedBy": "rollback",
        "parameters": {"strategy": "serverless", "reason": "r", "confidence": 0.7},
        "similar": [{"deployment": "team-a/x", "strategy": "vm", "similarity": 0.9}],
    },
    "history": [{"revision": 1, "cost": 18.4}, {"revision": 3, "rollbackOf": 1}],
    "conditions": [{"type": "Ready", "status": "True"}],
}


def test_a_deployment_reads_like_scia_explain() -> None:
    d = deployment_of(
        {
            "kind": "AppDeployment",
            "metadata": {
                "name": "shop",
                "namespace": "team-a",
                "annotations": {"scia.io/feedback": "+1"},
            },
            "spec": {"repository": {"url": "u"}, "rollbackToRevision": 1, "crossplane": {}},
            "status": STATUS,
        }
    )
    assert d.strategy == "serverless"  # the pin, as `scia explain` reads it
    assert d.decision is not None and d.decision.rollback_of == 1
    assert [h.current for h in d.history] == [False, True]
    assert d.cost.breakdown[0].monthly == 30.4
    assert d.similar_used[0].deployment == "team-a/x"
    assert d.feedback.value == "+1"
    assert d.rollback_to_revision == 1
    assert "crossplane" not in d.spec  # type: ignore[operator]
    empty = deployment_of({"metadata": {"name": "n", "namespace": "ns"}, "status": "bad"})
    assert empty.phase is None and empty.history == [] and empty.decision is None


def test_the_schema_and_the_form_schema() -> None:
    sdl = build_schema().as_str()
    for name in (
        "deployment(",
        "deployments(",
        "similarDeployments(",
        "costEstimate(",
        "createDeployment(",
        "updateDeployment(",
        "deleteDeployment(",
        "provideDeploymentFeedback(",
        "rollbackDeployment(",
        "redecideDeployment(",
        "deploymentUpdated(",
    ):
        assert name in sdl
    spec = spec_schema_from_xrd(XRD)
    assert spec["required"] == ["repository"]
    assert spec["properties"]["strategy"]["enum"] == ["auto", "vm", "kubernetes", "serverless"]


def test_own_identity_from_a_token_or_a_certificate_kubeconfig(tmp_path: Any) -> None:
    from function.api.kube import ServerConfig

    def kubeconfig(user: dict[str, str]) -> str:
        path = tmp_path / f"kc-{len(user)}-{next(iter(user))}"
        path.write_text(
            "apiVersion: v1\nkind: Config\n"
            "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:6443', "
            "insecure-skip-tls-verify: true}}]\n"
            f"users: [{{name: u, user: {user}}}]\n"
            "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
        )
        return str(path)

    token = ServerConfig.load(kubeconfig({"token": "abc"}))
    assert (token.host, token.token, token.client_cert, token.verify) == (
        "https://127.0.0.1:6443",
        "abc",
        None,
        False,
    )
    (tmp_path / "c.crt").write_text("x")
    (tmp_path / "c.key").write_text("x")
    cert = ServerConfig.load(
        kubeconfig(
            {
                "client-certificate": str(tmp_path / "c.crt"),
                "client-key": str(tmp_path / "c.key"),
            }
        )
    )
    assert cert.token is None and cert.client_cert is not None
