"""The vm strategy: security groups, launch template, auto scaling group, load balancer.

Policies: require-https (https.py) and enable-monitoring (monitoring.py, plus detailed
instance monitoring and group metrics here).

Logs: the CloudWatch log group `app-logs` (`/scia/<deployment>/app`, retention from
`input.build.logRetentionDays`), named in `status.logs.application`; the instances write
to it with their role (`instance-logs-policy`: create streams and put events in that group
only), through Docker's awslogs driver or the CloudWatch agent (userdata.py).
"""

from __future__ import annotations

import json
from typing import Any

from function.policy.admission import ENABLE_MONITORING, REQUIRE_HTTPS
from function.render.aws.arns import observed_arn
from function.render.aws.build import APP_LOGS, app_log_group, log_group_name
from function.render.aws.https import REDIRECT_TO_HTTPS, render_https
from function.render.aws.iam import role_with_policies
from function.render.aws.monitoring import vm_alarms
from function.render.aws.network import NetworkRefs
from function.render.aws.scaling import SCALING_POLICY, cpu_target_tracking
from function.render.aws.secrets import AppConfig, read_policy
from function.render.aws.userdata import user_data
from function.render.aws.vm_rollout import (
    ROLLOUT_ALARM,
    UNHEALTHY_MINUTES,
    auto_rollback,
    rollout_alarm_dimensions,
    rollout_alarm_name,
    vm_rollout,
)
from function.render.common import RenderContext, Resources, select
from function.render.names import (
    EXTERNAL_NAME,
    MAX_ALARM_DESCRIPTION,
    MAX_DESCRIPTION,
    RULES,
    bounded,
    generate,
)

Observed = dict[str, dict[str, Any]]
GROUP_METRICS = [
    "GroupDesiredCapacity",
    "GroupInServiceInstances",
    "GroupMaxSize",
    "GroupMinSize",
    "GroupPendingInstances",
    "GroupTerminatingInstances",
    "GroupTotalInstances",
]


def _observed_group_field(observed: Observed, name: str) -> Any:
    fp = ((observed.get("autoscaling-group") or {}).get("spec") or {}).get("forProvider") or {}
    return fp.get(name) if isinstance(fp, dict) else None


def _rule(ctx: RenderContext, kind: str, component: str, sg: str, **fields: Any) -> dict[str, Any]:
    return ctx.resource(
        "ec2", kind, component, {"securityGroupIdSelector": select(sg), "tags": ctx.tags, **fields}
    )


LOGS_POLICY = "instance-logs-policy"
LOGS_POLICY_NAME = "scia-app-logs-write"


def logs_policy(ctx: RenderContext, observed: Observed) -> Resources:
    """The instance role's inline policy writing the app's log group (streams and events in
    that group only), once the group's ARN is observed (the ARN holds the account)."""
    arn = observed_arn(observed, APP_LOGS)
    if not arn:
        ctx.notes.append("the instances' log policy waits for the app log group's ARN")
        return {}
    group = arn.removesuffix(":*")
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                "Resource": [group, f"{group}:*"],
            }
        ],
    }
    body = ctx.resource(
        "iam",
        "RolePolicy",
        LOGS_POLICY,
        {"policy": json.dumps(doc, sort_keys=True), "roleSelector": select("instance-role")},
    )
    body["metadata"]["annotations"] = {EXTERNAL_NAME: LOGS_POLICY_NAME}
    return {LOGS_POLICY: body}


def instance_role(ctx: RenderContext, config: AppConfig | None) -> Resources:
    """The instances' role and instance profile, with a policy reading exactly the app's
    configuration when there is one (the log policy is `logs_policy`)."""
    out = role_with_policies(
        ctx, "instance-role", "ec2.amazonaws.com", [], f"instances of {ctx.who}"
    )
    profile = ctx.resource(
        "iam", "InstanceProfile", "instance-profile", {"roleSelector": select("instance-role")}
    )
    ident = ctx.identity
    profile["metadata"]["annotations"] = {
        EXTERNAL_NAME: generate(
            RULES["Role"], ident.tenant, ident.deployment_name, ident.uid, "instance-profile"
        )
    }
    out["instance-profile"] = profile
    if config is not None:
        out |= read_policy(ctx, "instance-config-policy", "instance-role", config)
    return out


def rollout_alarm(ctx: RenderContext, observed: Observed) -> Resources:
    """The alarm the instance refresh watches (vm_rollout.py): the target group has an
    unhealthy target in every minute for UNHEALTHY_MINUTES minutes; composed once the
    target group's and the load balancer's ARNs are observed."""
    dimensions = rollout_alarm_dimensions(observed)
    if dimensions is None:
        if "autoscaling-group" in observed:
            ctx.notes.append(
                "the rollout alarm waits for the target group's and the load balancer's ARNs"
            )
        return {}
    body = ctx.resource(
        "cloudwatch",
        "MetricAlarm",
        ROLLOUT_ALARM,
        {
            "alarmDescription": bounded(
                f"{ctx.who}: a target unhealthy in each minute for {UNHEALTHY_MINUTES} "
                "minutes; fails (and rolls back) the instance refresh",
                MAX_ALARM_DESCRIPTION,
            ),
            "namespace": "AWS/ApplicationELB",
            "metricName": "UnHealthyHostCount",
            "dimensions": dimensions,
            "statistic": "Minimum",
            "period": 60,
            "evaluationPeriods": UNHEALTHY_MINUTES,
            "threshold": 1,
            "comparisonOperator": "GreaterThanOrEqualToThreshold",
            "treatMissingData": "notBreaching",
            "actionsEnabled": False,
            "tags": ctx.tags,
        },
    )
    body["metadata"].setdefault("annotations", {})[EXTERNAL_NAME] = rollout_alarm_name(
        ctx, observed
    )
    return {ROLLOUT_ALARM: body}


def refresh_preferences(ctx: RenderContext, desired: Resources) -> dict[str, Any]:
    """The instance refresh's preferences: rolling at half capacity, skipping instances
    that already match, rolled back by AWS when it fails (a concrete AMI only) and failed
    by the rollout alarm once it is composed."""
    prefs: dict[str, Any] = {"minHealthyPercentage": 50, "skipMatching": True}
    if auto_rollback(ctx):
        prefs["autoRollback"] = True
    alarm = desired.get(ROLLOUT_ALARM)
    if alarm is not None:
        prefs["alarmSpecification"] = {"alarms": [alarm["metadata"]["annotations"][EXTERNAL_NAME]]}
    return prefs


def render_vm(
    ctx: RenderContext,
    network: NetworkRefs,
    observed: Observed,
    config: AppConfig | None = None,
) -> Resources:
    d = ctx.decision
    assert d.vm is not None, "vm decision without vm parameters"
    vm = d.vm
    port = d.port
    tags = ctx.tags
    https = ctx.has_policy(REQUIRE_HTTPS)
    monitored = ctx.has_policy(ENABLE_MONITORING)
    who = ctx.who
    sg_text = MAX_DESCRIPTION["SecurityGroup"]
    out: Resources = {}

    out["lb-security-group"] = ctx.resource(
        "ec2",
        "SecurityGroup",
        "lb-security-group",
        {
            "description": bounded(f"load balancer of {who}", sg_text),
            **network.vpc_field(),
            "tags": tags,
        },
    )
    out["app-security-group"] = ctx.resource(
        "ec2",
        "SecurityGroup",
        "app-security-group",
        {
            "description": bounded(f"instances of {who}", sg_text),
            **network.vpc_field(),
            "tags": tags,
        },
    )
    out["lb-ingress-http"] = _rule(
        ctx,
        "SecurityGroupIngressRule",
        "lb-ingress-http",
        "lb-security-group",
        ipProtocol="tcp",
        fromPort=80,
        toPort=80,
        cidrIpv4="0.0.0.0/0",
        description="HTTP from anywhere to the load balancer",
    )
    out["lb-egress-app"] = _rule(
        ctx,
        "SecurityGroupEgressRule",
        "lb-egress-app",
        "lb-security-group",
        ipProtocol="tcp",
        fromPort=port,
        toPort=port,
        referencedSecurityGroupIdSelector=select("app-security-group"),
        description="load balancer to the application port",
    )
    out["app-ingress-from-lb"] = _rule(
        ctx,
        "SecurityGroupIngressRule",
        "app-ingress-from-lb",
        "app-security-group",
        ipProtocol="tcp",
        fromPort=port,
        toPort=port,
        referencedSecurityGroupIdSelector=select("lb-security-group"),
        description="application port, from the load balancer only",
    )
    out["app-egress-all"] = _rule(
        ctx,
        "SecurityGroupEgressRule",
        "app-egress-all",
        "app-security-group",
        ipProtocol="-1",
        cidrIpv4="0.0.0.0/0",
        description="outbound (packages, repository, dependencies)",
    )

    configured = config is not None and not config.empty
    out |= instance_role(ctx, config)
    out[APP_LOGS] = app_log_group(ctx, observed)
    out |= logs_policy(ctx, observed)
    logs = log_group_name(ctx, observed, APP_LOGS)
    ctx.report["logs"] = {"application": logs}
    out["launch-template"] = ctx.resource(
        "ec2",
        "LaunchTemplate",
        "launch-template",
        {
            "description": bounded(
                f"{who} at {ctx.commit[:12]}", MAX_DESCRIPTION["LaunchTemplate"]
            ),
            "imageId": ctx.settings.vm.image_id,
            "instanceType": vm.instance_type,
            "metadataOptions": {
                "httpEndpoint": "enabled",
                "httpTokens": "required",
                "httpPutResponseHopLimit": 1,
            },
            "blockDeviceMappings": [
                {
                    "deviceName": "/dev/xvda",
                    "ebs": {
                        "volumeSize": vm.volume_gb,
                        "volumeType": "gp3",
                        "encrypted": "true",
                        "deleteOnTermination": "true",
                    },
                }
            ],
            "vpcSecurityGroupIdSelector": select("app-security-group"),
            "userData": user_data(
                repo_url=ctx.spec.repository.url,
                commit=ctx.commit,
                summary=ctx.analysis,
                port=port,
                start_command=d.start_command,
                use_docker=ctx.analysis.has_dockerfile,
                launch_config=config.launch_json() if configured and config else None,
                dockerfile=ctx.analysis.dockerfile_path,
                log_group=logs,
                region=ctx.region,
            ),
            "monitoring": {"enabled": monitored},
            "updateDefaultVersion": True,
            "iamInstanceProfile": {"nameSelector": select("instance-profile")},
            "tagSpecifications": [
                {"resourceType": "instance", "tags": tags},
                {"resourceType": "volume", "tags": tags},
            ],
            "tags": tags,
        },
    )

    out["target-group"] = ctx.resource(
        "elbv2",
        "LBTargetGroup",
        "target-group",
        {
            "port": port,
            "protocol": "HTTP",
            "targetType": "instance",
            **network.vpc_field(),
            "healthCheck": {
                "enabled": True,
                "path": d.health_check_path,
                "protocol": "HTTP",
                "matcher": "200-399",
                "interval": 15,
                "healthyThreshold": 2,
                "unhealthyThreshold": 3,
            },
            "tags": tags,
        },
    )
    out["load-balancer"] = ctx.resource(
        "elbv2",
        "LB",
        "load-balancer",
        {
            "loadBalancerType": "application",
            "internal": False,
            "securityGroupSelector": select("lb-security-group"),
            **network.subnets_field("subnets"),
            "dropInvalidHeaderFields": True,
            "tags": tags,
        },
    )
    out["listener-http"] = ctx.resource(
        "elbv2",
        "LBListener",
        "listener-http",
        {
            "loadBalancerArnSelector": select("load-balancer"),
            "port": 80,
            "protocol": "HTTP",
            "defaultAction": [
                REDIRECT_TO_HTTPS
                if https
                else {"type": "forward", "targetGroupArnSelector": select("target-group")}
            ],
            "tags": tags,
        },
    )
    if https:
        out |= render_https(ctx, observed, "lb-security-group", "target-group")

    out |= rollout_alarm(ctx, observed)
    version, report = vm_rollout(ctx, observed)
    ctx.report["rollout"] = report
    if version is None:
        ctx.notes.append(
            "the auto scaling group is composed once the launch template's latestVersion is "
            "observed: the group names an explicit version, so that a new commit starts an "
            "instance refresh"
        )
        if monitored:
            out |= vm_alarms(ctx, observed)
        return out
    asg: dict[str, Any] = {
        "minSize": vm.min_size,
        "maxSize": vm.max_size,
        "launchTemplate": {"idSelector": select("launch-template"), "version": version},
        **network.subnets_field("vpcZoneIdentifier"),
        "healthCheckType": "ELB",
        "healthCheckGracePeriod": 300,
        "instanceRefresh": {"strategy": "Rolling", "preferences": refresh_preferences(ctx, out)},
        "tag": [{"key": k, "value": v, "propagateAtLaunch": True} for k, v in sorted(tags.items())],
    }
    # The group registers with the target group by ARN, which exists only once the
    # target group does: take it from observed state (no reference field exists here),
    # else keep what the observed group has (a status that lost atProvider must not
    # detach the group from its load balancer).
    tg_arn = (observed.get("target-group") or {}).get("status", {}).get("atProvider", {}).get("arn")
    if tg_arn:
        asg["trafficSource"] = [{"identifier": tg_arn, "type": "elbv2"}]
    elif kept_source := _observed_group_field(observed, "trafficSource"):
        asg["trafficSource"] = kept_source
        ctx.notes.append(
            "the target group's ARN is not observed; the auto scaling group keeps its "
            "trafficSource until it is"
        )
    if monitored:
        asg["enabledMetrics"] = GROUP_METRICS
        asg["metricsGranularity"] = "1Minute"
    # The desired capacity is set once, at creation: a scaling policy owns it afterwards.
    out["autoscaling-group"] = ctx.resource(
        "autoscaling",
        "AutoscalingGroup",
        "autoscaling-group",
        asg,
        init_provider={"desiredCapacity": vm.desired_capacity},
    )
    if vm.max_size > vm.min_size:
        out[SCALING_POLICY] = cpu_target_tracking(
            ctx, {"autoscalingGroupNameSelector": select("autoscaling-group")}
        )
    if monitored:
        out |= vm_alarms(ctx, observed)
    return out
