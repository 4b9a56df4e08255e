"""Images built from the repository on GKE and AKS (render/gcp/build.py, render/azure/build.py,
render/kube/app.py): the registry and the push identity are composed, the BuildKit Job
waits for them, the rollout waits for the Job (observed), a failed build keeps what runs,
and every emitted manifest validates against ../shared/crds in both scopes."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from function.model import Strategy
from function.pinning import AnalysisSummary
from function.render.common import RenderContext
from function.render.dispatch import render
from function.render.gcp.build import BuildsLost
from function.render.kube import build as kbuild
from function.status import Phase
from function.workload import workload_phase
from tests.kube.helpers import READY, observe
from tests.render.test_render_azure import azure_ctx
from tests.render.test_render_gcp import ctx as gcp_ctx
from tests.support.crdcheck import assert_all_valid

SCOPES = pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
COMMIT = "a" * 40
JOB = f"build-{COMMIT[:12]}-flask-app"
DEP = "k8s-flask-app-deployment"
SVC = "k8s-flask-app-service"
ANALYSIS = AnalysisSummary(
    language="python",
    framework="flask",
    port=5000,
    memory_gib=0.5,
    has_dockerfile=True,
    dockerfile_path="Dockerfile",
)
GCP_INPUT = {"gcp": {"project": "acme-prod", "projectNumber": "123456789012"}}
GAR = "europe-west1-docker.pkg.dev/acme-prod/repo1"
ACR = "teamaflaskapp1.azurecr.io"
R: dict[str, Any] = {"conditions": READY}


def _gke(namespaced: bool = False, settings: dict[str, Any] | None = None) -> RenderContext:
    c = gcp_ctx(Strategy.KUBERNETES, namespaced, settings=settings, spec={"image": None})
    return dataclasses.replace(c, analysis=ANALYSIS)


def _aks(namespaced: bool = False, **kw: Any) -> RenderContext:
    c = azure_ctx(Strategy.KUBERNETES, namespaced, image=None, **kw)
    return dataclasses.replace(c, analysis=ANALYSIS)


NODES = "scia-node-0123456789ab@acme-prod.iam.gserviceaccount.com"


def _gke_ready() -> dict[str, dict[str, Any]]:
    return {
        "gke-cluster": {"status": R},
        "artifact-repository": {
            "status": {**R, "atProvider": {"name": "repo1", "registryUri": GAR}}
        },
        "builder-registry-writer": {"status": R},
        "nodes-registry-reader": {"status": R},
        "node-service-account": {"status": {**R, "atProvider": {"email": NODES}}},
    }


def _aks_ready() -> dict[str, dict[str, Any]]:
    registry_id = (
        "/subscriptions/0000/resourceGroups/g/providers/Microsoft.ContainerRegistry/"
        "registries/teamaflaskapp1"
    )
    return {
        "aks-cluster": {
            "status": {
                **R,
                "atProvider": {
                    "oidcIssuerUrl": "https://westeurope.oic.prod-aks.azure.com/t/c/",
                    "kubeletIdentity": {"objectId": "11111111-1111-1111-1111-111111111111"},
                },
            }
        },
        "container-registry": {
            "status": {**R, "atProvider": {"id": registry_id, "loginServer": ACR}}
        },
        "builder-identity": {
            "status": {
                **R,
                "atProvider": {
                    "principalId": "22222222-2222-2222-2222-222222222222",
                    "clientId": "33333333-3333-3333-3333-333333333333",
                },
            }
        },
        "builder-federation": {"status": R},
        "builder-acr-push": {"status": R},
        "kubelet-acr-pull": {"status": R},
    }


CLOUDS = {"gcp": (_gke, _gke_ready, GAR + "/app"), "azure": (_aks, _aks_ready, ACR + "/app")}
CLOUD = pytest.mark.parametrize("cloud", sorted(CLOUDS))


def make_ctx(cloud: str, namespaced: bool = False) -> RenderContext:
    if cloud == "gcp":
        return _gke(namespaced, GCP_INPUT)
    return _aks(namespaced)


def _fresh(c: RenderContext) -> RenderContext:
    return dataclasses.replace(c, notes=[], report={})


def _named(out: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**b, "metadata": {**b["metadata"], "name": b["metadata"].get("name") or f"x-{n}"}}
        for n, b in out.items()
    ]


def _manifest(out: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    m: dict[str, Any] = out[name]["spec"]["forProvider"]["manifest"]
    return m


def _image(out: dict[str, dict[str, Any]]) -> str:
    return str(_manifest(out, DEP)["spec"]["template"]["spec"]["containers"][0]["image"])


@CLOUD
@SCOPES
def test_the_registry_and_identity_first_then_the_job_all_valid(
    cloud: str, namespaced: bool
) -> None:
    ready = CLOUDS[cloud][1]
    cluster = "gke-cluster" if cloud == "gcp" else "aks-cluster"
    c = make_ctx(cloud, namespaced)
    first = render(c, {cluster: {"status": R}})
    assert JOB not in first and DEP not in first
    assert any("the build waits for" in n for n in c.notes)
    assert c.report["rollout"]["state"] == "Building"
    assert_all_valid(_named(first))
    c = _fresh(c)
    out = render(c, ready())
    assert JOB in out and DEP not in out
    assert out[JOB]["spec"]["readiness"]["celQuery"] == kbuild.JOB_COMPLETE
    assert_all_valid(_named(out))
    job = _manifest(out, JOB)
    pod = job["spec"]["template"]
    login = pod["spec"]["initContainers"][0]
    account = _manifest(out, "builder-account")
    assert pod["spec"]["serviceAccountName"] == account["metadata"]["name"]
    assert "--output" in pod["spec"]["containers"][0]["args"]
    target = CLOUDS[cloud][2] + ":" + COMMIT
    assert f"type=image,name={target},push=true" in pod["spec"]["containers"][0]["args"]
    assert c.report["workloads"][0]["targetImage"] == target
    if cloud == "gcp":
        assert "gcloud auth print-access-token" in login["command"][2]
        assert login["image"] == c.settings.workload.gcloud_cli_image
    else:
        assert "oauth2/exchange" in login["command"][2]
        assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
        assert account["metadata"]["annotations"] == {
            "azure.workload.identity/client-id": "33333333-3333-3333-3333-333333333333"
        }
    # No credential in any manifest: the logins read the pod's own identity.
    assert "password" not in str(out).lower()


@CLOUD
def test_the_rollout_waits_for_the_build_and_a_failed_build_keeps_what_runs(cloud: str) -> None:
    _, ready, repo = CLOUDS[cloud]
    c = make_ctx(cloud)
    out = render(c, ready())
    building = ready() | observe(out, [JOB], job="Running")
    c = _fresh(c)
    out = render(c, building)
    assert DEP not in out
    assert c.report["build"]["state"] == "Building"
    assert workload_phase(Phase.RUNNING, "all ready", c.report)[0] is Phase.PROVISIONING
    # Built: the Deployment runs the commit's image.
    built = ready() | observe(out, [JOB], job="Complete")
    c = _fresh(c)
    out = render(c, built)
    assert _image(out) == f"{repo}:{COMMIT}"
    assert c.report["build"]["state"] == "Succeeded"
    assert c.report["build"]["image"] == f"{repo}:{COMMIT}"
    # Running.
    running = built | observe(out, [DEP, SVC])
    c = _fresh(c)
    render(c, running)
    assert c.report["rollout"]["state"] == "Running"
    # A new commit whose build fails: the old image keeps serving, status says where to look.
    new = "b" * 40
    c2 = dataclasses.replace(_fresh(c), commit=new)
    job2 = f"build-{new[:12]}-flask-app"
    out2 = render(c2, running)
    assert job2 in out2 and _image(out2) == f"{repo}:{COMMIT}"
    failed = running | observe(out2, [job2], job="Failed")
    c2 = _fresh(c2)
    out3 = render(c2, failed)
    assert _image(out3) == f"{repo}:{COMMIT}"
    assert c2.report["build"]["state"] == "Failed"
    assert c2.report["rollout"]["state"] == "BuildFailed"
    assert f"scia-build/{job2}" in c2.report["rollout"]["message"]
    assert workload_phase(Phase.RUNNING, "all ready", c2.report)[0] is Phase.FAILED


@SCOPES
def test_gke_workload_identity_and_the_grants(namespaced: bool) -> None:
    c = _gke(namespaced, GCP_INPUT)
    out = render(c, _gke_ready())
    cluster = out["gke-cluster"]["spec"]["forProvider"]
    assert cluster["workloadIdentityConfig"] == {"workloadPool": "acme-prod.svc.id.goog"}
    node = out["node-pool"]["spec"]["forProvider"]["nodeConfig"]
    assert node["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    writer = out["builder-registry-writer"]["spec"]["forProvider"]
    account = _manifest(out, "builder-account")["metadata"]["name"]
    assert account.startswith("scia-builder-") and account != kbuild.BUILDER_ACCOUNT
    assert writer == {
        "location": "europe-west1",
        "repository": "repo1",
        "role": "roles/artifactregistry.writer",
        "member": "principal://iam.googleapis.com/projects/123456789012/locations/global/"
        f"workloadIdentityPools/acme-prod.svc.id.goog/subject/ns/scia-build/sa/{account}",
    }
    reader = out["nodes-registry-reader"]["spec"]["forProvider"]
    assert reader["member"] == f"serviceAccount:{NODES}"  # the nodes' own account
    assert reader["role"] == "roles/artifactregistry.reader"
    repo = out["artifact-repository"]["spec"]["forProvider"]
    assert repo["format"] == "DOCKER"
    policies = {p["id"]: p for p in repo["cleanupPolicies"]}
    assert policies["keep-deployed"]["condition"]["tagPrefixes"][0] == COMMIT
    assert policies["keep-recent"]["mostRecentVersions"]["keepCount"] == 10
    assert out["artifact-repository"]["metadata"]["annotations"]["crossplane.io/external-name"]


def test_two_gke_deployments_never_share_a_builder_principal() -> None:
    a = render(_gke(False, GCP_INPUT), _gke_ready())
    other = dataclasses.replace(
        _gke(False, GCP_INPUT),
        identity=_gke().identity.model_copy(update={"uid": "u-2"}),
    )
    b = render(other, _gke_ready())
    member = "builder-registry-writer"
    assert a[member]["spec"]["forProvider"]["member"] != b[member]["spec"]["forProvider"]["member"]


def test_gke_without_the_project_refuses_builds_naming_the_fields() -> None:
    c = _gke(False)
    out = render(c, {"gke-cluster": {"status": R}})
    assert "artifact-repository" not in out and DEP not in out
    assert "workloadIdentityConfig" not in out["gke-cluster"]["spec"]["forProvider"]
    message = c.report["rollout"]["message"]
    assert "gcp.project and gcp.projectNumber" in message and "spec.image" in message
    only_number = _gke(False, {"gcp": {"project": "acme-prod"}})
    render(only_number, {"gke-cluster": {"status": R}})
    assert "sets gcp.projectNumber" in only_number.report["rollout"]["message"]


@SCOPES
def test_gke_losing_the_project_with_a_registry_fails_rather_than_deletes_it(
    namespaced: bool,
) -> None:
    """A deployment that builds into an existing registry: without the project the
    registry would leave the desired set (Crossplane deletes it, and the images the
    cluster pulls with it), so the render refuses with BuildsLost (a fatal result)."""
    observed = _gke_ready()
    with pytest.raises(BuildsLost) as refused:
        render(_gke(namespaced), observed)
    assert "gcp.project and gcp.projectNumber" in str(refused.value)
    assert "artifact-repository" in str(refused.value)
    # With an image of its own the deployment no longer builds: nothing is refused.
    c = dataclasses.replace(
        _gke(namespaced), spec=_gke(namespaced).spec.model_copy(update={"image": "nginx:1.27"})
    )
    assert "gke-cluster" in render(c, observed)


@SCOPES
def test_aks_pull_and_push_role_assignments(namespaced: bool) -> None:
    c = _aks(namespaced)
    out = render(c, _aks_ready())
    push = out["builder-acr-push"]["spec"]["forProvider"]
    pull = out["kubelet-acr-pull"]["spec"]["forProvider"]
    assert push["roleDefinitionName"] == "AcrPush"
    assert push["principalId"] == "22222222-2222-2222-2222-222222222222"
    assert pull["roleDefinitionName"] == "AcrPull"
    assert pull["principalId"] == "11111111-1111-1111-1111-111111111111"
    assert push["scope"] == pull["scope"] and push["scope"].endswith("/teamaflaskapp1")
    fic = out["builder-federation"]["spec"]["forProvider"]
    assert fic["subject"] == "system:serviceaccount:scia-build:scia-builder"
    assert fic["issuer"].startswith("https://westeurope.oic.prod-aks.azure.com/")
    assert fic["audience"] == ["api://AzureADTokenExchange"]
    registry = out["container-registry"]
    assert registry["spec"]["forProvider"]["adminEnabled"] is False
    name = registry["metadata"]["annotations"]["crossplane.io/external-name"]
    assert name.isalnum() and name == name.lower() and 5 <= len(name) <= 50
    assert out["builder-identity"]["spec"]["forProvider"]["name"]


def test_aks_role_assignments_wait_for_the_ids_they_name() -> None:
    c = _aks(False)
    out = render(c, {"aks-cluster": {"status": R}})
    assert {"container-registry", "builder-identity"} <= set(out)
    assert not {"builder-acr-push", "kubelet-acr-pull", "builder-federation"} & set(out)


@CLOUD
def test_a_given_image_composes_no_build(cloud: str) -> None:
    c = make_ctx(cloud)
    image = (
        "europe-west1-docker.pkg.dev/acme-prod/apps/flask-app:1.2.3"
        if cloud == "gcp"
        else "acmeapps.azurecr.io/flask-app:1.4.2"
    )
    c = dataclasses.replace(c, spec=c.spec.model_copy(update={"image": image}))
    out = render(c, CLOUDS[cloud][1]())
    assert not [n for n in out if n.startswith("build")]
    assert not {"artifact-repository", "container-registry"} & set(out)
    assert _image(out) == image


def _private(c: RenderContext, build: dict[str, Any]) -> RenderContext:
    settings = c.settings.model_copy(update={"build": c.settings.build.model_validate(build)})
    return dataclasses.replace(c, settings=settings)


CREDS = {"repositoryCredentialsSecretRef": {"name": "repo-creds", "key": "token"}}


@SCOPES
def test_a_private_repository_builds_on_aks_with_the_token_by_reference(namespaced: bool) -> None:
    c = _private(make_ctx("azure", namespaced), CREDS)
    seen = _aks_ready()
    seen["builder-identity"]["status"]["atProvider"]["tenantId"] = "44444444-4444-4444-4444-4444"
    first = render(c, seen)
    assert {"build-key-vault", "git-token"} <= set(first) and JOB not in first
    assert "private repository" not in str(c.report)  # it waits; it is not refused
    assert_all_valid(_named(first))
    vault = first["build-key-vault"]["spec"]["forProvider"]
    assert vault["rbacAuthorizationEnabled"] is True
    secret = first["git-token"]["spec"]["forProvider"]
    assert (secret["valueSecretRef"]["name"], secret["valueSecretRef"]["key"]) == (
        "repo-creds",
        "token",
    )
    assert ("namespace" in secret["valueSecretRef"]) is not namespaced
    assert "value" not in secret
    vault_id = "/subscriptions/0000/resourceGroups/g/providers/Microsoft.KeyVault/vaults/kvb"
    uri = "https://kvb.vault.azure.net/"
    seen["build-key-vault"] = {"status": {**R, "atProvider": {"id": vault_id, "vaultUri": uri}}}
    second = render(_fresh(c), seen)
    grant = second["builder-key-vault-read"]["spec"]["forProvider"]
    assert grant["roleDefinitionName"] == "Key Vault Secrets User"
    assert grant["scope"] == vault_id  # that vault only
    assert grant["principalId"] == "22222222-2222-2222-2222-222222222222"
    assert JOB not in second  # the grant and the copy are not Ready yet
    seen |= {"git-token": {"status": R}, "builder-key-vault-read": {"status": R}}
    out = render(_fresh(c), seen)
    assert_all_valid(_named(out))
    pod = _manifest(out, JOB)["spec"]["template"]["spec"]
    login = pod["initContainers"][0]
    script = " ".join(login.get("command", []) + login.get("args", []))
    assert "az keyvault secret show --id" in script
    env = {e["name"]: e["value"] for e in login["env"]}
    assert env["GIT_TOKEN_SECRET"] == "https://kvb.vault.azure.net/secrets/git-token"
    builder = pod["containers"][0]
    args = " ".join(builder.get("command", []) + builder.get("args", []))
    assert "id=GIT_AUTH_TOKEN.github.com" in args
    assert "repo-creds" not in str(_manifest(out, JOB))


def test_an_aws_token_secret_cannot_serve_a_gke_build() -> None:
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:git-token-AbCdEf"
    c = _private(make_ctx("gcp"), {"gitTokenSecretArn": arn})
    out = render(c, CLOUDS["gcp"][1]())
    assert JOB not in out and "git-token" not in out
    assert "private repository" in c.report["rollout"]["message"]


@SCOPES
def test_a_private_repository_builds_on_gke_with_the_token_by_reference(namespaced: bool) -> None:
    c = _private(make_ctx("gcp", namespaced), CREDS)
    seen = _gke_ready()
    first = render(c, seen)
    # The token's copy and the builder's grant; the Job waits for both.
    assert {"git-token", "git-token-version", "builder-git-token-access"} <= set(first)
    assert JOB not in first
    assert_all_valid(_named(first))
    version = first["git-token-version"]["spec"]["forProvider"]
    ref = version["secretDataSecretRef"]
    assert (ref["name"], ref["key"]) == ("repo-creds", "token")
    assert ("namespace" in ref) is not namespaced
    assert "secretData" not in version
    token_id = first["git-token"]["metadata"]["annotations"]["crossplane.io/external-name"]
    grant = first["builder-git-token-access"]["spec"]["forProvider"]
    writer = first["builder-registry-writer"]["spec"]["forProvider"]
    assert grant["member"] == writer["member"]  # the builder's principal, nothing wider
    assert grant["role"] == "roles/secretmanager.secretAccessor"
    assert grant["condition"]["expression"] == (
        f'resource.name.extract("/secrets/{{id}}/") == "{token_id}"'
    )
    seen |= {n: {"status": R} for n in ("git-token", "git-token-version",
                                        "builder-git-token-access")}  # fmt: skip
    out = render(_fresh(c), seen)
    assert_all_valid(_named(out))
    job = _manifest(out, JOB)
    pod = job["spec"]["template"]["spec"]
    login = pod["initContainers"][0]
    script = " ".join(login.get("command", []) + login.get("args", []))
    assert "gcloud secrets versions access latest" in script
    env = {e["name"]: e["value"] for e in login["env"]}
    assert env["GIT_TOKEN_SECRET"] == token_id and env["PROJECT"] == "acme-prod"
    builder = pod["containers"][0]
    args = " ".join(builder.get("command", []) + builder.get("args", []))
    assert "id=GIT_AUTH_TOKEN.github.com" in args
    assert "repo-creds" not in str(job)  # the Secret itself never reaches the cluster


@CLOUD
def test_a_lost_status_keeps_the_build_job(cloud: str) -> None:
    """A grant whose status was lost (restored without status, but created) still counts:
    the Job is not taken out of the desired set."""
    c = make_ctx(cloud)
    seen = CLOUDS[cloud][1]()
    grant = "builder-registry-writer" if cloud == "gcp" else "builder-acr-push"
    assert JOB in render(c, seen)
    seen[grant] = {
        "metadata": {"annotations": {"crossplane.io/external-create-succeeded": "2026-01-01"}}
    }
    assert JOB in render(_fresh(c), seen)


def test_the_values_read_are_remembered_and_survive_the_grpc_reduction() -> None:
    """Every atProvider value the build routes read is in lastknown.READ_AT_PROVIDER: it is
    kept by fn.py's reduction of observed resources and remembered in the pin."""
    from function.lastknown import READ_AT_PROVIDER

    assert set(READ_AT_PROVIDER["artifact-repository"]) >= {"name", "registryUri"}
    assert set(READ_AT_PROVIDER["container-registry"]) >= {"id", "loginServer"}
    assert set(READ_AT_PROVIDER["builder-identity"]) >= {"principalId", "clientId"}
    assert set(READ_AT_PROVIDER["aks-cluster"]) >= {"oidcIssuerUrl", "kubeletIdentity"}


def test_the_project_number_is_not_a_decision_input() -> None:
    """Setting gcp.projectNumber (builds on GKE) does not re-decide pinned deployments."""
    from function.input import FunctionInput

    plain = FunctionInput.model_validate({}).for_cloud("gcp").decision_fingerprint()
    numbered = FunctionInput.model_validate({"gcp": {"projectNumber": "123456789012"}})
    assert numbered.for_cloud("gcp").decision_fingerprint() == plain
