"""The serverless strategy: a Lambda function from a container image, its role, a Function URL.

Web applications run on Lambda through the AWS Lambda Web Adapter in the image; the
adapter reads the application port from AWS_LWA_PORT.

Policies: require-https needs nothing here, a Function URL is served over HTTPS only
(there is no plain-HTTP endpoint to turn off); enable-monitoring adds Errors and
Throttles alarms (monitoring.py).
"""

from __future__ import annotations

from function.policy.admission import ENABLE_MONITORING
from function.render.aws.arns import Observed
from function.render.aws.iam import role_with_policies
from function.render.aws.monitoring import serverless_alarms
from function.render.common import RenderContext, Resources, select


def render_serverless(ctx: RenderContext, observed: Observed | None = None) -> Resources:
    d = ctx.decision
    assert d.serverless is not None, "serverless decision without serverless parameters"
    s = d.serverless
    image = ctx.spec.image
    assert image, "serverless needs spec.image (checked before rendering)"
    who = f"{ctx.identity.tenant}/{ctx.identity.deployment_name}"
    out: Resources = role_with_policies(
        ctx,
        "lambda-role",
        "lambda.amazonaws.com",
        ["service-role/AWSLambdaBasicExecutionRole"],
        f"Lambda execution role of {who}",
    )
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
            "environment": {
                "variables": {
                    "PORT": str(d.port),
                    "AWS_LWA_PORT": str(d.port),
                    "AWS_LWA_READINESS_CHECK_PATH": d.health_check_path,
                }
            },
            "description": f"{who} at {ctx.commit[:12]}",
            "tags": ctx.tags,
        },
    )
    out["function-url"] = ctx.resource(
        "lambda",
        "FunctionURL",
        "function-url",
        {"functionNameSelector": select("lambda-function"), "authorizationType": "NONE"},
    )
    # A public (auth NONE) Function URL needs a resource policy allowing anyone to invoke it.
    out["function-url-permission"] = ctx.resource(
        "lambda",
        "Permission",
        "function-url-permission",
        {
            "functionNameSelector": select("lambda-function"),
            "action": "lambda:InvokeFunctionUrl",
            "principal": "*",
            "functionUrlAuthType": "NONE",
            "statementId": "AllowPublicFunctionUrl",
        },
    )
    if ctx.has_policy(ENABLE_MONITORING):
        out |= serverless_alarms(ctx, observed or {})
    return out
