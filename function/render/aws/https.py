"""The `require-https` policy: TLS on the load balancer (vm here; kubernetes in
render/kube/workload.py with `certificate` from here), HTTP redirects.

- port 443 open on the load balancer's security group (80 stays open, for the redirect);
- the HTTP listener answers every request with a 301 to HTTPS: no plain-HTTP endpoint;
- a TLS listener (the function input's ssl policy, TLS 1.3/1.2 by default) forwards to
  the target group with either the platform's certificate (policy.https.certificateArn)
  or an ACM certificate composed for <deployment>.<tenant>.<domain>, validated by DNS.

A listener names its certificate by ARN only (no reference field), so with a composed
certificate the TLS listener appears once the certificate's ARN is observed; ACM issues
it once the DNS validation record (in the certificate's status) exists in the zone.
"""

from __future__ import annotations

from typing import Any

from function.policy.admission import certificate_domain
from function.render.aws.arns import Observed, observed_arn
from function.render.common import RenderContext, Resources, select

HTTPS_PORT = 443
REDIRECT_TO_HTTPS: dict[str, Any] = {
    "type": "redirect",
    "redirect": {"port": str(HTTPS_PORT), "protocol": "HTTPS", "statusCode": "HTTP_301"},
}


class HttpsNotConfigured(ValueError):
    """require-https without a domain or certificate; admission rejects this earlier."""


def certificate_arn(ctx: RenderContext, observed: Observed) -> str | None:
    return ctx.policy.https.certificate_arn or observed_arn(observed, "certificate")


def certificate(ctx: RenderContext) -> Resources:
    """The ACM certificate of <deployment>.<tenant>.<domain> (DNS-validated), or {} when the
    platform names one (policy.https.certificateArn). Raises HttpsNotConfigured when the
    input has neither (admission refuses that earlier)."""
    https = ctx.policy.https
    if not https.configured:
        raise HttpsNotConfigured(
            "require-https needs input policy.https.domain or policy.https.certificateArn"
        )
    if https.certificate_arn is not None:
        return {}
    assert https.domain is not None
    return {
        "certificate": ctx.resource(
            "acm",
            "Certificate",
            "certificate",
            {
                "domainName": certificate_domain(ctx.identity, https.domain),
                "validationMethod": "DNS",
                "keyAlgorithm": "RSA_2048",
                "tags": ctx.tags,
            },
        )
    }


def render_https(
    ctx: RenderContext, observed: Observed, lb_security_group: str, target_group: str
) -> Resources:
    """The resources require-https adds; the caller makes its HTTP listener redirect."""
    https = ctx.policy.https
    if not https.configured:
        raise HttpsNotConfigured(
            "require-https needs input policy.https.domain or policy.https.certificateArn"
        )
    out: Resources = {
        "lb-ingress-https": ctx.resource(
            "ec2",
            "SecurityGroupIngressRule",
            "lb-ingress-https",
            {
                "securityGroupIdSelector": select(lb_security_group),
                "ipProtocol": "tcp",
                "fromPort": HTTPS_PORT,
                "toPort": HTTPS_PORT,
                "cidrIpv4": "0.0.0.0/0",
                "description": "HTTPS from anywhere to the load balancer",
                "tags": ctx.tags,
            },
        )
    }
    out |= certificate(ctx)
    arn = certificate_arn(ctx, observed)
    if arn:
        out["listener-https"] = ctx.resource(
            "elbv2",
            "LBListener",
            "listener-https",
            {
                "loadBalancerArnSelector": select("load-balancer"),
                "port": HTTPS_PORT,
                "protocol": "HTTPS",
                "sslPolicy": https.ssl_policy,
                "certificateArn": arn,
                "defaultAction": [
                    {"type": "forward", "targetGroupArnSelector": select(target_group)}
                ],
                "tags": ctx.tags,
            },
        )
    return out
