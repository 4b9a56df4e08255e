"""Which Synced=False conditions of a managed resource are transient (pure).

A managed resource reports `Synced=False` (reason `ReconcileError`) for anything its
provider could not do on the last pass, including plain waiting: an unresolved reference
during an ordinary first create is reported exactly like a rejected API call. Treating
every one as a failure marks healthy deployments Failed while they are being created.

Transient conditions keep the deployment Provisioning; they count as "not ready" and turn
into Failed only past the grace period (`input.readyGraceSeconds`). Every other
`Synced=False` is terminal: Failed at once, with the provider's message.

The table below is the whole rule, matched on the condition's reason and on substrings of
its message (crossplane-runtime wraps errors as `outer: inner: ...`, so a substring match
finds the cause at any depth). Each entry names its source. docs/status.md lists the same
table for users.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TransientReason:
    name: str
    # Substrings of the Synced condition's message (case-sensitive, as the sources spell them).
    markers: tuple[str, ...]
    source: str
    # All of these must also appear (narrows a broad marker); empty: no extra condition.
    requires: tuple[str, ...] = ()


# crossplane-runtime v2.2.1 and provider-upjet-aws v2 (crossplane-contrib/provider-upjet-aws),
# aws-sdk-go-v2 v1.41 (the client library under the provider's Terraform AWS provider).
TRANSIENT_REASONS: tuple[TransientReason, ...] = (
    TransientReason(
        "reference-unresolved",
        ("cannot resolve references",),
        "crossplane-runtime pkg/reconciler/managed/api.go errResolveReferences; the managed "
        "reconciler marks ReconcileError and retries while referenced resources are not "
        "ready (pkg/reconciler/managed/reconciler.go, ResolveReferences)",
    ),
    TransientReason(
        "reference-not-ready",
        (
            "referenced field was empty (referenced resource may not yet be ready)",
            "no resources matched selector",
        ),
        "crossplane-runtime pkg/reference/reference.go errNoValue, errNoMatches",
    ),
    TransientReason(
        "referenced-resource-missing",
        ("cannot get referenced resource",),
        "crossplane-runtime pkg/reference/reference.go errGetManaged (only when not found)",
        requires=("not found",),
    ),
    TransientReason(
        "provider-config-not-created-yet",
        ("cannot get referenced ProviderConfig", "cannot get referenced Provider"),
        "provider-upjet-aws internal/clients/pc_resolver.go errGetProviderConfig, wrapped in "
        "upjet's 'connect failed: cannot get terraform setup'; a CloudProvider composes the "
        "ProviderConfig next to the deployments that use it (only when not found)",
        requires=("not found",),
    ),
    TransientReason(
        "aws-throttled",
        (
            "Throttling",
            "ThrottledException",
            "RequestThrottled",
            "TooManyRequestsException",
            "RequestLimitExceeded",
            "BandwidthLimitExceeded",
            "SlowDown",
            "PriorRequestNotComplete",
            "EC2ThrottledException",
            "TransactionInProgressException",
            "ProvisionedThroughputExceededException",
        ),
        "aws-sdk-go-v2 aws/retry/standard.go DefaultThrottleErrorCodes (without "
        "LimitExceededException, which IAM and EKS also use for hard quotas)",
    ),
    TransientReason(
        "aws-request-timeout",
        ("RequestTimeout", "context deadline exceeded", "connection reset", "i/o timeout"),
        "aws-sdk-go-v2 aws/retry/standard.go DefaultRetryableErrorCodes and "
        "retryable_error.go (connection errors)",
    ),
    TransientReason(
        "kubernetes-conflict",
        ("the object has been modified; please apply your changes to the latest version",),
        "k8s.io/apimachinery pkg/api/errors NewConflict (optimistic concurrency; "
        "crossplane-runtime requeues)",
    ),
)

# Synced=False reasons that are not errors at all.
PAUSED_REASON = "ReconcilePaused"  # crossplane-runtime apis/common/condition.go


@dataclass(frozen=True)
class SyncState:
    """The Synced condition of one resource: ok, transient (with why) or terminal."""

    kind: str  # "ok", "transient", "terminal"
    message: str = ""
    reason: str = ""


def _message(c: dict[str, Any]) -> str:
    return str(c.get("message") or c.get("reason") or "not synced")


def classify(synced: dict[str, Any] | None) -> SyncState:
    """Classify a `Synced` condition (None: the provider has not reported one yet)."""
    if synced is None or synced.get("status") != "False":
        return SyncState("ok")
    message = _message(synced)
    if synced.get("reason") == PAUSED_REASON:
        return SyncState("transient", message, "paused")
    for reason in TRANSIENT_REASONS:
        if any(m in message for m in reason.markers) and all(r in message for r in reason.requires):
            return SyncState("transient", message, reason.name)
    return SyncState("terminal", message)
