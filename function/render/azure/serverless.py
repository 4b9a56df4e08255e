"""The Azure serverless strategy: an Azure Container App from an image in Azure Container Registry.

Why Container Apps rather than Azure Functions for a web application: a Container App
runs the application's own image and HTTP server unchanged (any language, framework and
port: the ingress forwards to `targetPort`), scales to zero and out on concurrent
requests, and serves HTTPS on its own domain with a managed certificate. A Function App
would need the application rewritten to the Functions programming model (triggers and
bindings), or a custom handler, or its container hosting on a dedicated (always-billed)
plan; its Consumption plan does not run arbitrary containers. The AWS strategy runs the
same image under Lambda's Web Adapter; here no adapter is needed.

Composed: the resource group, a Log Analytics workspace for the environment's logs, a
Consumption Container Apps environment, and the app: one container from `spec.image`
with the decision's memory (and vCPU at Azure's 0.5 vCPU per GiB ratio), external
ingress to the app port, HTTP liveness and readiness probes on the health path, 0-10
replicas, single-revision mode (a new image makes a new revision, which takes the
traffic once ready). No registry password is handled: the image is pulled with a
user-assigned identity. With the registry's resource id in the input
(`azure.containerRegistries[].registryId`) it is the deployment's own (`pull-identity`,
granted `AcrPull` on that registry only by `pull-grant`), used once that grant is Ready
(until then, and without the id, the platform's `pullIdentityId`). The identity attached
to an app is one its code can get tokens for (the managed identity endpoint): the
platform's shared one lets every tenant's app pull every image of that registry, so
setting `registryId` keeps each app to its own grant.

Policies: require-https is met by the ingress itself: `allowInsecureConnections: false`
(always set), so HTTP is redirected to HTTPS on the app's *.azurecontainerapps.io name.
enable-monitoring: 5xx and restart alerts (monitoring.py).

Not configurable: a request may take at most 240 s (the ingress's limit), whatever the
decision's timeout.
"""

from __future__ import annotations

import math
import re

from function.lastknown import has_existed
from function.policy.admission import ENABLE_MONITORING
from function.render.azure.base import (
    Observed,
    at_provider,
    resource,
    role_assignment,
    select,
)
from function.render.azure.kubernetes import WORKSPACE, log_workspace
from function.render.azure.monitoring import serverless_alerts
from function.render.azure.names import azure_name
from function.render.azure.network import resource_group
from function.render.azure.secrets import LAUNCH_ENV, AzureConfig, launch_json
from function.render.common import RenderContext, Resources, UnsupportedTarget

ENVIRONMENT = "container-app-environment"
CONTAINER_APP = "container-app"
PULL_IDENTITY = "pull-identity"
PULL_GRANT = "pull-grant"
MAX_REPLICAS = 10
MAX_MEMORY_GIB = 8.0  # Consumption profile: up to 4 vCPU / 8 GiB per app
# <registry>.azurecr.io/<repository>[:tag|@sha256:digest]; registry names are 5-50
# alphanumerics (https://learn.microsoft.com/azure/container-registry/container-registry-get-started-portal).
_ACR_IMAGE = re.compile(
    r"^(?P<server>[a-z0-9]{5,50}\.azurecr\.io)/(?P<repo>[a-z0-9]+(?:[._/-][a-z0-9]+)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})|@sha256:[0-9a-f]{64})?$"
)


class ImageNotServable(UnsupportedTarget):
    """spec.image is not an image this Container App can pull."""


def container_app_logs(ctx: RenderContext, observed: Observed) -> str:
    """Where the app's logs are: the environment sends the containers' stdout and stderr
    to the composed Log Analytics workspace (`logsDestination: log-analytics`), table
    `ContainerAppConsoleLogs_CL`, one app by `ContainerAppName_s`
    (https://learn.microsoft.com/azure/container-apps/log-monitoring)."""
    ident = ctx.identity

    def name(kind: str, component: str) -> str:
        return azure_name(
            kind,
            component,
            observed,
            tenant=ident.tenant,
            deployment=ident.deployment_name,
            uid=ident.uid,
        )

    return (
        f"Log Analytics workspace {name('Workspace', WORKSPACE)}: ContainerAppConsoleLogs_CL "
        f'| where ContainerAppName_s == "{name("ContainerApp", CONTAINER_APP)}"'
    )


def image_problem(image: str | None, settings: object) -> str | None:
    """Why a Container App of this platform cannot run `image`, or None if it can.

    The image must be in Azure Container Registry (`<name>.azurecr.io/<repository>`) and
    the registry among `input.azure.containerRegistries`, which names the identity that
    pulls from it.
    """
    if not image:
        return (
            "serverless needs spec.image: a container image in Azure Container Registry; "
            "Container Apps run a given image only (no ACR build result is observable as a "
            "managed resource, docs/multicloud.md); kubernetes builds from the repository"
        )
    m = _ACR_IMAGE.match(image)
    if m is None:
        return (
            "invalid spec.image: Azure Container Apps runs images from Azure Container "
            f"Registry here, <registry>.azurecr.io/<repository>:<tag>; {image!r} is not one"
        )
    registries = getattr(settings, "container_registries", [])
    if not any(r.login_server == m.group("server") for r in registries):
        allowed = ", ".join(r.login_server for r in registries) or "none configured"
        return (
            f"invalid spec.image: registry {m.group('server')} is not one the platform pulls "
            f"from (input.azure.containerRegistries: {allowed})"
        )
    return None


def container_size(memory_mb: int) -> tuple[float, str]:
    """(vCPU, memory) for a Consumption container: memory rounded up to 0.5 GiB (at least
    0.5, at most 8), vCPU half the GiB (Azure's fixed ratio for Consumption)."""
    gib = min(MAX_MEMORY_GIB, max(0.5, math.ceil(memory_mb / 512) * 0.5))
    cpu = gib / 2
    memory = f"{gib:g}Gi"
    return cpu, memory


def render_serverless(
    ctx: RenderContext, observed: Observed, config: AzureConfig | None = None
) -> Resources:
    """The environment and the app; with `config` (render/azure/secrets.py) the app also
    runs as the app's managed identity and carries SCIA_LAUNCH_CONFIG (names, ids and
    versions, never a secret's value): the launcher in the image reads the values at start
    from the managed identity endpoint, and a new value is a new revision."""
    config = config or AzureConfig()
    d = ctx.decision
    assert d.serverless is not None, "serverless decision without serverless parameters"
    az = ctx.settings.azure
    problem = image_problem(ctx.spec.image, az)
    if problem:
        raise ImageNotServable(problem)
    image = str(ctx.spec.image)
    server = image.split("/", 1)[0]
    registry = az.registry(server)
    assert registry is not None
    cpu, memory = container_size(d.serverless.memory_mb)
    env = [{"name": "PORT", "value": str(d.port)}]
    own, pulling = own_pull_identity(ctx, observed, registry.registry_id)
    puller = pulling or registry.pull_identity_id
    identities = [puller]
    launch = launch_json(ctx, config)
    if launch:
        env.append({"name": LAUNCH_ENV, "value": launch})
        if config.identity_id:
            identities.append(config.identity_id)
    probe = {"transport": "HTTP", "port": d.port, "path": d.health_check_path}
    ctx.report["logs"] = {"application": container_app_logs(ctx, observed)}
    out = resource_group(ctx) | log_workspace(ctx) | own
    out[ENVIRONMENT] = resource(
        ctx,
        "containerapp",
        "Environment",
        ENVIRONMENT,
        {
            "logAnalyticsWorkspaceIdSelector": select(WORKSPACE),
            "logsDestination": "log-analytics",
        },
    )
    if not config.ready and CONTAINER_APP not in observed:
        ctx.notes.append(
            "the container app is composed once the app identity and its Key Vault are "
            "observed (it reads the app's configuration as that identity)"
        )
        if ctx.has_policy(ENABLE_MONITORING):
            out |= serverless_alerts(ctx, observed)
        return out
    out[CONTAINER_APP] = resource(
        ctx,
        "containerapp",
        "ContainerApp",
        CONTAINER_APP,
        {
            "containerAppEnvironmentIdSelector": select(ENVIRONMENT),
            "revisionMode": "Single",
            "identity": {"type": "UserAssigned", "identityIds": identities},
            "registry": [{"server": server, "identity": puller}],
            "ingress": {
                "externalEnabled": True,
                "targetPort": d.port,
                "transport": "auto",
                "allowInsecureConnections": False,
                "trafficWeight": [{"latestRevision": True, "percentage": 100}],
            },
            "template": {
                "minReplicas": 0,
                "maxReplicas": MAX_REPLICAS,
                "container": [
                    {
                        "name": "app",
                        "image": image,
                        "cpu": cpu,
                        "memory": memory,
                        "env": env,
                        "livenessProbe": [probe],
                        "readinessProbe": [probe],
                    }
                ],
            },
        },
    )
    if ctx.has_policy(ENABLE_MONITORING):
        out |= serverless_alerts(ctx, observed)
    return out


def own_pull_identity(
    ctx: RenderContext, observed: Observed, registry_id: str | None
) -> tuple[Resources, str | None]:
    """The deployment's own pull identity and its AcrPull grant on `registry_id` (none
    without it), and the identity's resource id once the grant is Ready (None before:
    the app keeps the platform's identity, so an app never pulls with a grant that does
    not exist yet)."""
    if not registry_id:
        return {}, None
    out: Resources = {
        PULL_IDENTITY: resource(ctx, "managedidentity", "UserAssignedIdentity", PULL_IDENTITY, {})
    }
    ident = at_provider(observed, PULL_IDENTITY)
    principal, ident_id = ident.get("principalId"), ident.get("id")
    if not isinstance(principal, str) or not principal:
        ctx.notes.append(
            f"the app pulls with the platform's identity until its own ({PULL_IDENTITY}) "
            "is observed and granted AcrPull"
        )
        return out, None
    out[PULL_GRANT] = role_assignment(ctx, PULL_GRANT, registry_id, "AcrPull", principal)
    # In effect once created (Ready, or evidently created before: a lost status must not
    # switch the app back to the platform's identity).
    grant = observed.get(PULL_GRANT)
    if grant is None or not has_existed(grant) or not isinstance(ident_id, str) or not ident_id:
        ctx.notes.append(
            f"the app pulls with the platform's identity until {PULL_GRANT} (AcrPull for "
            f"{PULL_IDENTITY}) is Ready"
        )
        return out, None
    return out, ident_id
