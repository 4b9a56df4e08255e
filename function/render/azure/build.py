"""Images built from the repository on AKS: Azure Container Registry and workload identity
(pure).

When `spec.image` is empty, the AKS cluster builds the image the way EKS does
(render/kube/build.py: a BuildKit rootless Job per commit and service through
provider-kubernetes, its readiness the Job's `Complete` condition), and pushes it here:

- `container-registry`: a Basic Azure Container Registry in the deployment's resource
  group (admin user off, no anonymous pull); images go to `<loginServer>/app`, tagged
  with the commit SHA (`<service>-<sha>` for a monorepo's services). Basic has no
  retention policy (a Premium feature): old images are not purged (docs/multicloud.md).
- who may push: AKS workload identity (the cluster has its OIDC issuer and workload
  identity on, kubernetes.py). A user-assigned identity (`builder-identity`) trusts the
  cluster's issuer for the builder's ServiceAccount only (`builder-federation`, subject
  `system:serviceaccount:scia-build:scia-builder`, audience `api://AzureADTokenExchange`;
  the issuer is the cluster's own, so no other cluster's account matches), and has
  `AcrPush` on this registry only (`builder-acr-push`). The ServiceAccount carries the
  identity's client id (`azure.workload.identity/client-id`) and the build pod the
  `azure.workload.identity/use` label, so AKS's webhook mounts the federated token.
- pulling: the cluster's kubelet identity gets `AcrPull` on the registry
  (`kubelet-acr-pull`), so the nodes pull the built images without a secret.
- the login: an init container (`workload.azureCliImage`) signs in with the federated
  token and exchanges its Entra ID token at the registry (render/kube/build.py
  `acr_login`).

- a private repository (`build.repositoryCredentialsSecretRef`, the `repository-credentials`
  Secret): a Key Vault of the builds' own (`build-key-vault`, RBAC authorization, its
  tenant the builder identity's) holding a copy of the token (`git-token`, a Key Vault
  Secret whose `valueSecretRef` names the Secret and key: the provider copies the value,
  no manifest holds it), `Key Vault Secrets User` on that vault for the builder identity
  (`builder-key-vault-read`) and, with `azure.secretsWriterObjectId`, `Key Vault Secrets
  Officer` for the provider's principal (`build-key-vault-writer`); the login init
  container reads it (`az keyvault secret show --id`) into the pod's memory volume.

Role assignments and the federated credential take ids Azure assigns (the registry's
id, the identity's principal id, the cluster's issuer URL and kubelet object id), which
no selector reaches: each is composed once its values are observed. The build waits
until the push role assignment and the federated credential are Ready. Build logs: the
Log Analytics workspace with Container Insights (enable-monitoring), else only on the
nodes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from function.lastknown import has_existed
from function.render.azure.base import (
    Observed,
    at_provider,
    observed_field,
    observed_id,
    resource,
    role_assignment,
    select,
)
from function.render.common import RenderContext, Resources
from function.render.kube import build as kbuild
from function.render.kube.app import BuildRoute

REGISTRY = "container-registry"
BUILD_VAULT = "build-key-vault"
GIT_TOKEN = "git-token"  # noqa: S105 (a component name)
VAULT_READ = "builder-key-vault-read"
VAULT_WRITE = "build-key-vault-writer"
IDENTITY = "builder-identity"
FEDERATION = "builder-federation"
PUSH = "builder-acr-push"
PULL = "kubelet-acr-pull"
CLIENT_ID = "azure.workload.identity/client-id"
USE = "azure.workload.identity/use"
AUDIENCE = "api://AzureADTokenExchange"


def _ready(observed: Observed, component: str) -> bool:
    """The grant is in effect: Ready, or evidently created before (a lost status must not
    take the build Job out of the desired set)."""
    body = observed.get(component)
    return body is not None and has_existed(body)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def kubelet_object_id(observed: Observed, cluster: str) -> str | None:
    """The AKS kubelet identity's object id (atProvider.kubeletIdentity, an object or a
    one-item list depending on the API version)."""
    kubelet = at_provider(observed, cluster).get("kubeletIdentity")
    if isinstance(kubelet, list):
        kubelet = kubelet[0] if kubelet else None
    return _text(kubelet.get("objectId")) if isinstance(kubelet, dict) else None


def render_build(
    ctx: RenderContext, observed: Observed, cluster: str
) -> tuple[Resources, BuildRoute]:
    """The registry, the builder's identity and the role assignments (each once the ids it
    needs are observed), and the route the workload's build Jobs take (render/kube/app.py)."""
    out: Resources = {
        REGISTRY: resource(
            ctx,
            "containerregistry",
            "Registry",
            REGISTRY,
            {"sku": "Basic", "adminEnabled": False, "anonymousPullEnabled": False},
        ),
        IDENTITY: resource(ctx, "managedidentity", "UserAssignedIdentity", IDENTITY, {}),
    }
    issuer = _text(at_provider(observed, cluster).get("oidcIssuerUrl"))
    if issuer:
        out[FEDERATION] = resource(
            ctx,
            "managedidentity",
            "FederatedIdentityCredential",
            FEDERATION,
            {
                "audience": [AUDIENCE],
                "issuer": issuer,
                "parentIdSelector": select(IDENTITY),
                "subject": f"system:serviceaccount:{kbuild.BUILD_NAMESPACE}:"
                f"{kbuild.BUILDER_ACCOUNT}",
            },
        )
    registry_id = observed_id(observed, REGISTRY)
    principal = _text(at_provider(observed, IDENTITY).get("principalId"))
    kubelet = kubelet_object_id(observed, cluster)
    if registry_id and principal:
        out[PUSH] = role_assignment(ctx, PUSH, registry_id, "AcrPush", principal)
    if registry_id and kubelet:
        out[PULL] = role_assignment(ctx, PULL, registry_id, "AcrPull", kubelet)
    login_server = _text(at_provider(observed, REGISTRY).get("loginServer"))
    client_id = _text(at_provider(observed, IDENTITY).get("clientId"))
    ready = bool(login_server and client_id) and all(
        _ready(observed, c) for c in (PUSH, PULL, FEDERATION)
    )
    token_secret = None
    if ctx.settings.build.repository_credentials_secret_ref is not None:
        vault, token_secret = _git_token(ctx, observed, principal)
        out |= vault
        ready = ready and token_secret is not None
        ready = ready and all(_ready(observed, c) for c in (GIT_TOKEN, VAULT_READ))
    route = BuildRoute(
        registry_url=f"{login_server}/app" if ready else None,
        waiting_for=(
            "the registry's login server (container-registry), the builder identity's "
            "client id (builder-identity) and its federated credential and AcrPush and "
            "AcrPull role assignments (builder-federation, builder-acr-push, "
            "kubelet-acr-pull Ready)"
        ),
        login=_login(ctx),
        account_annotations={CLIENT_ID: client_id} if client_id else {},
        pod_labels={USE: "true"},
        git_token_secret=token_secret,
    )
    if token_secret is None and ctx.settings.build.repository_credentials_secret_ref:
        route = dataclasses.replace(
            route,
            registry_url=None,
            git_token_secret=GIT_TOKEN,  # a private build is possible: it waits for the copy
            waiting_for=route.waiting_for + ", and the git token's copy in the builds' Key "
            f"Vault ({BUILD_VAULT}, {GIT_TOKEN}, {VAULT_READ} Ready)",
        )
    return out, route


def _git_token(
    ctx: RenderContext, observed: Observed, principal: str | None
) -> tuple[Resources, str | None]:
    """The builds' Key Vault with the token's copy and its grants, and the copy's id (URL)
    once the vault's URI is observed."""
    ref = ctx.settings.build.repository_credentials_secret_ref
    assert ref is not None
    out: Resources = {}
    tenant = _text(at_provider(observed, IDENTITY).get("tenantId"))
    kept = observed_field(observed, BUILD_VAULT, "tenantId")
    if not tenant and not kept:
        return out, None
    out[BUILD_VAULT] = resource(
        ctx,
        "keyvault",
        "Vault",
        BUILD_VAULT,
        {
            "skuName": "standard",
            "tenantId": tenant or kept,
            "rbacAuthorizationEnabled": True,
            "softDeleteRetentionDays": 7,
            "purgeProtectionEnabled": False,
            "publicNetworkAccessEnabled": True,
        },
    )
    value_ref: dict[str, str] = {"name": ref.name, "key": ref.key}
    if not ctx.identity.namespaced:
        value_ref["namespace"] = ref.namespace or "crossplane-system"
    out[GIT_TOKEN] = resource(
        ctx,
        "keyvault",
        "Secret",
        GIT_TOKEN,
        {
            "name": "git-token",
            "keyVaultIdSelector": select(BUILD_VAULT),
            "valueSecretRef": value_ref,
            "contentType": "text/plain",
        },
    )
    vault_id = observed_id(observed, BUILD_VAULT)
    writer = ctx.settings.azure.secrets_writer_object_id
    if vault_id and writer:
        out[VAULT_WRITE] = role_assignment(
            ctx, VAULT_WRITE, vault_id, "Key Vault Secrets Officer", writer
        )
    if vault_id and principal:
        out[VAULT_READ] = role_assignment(
            ctx, VAULT_READ, vault_id, "Key Vault Secrets User", principal
        )
    uri = _text(at_provider(observed, BUILD_VAULT).get("vaultUri"))
    return out, (f"{uri.rstrip('/')}/secrets/git-token" if uri else None)


def _login(ctx: RenderContext) -> Callable[[kbuild.BuildSpec], kbuild.Login]:
    image = ctx.settings.workload.azure_cli_image

    def login(spec: kbuild.BuildSpec) -> kbuild.Login:
        return kbuild.acr_login(spec, image)

    return login
