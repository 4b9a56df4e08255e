"""The application on the composed EKS cluster: access, workload, build, logs (pure).

Composed for the kubernetes strategy next to the cluster (kubernetes.py):

- access: an eks `ClusterAuth` publishes a kubeconfig of the AWS ProviderConfig's identity
  (the cluster creator, an admin through `bootstrapClusterCreatorAdminPermissions`) as its
  connection secret, and a provider-kubernetes `ProviderConfig` reads it
  (render/kube/objects.py);
- the workload, once those credentials exist (and from then on, so nothing leaves the
  desired set when the token is being refreshed): per service a Deployment, a Service (the
  primary one public: an NLB), a HorizontalPodAutoscaler, and a PodDisruptionBudget when
  highly available (render/kube/workload.py, sizes from render/kube/sizing.py);
- the build, when no `spec.image` is given: a BuildKit Job per commit and service
  (render/kube/build.py) pushing to the composed ECR repository with EKS Pod Identity (an
  IAM role that may push to that repository only, a PodIdentityAssociation, the
  eks-pod-identity-agent add-on); the Deployment takes the new image only after the Job is
  observed complete, and rolls back by itself (render/kube/rollout.py);
- logs: the Amazon CloudWatch Observability add-on ships every container's log (the app's
  and the builds') to `/aws/containerinsights/<cluster>/application`, a log group composed
  here with the platform's retention (the add-on comes after it, so the agent never
  creates it unmanaged first).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from function.policy.admission import REQUIRE_HTTPS
from function.render.aws.build import git_secret, git_secret_arn
from function.render.aws.https import certificate, certificate_arn
from function.render.aws.iam import role_with_policies
from function.render.aws.secrets import AppConfig, read_policy
from function.render.common import RenderContext, Resources, select
from function.render.kube import build as kbuild
from function.render.kube import units as ku
from function.render.kube import workload as kw
from function.render.kube.objects import (
    app_namespace,
    kube_object,
    kubeconfig_secret,
    observed_manifest,
    provider_config,
)
from function.render.kube.recipe import Unbuildable, build_name, build_spec
from function.render.kube.rollout import Choice, job_state
from function.render.kube.sizing import PodSize, pod_size
from function.render.names import (
    EXTERNAL_NAME,
    RULES,
    generate,
    name_hint,
    observed_external_name,
)

Observed = dict[str, dict[str, Any]]

CLUSTER_AUTH = "cluster-auth"
PROVIDER_CONFIG = "kubernetes-provider-config"
POD_IDENTITY_ADDON = "eks-pod-identity-agent"
LOG_GROUP = "app-log-group"
APP_ACCOUNT = "scia-app"  # the app's ServiceAccount when it has configuration to read


@dataclass(frozen=True)
class Registry:
    """The image repository the builds push to (composed elsewhere; observed values)."""

    component: str  # its composition-resource name (for the role policy's dependency)
    url: str | None  # <account>.dkr.ecr.<region>.amazonaws.com/<name>, once observed
    arn: str | None


def cluster_name(ctx: RenderContext, observed: Observed) -> str:
    """The EKS cluster's AWS name: the observed one, else the one names.py will give it."""
    seen = observed_external_name(observed.get("eks-cluster"))
    if seen:
        return seen
    rule = RULES["Cluster"]
    ident = ctx.identity
    return generate(
        rule,
        ident.tenant,
        ident.deployment_name,
        ident.uid,
        "eks-cluster",
        name_hint(rule, "Cluster", "eks-cluster"),
    )


def log_group_name(ctx: RenderContext, observed: Observed) -> str:
    """Where the cluster's container logs go (the CloudWatch agent's application group)."""
    return f"/aws/containerinsights/{cluster_name(ctx, observed)}/application"


def workloads_composed(observed: Observed) -> bool:
    """Whether the workload's Objects may be composed: the cluster's credentials were
    published (the ClusterAuth is Ready), or Objects exist already (kept from then on)."""
    return ku.workloads_composed(observed, CLUSTER_AUTH)


def access(ctx: RenderContext) -> Resources:
    secret = kubeconfig_secret(ctx)
    ref = {"name": secret["name"]}
    if not ctx.identity.namespaced:
        ref["namespace"] = secret["namespace"]
    auth = ctx.resource(
        "eks", "ClusterAuth", CLUSTER_AUTH, {"clusterNameSelector": select("eks-cluster")}
    )
    auth["spec"]["writeConnectionSecretToRef"] = ref
    return {CLUSTER_AUTH: auth, PROVIDER_CONFIG: provider_config(ctx, PROVIDER_CONFIG)}


def log_group(ctx: RenderContext, observed: Observed) -> dict[str, Any]:
    body = ctx.resource(
        "cloudwatchlogs",
        "Group",
        LOG_GROUP,
        {"retentionInDays": ctx.settings.build.log_retention_days, "tags": ctx.tags},
    )
    # NameAsIdentifier (provider-upjet-aws config/externalname.go): the group's name.
    body["metadata"]["annotations"] = {EXTERNAL_NAME: log_group_name(ctx, observed)}
    return body


def pod_identity_role(ctx: RenderContext, component: str, what: str) -> Resources:
    """An IAM role EKS Pod Identity may hand to a ServiceAccount's pods (no policies)."""
    out = role_with_policies(ctx, component, "pods.eks.amazonaws.com", [], what)
    role = out[component]["spec"]["forProvider"]
    # EKS Pod Identity assumes the role with session tags (EKS user guide, pod-id-role).
    trust = json.loads(role["assumeRolePolicy"])
    trust["Statement"][0]["Action"] = ["sts:AssumeRole", "sts:TagSession"]
    role["assumeRolePolicy"] = json.dumps(trust, sort_keys=True)
    return out


def _pod_identity(
    ctx: RenderContext, component: str, namespace: str, account: str, role: str
) -> dict[str, Any]:
    return ctx.resource(
        "eks",
        "PodIdentityAssociation",
        component,
        {
            "clusterNameSelector": select("eks-cluster"),
            "namespace": namespace,
            "serviceAccount": account,
            "roleArnSelector": select(role),
            "tags": ctx.tags,
        },
    )


def app_access(ctx: RenderContext, config: AppConfig) -> Resources:
    """The app's own AWS identity on the cluster, when it has configuration to read: a role
    with exactly the configuration's read policy (render/aws/secrets.py), handed by EKS
    Pod Identity to the app's ServiceAccount (`APP_ACCOUNT` in the app's namespace)."""
    if config.empty:
        return {}
    out = pod_identity_role(ctx, "app-role", f"configuration reads of {ctx.who}")
    out |= read_policy(ctx, "app-config-policy", "app-role", config)
    out["app-pod-identity"] = _pod_identity(
        ctx, "app-pod-identity", app_namespace(ctx), APP_ACCOUNT, "app-role"
    )
    return out


def _builder_access(ctx: RenderContext, registry: Registry, observed: Observed) -> Resources:
    """Who may push: an IAM role for the builder's ServiceAccount (EKS Pod Identity)."""
    out = pod_identity_role(ctx, "builder-role", f"image builds of {ctx.who}")
    private, token_arn = git_secret_arn(ctx, observed)
    if registry.arn and (token_arn or not private):
        out["builder-role-policy"] = ctx.resource(
            "iam",
            "RolePolicy",
            "builder-role-policy",
            {
                "policy": kbuild.push_policy(registry.arn, token_arn),
                "roleSelector": select("builder-role"),
            },
        )
    out["builder-pod-identity"] = _pod_identity(
        ctx, "builder-pod-identity", kbuild.BUILD_NAMESPACE, kbuild.BUILDER_ACCOUNT, "builder-role"
    )
    return out


def render_app(
    ctx: RenderContext,
    observed: Observed,
    registry: Registry | None,
    config: AppConfig | None = None,
) -> Resources:
    """Access, logs, and (once the cluster's credentials exist) the workload and its builds.

    With configuration (`config`: spec.env, spec.envFrom, bound and composed data stores),
    the app's pods run as `APP_ACCOUNT`, whose Pod Identity role reads exactly that
    configuration, and carry `SCIA_LAUNCH_CONFIG` (names and ids, never a value): the
    launcher in the image (function/build/launcher.py) fetches the values at start. Its
    `version` changes with any value, so a change rolls the Deployment out.

    Fills `ctx.report` (function/workload.py): status.rollout, status.build, status.logs,
    and status.workloads, one entry per service (what runs, what is being built, rolled out
    or rolled back, where the logs are).
    """
    config = config or AppConfig()
    out: Resources = access(ctx)
    out[LOG_GROUP] = log_group(ctx, observed)
    if ctx.has_policy(REQUIRE_HTTPS):
        out |= certificate(ctx)
    out |= app_access(ctx, config)
    needs_build = ctx.spec.image is None
    if needs_build and registry is not None:
        out |= _builder_access(ctx, registry, observed)
        # A private repository's token: a Secrets Manager copy of the Kubernetes Secret
        # (the provider reads the Secret; no manifest holds the value), read by the build
        # pod with its Pod Identity (render/aws/build.py composes the same for CodeBuild).
        out |= git_secret(ctx)
    if not workloads_composed(observed):
        ctx.notes.append(
            "the application's Kubernetes objects are composed once the cluster's credentials "
            f"are published (eks ClusterAuth {CLUSTER_AUTH} Ready)"
        )
        return out
    ns = app_namespace(ctx)
    out["app-namespace"] = kube_object(ctx, "app-namespace", kw.namespace_manifest(ns, ns))
    building = needs_build and registry is not None and registry.url is not None
    if building:
        out |= _build_objects(ctx)
    all_units = ku.units(ctx)
    if not config.empty:
        out["app-account"] = kube_object(ctx, "app-account", kw.service_account(ns, APP_ACCOUNT))
        launch = [{"name": "SCIA_LAUNCH_CONFIG", "value": config.launch_json()}]
        all_units = [
            dataclasses.replace(u, env=[*u.env, *launch], service_account=APP_ACCOUNT)
            for u in all_units
        ]
    assert ctx.decision.kubernetes is not None
    size = pod_size(ctx.decision.kubernetes, ctx.analysis.memory_gib, len(all_units))
    entries: list[dict[str, Any]] = []
    for index, unit in enumerate(all_units):
        out |= _unit(
            ctx,
            observed,
            unit,
            index,
            len(all_units) == 1,
            size,
            registry if building else None,
            entries,
            not config.empty,
        )
    ctx.report.update(report(ctx, observed, entries, building))
    return out


def report(
    ctx: RenderContext, observed: Observed, entries: list[dict[str, Any]], building: bool
) -> dict[str, Any]:
    """status.rollout (the worst service's), status.build (with builds), status.logs and
    status.workloads (every service) for function/workload.py."""
    group = log_group_name(ctx, observed)
    out: dict[str, Any] = {
        "rollout": ku.rollout_status(entries, group),
        "logs": {"application": group} | ({"build": group} if building else {}),
        "workloads": ku.public_entries(entries),
    }
    build = ku.build_status(entries, ctx.commit, group, f"{kbuild.BUILD_NAMESPACE}/")
    if build is not None:
        out["build"] = build
    return out


def _build_objects(ctx: RenderContext) -> Resources:
    """What every build shares: its namespace and its ServiceAccount."""
    out: Resources = {
        "build-namespace": kube_object(ctx, "build-namespace", kbuild.build_namespace()),
        "builder-account": kube_object(ctx, "builder-account", kbuild.builder_account()),
    }
    return out


def _unit(
    ctx: RenderContext,
    observed: Observed,
    unit: kw.Unit,
    index: int,
    single: bool,
    size: PodSize,
    registry: Registry | None,
    entries: list[dict[str, Any]],
    configured: bool = False,
) -> Resources:
    """One service: its build (with a registry), then the image choice, then its objects;
    appends the service's status entry to `entries`."""
    out: Resources = {}
    names = ku.components(unit)
    wl = ctx.settings.workload
    target = ctx.spec.image
    build_seen: dict[str, Any] | None = None
    note = None
    cannot_build = False
    private, token_arn = git_secret_arn(ctx, observed)
    if registry is not None and private and token_arn is None:
        note = f"{unit.name}: the build waits for the git token secret's ARN (git-token)"
    elif registry is not None:
        assert registry.url is not None
        spec = build_spec(ctx, unit, index, registry.url, single, token_arn)
        if isinstance(spec, Unbuildable):
            note, cannot_build = spec.note, True
        else:
            target, comp = spec.image, spec.name
            if spec.wrap_problem and configured:
                ctx.notes.append(
                    f"{unit.name}: the image is built without the configuration launcher: "
                    f"the repository's Dockerfile {spec.wrap_problem}"
                )
            if spec.dockerfile is not None or spec.wrapper is not None:
                out[f"{comp}-dockerfile"] = kube_object(
                    ctx, f"{comp}-dockerfile", kbuild.config_map(spec)
                )
            job = kbuild.job(spec, builder_image=wl.builder_image, cli_image=wl.aws_cli_image)
            out[comp] = kube_object(ctx, comp, job, readiness=kbuild.JOB_COMPLETE)
            build_seen = observed_manifest(observed, comp)
    elif target is None:
        note = (
            f"{unit.name}: no image yet: the build needs the image repository "
            "(spec.image runs a given image)"
        )
    choice = ku.choose_image(
        ctx,
        observed,
        names["deployment"],
        target,
        build_seen,
        note or "no image",
        unbuildable=cannot_build,
    )
    if note:
        ctx.notes.append(note)
    group = log_group_name(ctx, observed)
    entry = ku.entry(unit, choice, group)
    if build_seen is not None:
        job_name = build_name(ctx.commit, unit)
        entry["buildLog"] = f"{group}, pod of job {kbuild.BUILD_NAMESPACE}/{job_name}"
        entry["_job"] = job_state(build_seen)[0]
        entry["_jobName"] = job_name
    entries.append(entry)
    return out | _unit_objects(ctx, observed, unit, names, size, choice)


def _tls(ctx: RenderContext, observed: Observed) -> kw.Tls | str | None:
    """require-https: the public Service's TLS (None without the policy), or why it waits
    (the composed certificate's ARN is not observed yet)."""
    if not ctx.has_policy(REQUIRE_HTTPS):
        return None
    arn = certificate_arn(ctx, observed)
    if not arn:
        return "the certificate's ARN (certificate)"
    return kw.Tls(certificate_arn=arn, ssl_policy=ctx.policy.https.ssl_policy)


def _unit_objects(
    ctx: RenderContext,
    observed: Observed,
    unit: kw.Unit,
    names: dict[str, str],
    size: PodSize,
    choice: Choice,
) -> Resources:
    ns = instance = app_namespace(ctx)
    service: Resources = {}
    tls = _tls(ctx, observed) if unit.public else None
    if isinstance(tls, str):
        # require-https: never a plain-HTTP Service first. One that exists already (the
        # policy was just added) is kept as observed until TLS can replace it.
        seen = ((observed.get(names["service"]) or {}).get("spec") or {}).get("forProvider")
        ctx.notes.append(f"{unit.name}: the TLS load balancer (require-https) waits for {tls}")
        if isinstance(seen, dict) and isinstance(seen.get("manifest"), dict):
            service[names["service"]] = kube_object(
                ctx, names["service"], seen["manifest"], readiness=ku.SERVICE_HAS_ADDRESS
            )
    else:
        service[names["service"]] = kube_object(
            ctx,
            names["service"],
            kw.service(namespace=ns, instance=instance, unit=unit, tags=ctx.tags, tls=tls),
            readiness=ku.SERVICE_HAS_ADDRESS if unit.public else None,
        )
    return ku.run_objects(ctx, unit, names, size, choice, service)
