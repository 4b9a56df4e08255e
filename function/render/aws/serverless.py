"""The serverless strategy: a Lambda function from a container image, its role, a Function URL.

Web applications run on Lambda through the AWS Lambda Web Adapter in the image; the
adapter reads the application port from AWS_LWA_PORT.

Without spec.image the image is built from the repository at the pinned commit
(render/aws/build.py, docs/build.md) into the deployment's ECR repository
(render/aws/registry.py), with the Lambda Web Adapter layered on, and rolled out through
versions, a health check and a `live` alias (render/aws/rollout.py); the Function URL
serves the `live` alias. Application logs go to the log group `/scia/<deployment>/app`
(with a team's `spec.image` too).

Policies: require-https needs nothing here, a Function URL is served over HTTPS only
(there is no plain-HTTP endpoint to turn off); enable-monitoring adds Errors and
Throttles alarms (monitoring.py).
"""

from __future__ import annotations

import re
from typing import Any

from function.build.dockerfile import DockerfileError, recipe_for_pin, unbuildable
from function.policy.admission import ENABLE_MONITORING
from function.render.aws.arns import Observed
from function.render.aws.build import (
    APP_LOGS,
    LOGS,
    app_log_group,
    build_resources,
    build_state,
    log_group_name,
)
from function.render.aws.iam import role_with_policies
from function.render.aws.lambda_vpc import VPC_ACCESS_POLICY, vpc_config
from function.render.aws.monitoring import serverless_alarms
from function.render.aws.registry import registry_resources
from function.render.aws.rollout import LIVE, LIVE_ALIAS, lambda_rollout
from function.render.aws.secrets import AppConfig, read_policy
from function.render.common import RenderContext, Resources, UnsupportedTarget, select
from function.render.names import MAX_DESCRIPTION, bounded

# <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repository>[:tag|@sha256:digest]
_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d{1,2})"
    r"\.amazonaws\.com(?:\.cn)?/(?P<repo>[a-z0-9][a-z0-9._/-]*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})|@sha256:[0-9a-f]{64})?$"
)
# Public Function URL (auth NONE): since October 2025 AWS requires both statements, or
# every call is refused with 403 (AWS Lambda developer guide, "Control access to Function
# URLs"; awsdocs/aws-lambda-developer-guide issue 494).
URL_STATEMENT = "AllowPublicFunctionUrl"
INVOKE_STATEMENT = "AllowPublicFunctionUrlInvoke"


class ImageNotServable(UnsupportedTarget):
    """spec.image is not an image Lambda can pull for this function."""


def lambda_image_problem(image: str | None, region: str) -> str | None:
    """Why Lambda cannot run `image` for a function in `region`, or None if it can.

    Lambda pulls container images only from a private Amazon ECR repository in the
    function's own Region (https://docs.aws.amazon.com/lambda/latest/dg/images-create.html;
    aws/aws-lambda-roadmap issue 43: no third-party registries).
    """
    if not image:
        return "serverless needs spec.image: a container image in Amazon ECR"
    m = _ECR_IMAGE.match(image)
    if m is None:
        return (
            f"invalid spec.image: Lambda runs container images only from a private Amazon ECR "
            f"repository in the function's region ({region}), "
            f"<account>.dkr.ecr.{region}.amazonaws.com/<repository>:<tag>; {image!r} is not one"
        )
    if m.group("region") != region:
        return (
            f"invalid spec.image: the ECR repository is in {m.group('region')} but the function "
            f"runs in {region} (spec.region); Lambda pulls images only from its own region: "
            "replicate the repository or change spec.region"
        )
    return None


# The AWS Lambda Web Adapter, layered onto built images as a Lambda extension
# (github.com/awslabs/aws-lambda-web-adapter; multi-architecture image on ECR Public).
LAMBDA_ADAPTER = "public.ecr.aws/awsguru/aws-lambda-adapter:0.8.4"


def _function(
    ctx: RenderContext,
    image: str | None,
    port: int | None = None,
    config: AppConfig | None = None,
) -> dict[str, Any]:
    """The Lambda function; `port` overrides the decision's (a generated static-site image
    serves on nginx's 8080)."""
    d = ctx.decision
    assert d.serverless is not None
    s = d.serverless
    port = port or d.port
    variables = {
        "PORT": str(port),
        "AWS_LWA_PORT": str(port),
        "AWS_LWA_READINESS_CHECK_PATH": d.health_check_path,
    }
    if config is not None and not config.empty:
        # Names and ids only: the image's entrypoint runs the launcher (`scia-launch @env --
        # <command>`, function/config/scia_launch.py), which fetches the values with this
        # role; a new configuration version is a new function configuration.
        variables["SCIA_LAUNCH_CONFIG"] = config.launch_json()
    fp: dict[str, Any] = {
        "packageType": "Image",
        "roleSelector": select("lambda-role"),
        "memorySize": s.memory_mb,
        "timeout": s.timeout_seconds,
        "architectures": [s.architecture],
        "environment": {"variables": variables},
        "description": bounded(f"{ctx.who} at {ctx.commit[:12]}", MAX_DESCRIPTION["Function"]),
        "tags": ctx.tags,
    }
    if d.data_stores:
        # Composed stores are reached from inside their VPC (render/aws/lambda_vpc.py).
        fp["vpcConfig"] = vpc_config(ctx)
    if image is not None:
        fp = {"packageType": "Image", "imageUri": image} | fp
    return ctx.resource("lambda", "Function", "lambda-function", fp)


def _public_url(ctx: RenderContext, qualifier: str | None) -> Resources:
    q = {"qualifier": qualifier} if qualifier else {}
    out: Resources = {}
    out["function-url"] = ctx.resource(
        "lambda",
        "FunctionURL",
        "function-url",
        {"functionNameSelector": select("lambda-function"), "authorizationType": "NONE"} | q,
    )
    # A public (auth NONE) Function URL needs two statements in the function's policy:
    # lambda:InvokeFunctionUrl, and lambda:InvokeFunction limited to calls through a URL.
    # Permissions cannot be updated (every field is ForceNew): the second is its own
    # resource, so the first one of an existing deployment stays as it is.
    out["function-url-permission"] = ctx.resource(
        "lambda",
        "Permission",
        "function-url-permission",
        {
            "functionNameSelector": select("lambda-function"),
            "action": "lambda:InvokeFunctionUrl",
            "principal": "*",
            "functionUrlAuthType": "NONE",
            "statementId": URL_STATEMENT,
        }
        | q,
    )
    out["function-invoke-permission"] = ctx.resource(
        "lambda",
        "Permission",
        "function-invoke-permission",
        {
            "functionNameSelector": select("lambda-function"),
            "action": "lambda:InvokeFunction",
            "principal": "*",
            "invokedViaFunctionUrl": True,
            "statementId": INVOKE_STATEMENT,
        }
        | q,
    )
    return out


def _role(ctx: RenderContext) -> Resources:
    policies = ["service-role/AWSLambdaBasicExecutionRole"]
    if ctx.decision.data_stores:
        policies.append(VPC_ACCESS_POLICY)  # the function's network interfaces in the VPC
    return role_with_policies(
        ctx, "lambda-role", "lambda.amazonaws.com", policies, f"Lambda execution role of {ctx.who}"
    )


def render_serverless(
    ctx: RenderContext, observed: Observed | None = None, config: AppConfig | None = None
) -> Resources:
    assert ctx.decision.serverless is not None, "serverless decision without serverless parameters"
    observed = observed or {}
    if not ctx.spec.image:
        return render_built(ctx, observed, config)
    image = ctx.spec.image
    problem = lambda_image_problem(image, ctx.region)
    if problem:
        raise ImageNotServable(problem)
    out = _role(ctx)
    if config is not None and not config.empty:
        out |= read_policy(ctx, "lambda-config-policy", "lambda-role", config)
    # The app's logs go to a log group of the deployment's own (retention, named in status),
    # as with a built image, not to Lambda's default /aws/lambda/<function>.
    out[APP_LOGS] = app_log_group(ctx, observed)
    function = _function(ctx, image, config=config)
    function["spec"]["forProvider"]["loggingConfig"] = {
        "logFormat": "Text",
        "logGroup": log_group_name(ctx, observed, APP_LOGS),
    }
    out["lambda-function"] = function
    out |= _public_url(ctx, None)
    if ctx.has_policy(ENABLE_MONITORING):
        out |= serverless_alarms(ctx, observed)
    ctx.report.update({"logs": {"application": log_group_name(ctx, observed, APP_LOGS)}})
    return out


def render_built(
    ctx: RenderContext, observed: Observed, config: AppConfig | None = None
) -> Resources:
    """Serverless from an image built from the repository (no spec.image)."""
    try:
        recipe = recipe_for_pin(ctx.analysis)
    except DockerfileError as e:
        raise ImageNotServable(
            "serverless without spec.image: "
            + unbuildable(e, "status.decision.analysis.", "serverless")
        ) from None
    out: Resources = registry_resources(ctx, observed, keep=ctx.settings.build.keep_images)
    state = build_state(ctx, observed)
    out |= build_resources(ctx, recipe, observed, state, lambda_adapter=LAMBDA_ADAPTER)
    out[APP_LOGS] = app_log_group(ctx, observed)
    out |= _role(ctx)
    if config is not None and not config.empty:
        out |= read_policy(ctx, "lambda-config-policy", "lambda-role", config)
    function = _function(
        ctx, None, recipe.port if recipe.origin == "generated" else None, config=config
    )
    function["spec"]["forProvider"]["loggingConfig"] = {
        "logFormat": "Text",
        "logGroup": log_group_name(ctx, observed, APP_LOGS),
    }
    rollout, report = lambda_rollout(ctx, observed, state, function)
    out |= rollout
    if LIVE in out:
        out |= _public_url(ctx, LIVE_ALIAS)
    if ctx.has_policy(ENABLE_MONITORING) and "lambda-function" in out:
        out |= serverless_alarms(ctx, observed)
    ctx.report.update(
        {
            "build": state.to_status(),
            "rollout": report,
            "logs": {
                "application": log_group_name(ctx, observed, APP_LOGS),
                "build": log_group_name(ctx, observed, LOGS),
            },
        }
    )
    return out
