"""Memory settings for tests: the product's limits are tuned for a healthy server, a test
runs on a slow, loaded machine (CI shares two cores), so its own reads and writes get
generous limits. Tests of the limits themselves set their own values."""

from __future__ import annotations

from typing import Any

from function.memory.settings import MemorySettings


def patient(**overrides: Any) -> MemorySettings:
    """MemorySettings with the upper limits for every timeout, plus ``overrides``."""
    values: dict[str, Any] = {
        "connect_timeout_seconds": 60.0,
        "statement_timeout_ms": 600_000,
        "retrieve_timeout_seconds": 60.0,
        "write_timeout_seconds": 120.0,
    }
    values.update(overrides)
    return MemorySettings(**values)


# The same limits as the function input's `memory` keys, for tests that drive a Reconciler.
PATIENT_INPUT: dict[str, Any] = {
    "connectTimeoutSeconds": 60,
    "statementTimeoutMs": 600_000,
    "retrieveTimeoutSeconds": 60,
    "writeTimeoutSeconds": 120,
}
