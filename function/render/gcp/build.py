"""Images built from the repository on GKE: Artifact Registry and Workload Identity (pure).

When `spec.image` is empty, the GKE cluster builds the image the way EKS does
(render/kube/build.py: a BuildKit rootless Job per commit and service through
provider-kubernetes, its readiness the Job's `Complete` condition), and pushes it here:

- `artifact-repository`: an Artifact Registry Docker repository in the deployment's
  region; its observed `registryUri` (`<region>-docker.pkg.dev/<project>/<repository>`)
  is where images go, tagged with the commit SHA (`<service>-<sha>` for a monorepo's
  services). Cleanup policies bound its storage: the newest `build.keepImages` versions
  and the deployed and the newest revisions' commits are kept (KEEP policies win over
  DELETE in Artifact Registry), everything else older than a week is deleted. Tags are not
  made immutable: an immutable tag cannot be deleted, which would defeat the cleanup.
- who may push: Workload Identity Federation for GKE. The cluster joins the project's
  workload pool (`<project>.svc.id.goog`, `gcp.project`), its nodes serve pods the GKE
  metadata server (`GKE_METADATA`), and the builder's Kubernetes ServiceAccount, by its
  principal identifier
  `principal://iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<project>.svc.id.goog/subject/ns/scia-build/sa/<account>`,
  gets `roles/artifactregistry.writer` on this repository only
  (`builder-registry-writer`, a RegistryRepositoryIAMMember). No Google service account:
  impersonating one needs `roles/iam.workloadIdentityUser` on it, and the
  ServiceAccountIAMMember kind is not among the CRDs validated against (../shared/crds);
  a project-wide grant of that role would let the builder impersonate any account.
  The ServiceAccount's name carries a hash of the deployment (`scia-builder-<hash>`):
  every cluster of a project shares the pool, so a name shared by two deployments
  would let one push to the other's repository.
- pulling: the nodes' own service account (render/gcp/nodes.py `node-service-account`;
  a pool made before it, on the project's Compute Engine default account
  `<number>-compute@developer.gserviceaccount.com`, keeps that one) gets
  `roles/artifactregistry.reader` on the repository (`nodes-registry-reader`), once its
  email is observed.
- the login: an init container (`workload.gcloudCliImage`) writes a Docker config with
  `gcloud auth print-access-token` (the pod's federated token, valid one hour) as user
  `oauth2accesstoken` (render/kube/build.py `artifact_registry_login`).

- a private repository (`build.repositoryCredentialsSecretRef`, the `repository-credentials`
  Secret): a Secret Manager copy (`git-token`, id `scia-<12 hex of the XR's uid>-git-token`,
  and `git-token-version`, whose `secretDataSecretRef` names the Secret and key: the
  provider copies the value, no manifest holds it), readable by the builder's principal
  only (`builder-git-token-access`: `roles/secretmanager.secretAccessor` on the project
  with an IAM condition naming that one secret id); the login init container reads it
  (`gcloud secrets versions access`) into the build pod's memory volume, and BuildKit
  passes it to git as `GIT_AUTH_TOKEN.<host>`. `build.gitTokenSecretArn` (an AWS secret)
  cannot serve a GKE build: refused with a note.

Needs `gcp.project` and `gcp.projectNumber` in the function input (the pool's and the
principal's names); without them builds are refused with a message naming both, and a
given `spec.image` runs as before. A deployment that builds (no `spec.image`) and whose
registry exists is refused with a fatal result instead when those fields go away
(`BuildsLost`): leaving the registry out would delete it and the images the cluster runs,
so Crossplane keeps everything until the fields are back or `spec.image` is set. The
build waits until the writer grant (and, for a private repository, the token's copy and
its grant) is Ready.
Build logs: Cloud Logging, like the app's (GKE's workload logging).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from function.lastknown import has_existed
from function.render.common import RenderContext, Resources, UnsupportedTarget, select
from function.render.gcp.common import Observed, at_provider, labels
from function.render.kube import build as kbuild
from function.render.kube import units as ku
from function.render.kube.app import BuildRoute
from function.render.names import EXTERNAL_NAME

REPOSITORY = "artifact-repository"
WRITER = "builder-registry-writer"
GIT_TOKEN = "git-token"  # noqa: S105 (a component name)
GIT_TOKEN_VERSION = "git-token-version"  # noqa: S105 (a component name)
GIT_TOKEN_ACCESS = "builder-git-token-access"  # noqa: S105 (a component name)
READER = "nodes-registry-reader"
PROTECTED_HISTORY = 5
MAX_PROTECTED_TAGS = 40
DELETE_AFTER = "604800s"  # a week


def builder_account(ctx: RenderContext) -> str:
    """The builder's Kubernetes ServiceAccount: unique per deployment (module docstring)."""
    digest = hashlib.sha256(ctx.identity.uid.encode()).hexdigest()[:10]
    return f"{kbuild.BUILDER_ACCOUNT}-{digest}"


def build_problem(ctx: RenderContext) -> str | None:
    """Why images cannot be built on GKE with this function input, or None."""
    g = ctx.settings.gcp
    missing = [n for n, v in (("gcp.project", g.project), ("gcp.projectNumber", g.project_number))
               if not v]  # fmt: skip
    if not missing:
        return None
    return (
        f"images are built on GKE once the function input sets {' and '.join(missing)} "
        "(Workload Identity's pool and principal); set spec.image to run one"
    )


class BuildsLost(UnsupportedTarget):
    """The deployment builds its image into an existing registry, and the function input
    no longer lets it build (`build_problem`)."""


def workload_pool(ctx: RenderContext) -> str | None:
    """The cluster's workload pool, `<project>.svc.id.goog` (None without gcp.project)."""
    project = ctx.settings.gcp.project
    return f"{project}.svc.id.goog" if project else None


def _protected_tags(ctx: RenderContext, services: list[str]) -> list[str]:
    commits = [ctx.commit, *reversed(ctx.history_commits)][: PROTECTED_HISTORY + 1]
    out: list[str] = []
    for commit in commits:
        for tag in [commit, *(f"{s}-{commit}" for s in services)]:
            if tag not in out:
                out.append(tag)
    return out[:MAX_PROTECTED_TAGS]


def repository(ctx: RenderContext) -> dict[str, Any]:
    """The Artifact Registry Docker repository with its cleanup policies."""
    units = ku.units(ctx)
    services = [u.name for u in units] if len(units) > 1 else []
    return ctx.resource(
        "artifact",
        "RegistryRepository",
        REPOSITORY,
        {
            "format": "DOCKER",
            "location": ctx.region,
            "description": f"images built for {ctx.who}",
            "labels": labels(ctx),
            "cleanupPolicyDryRun": False,
            "cleanupPolicies": [
                {
                    "id": "keep-recent",
                    "action": "KEEP",
                    "mostRecentVersions": {"keepCount": ctx.settings.build.keep_images},
                },
                {
                    "id": "keep-deployed",
                    "action": "KEEP",
                    "condition": {
                        "tagState": "TAGGED",
                        "tagPrefixes": _protected_tags(ctx, services),
                    },
                },
                {
                    "id": "delete-old",
                    "action": "DELETE",
                    "condition": {"tagState": "ANY", "olderThan": DELETE_AFTER},
                },
            ],
        },
    )


def _member(
    ctx: RenderContext, component: str, repo: str, role: str, member: str
) -> dict[str, Any]:
    return ctx.resource(
        "artifact",
        "RegistryRepositoryIAMMember",
        component,
        {"location": ctx.region, "repository": repo, "role": role, "member": member},
    )


def _ready(observed: Observed, component: str) -> bool:
    """The grant is in effect: Ready, or evidently created before (a lost status must not
    take the build Job out of the desired set)."""
    body = observed.get(component)
    return body is not None and has_existed(body)


def render_build(
    ctx: RenderContext, observed: Observed, nodes: str | None
) -> tuple[Resources, BuildRoute]:
    """The registry and its grants (once the repository is observed), and the route the
    workload's build Jobs take (render/kube/app.py). `nodes`: the IAM member the nodes pull
    as (render/gcp/nodes.py; None until known)."""
    problem = build_problem(ctx)
    login = _login(ctx)
    if problem is not None and ctx.spec.image is None and REPOSITORY in observed:
        raise BuildsLost(
            f"function input: {problem.removesuffix('; set spec.image to run one')}; this "
            f"deployment builds its image into {REPOSITORY}, which exists: leaving it out "
            "would delete the registry and the images the cluster runs. Restore the function "
            "input, or set spec.image. Nothing composed is changed or deleted meanwhile"
        )
    if problem is not None:
        return {}, BuildRoute(None, "", login, problem=problem)
    account = builder_account(ctx)
    out: Resources = {REPOSITORY: repository(ctx)}
    repo = at_provider(observed, REPOSITORY, "name") or at_provider(observed, REPOSITORY, "id")
    uri = at_provider(observed, REPOSITORY, "registryUri")
    if repo:
        principal = principal_of(ctx, account)
        out[WRITER] = _member(ctx, WRITER, str(repo), "roles/artifactregistry.writer", principal)
        if nodes is not None:
            out[READER] = _member(ctx, READER, str(repo), "roles/artifactregistry.reader", nodes)
    token_id = None
    private = ctx.settings.build.repository_credentials_secret_ref is not None
    if private:
        token_id = git_token_id(ctx)
        out |= _git_token(ctx, token_id, principal_of(ctx, account))
    ready = bool(uri) and _ready(observed, WRITER)
    if private:
        ready = ready and all(_ready(observed, c) for c in (GIT_TOKEN_VERSION, GIT_TOKEN_ACCESS))
    route = BuildRoute(
        registry_url=f"{uri}/app" if ready else None,
        waiting_for=(
            "the Artifact Registry repository's URI (artifact-repository) and the builder's "
            "writer grant (builder-registry-writer Ready)"
            + (
                ", the git token's copy and its grant (git-token-version, "
                "builder-git-token-access Ready)"
                if private
                else ""
            )
        ),
        login=login,
        account=account,
        git_token_secret=token_id,
    )
    return out, route


def principal_of(ctx: RenderContext, account: str) -> str:
    """The Workload Identity principal of the builder's Kubernetes ServiceAccount."""
    g = ctx.settings.gcp
    return (
        f"principal://iam.googleapis.com/projects/{g.project_number}/locations/global/"
        f"workloadIdentityPools/{workload_pool(ctx)}/subject/ns/{kbuild.BUILD_NAMESPACE}"
        f"/sa/{account}"
    )


def git_token_id(ctx: RenderContext) -> str:
    """The Secret Manager id of the private repository's token copy."""
    digest = hashlib.sha256(ctx.identity.uid.encode()).hexdigest()[:12]
    return f"scia-{digest}-git-token"


def _git_token(ctx: RenderContext, token_id: str, principal: str) -> Resources:
    """The token's Secret Manager copy (by reference) and the builder's read grant."""
    ref = ctx.settings.build.repository_credentials_secret_ref
    assert ref is not None
    data_ref: dict[str, str] = {"name": ref.name, "key": ref.key}
    if not ctx.identity.namespaced:
        data_ref["namespace"] = ref.namespace or "crossplane-system"
    secret = ctx.resource(
        "secretmanager",
        "Secret",
        GIT_TOKEN,
        {"replication": {"auto": {}}, "labels": labels(ctx)},
    )
    secret["metadata"]["annotations"] = {EXTERNAL_NAME: token_id}
    grant: dict[str, Any] = {
        "role": "roles/secretmanager.secretAccessor",
        "member": principal,
        "condition": {
            "title": f"scia git token {token_id}"[:100],
            "description": f"the image builds of {ctx.who}"[:256],
            "expression": f'resource.name.extract("/secrets/{{id}}/") == "{token_id}"',
        },
    }
    if ctx.settings.gcp.project:
        grant["project"] = ctx.settings.gcp.project
    return {
        GIT_TOKEN: secret,
        GIT_TOKEN_VERSION: ctx.resource(
            "secretmanager",
            "SecretVersion",
            GIT_TOKEN_VERSION,
            {
                "secretSelector": select(GIT_TOKEN),
                "secretDataSecretRef": data_ref,
                "enabled": True,
            },
        ),
        GIT_TOKEN_ACCESS: ctx.resource(
            "cloudplatform", "ProjectIAMMember", GIT_TOKEN_ACCESS, grant
        ),
    }


def _login(ctx: RenderContext) -> Callable[[kbuild.BuildSpec], kbuild.Login]:
    image = ctx.settings.workload.gcloud_cli_image
    project = ctx.settings.gcp.project or ""

    def login(spec: kbuild.BuildSpec) -> kbuild.Login:
        return kbuild.artifact_registry_login(spec, image, project)

    return login
