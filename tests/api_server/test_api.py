"""scia-api against a real kube-apiserver: RBAC decides, tenants are isolated, errors are typed.

Every call goes over HTTP/WebSocket to the scia-api process with a ServiceAccount token
from the TokenRequest API; objects are checked with the admin client.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api_server.client import DEPLOYMENT_FIELDS, ERRORS, codes, gql, subscribe
from tests.api_server.cluster import Cluster, Tenant

pytestmark = pytest.mark.integration

CREATE = f"""
mutation($ns: String!, $name: String!, $spec: DeploymentSpecInput!) {{
  createDeployment(namespace: $ns, name: $name, spec: $spec) {{
    deployment {{ {DEPLOYMENT_FIELDS} }} {ERRORS}
  }}
}}"""
GET = f"""query($ns: String!, $name: String!) {{
  deployment(namespace: $ns, name: $name) {{ {DEPLOYMENT_FIELDS} }} }}"""
LIST = """query($ns: String!) { deployments(namespace: $ns) { name phase } }"""
FEEDBACK = f"""
mutation($ns: String!, $name: String!, $value: String!, $comment: String) {{
  provideDeploymentFeedback(namespace: $ns, name: $name, value: $value, comment: $comment) {{
    deployment {{ feedback {{ value comment }} }} {ERRORS}
  }}
}}"""
ROLLBACK = f"""
mutation($ns: String!, $name: String!, $revision: Int) {{
  rollbackDeployment(namespace: $ns, name: $name, revision: $revision) {{
    deployment {{ rollbackToRevision }} {ERRORS}
  }}
}}"""
REDECIDE = f"""mutation($ns: String!, $name: String!) {{
  redecideDeployment(namespace: $ns, name: $name) {{ deployment {{ name }} {ERRORS}}} }}"""
UPDATE = f"""
mutation($ns: String!, $name: String!, $spec: DeploymentSpecInput!) {{
  updateDeployment(namespace: $ns, name: $name, spec: $spec) {{
    deployment {{ spec }} {ERRORS}
  }}
}}"""
DELETE = f"""mutation($ns: String!, $name: String!) {{
  deleteDeployment(namespace: $ns, name: $name) {{ deleted {ERRORS} }} }}"""
SIMILAR = """query($ns: String!, $text: String, $name: String) {
  similarDeployments(namespace: $ns, text: $text, name: $name, limit: 10) {
    namespace deploymentName strategy outcome scope similarity } }"""
ESTIMATE = f"""query($ns: String!, $spec: DeploymentSpecInput!) {{
  costEstimate(namespace: $ns, spec: $spec) {{
    estimate {{ strategy reason monthly currency framework
               breakdown {{ resource monthly }} alternatives {{ strategy }} }}
    {ERRORS} }} }}"""
SUBSCRIBE = """subscription($ns: String!, $name: String) {
  deploymentUpdated(namespace: $ns, name: $name) { type deployment { name phase strategy } } }"""

SPEC = {
    "repository": {"url": "https://github.com/acme/flask-app", "ref": "main"},
    "prompt": "a small internal API",
    "region": "eu-west-1",
    "budget": {"maxMonthlyCost": 200},
}

HISTORY_STATUS: dict[str, Any] = {
    "phase": "Running",
    "message": "every composed resource is ready",
    "strategy": "vm",
    "reason": "flask app behind an ALB",
    "confidence": 0.8,
    "cost": {
        "estimatedMonthly": 42.5,
        "currency": "USD",
        "breakdown": [{"resource": "ec2", "description": "1x t3.small", "monthly": 15.2}],
    },
    "endpoints": [{"name": "http", "type": "LoadBalancer", "url": "http://lb.example"}],
    "decision": {"revision": 2, "decidedBy": "knowledge-base", "parameters": {"strategy": "vm"}},
    "history": [
        {"revision": 1, "strategy": "serverless", "decidedBy": "knowledge-base", "cost": 12.0},
        {"revision": 2, "strategy": "vm", "decidedBy": "knowledge-base", "cost": 42.5},
    ],
}


def create(api: str, token: str, ns: str, name: str, spec: dict[str, Any] = SPEC) -> Any:
    return gql(api, token, CREATE, ns=ns, name=name, spec=spec)["data"]["createDeployment"]


def test_deployer_creates_and_the_viewer_reads_but_cannot_mutate(
    api: str, cluster: Cluster, team_a: Tenant
) -> None:
    got = create(api, team_a.deployer_token, "team-a", "shop")
    assert got["errors"] == []
    assert got["deployment"]["name"] == "shop"
    assert cluster.get("team-a", "shop")["spec"]["repository"]["url"] == SPEC["repository"]["url"]

    seen = gql(api, team_a.viewer_token, GET, ns="team-a", name="shop")
    assert seen["data"]["deployment"]["spec"]["budget"]["maxMonthlyCost"] == 200
    listed = gql(api, team_a.viewer_token, LIST, ns="team-a")["data"]["deployments"]
    assert "shop" in [d["name"] for d in listed]

    v = team_a.viewer_token
    refused = [
        create(api, v, "team-a", "viewer-made"),
        gql(api, v, FEEDBACK, ns="team-a", name="shop", value="+1")["data"][
            "provideDeploymentFeedback"
        ],
        gql(api, v, ROLLBACK, ns="team-a", name="shop", revision=None)["data"][
            "rollbackDeployment"
        ],
        gql(api, v, REDECIDE, ns="team-a", name="shop")["data"]["redecideDeployment"],
        gql(api, v, UPDATE, ns="team-a", name="shop", spec={"prompt": "x"})["data"][
            "updateDeployment"
        ],
        gql(api, v, DELETE, ns="team-a", name="shop")["data"]["deleteDeployment"],
    ]
    for answer in refused:
        assert [e["code"] for e in answer["errors"]] == ["FORBIDDEN"], answer
        assert "system:serviceaccount:team-a:viewer" in answer["errors"][0]["message"]
    after = cluster.get("team-a", "shop")
    assert "scia.io/feedback" not in (after["metadata"].get("annotations") or {})
    assert after["spec"]["prompt"] == SPEC["prompt"]


def test_no_tenant_sees_another_tenants_deployments(
    api: str, team_a: Tenant, team_b: Tenant
) -> None:
    create(api, team_a.deployer_token, "team-a", "private-a")
    for token in (team_b.deployer_token, team_b.viewer_token):
        assert codes(gql(api, token, GET, ns="team-a", name="private-a")) == ["FORBIDDEN"]
        assert codes(gql(api, token, LIST, ns="team-a")) == ["FORBIDDEN"]
    made = create(api, team_b.deployer_token, "team-a", "intruder")
    assert [e["code"] for e in made["errors"]] == ["FORBIDDEN"]
    with subscribe(api, team_b.deployer_token, SUBSCRIBE, ns="team-a") as sub:
        message = sub.next()
    assert message["type"] == "next"
    assert message["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_unauthenticated_and_bad_tokens_are_refused(api: str) -> None:
    assert codes(gql(api, None, LIST, ns="team-a")) == ["UNAUTHENTICATED"]
    assert codes(gql(api, "not-a-token", LIST, ns="team-a")) == ["UNAUTHENTICATED"]
    assert codes(gql(api, "not-a-token", SIMILAR, ns="team-a", text="flask")) == ["UNAUTHENTICATED"]


def test_bad_input_gives_field_errors_never_a_traceback(api: str, team_a: Tenant) -> None:
    bad = {
        "repository": {"url": "ftp://nowhere"},
        "budget": {"maxMonthlyCost": 5},
        "strategy": "mainframe",
        "region": "Mars",
    }
    got = create(api, team_a.deployer_token, "team-a", "bad-one", spec=bad)
    fields = {e["field"]: e for e in got["errors"]}
    assert set(fields) >= {
        "spec.repository.url",
        "spec.budget.maxMonthlyCost",
        "spec.strategy",
        "spec.region",
    }, got
    assert all(e["code"] == "INVALID" for e in got["errors"])
    assert "greater than or equal to 10" in fields["spec.budget.maxMonthlyCost"]["message"]
    assert "Traceback" not in str(got)

    bad_name = create(api, team_a.deployer_token, "team-a", "Not_A_Name")
    assert bad_name["errors"][0]["field"] == "name"
    missing = create(api, team_a.deployer_token, "team-a", "no-repo", spec={"prompt": "x"})
    assert missing["errors"][0]["field"] == "spec.repository.url"
    twice = create(api, team_a.deployer_token, "team-a", "shop-twice")
    assert twice["errors"] == []
    again = create(api, team_a.deployer_token, "team-a", "shop-twice")
    assert [e["code"] for e in again["errors"]] == ["CONFLICT"]
    graphql_error = gql(api, team_a.deployer_token, "query { deployments { name } }")
    assert graphql_error["errors"] and "Traceback" not in str(graphql_error)


def test_feedback_rollback_redecide_update_delete(
    api: str, cluster: Cluster, team_a: Tenant
) -> None:
    token = team_a.deployer_token
    create(api, token, "team-a", "life")
    cluster.set_status("team-a", "life", HISTORY_STATUS)

    seen = gql(api, token, GET, ns="team-a", name="life")["data"]["deployment"]
    assert seen["phase"] == "Running"
    assert seen["cost"]["breakdown"][0]["resource"] == "ec2"
    assert [h["current"] for h in seen["history"]] == [False, True]
    assert seen["endpoints"][0]["url"] == "http://lb.example"
    filtered = """query($ns: String!, $f: DeploymentFilter) {
      deployments(namespace: $ns, filter: $f) { name phase strategy } }"""
    running = gql(api, token, filtered, ns="team-a", f={"phase": "Running", "strategy": "vm"})
    assert [d["name"] for d in running["data"]["deployments"]] == ["life"]
    failed = gql(api, token, filtered, ns="team-a", f={"phase": "Failed"})
    assert failed["data"]["deployments"] == []

    fb = gql(api, token, FEEDBACK, ns="team-a", name="life", value="-1", comment="too slow")
    assert fb["data"]["provideDeploymentFeedback"]["deployment"]["feedback"] == {
        "value": "-1",
        "comment": "too slow",
    }
    annotations = cluster.get("team-a", "life")["metadata"]["annotations"]
    assert annotations["scia.io/feedback"] == "-1"
    assert annotations["scia.io/feedback-comment"] == "too slow"
    bad_vote = gql(api, token, FEEDBACK, ns="team-a", name="life", value="meh")
    assert bad_vote["data"]["provideDeploymentFeedback"]["errors"][0]["field"] == "value"

    rb = gql(api, token, ROLLBACK, ns="team-a", name="life", revision=1)
    assert rb["data"]["rollbackDeployment"]["deployment"]["rollbackToRevision"] == 1
    assert cluster.get("team-a", "life")["spec"]["rollbackToRevision"] == 1
    for revision, words in ((7, "not in the history"), (2, "already pinned")):
        wrong = gql(api, token, ROLLBACK, ns="team-a", name="life", revision=revision)
        err = wrong["data"]["rollbackDeployment"]["errors"][0]
        assert (err["field"], err["code"]) == ("revision", "INVALID")
        assert words in err["message"]

    rd = gql(api, token, REDECIDE, ns="team-a", name="life")
    assert rd["data"]["redecideDeployment"]["errors"] == []
    assert cluster.get("team-a", "life")["metadata"]["annotations"]["scia.io/redecide"]

    up = gql(api, token, UPDATE, ns="team-a", name="life", spec={"prompt": "now highly available"})
    assert up["data"]["updateDeployment"]["deployment"]["spec"]["prompt"] == "now highly available"
    assert cluster.get("team-a", "life")["spec"]["budget"]["maxMonthlyCost"] == 200
    bad_up = gql(api, token, UPDATE, ns="team-a", name="life", spec={"region": "nowhere"})
    assert bad_up["data"]["updateDeployment"]["errors"][0]["field"] == "spec.region"

    gone = gql(api, token, DELETE, ns="team-a", name="life")
    assert gone["data"]["deleteDeployment"] == {"deleted": True, "errors": []}
    missing = gql(api, token, DELETE, ns="team-a", name="life")
    assert [e["code"] for e in missing["data"]["deleteDeployment"]["errors"]] == ["NOT_FOUND"]


def test_subscription_follows_status_changes_from_the_watch(
    api: str, cluster: Cluster, team_a: Tenant
) -> None:
    create(api, team_a.deployer_token, "team-a", "live")
    with subscribe(api, team_a.viewer_token, SUBSCRIBE, ns="team-a", name="live") as sub:
        first = sub.next()["payload"]["data"]["deploymentUpdated"]
        assert first["type"] == "ADDED"
        assert first["deployment"]["phase"] is None
        for phase in ("Analyzing", "Provisioning", "Running"):
            cluster.set_status("team-a", "live", {"phase": phase, "strategy": "vm"})
            event = sub.next()["payload"]["data"]["deploymentUpdated"]
            assert event == {
                "type": "MODIFIED",
                "deployment": {"name": "live", "phase": phase, "strategy": "vm"},
            }


def test_memory_is_fenced_by_a_subject_access_review(
    api: str, team_a: Tenant, team_b: Tenant
) -> None:
    found = gql(api, team_a.viewer_token, SIMILAR, ns="team-a", text="flask REST API")
    names = {
        (p["namespace"], p["deploymentName"], p["scope"])
        for p in found["data"]["similarDeployments"]
    }
    assert ("team-a", "flask-shop", "private") in names
    assert ("platform", "shared-flask", "shared") in names
    assert all(ns != "team-b" for ns, _, _ in names)

    theirs = gql(api, team_b.deployer_token, SIMILAR, ns="team-a", text="flask REST API")
    assert codes(theirs) == ["FORBIDDEN"]
    assert theirs["data"] is None
    own_b = gql(api, team_b.viewer_token, SIMILAR, ns="team-b", text="flask REST API")
    names_b = {p["deploymentName"] for p in own_b["data"]["similarDeployments"]}
    assert "secret-flask-b" in names_b
    assert "flask-shop" not in names_b


def test_cost_estimate_is_a_dry_run(api: str, cluster: Cluster, team_a: Tenant) -> None:
    got = gql(api, team_a.deployer_token, ESTIMATE, ns="team-a", spec=SPEC)["data"]["costEstimate"]
    assert got["errors"] == [], got
    est = got["estimate"]
    assert est["strategy"] in ("vm", "kubernetes", "serverless")
    assert est["framework"] == "flask"
    assert est["monthly"] > 0
    assert abs(sum(b["monthly"] for b in est["breakdown"]) - est["monthly"]) < 0.05
    listed = cluster.admin.get("/apis/scia.io/v1alpha1/namespaces/team-a/appdeployments").json()
    assert all(o["metadata"]["name"] != "estimate" for o in listed["items"])

    viewer = gql(api, team_a.viewer_token, ESTIMATE, ns="team-a", spec=SPEC)["data"]["costEstimate"]
    assert [e["code"] for e in viewer["errors"]] == ["FORBIDDEN"]
    nowhere = {**SPEC, "repository": {"url": "https://github.com/acme/no-such-app"}}
    missing = gql(api, team_a.deployer_token, ESTIMATE, ns="team-a", spec=nowhere)
    err = missing["data"]["costEstimate"]["errors"][0]
    assert (err["field"], err["code"]) == ("spec.repository.url", "INVALID")


def test_the_manifests_are_valid_and_scia_api_has_only_reviews(cluster: Cluster) -> None:
    """deploy/api/*.yaml pass the real API server's validation (server-side dry run), and
    the ServiceAccount the tests run scia-api as may create reviews and nothing else."""
    import yaml

    from tests.api_server.cluster import REPO, _collection_path

    for path in sorted((REPO / "deploy" / "api").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc["kind"] in ("Deployment", "Service", "ConfigMap"):
                if doc:
                    plural = {
                        "Deployment": "deployments",
                        "Service": "services",
                        "ConfigMap": "configmaps",
                    }[doc["kind"]]
                    prefix = "/apis/apps/v1" if doc["kind"] == "Deployment" else "/api/v1"
                    r = cluster.admin.post(
                        f"{prefix}/namespaces/{doc['metadata']['namespace']}/{plural}",
                        params={"dryRun": "All", "fieldValidation": "Strict"},
                        json=doc,
                    )
                    assert r.status_code == 201, f"{path.name} {doc['kind']}: {r.text}"
                continue
            assert _collection_path(doc)  # the RBAC documents: installed by the fixture

    def may(verb: str, group: str, resource: str, namespace: str = "") -> bool:
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": "system:serviceaccount:scia-system:scia-api",
                "groups": ["system:serviceaccounts", "system:serviceaccounts:scia-system"],
                "resourceAttributes": {
                    "verb": verb,
                    "group": group,
                    "resource": resource,
                    "namespace": namespace,
                },
            },
        }
        r = cluster.admin.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", json=review)
        return bool(r.json()["status"].get("allowed"))

    assert may("create", "authentication.k8s.io", "tokenreviews")
    assert may("create", "authorization.k8s.io", "subjectaccessreviews")
    assert not may("get", "scia.io", "appdeployments", "team-a")
    assert not may("list", "", "secrets", "team-a")
    assert not may("impersonate", "", "users")
