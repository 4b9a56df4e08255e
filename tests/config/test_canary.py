"""A canary in every path a secret could take never reaches the response, the status, the
logs or the LLM prompt; the spec.env value reaches the SSM parameter and nothing else.

Through the real gRPC server (with --debug logging), the LLM on (a loopback fake that
records every prompt), two reconciles (a decision, then a pinned render with observed
resources). The canary is put where a careless implementation would pick it up: the
observed resources' connection details (what a provider writes for sensitive fields), a
function credential, and the spec of the XR, while secrets are given by reference only.
"""

from __future__ import annotations

import base64
import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1
from google.protobuf.json_format import MessageToJson

from examples import render as R
from tests.grpc.test_server import function_input, request
from tests.support.fake_ollama import Reply, fake_ollama

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SECRET = f"canary-secret-{uuid.uuid4().hex}"
ENV_VALUE = f"canary-config-{uuid.uuid4().hex}"
GOOD = {
    "strategy": "vm",
    "vm": {"instanceType": "t3.small", "minSize": 2, "maxSize": 3, "desiredCapacity": 2},
    "reason": "two small instances behind an ALB",
    "confidence": 0.8,
    "alternatives": [],
}


ANSWERS = {
    "vm": GOOD,
    "kubernetes": {
        "strategy": "kubernetes",
        "kubernetes": {
            "nodeInstanceType": "t3.medium",
            "minNodes": 2,
            "maxNodes": 3,
            "desiredNodes": 2,
        },
        "reason": "a small managed node group",
        "confidence": 0.8,
        "alternatives": [],
    },
    "serverless": {
        "strategy": "serverless",
        "serverless": {"memoryMb": 512, "timeoutSeconds": 30},
        "reason": "a function from the built image",
        "confidence": 0.8,
        "alternatives": [],
    },
}
ANSWERS["gcp-vm"] = GOOD | {
    "vm": {"instanceType": "e2-small", "minSize": 2, "maxSize": 3, "desiredCapacity": 2}
}
ANSWERS["azure-vm"] = GOOD | {
    "vm": {"instanceType": "Standard_B2s", "minSize": 2, "maxSize": 3, "desiredCapacity": 2}
}
ANSWERS["gcp-kubernetes"] = ANSWERS["kubernetes"] | {
    "kubernetes": {
        "nodeInstanceType": "e2-standard-2",
        "minNodes": 2,
        "maxNodes": 3,
        "desiredNodes": 2,
    }
}
ANSWERS["azure-kubernetes"] = ANSWERS["kubernetes"] | {
    "kubernetes": {
        "nodeInstanceType": "Standard_D2s_v5",
        "minNodes": 2,
        "maxNodes": 3,
        "desiredNodes": 2,
    }
}
READY = [{"type": "Ready", "status": "True", "reason": "Available"}]
AZURE_IMAGE = "acmeapps.azurecr.io/flask-app:1.2.3"
AZURE_INPUT = {
    "adminSshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZ1bmN0aW9uLXNjaWEtdGVzdC1rZXk p@s",
    "containerRegistries": [
        {
            "loginServer": "acmeapps.azurecr.io",
            "pullIdentityId": "/subscriptions/00000000-0000-0000-0000-000000000000/"
            "resourceGroups/platform/providers/Microsoft.ManagedIdentity/"
            "userAssignedIdentities/acr-pull",
        }
    ],
}


GCP_IMAGE = "europe-west1-docker.pkg.dev/acme-prod/apps/flask-app:1.2.3"


def _xr(
    scope: str, composed: bool = False, strategy: str = "vm", cloud: str = "aws"
) -> dict[str, Any]:
    path = ROOT / "examples" / scope / "xr.yaml"
    xr: dict[str, Any] = yaml.safe_load(path.read_text())
    xr["spec"] |= {
        "strategy": strategy,
        "budget": {"maxMonthlyCost": 2000, "enforcementMode": "soft"},
        "env": [{"name": "GREETING", "value": ENV_VALUE}],
        "envFrom": [
            {"secretRef": {"name": "app-secrets", "keys": [{"key": "api-key", "as": "API_KEY"}]}}
        ],
        "services": {"postgres": {} if composed else {"secretRef": {"name": "db", "key": "url"}}},
    }
    xr["spec"].pop("image", None)
    if strategy == "kubernetes":  # a given image: the Deployment renders without a build
        xr["spec"]["image"] = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1"
    if cloud == "gcp":  # Cloud Run from Artifact Registry (render/gcp/secrets.py)
        xr["spec"] |= {"cloudProvider": "gcp", "region": "europe-west1", "image": GCP_IMAGE}
        if composed:  # and a Memorystore, whose AUTH string the provider publishes
            xr["spec"]["services"]["redis"] = {}
    if cloud == "azure":  # Key Vault and the launcher (render/azure/secrets.py)
        xr["spec"] |= {"cloudProvider": "azure", "region": "westeurope"}
        if strategy != "vm":
            xr["spec"]["image"] = AZURE_IMAGE
    return xr


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[grpcv1.FunctionRunnerServiceStub, Path]]:
    port = R.free_port()
    log = tmp_path_factory.mktemp("canary") / "function.log"
    with (
        R.function_server(port, log=log, args=("--memory", "off", "--debug")),
        grpc.insecure_channel(f"127.0.0.1:{port}") as ch,
    ):
        yield grpcv1.FunctionRunnerServiceStub(ch), log


def _with_observed(req: fnv1.RunFunctionRequest, desired: dict[str, Any]) -> None:
    for name, body in desired.items():
        seen = copy.deepcopy(body)
        seen.setdefault("metadata", {})["name"] = f"x-{name}"
        # Ready: a cluster's credentials are published, so the workload's Objects (and the
        # Deployment's launch configuration) are rendered too.
        seen["status"] = {
            "conditions": READY,
            "atProvider": {
                "id": name,
                "arn": f"arn:aws:x:::{name}",
                # GCP: the app's service account, a secret version
                "email": f"{name}@acme-prod.iam.gserviceaccount.com",
                "version": "1",
                # Azure: the app identity's ids, the vault's URI, the cluster's issuer
                "clientId": "11111111-2222-3333-4444-555555555555",
                "principalId": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                "tenantId": "99999999-8888-7777-6666-555555555555",
                "vaultUri": "https://kv.vault.azure.net/",
                "oidcIssuerUrl": "https://westeurope.oic.prod-aks.azure.com/t/c/",
                "connectionName": f"acme-prod:europe-west1:{name}",  # Cloud SQL
                # Memorystore: where it listens and its CA (public)
                "host": "10.100.0.3",
                "port": 6378,
                "serverCaCerts": [{"cert": "-----BEGIN CERTIFICATE-----\nMIIB\n"}],
                "fqdn": f"{name}.postgres.database.azure.com",  # a flexible server
                "outboundIpAddresses": ["20.103.4.17"],  # a container app's
            },
        }
        res = req.observed.resources[name]
        res.resource.CopyFrom(resource.dict_to_struct(seen))
        # What a provider would publish for sensitive fields: the secret itself.
        res.connection_details["secretString"] = SECRET.encode()
        res.connection_details["password"] = SECRET.encode()
        res.connection_details["attribute.auth_string"] = SECRET.encode()  # Memorystore


@pytest.mark.parametrize(
    ("scope", "composed", "strategy", "cloud"),
    [
        ("legacy", False, "vm", "aws"),
        ("namespaced", False, "vm", "aws"),
        ("legacy", True, "vm", "aws"),
        ("namespaced", True, "vm", "aws"),
        ("legacy", True, "kubernetes", "aws"),
        ("namespaced", True, "serverless", "aws"),
        ("legacy", False, "serverless", "gcp"),
        ("namespaced", False, "serverless", "gcp"),
        ("legacy", False, "vm", "gcp"),
        ("namespaced", False, "kubernetes", "gcp"),
        ("legacy", False, "vm", "azure"),
        ("namespaced", False, "serverless", "azure"),
        ("legacy", False, "kubernetes", "azure"),
        ("namespaced", False, "kubernetes", "azure"),
        ("legacy", True, "vm", "gcp"),
        ("namespaced", True, "serverless", "gcp"),
        ("legacy", True, "vm", "azure"),
        ("namespaced", True, "serverless", "azure"),
    ],
    ids=[
        "legacy-bound",
        "namespaced-bound",
        "legacy-composed-rds",
        "namespaced-composed-rds",
        "legacy-kubernetes-composed-rds",
        "namespaced-serverless-composed-rds",
        "legacy-gcp-cloud-run-bound",
        "namespaced-gcp-cloud-run-bound",
        "legacy-gcp-vm-bound",
        "namespaced-gke-bound",
        "legacy-azure-vmss-bound",
        "namespaced-azure-container-app-bound",
        "legacy-azure-aks-bound",
        "namespaced-azure-aks-bound",
        "legacy-gcp-vm-composed-cloud-sql",
        "namespaced-gcp-cloud-run-composed-cloud-sql",
        "legacy-azure-vmss-composed-postgres",
        "namespaced-azure-container-app-composed-postgres",
    ],
)
def test_no_canary_anywhere(
    server: tuple[grpcv1.FunctionRunnerServiceStub, Path],
    repos: Path,
    scope: str,
    composed: bool,
    strategy: str,
    cloud: str,
) -> None:
    stub, log = server
    xr = _xr(scope, composed, strategy, cloud)
    answer = ANSWERS.get(f"{cloud}-{strategy}", ANSWERS[strategy])
    with fake_ollama(Reply.json(answer)) as fake:
        inp = function_input(repos, llm={"enabled": True, "host": fake.url, "timeoutSeconds": 30})
        if composed and cloud == "aws":  # the RDS-managed password: read by the launcher
            inp["dataStores"] = {"compose": True}
        elif composed and cloud == "gcp":  # Cloud SQL, IAM database authentication
            inp.setdefault("gcp", {})["dataStores"] = {"compose": True}
        if cloud == "azure":  # composed: the provider-generated password, via Key Vault
            inp["azure"] = AZURE_INPUT | ({"dataStores": {"compose": True}} if composed else {})
        if cloud == "gcp" and strategy == "kubernetes":  # Workload Identity's pool
            inp.setdefault("gcp", {}).update(project="acme-prod", projectNumber="123456789012")
        first_req = request(xr, inp)
        first_req.credentials["repository-credentials"].credential_data.data["token"] = (
            SECRET.encode()
        )
        first = stub.RunFunction(first_req, timeout=110)
        status = resource.struct_to_dict(first.desired.composite.resource).get("status", {})
        assert status.get("decision", {}).get("decidedBy") == "llm", MessageToJson(first)
        assert status["decision"]["parameters"]["strategy"] == strategy
        desired = {
            n: resource.struct_to_dict(r.resource) for n, r in first.desired.resources.items()
        }
        secret_kind = "Secret" if cloud == "azure" else "SecretVersion"
        # GCP composes Cloud SQL once its private services connection is observed, then the
        # app once the instance is.
        store = "postgres-server" if cloud == "azure" else "db-postgres"
        assert (store in desired) is (composed and cloud in ("aws", "azure"))
        pinned = copy.deepcopy(xr) | {"status": status}
        # Azure composes its vault once the identity is observed, and the workload once the
        # vault is (GCP its Cloud SQL instance, then the app): reconcile until nothing new
        # is composed (at most 4 times).
        responses_seen = [first]
        for _ in range(4):
            again_req = request(pinned, inp)
            _with_observed(again_req, desired)
            second = stub.RunFunction(again_req, timeout=110)
            responses_seen.append(second)
            more = {
                n: resource.struct_to_dict(r.resource) for n, r in second.desired.resources.items()
            }
            if set(more) <= set(desired):
                break
            desired |= more
        assert any(b["kind"] == secret_kind for b in desired.values())
        assert (store in desired) is composed
        assert ("memorystore-redis" in desired) is (composed and cloud == "gcp")
        prompts = json.dumps(fake.chat_requests())
    if strategy == "kubernetes":  # the pods get names and ids of their configuration only
        objects = [
            resource.struct_to_dict(r.resource)["spec"]["forProvider"]["manifest"]
            for r in second.desired.resources.values()
            if resource.struct_to_dict(r.resource)["kind"] == "Object"
        ]
        deployments = [m for m in objects if m["kind"] == "Deployment"]
        assert deployments and not [m for m in objects if m["kind"] == "Secret"]
        env = deployments[0]["spec"]["template"]["spec"]["containers"][0]["env"]
        assert "SCIA_LAUNCH_CONFIG" in {e["name"] for e in env}
    assert prompts and "framework" in prompts  # the prompt was really captured
    responses = [MessageToJson(r) for r in responses_seen]
    logged = log.read_text(errors="replace")
    assert logged  # --debug logs every reconcile
    for text in [*responses, logged, prompts]:
        assert SECRET not in text
    # The configuration value: in the SSM parameter (AWS) or the Cloud Run container's
    # plain env (GCP, once its service account is observed), nowhere else (not the user
    # data, status, logs or the prompt).
    assert ENV_VALUE not in logged and ENV_VALUE not in prompts
    for resp in responses_seen:
        got = {n: resource.struct_to_dict(r.resource) for n, r in resp.desired.resources.items()}
        if cloud == "azure":  # the launcher's configuration, in the workload
            holder = _azure_holder(strategy, got)
            if resp is second:
                launch = _azure_launch(strategy, got[holder])
                assert ENV_VALUE in launch and '"from":"azure-secret"' in launch
                if composed:  # the launcher reads the password from the vault's copy
                    assert '"from":"azure-db"' in launch
        elif cloud == "gcp" and strategy == "kubernetes":  # the launcher's configuration
            holder = _azure_holder(strategy, got)
            if resp is second:
                launch = _azure_launch(strategy, got[holder])
                assert ENV_VALUE in launch and '"from":"gcp-secret"' in launch
        elif cloud == "gcp" and strategy == "vm":  # the launcher's configuration
            holder = next((n for n in got if n.startswith("instance-template")), "")
            if resp is second:
                script = got[holder]["spec"]["forProvider"]["metadataStartupScript"]
                assert ENV_VALUE in script and '"from":"gcp-secret"' in script
                assert ('"from":"gcp-redis"' in script) is composed
                if composed:  # the proxy logs in with the instances' token: no password
                    assert "cloud-sql-proxy --auto-iam-authn" in script
                    assert "postgresql://" in script and "@127.0.0.1:5432/app" in script
        elif cloud == "gcp":
            holder = "cloud-run-service"
            if resp is second:
                tpl = got[holder]["spec"]["forProvider"]["template"]
                env = {e["name"]: e for e in tpl["containers"][0]["env"]}
                assert env["GREETING"]["value"] == ENV_VALUE
                assert set(env["API_KEY"]["valueSource"]["secretKeyRef"]) == {"secret", "version"}
                launch = env.get("SCIA_LAUNCH_CONFIG", {}).get("value", "")
                assert ('"from":"gcp-redis"' in launch) is composed
                if composed:
                    url = env["DATABASE_URL"]["value"]
                    assert url.startswith("postgresql://") and ":5432/app" in url
                    assert ":" not in url.split("//", 1)[1].split("@", 1)[0]  # no password
                    assert len(tpl["containers"]) == 2  # the Cloud SQL Auth Proxy sidecar
        else:
            holder = "config-env"
            assert ENV_VALUE in got[holder]["spec"]["forProvider"]["insecureValue"]
        others = {n: b for n, b in got.items() if n != holder}
        assert ENV_VALUE not in json.dumps(others)
        assert SECRET not in json.dumps(got)
        assert ENV_VALUE not in json.dumps(resource.struct_to_dict(resp.desired.composite.resource))
        assert [
            r.message for r in resp.results if SECRET in r.message or ENV_VALUE in r.message
        ] == []


def _azure_holder(strategy: str, got: dict[str, Any]) -> str:
    """The one resource that carries the launcher's configuration on Azure (and GKE)."""
    if strategy == "vm":
        return "vm-scale-set"
    if strategy == "serverless":
        return "container-app"
    return next((n for n in got if n.startswith("k8s-") and n.endswith("-deployment")), "")


def _azure_launch(strategy: str, body: dict[str, Any]) -> str:
    fp = body["spec"]["forProvider"]
    if strategy == "vm":
        settings = json.loads(fp["extension"][0]["settings"])
        return base64.b64decode(settings["script"]).decode()
    if strategy == "serverless":
        env = fp["template"]["container"][0]["env"]
    else:
        env = fp["manifest"]["spec"]["template"]["spec"]["containers"][0]["env"]
    return str(next(e["value"] for e in env if e["name"] == "SCIA_LAUNCH_CONFIG"))
