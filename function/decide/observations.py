"""Performance observations of a running deployment, as a platform reports them.

A platform's own automation (a metrics exporter, a CloudWatch or Prometheus job) writes them
on the XR as annotations; they are stored with the deployment's memory record (`metrics`)
and the capacity model learns from them (learning.py):

    scia.io/observed-rps                average requests per second over the window
    scia.io/observed-cpu-utilisation    average CPU utilisation of the instances, 0..1
    scia.io/observed-memory-gib         peak resident memory of one instance, GiB
    scia.io/observed-oom-kills          out-of-memory kills in the window (integer)
    scia.io/observed-p95-ms             95th percentile response time, ms
    scia.io/observed-5xx-rate           share of responses that were 5xx, 0..1
    scia.io/observed-duration-ms        average duration of a serverless invocation, ms
                                        (Lambda `Duration`, Cloud Run request latencies)
    scia.io/observed-throttles          invocations refused for lack of concurrency in the
                                        window (Lambda `Throttles`; integer)
    scia.io/observed-at-max             "true" when the group sat at its maximum size
    scia.io/observed-scaling-activities scaling activities of the group (instances, nodes or
                                        pods) in the window: launches and terminations the
                                        autoscaler made (integer; 0 = it never scaled)
    scia.io/observed-revision           the decision revision the figures measured (optional;
                                        figures naming another revision are not used)

A value that does not parse or is out of range is ignored with a warning naming the
annotation; nothing else is read from the XR.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

PREFIX = "scia.io/observed-"
_FIELDS: dict[str, tuple[str, float, float]] = {
    # annotation suffix -> (metrics key, lowest, highest)
    "rps": ("observedRps", 0.0, 1e7),
    "cpu-utilisation": ("cpuUtilisation", 0.0, 1.0),
    "memory-gib": ("memoryGiB", 0.0, 4096.0),
    "oom-kills": ("oomKills", 0.0, 1e6),
    "p95-ms": ("p95Ms", 0.0, 3.6e6),
    "5xx-rate": ("errorRate5xx", 0.0, 1.0),
    # serverless: Lambda's own metrics (AWS/Lambda Duration and Throttles); a Lambda runs
    # at most 900 s
    "duration-ms": ("durationMs", 0.0, 900_000.0),
    "throttles": ("throttles", 0.0, 1e9),
    "scaling-activities": ("scalingActivities", 0.0, 1e6),
}

# metrics key -> (lowest, highest), for observations from any source
RANGES: dict[str, tuple[float, float]] = {key: (low, high) for key, low, high in _FIELDS.values()}
FREQUENT_SCALING = 3  # scaling activities in a window from which the group is busy scaling
LOW_CPU = 0.3  # average CPU utilisation under which a group that never scaled is idle


def observed_metrics(annotations: Mapping[str, str]) -> tuple[dict[str, float | bool], list[str]]:
    """(metrics, warnings) from the `scia.io/observed-*` annotations."""
    metrics: dict[str, float | bool] = {}
    warnings: list[str] = []
    for name, raw in annotations.items():
        if not name.startswith(PREFIX):
            continue
        suffix = name[len(PREFIX) :]
        if suffix == "revision":
            continue  # observed_revision()
        if suffix == "at-max":
            if raw.strip().lower() in ("true", "false"):
                metrics["atMaxSize"] = raw.strip().lower() == "true"
            else:
                warnings.append(f"annotation {name}: {raw[:20]!r} is not true or false; ignored")
            continue
        field = _FIELDS.get(suffix)
        if field is None:
            warnings.append(f"annotation {name}: unknown observation; ignored")
            continue
        key, low, high = field
        try:
            value = float(raw.strip().rstrip("%"))
        except ValueError:
            warnings.append(f"annotation {name}: {raw[:20]!r} is not a number; ignored")
            continue
        if raw.strip().endswith("%"):
            value /= 100.0
        if not math.isfinite(value) or not low <= value <= high:
            warnings.append(f"annotation {name}: {value:g} is outside {low:g}..{high:g}; ignored")
            continue
        metrics[key] = value
    return metrics, warnings


def observed_revision(annotations: Mapping[str, str]) -> int | None:
    """The revision the observations measured (`scia.io/observed-revision`), or None when not
    given or not a positive integer."""
    raw = annotations.get(PREFIX + "revision")
    if raw is None or not raw.strip().isdigit():
        return None
    value = int(raw.strip())
    return value if 1 <= value <= 1_000_000 else None
