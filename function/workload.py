"""What the image build and rollout add to the XR status and phase (pure).

Renderers that build images (render/aws/serverless.py) report, per reconcile:

- `build`: {state: Waiting|Building|Succeeded|Failed, commit, message, logGroup,
  logStreamPrefix, image?, buildId?};
- `rollout`: {state: Building|BuildFailed|RollingOut|Running|RolledBack|Failed, message,
  servingVersion?, candidateVersion?, image?};
- `logs`: {application: <log group>, build: <log group>};
- `workloads` (kubernetes): per service {name, state, message, image?,
  targetImage?, logGroup, buildLog?} (render/aws/eks_app.py);
- `https` (not a status field; GCP and Azure vm with require-https, render/gcp/vm.py,
  render/azure/gateway.py): {host, address, issued, message}: the endpoint is
  https://<host>, and the deployment is not Running until the certificate is issued (GCP)
  or the Application Gateway serves with its address observed (Azure).

They become `status.build`, `status.rollout`, `status.logs` and `status.workloads`, and
decide the phase together with the resources' readiness (function/status.py): a failed
build or a rollout that failed its health check is Failed (what served before keeps
serving: the message says which version); a build or rollout in progress is
Provisioning; Running needs both the resources Running and the rollout Running.
"""

from __future__ import annotations

from typing import Any

from function.status import Phase

FAILED_ROLLOUTS = ("BuildFailed", "RolledBack", "Failed")
STATUS_KEYS = ("build", "rollout", "logs", "workloads")


def workload_phase(phase: Phase, message: str, report: dict[str, Any]) -> tuple[Phase, str]:
    """The phase and message once the build, the rollout and the HTTPS certificate are
    taken into account (`https`: {host, address, issued, message}, render/gcp/vm.py: a
    deployment whose certificate is not issued yet is Provisioning, never Running)."""
    phase, message = _rollout_phase(phase, message, report)
    https = report.get("https") or {}
    if https and not https.get("issued") and phase is Phase.RUNNING:
        return Phase.PROVISIONING, f"{https.get('message')}; {message}"[:500]
    return phase, message


def _rollout_phase(phase: Phase, message: str, report: dict[str, Any]) -> tuple[Phase, str]:
    rollout = report.get("rollout") or {}
    state = rollout.get("state")
    if not state:
        return phase, message
    said = str(rollout.get("message") or "")
    if state in FAILED_ROLLOUTS:
        return Phase.FAILED, said[:500]
    if phase is Phase.FAILED or state == "Running":
        return phase, message
    return Phase.PROVISIONING, f"{state}: {said}; {message}"[:500]


def workload_status(report: dict[str, Any]) -> dict[str, Any]:
    """The status fields of the report (status.build, status.rollout, status.logs)."""
    return {k: report[k] for k in STATUS_KEYS if report.get(k)}
