"""serverless on GCP: a Cloud Run (v2) service from an image in Artifact Registry.

The service is public: `invokerIamDisabled` turns off the IAM check for invocations
(Cloud Run's "allow unauthenticated" without an `allUsers` run.invoker binding; the
provider's CRDs in ../shared/crds have no V2ServiceIAMMember kind, and organisations
that forbid `allUsers` bindings (domain-restricted sharing) still allow this). Ingress is
all traffic; scaling 0..N instances. CPU follows memory (1 vCPU up to 4 GiB, 2 up to 8,
4 above: Cloud Run's minimum for the memory). With composed Cloud SQL stores
(render/gcp/datastores.py) the service egresses to private ranges through the deployment's
subnetwork (Direct VPC egress) and runs a Cloud SQL Auth Proxy sidecar per store, which the
app's container starts after.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from function.pricing.estimate import cloud_run_vcpus
from function.render.common import RenderContext, Resources, UnsupportedTarget
from function.render.gcp.common import Observed, labels
from function.render.gcp.datastores import cloud_run_sidecars
from function.render.gcp.monitoring import serverless_alerts
from function.render.gcp.secrets import GcpConfig, cloud_run_env, cloud_run_launch
from function.render.gcp.vm import ENABLE_MONITORING
from function.render.names import gcp_external_name

MAX_INSTANCES = 10
REDIS_NEEDS_LAUNCHER = (
    "spec.image must start through the launcher (scia-launch @env -- <command>, "
    "function/config/scia_launch.py, Python 3) to receive the composed Redis's URL "
    "(SCIA_LAUNCH_CONFIG)"
)
APP_CONTAINER = "app"
SERVICE = "cloud-run-service"
# <location>-docker.pkg.dev/<project>/<repository>/<image>[:tag|@sha256:digest]
_ARTIFACT_REGISTRY = re.compile(
    r"^(?P<location>[a-z]+(-[a-z]+\d{1,2})?)-docker\.pkg\.dev/"
    r"(?P<project>[a-z][-a-z0-9]{4,28}[a-z0-9])/[a-z0-9][-a-z0-9._]*(/[a-z0-9][-a-z0-9._/]*)?"
    r"(:[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})?$"
)


class ImageNotServable(UnsupportedTarget):
    """spec.image is not an image Cloud Run may pull for this deployment."""


def cloud_run_image_problem(image: str | None, project: str | None) -> str | None:
    """Why Cloud Run cannot run `image` for this platform, or None.

    It must be in Artifact Registry (Container Registry, gcr.io, was shut down in 2025),
    in the platform's project when the input names one (`gcp.project`): the Cloud Run
    service agent of that project can pull it without cross-project grants."""
    if not image:
        return (
            "spec.image: serverless on GCP needs a container image in Artifact Registry; "
            "Cloud Run runs a given image only (no Cloud Build result is observable as a "
            "managed resource, docs/multicloud.md); kubernetes builds from the repository"
        )
    m = _ARTIFACT_REGISTRY.match(image)
    if m is None:
        return (
            f"spec.image: {image!r} is not in Artifact Registry "
            "(<location>-docker.pkg.dev/<project>/<repository>/<image>[:tag|@sha256:...])"
        )
    if project and m.group("project") != project:
        return (
            f"spec.image: {image!r} is in project {m.group('project')!r}; the platform "
            f"allows images of project {project!r} (input gcp.project)"
        )
    return None


def cloud_run_logs(ctx: RenderContext, observed: Observed) -> str:
    """Where the app's logs are: Cloud Run writes the container's stdout and stderr and its
    request logs to Cloud Logging under the revision's resource (a Cloud Logging query,
    https://cloud.google.com/run/docs/logging)."""
    ident = ctx.identity
    name = gcp_external_name(
        "V2Service",
        SERVICE,
        observed,
        tenant=ident.tenant,
        deployment=ident.deployment_name,
        uid=ident.uid,
    )
    return (
        f'Cloud Logging: resource.type="cloud_run_revision" resource.labels.service_name="{name}"'
    )


def render_gcp_serverless(
    ctx: RenderContext, observed: Observed, config: GcpConfig | None = None
) -> Resources:
    """The Cloud Run service (with `config`'s variables and secret references, always
    running as the app's own service account: without one Cloud Run runs a revision as the
    project's default compute service account, often a project Editor), and its alerts.
    Without the service account's email yet, the service waits (render/gcp/secrets.py).
    `config` defaults to none (no account: the service waits, an observed one is kept)."""
    d = ctx.decision
    assert d.serverless is not None, "serverless decision without serverless parameters"
    s = d.serverless
    problem = cloud_run_image_problem(ctx.spec.image, ctx.settings.gcp.project)
    if problem:
        raise ImageNotServable(problem)
    assert ctx.spec.image is not None
    config = config or GcpConfig(identity_needed=True)
    ctx.report["logs"] = {"application": cloud_run_logs(ctx, observed)}
    if not config.ready:
        # Never leave an existing service out (that deletes it): it keeps what it runs, and
        # its alerts stay (a service made before it had an account of its own waits here
        # for the account's email, with everything it had).
        kept = ((observed.get(SERVICE) or {}).get("spec") or {}).get("forProvider")
        if not isinstance(kept, dict):
            return {}
        keep: Resources = {
            SERVICE: ctx.resource("cloudrun", "V2Service", SERVICE, copy.deepcopy(kept))
        }
        if ctx.has_policy(ENABLE_MONITORING):
            keep |= serverless_alerts(ctx, observed)
        return keep
    container: dict[str, Any] = {
        "image": ctx.spec.image,
        "ports": {"containerPort": d.port},
        "resources": {
            "limits": {
                "cpu": str(cloud_run_vcpus(s.memory_mb)),
                "memory": f"{s.memory_mb}Mi",
            }
        },
        "startupProbe": {"httpGet": {"path": d.health_check_path, "port": d.port}},
    }
    if not config.empty:
        container["env"] = cloud_run_env(config)
    launch = cloud_run_launch(ctx, config)
    if launch is not None:  # a composed Redis: its URL is assembled by the launcher
        container["env"].append({"name": "SCIA_LAUNCH_CONFIG", "value": launch})
        ctx.notes.append(REDIS_NEEDS_LAUNCHER)
    containers = [container]
    if config.proxies:  # composed Cloud SQL: the Auth Proxy beside the app (datastores.py)
        sidecars = cloud_run_sidecars(config.proxies, ctx.settings.gcp.data_stores.sql_proxy_image)
        container["name"] = APP_CONTAINER
        container["dependsOn"] = [c["name"] for c in sidecars]
        containers += sidecars
    template: dict[str, Any] = {
        "containers": containers,
        "timeout": f"{s.timeout_seconds}s",
        "scaling": {"minInstanceCount": 0, "maxInstanceCount": MAX_INSTANCES},
        "labels": labels(ctx),
    }
    assert config.service_account is not None  # config.ready: the account is observed
    template["serviceAccount"] = config.service_account
    if config.vpc_access is not None:
        template["vpcAccess"] = config.vpc_access
    out: Resources = {
        SERVICE: ctx.resource(
            "cloudrun",
            "V2Service",
            SERVICE,
            {
                "location": ctx.region,
                "ingress": "INGRESS_TRAFFIC_ALL",
                "invokerIamDisabled": True,
                "deletionProtection": False,
                "labels": labels(ctx),
                "description": f"{ctx.who} at {ctx.commit[:12]}",
                "template": template,
            },
        )
    }
    if ctx.has_policy(ENABLE_MONITORING):
        out |= serverless_alerts(ctx, observed)
    return out
