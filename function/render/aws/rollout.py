"""Lambda rollout of a built image: versions, a health check, and an alias that serves.

The function publishes a version on every change (`publish: true`). Two aliases:

- `candidate` points at the newest published version (the function's observed
  `status.atProvider.version`);
- `live` points at the version that serves; the Function URL and its public permissions
  name `live` (`qualifier`), so the URL always answers with the live version.

A Lambda Invocation (`health-check`, lifecycle scope CRUD: a changed input invokes again,
provider-upjet-aws over terraform-provider-aws `aws_lambda_invocation`) sends the
candidate a Function URL event `GET <health path>`, through the Lambda Web Adapter, once
the candidate alias is observed at the new version; the version it checked travels in a
request header, so each new version changes the input and is checked once. Its
`status.atProvider.result` is the adapter's response.

- healthy (status 200-399): `live` moves to the new version;
- unhealthy (another status, or the invocation fails: Synced=False): `live` stays where it
  is, so the previous version keeps serving. That is the rollback; status says so.

Until a build succeeds the function keeps the image it observably runs (its observed
`spec.forProvider.imageUri`); before any build succeeded no function exists yet.

Every decision here is a pure function of the observed resources; nothing that exists is
ever left out (each resource, once composed, stays composed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from function.render.aws.arns import Observed
from function.render.aws.build import BuildState
from function.render.common import RenderContext, Resources, select
from function.render.names import EXTERNAL_NAME
from function.status import is_ready, sync_error

FUNCTION = "lambda-function"
LIVE = "lambda-alias-live"
CANDIDATE = "lambda-alias-candidate"
HEALTH = "health-check"
LIVE_ALIAS = "live"
CANDIDATE_ALIAS = "candidate"
VERSION_HEADER = "x-scia-version"


def _spec(observed: Observed, name: str) -> dict[str, Any]:
    fp = ((observed.get(name) or {}).get("spec") or {}).get("forProvider") or {}
    return fp if isinstance(fp, dict) else {}


def _at(observed: Observed, name: str) -> dict[str, Any]:
    at = ((observed.get(name) or {}).get("status") or {}).get("atProvider") or {}
    return at if isinstance(at, dict) else {}


def _version(value: object) -> str | None:
    """A published version number as text ("$LATEST" and junk are not versions)."""
    text = str(value) if isinstance(value, int | str) else ""
    return text if text.isdigit() and text != "0" else None


def health_event(path: str, version: str) -> str:
    """A Lambda Function URL event (payload format 2.0) for GET `path`, as JSON text."""
    headers = {VERSION_HEADER: version, "user-agent": "scia-health-check", "host": "scia.local"}
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "scia-health-check",
            "domainName": "scia.local",
            "domainPrefix": "scia",
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "scia-health-check",
            },
            "requestId": f"scia-health-check-{version}",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 0,
        },
        "isBase64Encoded": False,
    }
    return json.dumps(event, sort_keys=True, separators=(",", ":"))


def _checked_version(input_text: object) -> str | None:
    try:
        event = json.loads(input_text) if isinstance(input_text, str) else None
    except ValueError:
        return None
    headers = event.get("headers") if isinstance(event, dict) else None
    return _version(headers.get(VERSION_HEADER)) if isinstance(headers, dict) else None


@dataclass(frozen=True)
class Health:
    version: str | None  # the version the observed check asked about
    verdict: str  # "healthy", "unhealthy" or "pending"
    detail: str


def observed_health(observed: Observed) -> Health:
    """What the observed health check says, and about which version."""
    body = observed.get(HEALTH)
    if body is None:
        return Health(None, "pending", "no health check yet")
    version = _checked_version(_spec(observed, HEALTH).get("input"))
    error = sync_error(body)
    if error:
        return Health(version, "unhealthy", f"the invocation failed: {error[:200]}")
    raw = _at(observed, HEALTH).get("result")
    try:
        result = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        result = None
    code = result.get("statusCode") if isinstance(result, dict) else None
    if not is_ready(body) or not isinstance(code, int):
        return Health(version, "pending", "waiting for the health check's result")
    if 200 <= code < 400:
        return Health(version, "healthy", f"HTTP {code}")
    return Health(version, "unhealthy", f"HTTP {code}")


def _alias(ctx: RenderContext, component: str, name: str, version: str) -> dict[str, Any]:
    body = ctx.resource(
        "lambda",
        "Alias",
        component,
        {
            "functionNameSelector": select(FUNCTION),
            "functionVersion": version,
            "description": f"the {name} version of {ctx.who}"[:256],
        },
    )
    body["metadata"].setdefault("annotations", {})[EXTERNAL_NAME] = name
    return body


def lambda_rollout(  # noqa: PLR0915 (one state machine, read top to bottom)
    ctx: RenderContext, observed: Observed, build: BuildState, function: dict[str, Any] | None
) -> tuple[Resources, dict[str, Any]]:
    """The function (given as rendered, without its image), its aliases and health check,
    and the rollout report {"state", "message", "servingVersion", ...}.

    `function` is the lambda Function body to complete with the image to run; None when
    the caller composes none.
    """
    out: Resources = {}
    seen_image = _spec(observed, FUNCTION).get("imageUri")
    image = build.image if build.state == "Succeeded" else None
    image = image or (seen_image if isinstance(seen_image, str) and seen_image else None)
    serving = _version(_spec(observed, LIVE).get("functionVersion"))
    report: dict[str, Any] = {}
    if serving:
        report["servingVersion"] = serving
    if function is None or image is None:
        report |= {"state": "Building", "message": build.message}
        return out, report
    function["spec"]["forProvider"]["imageUri"] = image
    function["spec"]["forProvider"]["publish"] = True
    seen_description = _spec(observed, FUNCTION).get("description")
    if image != build.image and isinstance(seen_description, str) and seen_description:
        # This commit's image is not built yet (or its build failed): the function keeps
        # running the image it has, and its description keeps naming that image's commit
        # (a new description would also publish a version of the old image).
        function["spec"]["forProvider"]["description"] = seen_description
    out[FUNCTION] = function
    latest = _version(_at(observed, FUNCTION).get("version"))
    if latest:
        out[CANDIDATE] = _alias(ctx, CANDIDATE, CANDIDATE_ALIAS, latest)
    health = observed_health(observed)
    candidate_at = _version(_at(observed, CANDIDATE).get("functionVersion"))
    candidate_spec = _version(_spec(observed, CANDIDATE).get("functionVersion"))
    check: str | None = None
    if latest and candidate_at == latest and candidate_spec == latest:
        check = latest  # the candidate alias serves the newest version: check it
    elif health.version:
        check = health.version  # keep what was checked until the alias has moved
    if check:
        invocation = ctx.resource(
            "lambda",
            "Invocation",
            HEALTH,
            {
                "functionNameSelector": select(FUNCTION),
                "qualifier": CANDIDATE_ALIAS,
                "lifecycleScope": "CRUD",
                "terraformKey": "sciaLifecycle",
                "input": health_event(ctx.decision.health_check_path, check),
            },
        )
        # No Delete: with lifecycle scope CRUD, deleting the Invocation invokes the
        # function once more, which fails once the function is gone (Crossplane deletes
        # composed resources in no order) and would hold the deletion. An invocation has
        # nothing in AWS to delete.
        invocation["spec"]["managementPolicies"] = ["Observe", "Create", "Update", "LateInitialize"]
        out[HEALTH] = invocation
    live = serving
    if latest and health.version == latest and health.verdict == "healthy":
        live = latest
    if live:
        out[LIVE] = _alias(ctx, LIVE, LIVE_ALIAS, live)
        report["servingVersion"] = live
    seen_at = _at(observed, FUNCTION).get("imageUri")
    applied = seen_image == build.image and seen_at in (None, build.image)
    if build.state == "Failed":
        report |= {"state": "BuildFailed", "message": build.message}
    elif build.state != "Succeeded":
        report |= {"state": "Building", "message": build.message}
    elif not applied:
        report |= {
            "state": "RollingOut",
            "message": f"updating the function to the image of {ctx.commit[:12]}"
            + (f"; version {serving} keeps serving" if serving else ""),
        }
    elif latest and health.version == latest and health.verdict == "unhealthy":
        report |= {
            "state": "RolledBack" if serving else "Failed",
            "message": (
                f"version {latest} ({ctx.commit[:12]}) failed its health check on "
                f"{ctx.decision.health_check_path} ({health.detail}); "
                + (
                    f"rolled back: version {serving} keeps serving"
                    if serving
                    else "no earlier version to serve"
                )
            ),
        }
    elif latest and live == latest:
        report |= {"state": "Running", "message": f"version {latest} ({ctx.commit[:12]}) serves"}
    else:
        report |= {
            "state": "RollingOut",
            "message": f"rolling out {ctx.commit[:12]}: "
            + (
                f"health check of version {latest} ({health.detail})"
                if latest
                else "waiting for the function's new version"
            )
            + (f"; version {serving} keeps serving" if serving else ""),
        }
    if latest:
        report["candidateVersion"] = latest
    report["image"] = image
    return out, report
