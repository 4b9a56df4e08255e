"""The vm rollout on AWS: which launch template version the auto scaling group names, the
instance refresh that replaces the instances, and what status.rollout says (pure).

A new commit (or configuration) is a new launch template version; the group names the
template's observed `latestVersion` explicitly, so the change starts an instance refresh
(Rolling, minHealthyPercentage 50, skipMatching). The refresh has:

- `autoRollback: true` when the launch template names a concrete AMI (`ami-...`). AWS
  cannot roll back to a launch template whose ImageId is a Systems Manager parameter
  (`resolve:ssm:...`, the default `vm.imageId`), nor to `$Latest`/`$Default` (the group
  names a number); with an SSM alias the refresh has no rollback and status says so
  (RefreshPreferences.AutoRollback, Amazon EC2 Auto Scaling API Reference; "Undo changes
  with a manual or auto rollback", EC2 Auto Scaling User Guide).
- `alarmSpecification` naming the composed `rollout-alarm` (once the target group's and
  the load balancer's ARNs are observed): the target group's `UnHealthyHostCount`
  (minimum per minute) at 1 or more for 10 consecutive minutes. An instance that fails
  the ELB health check is replaced by the group, which alone may keep a refresh going
  with new instances that never serve; the alarm fails the refresh then (and with
  autoRollback, rolls it back).

What the function observes and what it infers (no managed resource reports a refresh's
progress or outcome: the group's `status.atProvider.instanceRefresh` echoes the
configuration only):

- observed: the group's `spec.forProvider.launchTemplate.version` (what Crossplane asked)
  and `status.atProvider.launchTemplate.version` (what the provider last read from AWS);
- remembered in `status.rollout` (XR status, both XRDs): `appliedVersion`, the last
  version seen both asked and reported by AWS, and `failedVersion`, a version AWS rolled
  back from;
- inferred: AWS rolled the group back when the version it reports goes back below the
  applied one while Crossplane still asks for the applied one. The group then names the
  version that serves (what AWS reports), so the provider does not apply the failed
  version again (which would start the same failing refresh at every poll), until the
  launch template has a newer version (a new commit). Phase Failed, state RolledBack, the
  message says which version serves and where the instances' setup and build output is
  (the deployment's log group, streams `<instance id>/setup`).
"""

from __future__ import annotations

from typing import Any

from function.render.aws.arns import Observed, load_balancer_dimension, observed_arn
from function.render.common import RenderContext
from function.render.names import aws_external_name

ROLLOUT_ALARM = "rollout-alarm"
UNHEALTHY_MINUTES = 10
AMI_PREFIX = "ami-"


def _version(value: object) -> str | None:
    """A launch template version number as text ($Latest, $Default and junk are not)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and value >= 1:
        return str(int(value))
    text = str(value) if isinstance(value, str) else ""
    return text if text.isdigit() and text != "0" else None


def _group(observed: Observed, where: str) -> str | None:
    body = observed.get("autoscaling-group") or {}
    part = (body.get(where) or {}) if where == "status" else (body.get("spec") or {})
    fields = part.get("atProvider" if where == "status" else "forProvider") or {}
    lt = fields.get("launchTemplate") if isinstance(fields, dict) else None
    if isinstance(lt, list) and len(lt) == 1:  # v1beta1 wraps objects in a list
        lt = lt[0]
    return _version(lt.get("version")) if isinstance(lt, dict) else None


def latest_version(observed: Observed) -> str | None:
    """The launch template's observed `latestVersion`, as text."""
    at = ((observed.get("launch-template") or {}).get("status") or {}).get("atProvider") or {}
    return _version(at.get("latestVersion")) if isinstance(at, dict) else None


def auto_rollback(ctx: RenderContext) -> bool:
    """Whether AWS can roll this group's refresh back: its AMI is a concrete AMI id."""
    return ctx.settings.vm.image_id.startswith(AMI_PREFIX)


def target_group_dimension(arn: str | None) -> str | None:
    """The target group's arnSuffix (targetgroup/<name>/<id>) from its ARN."""
    if not arn or ":targetgroup/" not in arn:
        return None
    return "targetgroup/" + arn.split(":targetgroup/", 1)[1]


def rollout_alarm_name(ctx: RenderContext, observed: Observed) -> str:
    ident = ctx.identity
    return aws_external_name(
        "MetricAlarm",
        ROLLOUT_ALARM,
        observed,
        tenant=ident.tenant,
        deployment=ident.deployment_name,
        uid=ident.uid,
    )


def rollout_alarm_dimensions(observed: Observed) -> dict[str, str] | None:
    """The alarm's dimensions (TargetGroup, LoadBalancer), once both ARNs are observed."""
    tg = target_group_dimension(observed_arn(observed, "target-group"))
    lb = load_balancer_dimension(observed_arn(observed, "load-balancer"))
    return {"TargetGroup": tg, "LoadBalancer": lb} if tg and lb else None


def _previous(ctx: RenderContext) -> tuple[str | None, str | None]:
    prev = ctx.previous_rollout
    return _version(prev.get("appliedVersion")), _version(prev.get("failedVersion"))


def vm_rollout(ctx: RenderContext, observed: Observed) -> tuple[str | None, dict[str, Any]]:
    """The launch template version the group names (None: none is known yet) and the
    rollout report (status.rollout: state, message, servingVersion, candidateVersion,
    appliedVersion, failedVersion)."""
    latest = latest_version(observed)
    asked, reported = _group(observed, "spec"), _group(observed, "status")
    applied, failed = _previous(ctx)
    if (
        applied
        and asked == applied
        and reported
        and int(reported) < int(applied)
        and failed != applied
    ):
        failed = applied  # AWS moved the group back from what it had applied: a rollback
    if asked and reported and asked == reported:
        applied = asked
    if failed and latest and int(latest) > int(failed):
        failed = None  # a newer version (a new commit) rolls out; the failure is history
    logs = (ctx.report.get("logs") or {}).get("application") or "the deployment's log group"
    report: dict[str, Any] = {}
    commit = ctx.commit[:12]
    version: str | None
    if failed and latest == failed:
        serving = next((v for v in (reported, asked) if v and v != failed), None)
        report = {
            "state": "RolledBack" if serving else "Failed",
            "message": (
                f"launch template version {failed} ({commit}) was rolled back: AWS reports "
                + (f"version {serving}" if serving else "an earlier version")
                + f" on the group after it had applied {failed} (inferred: "
                + (
                    "the instance refresh failed or its rollout alarm fired, and AWS rolled it back"
                    if auto_rollback(ctx)
                    else "changed outside Crossplane: this group's refresh has no automatic "
                    "rollback, its AMI being a Systems Manager parameter"
                )
                + ")"
                + (f"; version {serving} keeps serving" if serving else "; nothing serves")
                + f"; the instances' setup and build output is in log group {logs}, "
                "streams <instance id>/setup; push a new commit to roll out again"
            ),
        }
        version = serving or asked or latest  # never drop the group
    else:
        version = latest or asked
        if latest is None and asked:
            ctx.notes.append(
                "the launch template's latestVersion is not observed; the auto scaling group "
                f"keeps launchTemplate.version {asked!r} until it is"
            )
        if version is None:
            report = {"state": "RollingOut", "message": "waiting for the launch template"}
        elif asked == version and reported in (None, version):
            # a provider that does not report the version: the spec decides (as
            # status.rollout_pending does)
            report = {
                "state": "Running",
                "message": f"launch template version {version} ({commit}) is the group's",
            }
        else:
            report = {
                "state": "RollingOut",
                "message": (
                    f"rolling out launch template version {version} ({commit})"
                    + (f"; version {reported} serves meanwhile" if reported else "")
                ),
            }
    if not auto_rollback(ctx) and version and report["state"] != "RolledBack":
        report["message"] += (
            "; no automatic rollback: the launch template's AMI is a Systems Manager "
            "parameter, which AWS cannot roll back to (set vm.imageId to an AMI id)"
        )
    if reported:
        report["servingVersion"] = reported
    if version and version != reported:
        report["candidateVersion"] = version
    if applied:
        report["appliedVersion"] = applied
    if failed:
        report["failedVersion"] = failed
    return version, report
