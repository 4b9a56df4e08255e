"""The image build for strategies without a cluster: CodeBuild, started by a schedule,
reporting to an observed SSM parameter (docs/build.md says why this route).

Composed (component names):

- `build-logs`: the CloudWatch log group of every build (`/scia/<deployment>/build`,
  one stream per build, `<commit[:12]>/<build id>`), retention from the input;
- `build-status`: an SSM String parameter the build writes its outcome to (JSON, see
  function/build/buildspec.py). Managed with `managementPolicies: [Observe, Create,
  Delete]`: Crossplane creates it and reads it (`status.atProvider.insecureValue`) but
  never writes it back, so the build's writes stand and each one is observed;
- `build-role`, `build-role-policy`: what the build may do: write its log group, push to
  the deployment's ECR repository, read and write its status parameter, read the git
  token's secret (a private repository);
- `build-project`: the CodeBuild project (no source: the buildspec fetches the commit,
  builds with the recipe, pushes `<repository>:<commit>`), one build at a time;
- `build-schedule`, `scheduler-role`, `scheduler-role-policy`: an EventBridge Scheduler
  schedule that calls CodeBuild StartBuild every `retryMinutes` while the wanted build is
  not observed done, and is DISABLED once it is (success or failure);
- `git-token`, `git-token-version` (only with `build.repositoryCredentialsSecretRef`): a
  Secrets Manager secret whose value is copied by the provider from the Kubernetes Secret
  (a secret reference; no manifest holds the token).

Resources that need an observed ARN or URL (the role policies, the project) are composed
once it is observed; `ctx.notes` says what they wait for.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from function.build.buildspec import buildspec
from function.build.dockerfile import BuildRecipe
from function.render.aws.arns import Observed, observed_arn
from function.render.aws.iam import assume_role_policy
from function.render.aws.registry import REPOSITORY, repository_name, repository_url
from function.render.common import RenderContext, Resources, select
from function.render.names import EXTERNAL_NAME, bounded, observed_external_name

LOGS = "build-logs"
STATUS = "build-status"
ROLE = "build-role"
ROLE_POLICY = "build-role-policy"
PROJECT = "build-project"
SCHEDULE = "build-schedule"
SCHEDULER_ROLE = "scheduler-role"
SCHEDULER_POLICY = "scheduler-role-policy"
GIT_TOKEN = "git-token"  # noqa: S105 (a component name)
GIT_TOKEN_VERSION = "git-token-version"  # noqa: S105 (a component name)
APP_LOGS = "app-logs"

REBUILD_ANNOTATION = "scia.io/rebuild"
START_BUILD = "arn:aws:scheduler:::aws-sdk:codebuild:startBuild"
INITIAL_STATUS = json.dumps({"state": "NONE"})

BuildStateName = Literal["Waiting", "Building", "Succeeded", "Failed"]


@dataclass(frozen=True)
class BuildState:
    """What the observed build-status parameter says about the wanted build.

    state: Waiting (no outcome for this token yet: not started, or the parameter is not
    observed), Building, Succeeded or Failed. image: `<repository>:<commit>` once
    Succeeded. log_group / log_stream_prefix: where the build's log is.
    """

    state: BuildStateName
    commit: str
    token: str
    message: str
    log_group: str
    log_stream_prefix: str
    image: str | None = None
    build_id: str | None = None
    digest: str | None = None

    def to_status(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "state": self.state,
            "commit": self.commit,
            "message": self.message,
            "logGroup": self.log_group,
            "logStreamPrefix": self.log_stream_prefix,
        }
        for key, value in (("image", self.image), ("buildId", self.build_id)):
            if value:
                out[key] = value
        return out


def token_for(commit: str, rebuild: str = "") -> str:
    """The build token of `commit` and a `scia.io/rebuild` value."""
    return hashlib.sha256(f"{commit}/{rebuild}".encode()).hexdigest()[:16]


def build_token(ctx: RenderContext) -> str:
    """Which build is wanted: the commit, and the `scia.io/rebuild` annotation (change it to
    build a failed commit again)."""
    return token_for(ctx.commit, ctx.identity.annotations.get(REBUILD_ANNOTATION, ""))


def _base(ctx: RenderContext, observed: Observed) -> str:
    """The deployment's name part shared by its build names: the ECR name after scia/."""
    return repository_name(ctx, observed).split("/", 1)[-1]


def _kept(observed: Observed, component: str, name: str) -> str:
    return observed_external_name(observed.get(component)) or name


def log_group_name(ctx: RenderContext, observed: Observed, component: str = LOGS) -> str:
    suffix = "build" if component == LOGS else "app"
    return _kept(observed, component, f"/scia/{_base(ctx, observed)}/{suffix}")


def status_parameter_name(ctx: RenderContext, observed: Observed) -> str:
    return _kept(observed, STATUS, f"/scia/{_base(ctx, observed)}/build-status")


def project_name(ctx: RenderContext, observed: Observed) -> str:
    return _kept(observed, PROJECT, f"scia-{_base(ctx, observed)}"[:255])


def _named(body: dict[str, Any], name: str) -> dict[str, Any]:
    body["metadata"].setdefault("annotations", {})[EXTERNAL_NAME] = name
    return body


def build_state(ctx: RenderContext, observed: Observed) -> BuildState:
    """The wanted build's state, from the observed build-status parameter (pure)."""
    token = build_token(ctx)
    group = log_group_name(ctx, observed)
    prefix = ctx.commit[:12]
    common = {"commit": ctx.commit, "token": token, "log_group": group,
              "log_stream_prefix": prefix}  # fmt: skip
    at = ((observed.get(STATUS) or {}).get("status") or {}).get("atProvider") or {}
    raw = at.get("insecureValue") if isinstance(at, dict) else None
    try:
        value = json.loads(raw) if isinstance(raw, str) else {}
    except ValueError:
        value = {}
    if not isinstance(value, dict) or value.get("token") != token:
        waiting = "waiting for the build to start" if STATUS in observed else (
            "waiting for the build's status parameter")  # fmt: skip
        return BuildState("Waiting", message=f"{waiting} (commit {ctx.commit[:12]})", **common)
    build_id = str(value.get("buildId") or "") or None
    where = f"CloudWatch log group {group}, stream {prefix}/{build_id or '<build id>'}"
    state = value.get("state")
    if state == "SUCCEEDED":
        url = repository_url(observed)
        image = f"{url}:{ctx.commit}" if url else None
        return BuildState(
            "Succeeded", message=f"image of {ctx.commit[:12]} built", image=image,
            build_id=build_id, digest=str(value.get("digest") or "") or None, **common,
        )  # fmt: skip
    if state == "FAILED":
        step = str(value.get("step") or "?")[:40]
        return BuildState(
            "Failed",
            message=f"the build of {ctx.commit[:12]} failed at step {step!r}; log: {where}; "
            f"set the annotation {REBUILD_ANNOTATION} to a new value to build it again",
            build_id=build_id,
            **common,
        )
    return BuildState("Building", message=f"building {ctx.commit[:12]}; log: {where}",
                      build_id=build_id, **common)  # fmt: skip


def _policy(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def _role(ctx: RenderContext, component: str, service: str, what: str) -> dict[str, Any]:
    return ctx.resource(
        "iam",
        "Role",
        component,
        {
            "assumeRolePolicy": assume_role_policy(service),
            "description": bounded(f"{what} of {ctx.who}", 1000),
            "tags": ctx.tags,
        },
    )


def git_secret_arn(ctx: RenderContext, observed: Observed) -> tuple[bool, str | None]:
    """(private, the secret's ARN or None while it is not observed)."""
    settings = ctx.settings.build
    if settings.git_token_secret_arn:
        return True, settings.git_token_secret_arn
    if settings.repository_credentials_secret_ref is not None:
        return True, observed_arn(observed, GIT_TOKEN)
    return False, None


def git_secret(ctx: RenderContext) -> Resources:
    """The Secrets Manager copy of the repository token (Secret + SecretVersion whose value
    the provider reads from the `repository-credentials` Secret by reference), or {} when
    the repository is public or the platform names an existing secret ARN."""
    ref = ctx.settings.build.repository_credentials_secret_ref
    if ctx.settings.build.git_token_secret_arn or ref is None:
        return {}
    secret_ref: dict[str, Any] = {"name": ref.name, "key": ref.key}
    if not ctx.identity.namespaced:
        secret_ref["namespace"] = ref.namespace or "crossplane-system"
    return {
        GIT_TOKEN: ctx.resource(
            "secretsmanager",
            "Secret",
            GIT_TOKEN,
            {
                "description": f"git token for the image builds of {ctx.who}"[:2048],
                "recoveryWindowInDays": 0,
                "tags": ctx.tags,
            },
        ),
        GIT_TOKEN_VERSION: ctx.resource(
            "secretsmanager",
            "SecretVersion",
            GIT_TOKEN_VERSION,
            {"secretIdSelector": select(GIT_TOKEN), "secretStringSecretRef": secret_ref},
        ),
    }


def app_log_group(ctx: RenderContext, observed: Observed) -> dict[str, Any]:
    """The application's log group (`/scia/<deployment>/app`), named in status."""
    return _named(
        ctx.resource(
            "cloudwatchlogs",
            "Group",
            APP_LOGS,
            {"retentionInDays": ctx.settings.build.log_retention_days, "tags": ctx.tags},
        ),
        log_group_name(ctx, observed, APP_LOGS),
    )


def build_resources(
    ctx: RenderContext,
    recipe: BuildRecipe,
    observed: Observed,
    state: BuildState,
    lambda_adapter: str | None = None,
) -> Resources:
    """The build's managed resources for the pinned commit (see the module docstring).

    `lambda_adapter`: the Lambda Web Adapter image to layer onto the built image (for a
    Lambda), or None."""
    settings = ctx.settings.build
    out: Resources = {}
    out[LOGS] = _named(
        ctx.resource(
            "cloudwatchlogs",
            "Group",
            LOGS,
            {"retentionInDays": settings.log_retention_days, "tags": ctx.tags},
        ),
        log_group_name(ctx, observed),
    )
    status = ctx.resource(
        "ssm",
        "Parameter",
        STATUS,
        {
            "type": "String",
            "insecureValue": INITIAL_STATUS,
            "description": f"image build status of {ctx.who}, written by the build"[:1024],
            "tags": ctx.tags,
        },
    )
    status["spec"]["managementPolicies"] = ["Observe", "Create", "Delete"]
    out[STATUS] = _named(status, status_parameter_name(ctx, observed))
    out[ROLE] = _role(ctx, ROLE, "codebuild.amazonaws.com", "Image build role")
    out[SCHEDULER_ROLE] = _role(ctx, SCHEDULER_ROLE, "scheduler.amazonaws.com", "Build starter")
    out |= git_secret(ctx)

    private, secret_arn = git_secret_arn(ctx, observed)
    repo_arn = observed_arn(observed, REPOSITORY)
    logs_arn = observed_arn(observed, LOGS)
    status_arn = observed_arn(observed, STATUS)
    url = repository_url(observed)
    waiting = [
        what
        for what, value in (
            ("the ECR repository's ARN and URL", repo_arn and url),
            ("the build log group's ARN", logs_arn),
            ("the build status parameter's ARN", status_arn),
            ("the git token secret's ARN", secret_arn if private else "-"),
        )
        if not value
    ]
    if waiting:
        ctx.notes.append("the image build waits for " + ", ".join(waiting))
        return out
    assert repo_arn and url and logs_arn and status_arn
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": [logs_arn.removesuffix(":*"), logs_arn.removesuffix(":*") + ":*"]},
        {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Effect": "Allow", "Resource": repo_arn, "Action": [
            "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
            "ecr:DescribeImages", "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload",
            "ecr:PutImage", "ecr:UploadLayerPart"]},
        {"Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:PutParameter"],
         "Resource": status_arn},
    ]  # fmt: skip
    if private and secret_arn:
        statements.append(
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn}
        )
    out[ROLE_POLICY] = _named(
        ctx.resource(
            "iam",
            "RolePolicy",
            ROLE_POLICY,
            {"roleSelector": select(ROLE), "policy": _policy(statements)},
        ),
        "scia-image-build",
    )
    arm = "arm64" in (ctx.decision.serverless.architecture if ctx.decision.serverless else "x86_64")
    variables = {
        # As the vm user data: the repository as the team named it (a urlRewrites mirror
        # serves the function, and may not be reachable from the build).
        "SCIA_GIT_URL": ctx.spec.repository.url,
        "SCIA_COMMIT": ctx.commit,
        "SCIA_TOKEN": state.token,
        "SCIA_IMAGE_REPOSITORY": url,
        "SCIA_STATUS_PARAMETER": status_parameter_name(ctx, observed),
        "SCIA_CONTEXT": recipe.context,
        "SCIA_DOCKERFILE": recipe.dockerfile_path or "",
        "SCIA_PLATFORM": "linux/arm64" if arm else "linux/amd64",
    }
    if lambda_adapter:
        variables["SCIA_LAMBDA_ADAPTER"] = lambda_adapter
    if private and settings.git_username:
        variables["SCIA_GIT_USERNAME"] = settings.git_username
    name = project_name(ctx, observed)
    out[PROJECT] = _named(
        ctx.resource(
            "codebuild",
            "Project",
            PROJECT,
            {
                "description": bounded(f"image builds of {ctx.who}", 255),
                "serviceRoleSelector": select(ROLE),
                "artifacts": {"type": "NO_ARTIFACTS"},
                "source": {
                    "type": "NO_SOURCE",
                    "buildspec": buildspec(recipe, private=private, secret_arn=secret_arn),
                },
                "environment": {
                    "computeType": settings.compute_type,
                    "image": settings.image_arm64 if arm else settings.image_x86_64,
                    "type": "ARM_CONTAINER" if arm else "LINUX_CONTAINER",
                    "privilegedMode": True,  # the Docker daemon of the build container
                    "imagePullCredentialsType": "CODEBUILD",
                    "environmentVariable": [
                        {"name": k, "value": v, "type": "PLAINTEXT"} for k, v in variables.items()
                    ],
                },
                "logsConfig": {
                    "cloudwatchLogs": {
                        "status": "ENABLED",
                        "groupName": log_group_name(ctx, observed),
                        "streamName": ctx.commit[:12],
                    }
                },
                "buildTimeout": settings.timeout_minutes,
                "queuedTimeout": 60,
                "concurrentBuildLimit": 1,
                "tags": ctx.tags,
            },
        ),
        name,
    )
    project_arn = observed_arn(observed, PROJECT)
    if not project_arn:
        ctx.notes.append("the build schedule waits for the CodeBuild project's ARN")
        return out
    out[SCHEDULER_POLICY] = _named(
        ctx.resource(
            "iam",
            "RolePolicy",
            SCHEDULER_POLICY,
            {
                "roleSelector": select(SCHEDULER_ROLE),
                "policy": _policy(
                    [{"Effect": "Allow", "Action": "codebuild:StartBuild", "Resource": project_arn}]
                ),
            },
        ),
        "scia-start-image-build",
    )
    done = state.state in ("Succeeded", "Failed")
    out[SCHEDULE] = ctx.resource(
        "scheduler",
        "Schedule",
        SCHEDULE,
        {
            "name": bounded(f"scia-{_base(ctx, observed)}", 64),
            "description": bounded(f"starts the image build of {ctx.who}", 512),
            "scheduleExpression": f"rate({settings.retry_minutes} minute"
            + ("s)" if settings.retry_minutes > 1 else ")"),
            "flexibleTimeWindow": {"mode": "OFF"},
            "state": "DISABLED" if done else "ENABLED",
            "target": {
                "arn": START_BUILD,
                "roleArnSelector": select(SCHEDULER_ROLE),
                "input": json.dumps({"ProjectName": name}, sort_keys=True),
                "retryPolicy": {"maximumRetryAttempts": 0},
            },
        },
    )
    return out
