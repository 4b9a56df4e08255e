"""Observations read from the composed resources' observed status (what the provider exposes).

The RunFunctionRequest carries every composed resource as the provider last observed it.
Of those, these say something about whether the deployment's sizes carry its load:

- the auto scaling group of a vm deployment (provider-upjet-aws `AutoScalingGroup`,
  `status.atProvider.desiredCapacity`, `minSize`, `maxSize`): how many instances the group
  runs now (target tracking moves `desiredCapacity` between the bounds), and whether it
  sits at its maximum (pinned at max: under-provisioned);
- the managed node group of a kubernetes deployment (`NodeGroup`,
  `status.atProvider.scalingConfig.desiredSize`, `minSize`, `maxSize`; an object in v1beta2,
  a one-item list in v1beta1): the same for nodes;
- each HorizontalPodAutoscaler the function composes through a provider-kubernetes `Object`
  (`status.atProvider.manifest`: `status.currentReplicas` against `spec.maxReplicas`): a
  service whose pods sit at their maximum (EKS, GKE and AKS alike);
- GCP vm: the regional managed instance group (provider-upjet-gcp
  `RegionInstanceGroupManager` "instance-group", `status.atProvider.targetSize`) against its
  regional autoscaler's bounds (`RegionAutoscaler` "autoscaler",
  `status.atProvider.autoscalingPolicy.minReplicas`/`maxReplicas`; a one-item list in the
  legacy v1beta1);
- GKE: the node pool ("node-pool", `NodePool`): `status.atProvider.nodeCount` is "the
  number of nodes per instance group" (the CRD's words; one instance group per zone), so
  the pool runs `nodeCount` x the zones in `nodeLocations`, against
  `autoscaling.totalMinNodeCount`/`totalMaxNodeCount` (or the per-zone `minNodeCount`/
  `maxNodeCount` x the zones);
- Azure vm: the scale set (provider-upjet-azure `LinuxVirtualMachineScaleSet`
  "vm-scale-set", `status.atProvider.instances`) against its autoscale setting's
  (`MonitorAutoscaleSetting` "autoscale-setting") first profile's `capacity.minimum`/
  `maximum`; without an autoscale setting (one size on purpose) the instances only;
- AKS: the cluster's default node pool (`KubernetesCluster` "aks-cluster",
  `status.atProvider.defaultNodePool[0]`: `nodeCount` against `minCount`/`maxCount` when
  `autoScalingEnabled`, else the node count only).

Metrics keys (stored with the revision's memory record, observations.py has the others):
`observedCapacity` (instances or nodes running, >= 1) and `atMaxSize` (true/false). A group
whose bounds are equal (one instance on purpose) says nothing about capacity: no
`atMaxSize`.

Scaling activity, from successive observations: `observedReplicas` (the pods the
HorizontalPodAutoscalers want, `status.desiredReplicas` summed over the services) and
`lastScaleTime` (the newest `status.lastScaleTime` of an autoscaler, Unix seconds). Each
record that carries a level (`observedCapacity`, `observedReplicas`) also carries
`scaleOuts`/`scaleIns` (0) and `highestCapacity`/`highestReplicas` (the level): the store
(memory/store.py, `SCALING_MERGE`) counts, in the same upsert that records the outcome, each
rise of a level over the stored one as a scale-out and each fall as a scale-in, and keeps
the highest, so the counts are per (uid, revision) whichever replica sees the change. No
query is made for them: a change of the observed level changes the record, which is written
anyway. Lambda's provider status exposes no run-time figures (duration and throttles
are CloudWatch metrics, metrics_source.py). Pure: reads dictionaries, no I/O.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

# status.atProvider fields read here: the gRPC layer (fn.py) keeps them when it reduces the
# observed resources ("manifest", of provider-kubernetes Objects, is kept for the renderers).
AT_PROVIDER_FIELDS = (
    "desiredCapacity",
    "minSize",
    "maxSize",
    "scalingConfig",
    # GCP: RegionInstanceGroupManager, RegionAutoscaler, NodePool
    "targetSize",
    "autoscalingPolicy",
    "nodeCount",
    "autoscaling",
    "nodeLocations",
    # Azure: LinuxVirtualMachineScaleSet, MonitorAutoscaleSetting, KubernetesCluster
    "instances",
    "profile",
    "defaultNodePool",
)
# (level, highest level) keys whose successive values the store counts as scaling activity
LEVELS = (("observedCapacity", "highestCapacity"), ("observedReplicas", "highestReplicas"))
GROUP = "autoscaling-group"
NODE_GROUP = "node-group"
# The GCP and Azure renderers' component names (render/gcp, render/azure)
GCP_GROUP, GCP_AUTOSCALER, GKE_POOL = "instance-group", "autoscaler", "node-pool"
AZURE_SCALE_SET, AZURE_AUTOSCALE, AKS_CLUSTER = "vm-scale-set", "autoscale-setting", "aks-cluster"
MAX_CAPACITY = 10_000


def _at_provider(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        return {}
    status = body.get("status")
    at = status.get("atProvider") if isinstance(status, Mapping) else None
    return at if isinstance(at, Mapping) else {}


def _number(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not 0 <= value <= MAX_CAPACITY or value != int(value):
        return None
    return int(value)


def _bounds(fields: Mapping[str, Any], desired: str) -> tuple[int, int, int] | None:
    """(desired, min, max) when all three are observed and consistent."""
    d = _number(fields.get(desired))
    lo, hi = _number(fields.get("minSize")), _number(fields.get("maxSize"))
    if d is None or lo is None or hi is None or not lo <= d <= hi or hi < 1:
        return None
    return d, lo, hi


def _one(value: Any) -> Mapping[str, Any] | None:
    """A block the provider gives as an object, or as a one-item list (legacy v1beta1)."""
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    return value if isinstance(value, Mapping) else None


def _of_kind(observed: Mapping[str, Any], name: str, kind: str) -> Mapping[str, Any]:
    """status.atProvider of the composed resource `name` when it is of `kind`."""
    body = observed.get(name)
    if not isinstance(body, Mapping) or body.get("kind") != kind:
        return {}
    return _at_provider(body)


def _fixed(desired: Any) -> tuple[int, int, int] | None:
    """A group of one size on purpose: its size, and bounds equal to it."""
    d = _number(desired)
    return (d, d, d) if d is not None and d >= 1 else None


def _gcp_group(observed: Mapping[str, Any]) -> tuple[int, int, int] | None:
    size = _of_kind(observed, GCP_GROUP, "RegionInstanceGroupManager").get("targetSize")
    if size is None:
        return None
    policy = _one(_of_kind(observed, GCP_AUTOSCALER, "RegionAutoscaler").get("autoscalingPolicy"))
    if policy is None:
        return None
    fields = {"d": size, "minSize": policy.get("minReplicas"), "maxSize": policy.get("maxReplicas")}
    return _bounds(fields, "d")


def _gke_pool(observed: Mapping[str, Any]) -> tuple[int, int, int] | None:
    at = _of_kind(observed, GKE_POOL, "NodePool")
    zones = at.get("nodeLocations")
    per_zone = _number(at.get("nodeCount"))
    scaling = _one(at.get("autoscaling"))
    if not isinstance(zones, list) or not zones or per_zone is None or scaling is None:
        return None
    n = len(zones)
    low, top = scaling.get("totalMinNodeCount"), scaling.get("totalMaxNodeCount")
    if _number(top) is None:
        zl, zt = _number(scaling.get("minNodeCount")), _number(scaling.get("maxNodeCount"))
        low, top = (zl * n, zt * n) if zl is not None and zt is not None else (None, None)
    return _bounds({"d": per_zone * n, "minSize": low, "maxSize": top}, "d")


def _azure_group(observed: Mapping[str, Any]) -> tuple[int, int, int] | None:
    size = _of_kind(observed, AZURE_SCALE_SET, "LinuxVirtualMachineScaleSet").get("instances")
    if size is None:
        return None
    setting = _of_kind(observed, AZURE_AUTOSCALE, "MonitorAutoscaleSetting")
    profiles = setting.get("profile")
    first = profiles[0] if isinstance(profiles, list) and profiles else None
    capacity = _one(first.get("capacity")) if isinstance(first, Mapping) else None
    if capacity is None:
        return _fixed(size) if not setting else None
    fields = {"d": size, "minSize": capacity.get("minimum"), "maxSize": capacity.get("maximum")}
    return _bounds(fields, "d")


def _aks_pool(observed: Mapping[str, Any]) -> tuple[int, int, int] | None:
    pool = _one(_of_kind(observed, AKS_CLUSTER, "KubernetesCluster").get("defaultNodePool"))
    if pool is None or pool.get("nodeCount") is None:
        return None
    if pool.get("autoScalingEnabled") is True:
        return _bounds({"d": pool.get("nodeCount"), "minSize": pool.get("minCount"),
                        "maxSize": pool.get("maxCount")}, "d")  # fmt: skip
    return _fixed(pool.get("nodeCount"))


def _group(observed: Mapping[str, Any]) -> tuple[int, int, int] | None:
    """(desired, min, max) of the deployment's group of instances or nodes, any cloud."""
    at = _at_provider(observed.get(GROUP))
    if at:
        return _bounds(at, "desiredCapacity")
    scaling = _one(_at_provider(observed.get(NODE_GROUP)).get("scalingConfig"))
    if scaling is not None:
        return _bounds(scaling, "desiredSize")
    for reader in (_gcp_group, _gke_pool, _azure_group, _aks_pool):
        if (found := reader(observed)) is not None:
            return found
    return None


def _autoscalers(
    observed: Mapping[str, Any],
) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """(spec, status) of each observed HorizontalPodAutoscaler Object."""
    out = []
    for body in observed.values():
        manifest = _at_provider(body).get("manifest")
        if not isinstance(manifest, Mapping) or manifest.get("kind") != "HorizontalPodAutoscaler":
            continue
        spec, status = manifest.get("spec"), manifest.get("status")
        if isinstance(spec, Mapping) and isinstance(status, Mapping):
            out.append((spec, status))
    return out


def _autoscalers_at_max(observed: Mapping[str, Any]) -> list[bool]:
    """For each observed HorizontalPodAutoscaler Object: is it at its maximum replicas?"""
    out = []
    for spec, status in _autoscalers(observed):
        current, top = _number(status.get("currentReplicas")), _number(spec.get("maxReplicas"))
        low = _number(spec.get("minReplicas")) or 1
        if current is None or top is None or top <= low:
            continue
        out.append(current >= top)
    return out


def _timestamp(value: Any) -> float | None:
    """Unix seconds of an RFC 3339 time (a Kubernetes `metav1.Time`), or None."""
    if not isinstance(value, str) or not 0 < len(value) <= 40:
        return None
    try:
        at = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if at.tzinfo is None:
        return None
    return at.timestamp()


def _replicas(observed: Mapping[str, Any]) -> tuple[int | None, float | None]:
    """(pods the autoscalers want in all, newest lastScaleTime) over the observed
    HorizontalPodAutoscalers; the sum is None unless every one reports its desired replicas
    (a partial sum would read as a scale-in)."""
    total: int | None = None
    newest: float | None = None
    for spec, status in _autoscalers(observed):
        del spec
        want = _number(status.get("desiredReplicas"))
        if want is None:
            return None, newest
        total = (total or 0) + want
        at = _timestamp(status.get("lastScaleTime"))
        if at is not None:
            newest = at if newest is None else max(newest, at)
    return total, newest


def composed_metrics(observed: Mapping[str, Any]) -> dict[str, float | bool]:
    """The metrics the observed composed resources show (keys above); empty when none."""
    metrics: dict[str, float | bool] = {}
    group = _group(observed)
    at_max: list[bool] = []
    if group is not None:
        desired, low, top = group
        if desired >= 1:
            metrics["observedCapacity"] = float(desired)
        if top > low:
            at_max.append(desired >= top)
    at_max += _autoscalers_at_max(observed)
    if at_max:
        metrics["atMaxSize"] = any(at_max)
    replicas, scaled_at = _replicas(observed)
    if replicas is not None:
        metrics["observedReplicas"] = float(replicas)
    if scaled_at is not None:
        metrics["lastScaleTime"] = scaled_at
    for level, highest in LEVELS:
        if level in metrics:
            metrics[highest] = metrics[level]
            metrics["scaleOuts"] = metrics["scaleIns"] = 0.0
    return metrics


def auto_scaling_group(observed: Mapping[str, Any]) -> str | None:
    """The name of the deployment's auto scaling group once observed: the vm group's id, or
    the group EKS made for the node group (`resources[].autoscalingGroups[].name`)."""
    group = _at_provider(observed.get(GROUP)).get("id")
    if isinstance(group, str) and group:
        return group
    for r in _at_provider(observed.get(NODE_GROUP)).get("resources") or []:
        for g in (r.get("autoscalingGroups") or []) if isinstance(r, Mapping) else []:
            if isinstance(g, Mapping) and isinstance(g.get("name"), str) and g["name"]:
                return str(g["name"])
    return None
