"""The serverless strategy: a Lambda function from a container image, its role, a Function URL.

Web applications run on Lambda through the AWS Lambda Web Adapter in the image; the
adapter reads the application port from AWS_LWA_PORT.

Policies: require-https needs nothing here, a Function URL is served over HTTPS only
(there is no plain-HTTP endpoint to turn off); enable-monitoring adds Errors and
Throttles alarms (monitoring.py).
"""

from __future__ import annotations

import re

from function.policy.admission import ENABLE_MONITORING
from function.render.aws.arns import Observed
from function.render.aws.iam import role_with_policies
from function.render.aws.monitoring import serverless_alarms
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


def render_serverless(
    ctx: RenderContext, observed: Observed | None = None, config: AppConfig | None = None
) -> Resources:
    d = ctx.decision
    assert d.serverless is not None, "serverless decision without serverless parameters"
    s = d.serverless
    image = ctx.spec.image
    problem = lambda_image_problem(image, ctx.region)
    if problem:
        raise ImageNotServable(problem)
    assert image is not None
    who = ctx.who
    out: Resources = role_with_policies(
        ctx,
        "lambda-role",
        "lambda.amazonaws.com",
        ["service-role/AWSLambdaBasicExecutionRole"],
        f"Lambda execution role of {who}",
    )
    variables = {
        "PORT": str(d.port),
        "AWS_LWA_PORT": str(d.port),
        "AWS_LWA_READINESS_CHECK_PATH": d.health_check_path,
    }
    if config is not None and not config.empty:
        # Names and ids only: the image's entrypoint runs the launcher (`scia-launch @env --
        # <command>`, function/config/scia_launch.py), which fetches the values with this
        # role; a new configuration version is a new function configuration.
        variables["SCIA_LAUNCH_CONFIG"] = config.launch_json()
        out |= read_policy(ctx, "lambda-config-policy", "lambda-role", config)
    out["lambda-function"] = ctx.resource(
        "lambda",
        "Function",
        "lambda-function",
        {
            "packageType": "Image",
            "imageUri": image,
            "roleSelector": select("lambda-role"),
            "memorySize": s.memory_mb,
            "timeout": s.timeout_seconds,
            "architectures": [s.architecture],
            "environment": {"variables": variables},
            "description": bounded(f"{who} at {ctx.commit[:12]}", MAX_DESCRIPTION["Function"]),
            "tags": ctx.tags,
        },
    )
    out["function-url"] = ctx.resource(
        "lambda",
        "FunctionURL",
        "function-url",
        {"functionNameSelector": select("lambda-function"), "authorizationType": "NONE"},
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
        },
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
        },
    )
    if ctx.has_policy(ENABLE_MONITORING):
        out |= serverless_alarms(ctx, observed or {})
    return out
