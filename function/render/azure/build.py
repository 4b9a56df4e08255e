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

Role assignments and the federated credential take ids Azure assigns (the registry's
id, the identity's principal id, the cluster's issuer URL and kubelet object id), which
no selector reaches: each is composed once its values are observed. The build waits
until the push role assignment and the federated credential are Ready. Build logs: the
Log Analytics workspace with Container Insights (enable-monitoring), else only on the
nodes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from function.lastknown import has_existed
from function.render.azure.base import Observed, at_provider, observed_id, resource, select
from function.render.common import RenderContext, Resources
from function.render.kube import build as kbuild
from function.render.kube.app import BuildRoute

REGISTRY = "container-registry"
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


def _role(ctx: RenderContext, component: str, scope: str, role: str, principal: str) -> Any:
    return resource(
        ctx,
        "authorization",
        "RoleAssignment",
        component,
        {
            "scope": scope,
            "roleDefinitionName": role,
            "principalId": principal,
            "principalType": "ServicePrincipal",
            "skipServicePrincipalAadCheck": True,
        },
    )


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
        out[PUSH] = _role(ctx, PUSH, registry_id, "AcrPush", principal)
    if registry_id and kubelet:
        out[PULL] = _role(ctx, PULL, registry_id, "AcrPull", kubelet)
    login_server = _text(at_provider(observed, REGISTRY).get("loginServer"))
    client_id = _text(at_provider(observed, IDENTITY).get("clientId"))
    ready = bool(login_server and client_id) and all(
        _ready(observed, c) for c in (PUSH, PULL, FEDERATION)
    )
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
    )
    return out, route


def _login(ctx: RenderContext) -> Callable[[kbuild.BuildSpec], kbuild.Login]:
    image = ctx.settings.workload.azure_cli_image

    def login(spec: kbuild.BuildSpec) -> kbuild.Login:
        return kbuild.acr_login(spec, image)

    return login
