"""Typed errors of the deployment memory."""

from __future__ import annotations


class MemoryUnavailable(Exception):
    """The database is unreachable, too slow, or refused the operation.

    Callers degrade (decide without past deployments, retry the write later); the
    message never contains the DSN's password.
    """


class MemoryRecordNotFound(LookupError):
    """No deployment with that (xr_uid, revision) is stored."""


class MemoryTenantConflict(PermissionError):
    """A write named an (xr_uid, revision) stored under another namespace."""
