"""IAM roles and managed-policy attachments shared by the kubernetes and serverless strategies."""

from __future__ import annotations

import json

from function.render.common import RenderContext, Resources, select

AWS_POLICY = "arn:aws:iam::aws:policy/"


def assume_role_policy(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
            ],
        },
        sort_keys=True,
    )


def role_with_policies(
    ctx: RenderContext, component: str, service: str, policies: list[str], description: str
) -> Resources:
    """A role `component` that `service` may assume, with AWS managed `policies` attached."""
    out: Resources = {
        component: ctx.resource(
            "iam",
            "Role",
            component,
            {
                "assumeRolePolicy": assume_role_policy(service),
                "description": description,
                "tags": ctx.tags,
            },
        )
    }
    for policy in policies:
        name = f"{component}-{policy.rsplit('/', 1)[-1].lower().replace('_', '-')}"
        out[name] = ctx.resource(
            "iam",
            "RolePolicyAttachment",
            name,
            {"policyArn": AWS_POLICY + policy, "roleSelector": select(component)},
        )
    return out
