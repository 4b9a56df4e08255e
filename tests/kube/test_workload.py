"""The application on the EKS cluster: access, workload objects, build, gating, rollback."""

from __future__ import annotations

import json

import pytest

from function.pinning import ServiceSummary
from function.render.aws.eks_app import CLUSTER_AUTH, LOG_GROUP, PROVIDER_CONFIG
from function.render.kube.objects import provider_config_name
from function.render.kube.rollout import FAILED_IMAGE
from function.render.kube.workload import LAST_GOOD
from function.status import Phase, endpoints
from function.workload import workload_phase
from tests.kube.helpers import (
    AUTH_READY,
    COMMIT,
    OLD_COMMIT,
    REPO_ARN,
    REPO_URL,
    ctx,
    manifest,
    observe,
    render,
)
from tests.support.crdcheck import assert_all_valid
from tests.support.kube_observed import NLB_HOST

SCOPES = pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/given:1.0"
DEP = "k8s-flask-app-deployment"
SVC = "k8s-flask-app-service"
JOB = f"build-{COMMIT[:12]}-flask-app"
TARGET = f"{REPO_URL}:{COMMIT}"
OLD = f"{REPO_URL}:{OLD_COMMIT}"


def _valid(out: dict[str, dict]) -> None:
    assert_all_valid(
        [{**b, "metadata": {"name": f"x-{n}"} | b["metadata"]} for n, b in out.items()]
    )


@SCOPES
def test_access_first_then_the_workload_once_credentials_exist(namespaced: bool) -> None:
    c = ctx(namespaced=namespaced, image=IMAGE)
    before = render(c, {})
    assert set(before) == {CLUSTER_AUTH, PROVIDER_CONFIG, LOG_GROUP}  # spec.image: no build
    assert any("credentials" in n for n in c.notes)
    auth = before[CLUSTER_AUTH]
    pc = before[PROVIDER_CONFIG]
    group = "kubernetes.m.crossplane.io" if namespaced else "kubernetes.crossplane.io"
    assert pc["apiVersion"] == f"{group}/v1alpha1" and pc["kind"] == "ProviderConfig"
    ref = pc["spec"]["credentials"]["secretRef"]
    assert ref["key"] == "kubeconfig"
    assert ref["name"] == auth["spec"]["writeConnectionSecretToRef"]["name"]
    # Legacy: the platform's namespace (tenants never see the kubeconfig); namespaced: the
    # XR's own (a namespaced ClusterAuth writes nowhere else).
    assert ref["namespace"] == ("team-a" if namespaced else "crossplane-system")
    assert ("namespace" in auth["spec"]["writeConnectionSecretToRef"]) is not namespaced
    assert pc["metadata"]["name"] == provider_config_name(c)
    _valid(before)

    out = render(c, AUTH_READY)
    objects = {n for n, b in out.items() if b["kind"] == "Object"}
    assert objects == {"app-namespace", DEP, SVC, "k8s-flask-app-autoscaler",
                       "k8s-flask-app-disruption-budget"}  # fmt: skip
    for n in objects:
        assert out[n]["apiVersion"] == (
            "kubernetes.m.crossplane.io/v1alpha1"
            if namespaced
            else "kubernetes.crossplane.io/v1alpha2"
        )
        assert out[n]["spec"]["providerConfigRef"]["name"] == provider_config_name(c)
    _valid(out)
    # Once Objects exist they stay, whatever the ClusterAuth reports (nothing is dropped
    # while its token is refreshed).
    seen = observe(out, sorted(objects))
    assert objects <= set(render(c, seen))


def test_deployment_from_the_decision_probes_resources_and_bounds() -> None:
    c = ctx(image=IMAGE, settings={"workload": {"progressDeadlineSeconds": 420}})
    out = render(c, AUTH_READY)
    dep = manifest(out, DEP)
    pod = dep["spec"]["template"]["spec"]
    (box,) = pod["containers"]
    assert box["image"] == IMAGE
    assert "replicas" not in dep["spec"]  # the autoscaler owns it
    assert dep["spec"]["progressDeadlineSeconds"] == 420
    assert dep["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert box[probe]["httpGet"] == {"path": "/healthz", "port": 5000}
    assert box["ports"][0]["containerPort"] == 5000
    assert {"name": "PORT", "value": "5000"} in box["env"]
    # t3.medium: 2 vCPU, 4 GiB; 0.5 GiB per replica -> 6 per node share 1.7 vCPU.
    assert box["resources"] == {
        "requests": {"cpu": "250m", "memory": "512Mi"},
        "limits": {"memory": "512Mi"},
    }
    hpa = manifest(out, "k8s-flask-app-autoscaler")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 24)
    assert hpa["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"]
    pdb = manifest(out, "k8s-flask-app-disruption-budget")
    assert pdb["spec"]["selector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"]
    svc = manifest(out, SVC)
    assert svc["spec"]["type"] == "LoadBalancer"
    assert svc["spec"]["ports"][0]["targetPort"] == 5000
    ann = svc["metadata"]["annotations"]
    assert ann["service.beta.kubernetes.io/aws-load-balancer-type"] == "nlb"
    assert ann["service.beta.kubernetes.io/aws-load-balancer-healthcheck-path"] == "/healthz"
    # One node, not highly available: no disruption budget, one replica minimum.
    single = render(ctx(image=IMAGE, min_nodes=1), AUTH_READY)
    assert "k8s-flask-app-disruption-budget" not in single
    assert manifest(single, "k8s-flask-app-autoscaler")["spec"]["minReplicas"] == 1


def test_monorepo_services_each_get_a_deployment_and_a_service() -> None:
    services = [
        ServiceSummary(name="web", path="web", port=3000, health_check_path="/", has_dockerfile=True,
                       dockerfile_path="web/Dockerfile"),
        ServiceSummary(name="api", path="services/api", port=8000, health_check_path="/health",
                       has_dockerfile=True, dockerfile_path="services/api/Dockerfile"),
    ]  # fmt: skip
    c = ctx(services=services)
    first = render(c, AUTH_READY)
    jobs = {n: manifest(first, n) for n in first if n.startswith("build-0123")}
    assert set(jobs) == {f"build-{COMMIT[:12]}-web", f"build-{COMMIT[:12]}-api"}
    api_job = jobs[f"build-{COMMIT[:12]}-api"]
    args = api_job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert f"context=https://github.com/acme/flask-app#{COMMIT}:services/api" in args
    assert "filename=Dockerfile" in args
    assert f"type=image,name={REPO_URL}:api-{COMMIT},push=true" in args
    # Built: each service runs its own image, the first one public.
    out = render(c, AUTH_READY | observe(first, sorted(jobs)))
    for name, port, public in (("web", 3000, True), ("api", 8000, False)):
        dep = manifest(out, f"k8s-{name}-deployment")
        box = dep["spec"]["template"]["spec"]["containers"][0]
        assert box["image"] == f"{REPO_URL}:{name}-{COMMIT}"
        assert box["ports"][0]["containerPort"] == port
        svc = manifest(out, f"k8s-{name}-service")
        assert (svc["spec"]["type"] == "LoadBalancer") is public
    # Two services share the node: half the CPU each.
    web = manifest(out, "k8s-web-deployment")["spec"]["template"]["spec"]["containers"][0]
    assert web["resources"]["requests"]["cpu"] == "250m"
    _valid(out)


@SCOPES
def test_build_then_rollout_and_a_failed_build_keeps_serving(namespaced: bool) -> None:
    c = ctx(namespaced=namespaced)
    # 1. Nothing built yet: the Job, no Deployment (nothing to run), waiting.
    first = render(c, AUTH_READY)
    assert JOB in first and DEP not in first
    assert c.report["workloads"][0]["state"] == "waiting-for-build"
    job = manifest(first, JOB)
    assert first[JOB]["spec"]["readiness"]["policy"] == "DeriveFromCelQuery"
    assert "Complete" in first[JOB]["spec"]["readiness"]["celQuery"]
    spec = job["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == "scia-builder"
    assert "ttlSecondsAfterFinished" not in job["spec"]  # a deleted Job would be rebuilt
    (builder,) = spec["containers"]
    assert builder["command"] == ["buildctl-daemonless.sh"]
    assert f"type=image,name={TARGET},push=true" in builder["args"]
    assert f"context=https://github.com/acme/flask-app#{COMMIT}" in builder["args"]
    assert builder["securityContext"]["runAsUser"] == 1000
    assert spec["initContainers"][0]["name"] == "registry-login"
    _valid(first)
    # 2. The Job runs: still nothing to run, building.
    running_job = observe(first, [JOB], job="Running")
    render(c, AUTH_READY | running_job)
    assert c.report["workloads"][0]["state"] == "building"
    # 3. Complete: the Deployment runs the built image.
    done = observe(first, [JOB])
    out = render(c, AUTH_READY | done)
    assert manifest(out, DEP)["spec"]["template"]["spec"]["containers"][0]["image"] == TARGET
    assert c.report["workloads"][0]["state"] == "rolling-out"
    rolled = observe(out, [DEP, SVC])
    render(c, AUTH_READY | done | rolled)
    assert c.report["workloads"][0]["state"] == "serving"
    # 4. A new commit: its build fails; the old image keeps serving, status says where the
    #    build log is, and the phase is Failed.
    c2 = ctx(namespaced=namespaced, commit=OLD_COMMIT)
    job2 = f"build-{OLD_COMMIT[:12]}-flask-app"
    out2 = render(c2, AUTH_READY | done | rolled)
    assert manifest(out2, DEP)["spec"]["template"]["spec"]["containers"][0]["image"] == TARGET
    failed = observe(out2, [job2], job="Failed")
    out3 = render(c2, AUTH_READY | done | rolled | failed)
    assert manifest(out3, DEP)["spec"]["template"]["spec"]["containers"][0]["image"] == TARGET
    w = c2.report["workloads"][0]
    assert w["state"] == "build-failed" and TARGET in w["message"]
    assert job2 in w["buildLog"] and w["buildLog"].startswith("/aws/containerinsights/")
    phase, message = workload_phase(Phase.RUNNING, "all ready", c2.report)
    assert phase is Phase.FAILED and "failed" in message and "log:" in message


def test_a_rollout_past_its_deadline_rolls_back_and_stays_back() -> None:
    c = ctx()
    first = render(c, AUTH_READY)
    done = observe(first, [JOB])
    # The old image served (its rollout completed): the last good image.
    out = render(c, AUTH_READY | done)
    dep_body = out[DEP]
    dep_body["spec"]["forProvider"]["manifest"]["spec"]["template"]["spec"]["containers"][0][
        "image"
    ] = OLD
    old_serving = observe({DEP: dep_body}, [DEP])
    out = render(c, AUTH_READY | done | old_serving)
    assert manifest(out, DEP)["metadata"]["annotations"][LAST_GOOD] == OLD
    assert manifest(out, DEP)["spec"]["template"]["spec"]["containers"][0]["image"] == TARGET
    # The new image does not become available within progressDeadlineSeconds.
    stuck = observe(out, [DEP], rollout="deadline", generation=2)
    back = render(c, AUTH_READY | done | stuck)
    dep = manifest(back, DEP)
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == OLD
    assert dep["metadata"]["annotations"][FAILED_IMAGE] == TARGET
    assert c.report["workloads"][0]["state"] == "rolled-back"
    assert "ProgressDeadlineExceeded" in c.report["workloads"][0]["message"]
    # The rollback completes; the failed image is not rolled out again.
    settled = observe(back, [DEP], generation=3)
    again = render(c, AUTH_READY | done | settled)
    assert manifest(again, DEP)["spec"]["template"]["spec"]["containers"][0]["image"] == OLD
    assert c.report["workloads"][0]["state"] == "rolled-back"
    phase, _ = workload_phase(Phase.RUNNING, "all ready", c.report)
    assert phase is Phase.FAILED
    # A new commit is a new target: rolled out again.
    c2 = ctx(commit=OLD_COMMIT.replace("f", "e"))
    job2 = f"build-{c2.commit[:12]}-flask-app"
    nxt = render(c2, AUTH_READY | settled)
    nxt = render(c2, AUTH_READY | settled | observe(nxt, [job2]))
    box = manifest(nxt, DEP)["spec"]["template"]["spec"]["containers"][0]
    assert box["image"] == f"{REPO_URL}:{c2.commit}"
    assert FAILED_IMAGE not in manifest(nxt, DEP)["metadata"].get("annotations", {})


def test_a_deployment_whose_cluster_copy_is_unobserved_keeps_its_image() -> None:
    c = ctx()
    first = render(c, AUTH_READY)
    out = render(c, AUTH_READY | observe(first, [JOB]))
    lost = {DEP: {k: v for k, v in out[DEP].items()} | {"status": {"conditions": READY_ONLY}}}
    # The Job's copy is lost too (status pruned): nothing says the build completed.
    job_lost = {JOB: first[JOB] | {"status": {"conditions": READY_ONLY}}}
    again = render(c, AUTH_READY | lost | job_lost)
    assert DEP in again
    assert manifest(again, DEP)["spec"]["template"]["spec"]["containers"][0]["image"] == TARGET


READY_ONLY = [{"type": "Ready", "status": "True"}]


@SCOPES
def test_private_repository_token_never_in_a_manifest(namespaced: bool) -> None:
    c = ctx(
        namespaced=namespaced,
        settings={"build": {"repositoryCredentialsSecretRef": {"name": "repo-creds"}}},
    )
    first = render(c, AUTH_READY)
    # A Secrets Manager copy of the Kubernetes Secret (the provider reads the Secret).
    version = first["git-token-version"]["spec"]["forProvider"]["secretStringSecretRef"]
    assert version["name"] == "repo-creds" and version["key"] == "token"
    # The build waits for the secret's ARN; nothing reads the token before.
    assert JOB not in first and any("git token" in n for n in c.notes)
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:scia/team-a/flask-app-AbCdEf"
    seen = AUTH_READY | {"git-token": {"status": {"atProvider": {"arn": arn}}}}
    out = render(c, seen)
    spec = manifest(out, JOB)["spec"]["template"]["spec"]
    builder = spec["containers"][0]
    assert "id=GIT_AUTH_TOKEN.github.com,src=/home/user/.docker/git-token" in builder["args"]
    login = spec["initContainers"][0]
    assert {"name": "GIT_TOKEN_SECRET", "value": arn} in login["env"]
    assert "secretsmanager get-secret-value" in login["command"][-1]
    policy = json.loads(out["builder-role-policy"]["spec"]["forProvider"]["policy"])
    reads = [s for s in policy["Statement"] if s["Action"] == "secretsmanager:GetSecretValue"]
    assert [s["Resource"] for s in reads] == [arn]
    # No Object carries a Secret or copies one (patchesFrom would write the value into the
    # Object's spec: provider-kubernetes issue #223).
    for name, body in out.items():
        if body["kind"] == "Object":
            assert "references" not in body["spec"], name
            assert body["spec"]["forProvider"]["manifest"]["kind"] != "Secret", name
            assert "secretKeyRef" not in json.dumps(body), name
    _valid(out)


def test_push_role_is_limited_to_the_repository() -> None:
    out = render(ctx(), {})
    trust = json.loads(out["builder-role"]["spec"]["forProvider"]["assumeRolePolicy"])
    (stmt,) = trust["Statement"]
    assert stmt["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert set(stmt["Action"]) == {"sts:AssumeRole", "sts:TagSession"}
    policy = json.loads(out["builder-role-policy"]["spec"]["forProvider"]["policy"])
    push = [s for s in policy["Statement"] if "ecr:PutImage" in s["Action"]]
    assert push and all(s["Resource"] == REPO_ARN for s in push)
    assert all(s["Resource"] in (REPO_ARN, "*") for s in policy["Statement"])
    star = [s for s in policy["Statement"] if s["Resource"] == "*"]
    assert [s["Action"] for s in star] == ["ecr:GetAuthorizationToken"]
    pia = out["builder-pod-identity"]["spec"]["forProvider"]
    assert (pia["namespace"], pia["serviceAccount"]) == ("scia-build", "scia-builder")
    _valid(out)


def test_endpoint_is_the_public_services_load_balancer() -> None:
    c = ctx(image=IMAGE)
    out = render(c, AUTH_READY)
    seen = observe(out, [SVC, DEP])
    eks = {"eks-cluster": {"status": {"atProvider": {"endpoint": "https://x.eks.amazonaws.com"}}}}
    got = endpoints(seen | eks)
    assert got[0] == {"name": "flask-app", "type": "http", "url": f"http://{NLB_HOST}"}
    assert got[-1]["type"] == "kubernetes-api"
    # No address yet: only the cluster's API.
    assert [e["type"] for e in endpoints(observe(out, [SVC], ready=False) | eks)] == [
        "kubernetes-api"
    ]


def test_no_app_endpoint_while_nothing_answers_behind_the_load_balancer() -> None:
    """The NLB has an address before the first image is built and rolled out: it is the
    app's endpoint only once its Deployment has an available replica."""
    eks = {"eks-cluster": {"status": {"atProvider": {"endpoint": "https://x.eks.amazonaws.com"}}}}
    building = render(ctx(), AUTH_READY)
    assert SVC in building and DEP not in building  # the first image is building
    types = [e["type"] for e in endpoints(observe(building, [SVC]) | eks)]
    assert types == ["kubernetes-api"]
    out = render(ctx(image=IMAGE), AUTH_READY)
    seen = observe(out, [SVC, DEP])
    status = seen[DEP]["status"]["atProvider"]["manifest"]["status"]
    status["availableReplicas"] = 0  # the first rollout's pods are not ready yet
    assert [e["type"] for e in endpoints(seen | eks)] == ["kubernetes-api"]
    status["availableReplicas"] = 1
    assert endpoints(seen | eks)[0]["url"] == f"http://{NLB_HOST}"


def test_a_provider_config_is_ready_once_it_exists_an_object_only_when_it_says_so() -> None:
    from function.status import is_ready

    for group in ("kubernetes.crossplane.io", "kubernetes.m.crossplane.io"):
        assert is_ready({"apiVersion": f"{group}/v1alpha1", "kind": "ProviderConfig"})
    assert not is_ready({"apiVersion": "kubernetes.crossplane.io/v1alpha2", "kind": "Object"})
    assert not is_ready({"apiVersion": "aws.upbound.io/v1beta1", "kind": "ProviderConfig"})
