"""The image build on the cluster: a Kubernetes Job running BuildKit rootless (pure).

One Job per (commit, service), named after the commit, so a new commit is a new Job (a
Job's pod template is immutable) and a finished Job stays as the record of its build until
the revision that replaced it is retired. No `ttlSecondsAfterFinished`: provider-kubernetes
would recreate a Job the TTL controller deleted, and build again.

- builder: `buildctl-daemonless.sh` of the `moby/buildkit:*-rootless` image (BuildKit's
  own rootless mode: no daemon, no privileged container; it needs the Unconfined seccomp
  and AppArmor profiles for its user namespaces and `--oci-worker-no-process-sandbox`,
  per BuildKit's docs/rootless.md and examples/kubernetes/job.rootless.yaml);
- source: the repository at the pinned commit, fetched by BuildKit itself as a git context
  (`context=<url>#<commit>[:<folder>]`); nothing is checked out by the function;
- Dockerfile: the repository's (`filename=`), or the generated one from a ConfigMap
  mounted as the `dockerfile` local source;
- the configuration launcher (function/build/launcher.py): a generated Dockerfile carries
  it; an image built from the repository's own Dockerfile is pushed as `<tag>-base`, then
  a second build (the wrapper Dockerfile from the same ConfigMap, `SCIA_APP_IMAGE` the
  base) adds it and pushes `<tag>`. Two pushes rather than BuildKit's `oci-layout://`
  named context, which buildctl-daemonless.sh cannot resolve (moby/buildkit#7018);
- push: to ECR as `<repository>:<tag>`. An init container (the AWS CLI) turns the pod's
  EKS Pod Identity credentials into a registry login (`aws ecr get-login-password`) in a
  memory-backed volume the builder reads as its Docker config; the IAM role may push to
  that one repository only (render/aws/eks_app.py);
- a private repository: the init container reads the token from the Secrets Manager
  secret the provider copied from the Kubernetes Secret (render/aws/build.py `git-token`;
  the push role may read that one secret) into the memory-backed volume, and BuildKit gets
  it as the `GIT_AUTH_TOKEN.<host>` build secret: never an argument, never in a manifest.
  Not a Secret Object with `references[].patchesFrom`: provider-kubernetes writes the
  patched data into the Object's `spec.forProvider.manifest` (its issue #223).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

BUILD_NAMESPACE = "scia-build"
BUILDER_ACCOUNT = "scia-builder"
_DOCKER_CONFIG = "/home/user/.docker"
_TOKEN_FILE = f"{_DOCKER_CONFIG}/git-token"  # a path
# CEL over the observed Job (provider-kubernetes DeriveFromCelQuery; optional selection
# because a new Job has no status yet).
JOB_COMPLETE = (
    'object.?status.?conditions.orValue([]).exists(c, c.type == "Complete" && c.status == "True")'
)


@dataclass(frozen=True)
class BuildSpec:
    """One image to build: where the source is, which Dockerfile, where it goes."""

    name: str  # the Job's name (a DNS label)
    repository_url: str  # the git URL, https
    commit: str
    context: str  # folder of the repository, "." for the root
    image: str  # <registry>/<repository>:<tag>
    region: str
    dockerfile_path: str | None = None  # the repository's Dockerfile
    dockerfile: str | None = None  # or a generated one
    dockerignore: str | None = None
    # A private repository: the ARN of the Secrets Manager secret holding its token.
    git_token_secret: str | None = None
    # A repository's own Dockerfile: the Dockerfile adding the launcher around its image.
    wrapper: str | None = None
    wrap_problem: str | None = None  # why a repository Dockerfile's image is not wrapped


@dataclass(frozen=True)
class Login:
    """The init container that writes the registry's Docker config (`config.json`) into
    the memory-backed volume the builder reads: its image, shell script and environment
    (names and non-secret values only; credentials come from the pod's identity)."""

    image: str
    script: str
    env: tuple[dict[str, str], ...]


# Writes {"auths": {"$REGISTRY": {"auth": base64("$user:$pw")}}} (the Docker config format).
_WRITE_CONFIG = (
    'auth=$(printf \'%s:%s\' "$user" "$pw" | base64 -w0); '
    'printf \'{"auths":{"%s":{"auth":"%s"}}}\' "$REGISTRY" "$auth" '
    "> /docker-config/config.json"
)


def ecr_login(spec: BuildSpec, cli_image: str) -> Login:
    """ECR: the pod's EKS Pod Identity credentials turned into a registry token (valid 12 h,
    `aws ecr get-login-password`), for this registry only; a private repository's token read
    from its Secrets Manager secret into the same memory volume."""
    script = (
        'set -eu; pw=$(aws ecr get-login-password --region "$REGION"); '
        "auth=$(printf 'AWS:%s' \"$pw\" | base64 -w0); "
        'printf \'{"auths":{"%s":{"auth":"%s"}}}\' "$REGISTRY" "$auth" '
        "> /docker-config/config.json"
    )
    env = [
        {"name": "REGION", "value": spec.region},
        {"name": "REGISTRY", "value": _registry_host(spec.image)},
    ]
    if spec.git_token_secret:
        script += (
            '; aws secretsmanager get-secret-value --region "$REGION" '
            '--secret-id "$GIT_TOKEN_SECRET" --query SecretString --output text '
            "> /docker-config/git-token"
        )
        env.append({"name": "GIT_TOKEN_SECRET", "value": spec.git_token_secret})
    return Login(cli_image, script, tuple(env))


def artifact_registry_login(spec: BuildSpec, cli_image: str, project: str = "") -> Login:
    """Artifact Registry: an OAuth access token of the pod's Workload Identity (GKE metadata
    server, `gcloud auth print-access-token`, valid 1 h) as user `oauth2accesstoken`
    (Artifact Registry docs, "Configure authentication ... access token"); a private
    repository's token read from its Secret Manager secret (`spec.git_token_secret`, in
    `project`) into the same memory volume, with the same identity."""
    script = "set -eu; user=oauth2accesstoken; pw=$(gcloud auth print-access-token); "
    script += _WRITE_CONFIG
    env = [{"name": "REGISTRY", "value": _registry_host(spec.image)}]
    if spec.git_token_secret:
        script += (
            '; gcloud secrets versions access latest --secret="$GIT_TOKEN_SECRET" '
            '--project="$PROJECT" > /docker-config/git-token'
        )
        env += [
            {"name": "GIT_TOKEN_SECRET", "value": spec.git_token_secret},
            {"name": "PROJECT", "value": project},
        ]
    return Login(cli_image, script, tuple(env))


def acr_login(spec: BuildSpec, cli_image: str) -> Login:
    """Azure Container Registry: the pod's workload identity (the federated token AKS's
    webhook mounts, with AZURE_CLIENT_ID/AZURE_TENANT_ID) signs in to Entra ID, and its
    token is exchanged at the registry's `/oauth2/exchange` for a refresh token, the
    password of user 00000000-0000-0000-0000-000000000000 (ACR docs, "Authentication
    overview" and the AAD-OAuth flow); a private repository's token read from its Key
    Vault secret (`spec.git_token_secret`: the secret's id URL) into the same memory
    volume."""
    script = (
        'set -eu; az login --service-principal -u "$AZURE_CLIENT_ID" -t "$AZURE_TENANT_ID" '
        '--federated-token "$(cat "$AZURE_FEDERATED_TOKEN_FILE")" --allow-no-subscriptions '
        "> /dev/null; "
        "aad=$(az account get-access-token --resource https://management.azure.com/ "
        "--query accessToken --output tsv); "
        'pw=$(curl -fsS -X POST "https://$REGISTRY/oauth2/exchange" '
        '-d grant_type=access_token -d "service=$REGISTRY" -d "tenant=$AZURE_TENANT_ID" '
        '--data-urlencode "access_token=$aad" '
        '| sed -n \'s/.*"refresh_token":"\\([^"]*\\)".*/\\1/p\'); '
        'test -n "$pw"; user=00000000-0000-0000-0000-000000000000; '
    )
    script += _WRITE_CONFIG
    env = [{"name": "REGISTRY", "value": _registry_host(spec.image)}]
    if spec.git_token_secret:  # the Key Vault secret's id (URL), read with the same sign-in
        script += (
            '; az keyvault secret show --id "$GIT_TOKEN_SECRET" --query value --output tsv '
            "> /docker-config/git-token"
        )
        env.append({"name": "GIT_TOKEN_SECRET", "value": spec.git_token_secret})
    return Login(cli_image, script, tuple(env))


def git_context(url: str, commit: str, context: str) -> str:
    """BuildKit's git context: `<url>#<ref>[:<subdir>]`."""
    sub = context.strip("/")
    return f"{url}#{commit}" + (f":{sub}" if sub and sub != "." else "")


def _registry_host(image: str) -> str:
    return image.split("/", 1)[0]


def config_map(spec: BuildSpec) -> dict[str, Any]:
    """The generated Dockerfile (and its .dockerignore), or the launcher's wrapper
    Dockerfile, for the builder to mount."""
    data = {"Dockerfile": spec.dockerfile or ""}
    if spec.dockerfile is None and spec.wrapper is not None:
        data = {"Dockerfile": spec.wrapper}
    if spec.dockerignore:
        data["Dockerfile.dockerignore"] = spec.dockerignore
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{spec.name}-dockerfile", "namespace": BUILD_NAMESPACE},
        "data": data,
    }


def job(
    spec: BuildSpec,
    *,
    builder_image: str,
    cli_image: str,
    login: Login | None = None,
    account: str = BUILDER_ACCOUNT,
    pod_labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The build Job for `spec`: `login` writes the registry's Docker config (ECR's with
    `cli_image` by default), the pod runs as ServiceAccount `account` with `pod_labels`
    (e.g. Azure workload identity's `azure.workload.identity/use`)."""
    generated = spec.dockerfile is not None
    wrapped = not generated and spec.wrapper is not None
    args = [
        "build",
        "--frontend",
        "dockerfile.v0",
        "--opt",
        f"context={git_context(spec.repository_url, spec.commit, spec.context)}",
        "--output",
        f"type=image,name={spec.image}{'-base' if wrapped else ''},push=true",
    ]
    if generated:
        args += ["--local", "dockerfile=/dockerfile", "--opt", "filename=Dockerfile"]
    elif spec.dockerfile_path:
        rel = spec.dockerfile_path
        folder = spec.context.strip("/")
        if folder and folder != "." and rel.startswith(folder + "/"):
            rel = rel[len(folder) + 1 :]
        args += ["--opt", f"filename={rel}"]
    env: list[dict[str, Any]] = [
        {"name": "BUILDKITD_FLAGS", "value": "--oci-worker-no-process-sandbox"},
        {"name": "DOCKER_CONFIG", "value": _DOCKER_CONFIG},
    ]
    if spec.git_token_secret:
        git_host = urlsplit(spec.repository_url).hostname or ""
        args += ["--secret", f"id=GIT_AUTH_TOKEN.{git_host},src={_TOKEN_FILE}"]
    mounts = [
        {"name": "buildkitd", "mountPath": "/home/user/.local/share/buildkit"},
        {"name": "docker-config", "mountPath": _DOCKER_CONFIG, "readOnly": True},
    ]
    volumes: list[dict[str, Any]] = [
        {"name": "buildkitd", "emptyDir": {}},
        {"name": "docker-config", "emptyDir": {"medium": "Memory"}},
    ]
    if generated or wrapped:
        mounts.append({"name": "dockerfile", "mountPath": "/dockerfile", "readOnly": True})
        volumes.append({"name": "dockerfile", "configMap": {"name": f"{spec.name}-dockerfile"}})
    command = ["buildctl-daemonless.sh"]
    if wrapped:
        launcher = [
            "build",
            "--frontend",
            "dockerfile.v0",
            "--local",
            "context=/dockerfile",
            "--local",
            "dockerfile=/dockerfile",
            "--opt",
            f"build-arg:SCIA_APP_IMAGE={spec.image}-base",
            "--output",
            f"type=image,name={spec.image},push=true",
        ]
        script = f"set -e; {shlex.join(command + args)}; {shlex.join(command + launcher)}"
        command, args = ["/bin/sh", "-c", script], []
    login = login or ecr_login(spec, cli_image)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": spec.name,
            "namespace": BUILD_NAMESPACE,
            "labels": {"app.kubernetes.io/name": "scia-build", "scia.io/commit": spec.commit[:12]},
        },
        "spec": {
            "backoffLimit": 1,
            "activeDeadlineSeconds": 3600,
            "template": {
                "metadata": {
                    "labels": {"app.kubernetes.io/name": "scia-build", **(pod_labels or {})}
                },
                "spec": {
                    "serviceAccountName": account,
                    "restartPolicy": "Never",
                    "initContainers": [
                        {
                            "name": "registry-login",
                            "image": login.image,
                            "command": ["/bin/sh", "-c", login.script],
                            "env": list(login.env),
                            "volumeMounts": [
                                {"name": "docker-config", "mountPath": "/docker-config"}
                            ],
                        }
                    ],
                    "containers": [
                        {
                            "name": "buildkit",
                            "image": builder_image,
                            "command": command,
                            **({"args": args} if args else {}),
                            "env": env,
                            "securityContext": {
                                "runAsUser": 1000,
                                "runAsGroup": 1000,
                                "seccompProfile": {"type": "Unconfined"},
                                "appArmorProfile": {"type": "Unconfined"},
                            },
                            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}},
                            "volumeMounts": mounts,
                        }
                    ],
                    "volumes": volumes,
                },
            },
        },
    }


def builder_account(
    name: str = BUILDER_ACCOUNT, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    """The builder's ServiceAccount: on EKS the Pod Identity association gives it the push
    role; on GKE/AKS its `annotations` name the cloud identity it federates to."""
    meta: dict[str, Any] = {"name": name, "namespace": BUILD_NAMESPACE}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}


def build_namespace() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": BUILD_NAMESPACE}}


def push_policy(repository_arn: str, git_token_secret: str | None = None) -> str:
    """IAM policy: a registry login, push/pull to one repository only, and (a private
    repository) reading its token's secret."""
    read: list[dict[str, Any]] = []
    if git_token_secret:
        read = [
            {
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": git_token_secret,
            }
        ]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                *read,
                # GetAuthorizationToken has no resource-level permissions (ECR's IAM docs).
                {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Action": [
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:BatchGetImage",
                        "ecr:CompleteLayerUpload",
                        "ecr:GetDownloadUrlForLayer",
                        "ecr:InitiateLayerUpload",
                        "ecr:PutImage",
                        "ecr:UploadLayerPart",
                    ],
                    "Resource": repository_arn,
                },
            ],
        },
        sort_keys=True,
    )
