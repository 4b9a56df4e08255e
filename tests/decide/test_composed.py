"""Observations from the composed resources' observed status (function/decide/composed.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from function.decide.composed import composed_metrics as all_metrics

REPO = Path(__file__).resolve().parents[2]
SCALING = {"scaleOuts", "scaleIns", "highestCapacity", "highestReplicas", "observedReplicas",
           "lastScaleTime"}  # fmt: skip


def composed_metrics(observed: dict[str, Any]) -> dict[str, Any]:
    """What the composed resources show about capacity (the scaling keys: tested below)."""
    return {k: v for k, v in all_metrics(observed).items() if k not in SCALING}


def at(fields: dict[str, Any], kind: str = "AutoScalingGroup") -> dict[str, Any]:
    return {"apiVersion": "x.aws.upbound.io/v1beta1", "kind": kind,
            "status": {"atProvider": fields}}  # fmt: skip


def hpa(
    current: Any, top: Any, low: int = 1, desired: Any = None, scaled: str | None = None
) -> dict[str, Any]:
    status = {
        "currentReplicas": current,
        "desiredReplicas": current if desired is None else desired,
    }
    if scaled is not None:
        status["lastScaleTime"] = scaled
    manifest = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "spec": {"minReplicas": low, "maxReplicas": top},
        "status": status,
    }
    return {"kind": "Object", "status": {"atProvider": {"manifest": manifest}}}


def test_an_auto_scaling_group_reports_its_instances_and_whether_it_sits_at_max() -> None:
    group = at({"desiredCapacity": 4, "minSize": 2, "maxSize": 4, "id": "g"})
    assert composed_metrics({"autoscaling-group": group}) == {
        "observedCapacity": 4.0,
        "atMaxSize": True,
    }
    group = at({"desiredCapacity": 3, "minSize": 2, "maxSize": 6})
    assert composed_metrics({"autoscaling-group": group}) == {
        "observedCapacity": 3.0,
        "atMaxSize": False,
    }


def test_one_instance_on_purpose_says_nothing_about_capacity() -> None:
    group = at({"desiredCapacity": 1, "minSize": 1, "maxSize": 1})
    assert composed_metrics({"autoscaling-group": group}) == {"observedCapacity": 1.0}


def test_a_node_group_in_either_api_version() -> None:
    v2 = at({"scalingConfig": {"desiredSize": 5, "minSize": 1, "maxSize": 5}}, "NodeGroup")
    assert composed_metrics({"node-group": v2}) == {"observedCapacity": 5.0, "atMaxSize": True}
    v1 = at({"scalingConfig": [{"desiredSize": 2, "minSize": 1, "maxSize": 5}]}, "NodeGroup")
    assert composed_metrics({"node-group": v1}) == {"observedCapacity": 2.0, "atMaxSize": False}


def test_a_service_whose_pods_sit_at_their_maximum() -> None:
    observed = {
        "node-group": at({"scalingConfig": {"desiredSize": 2, "minSize": 1, "maxSize": 5}}),
        "k8s-web-autoscaler": hpa(3, 6),
        "k8s-api-autoscaler": hpa(6, 6),
    }
    assert composed_metrics(observed) == {"observedCapacity": 2.0, "atMaxSize": True}
    observed["k8s-api-autoscaler"] = hpa(2, 6)
    assert composed_metrics(observed)["atMaxSize"] is False
    # An autoscaler whose bounds are equal cannot scale: no signal.
    assert composed_metrics({"a": hpa(2, 2, low=2)}) == {}


def test_what_is_not_observed_or_does_not_make_sense_is_left_out() -> None:
    assert composed_metrics({}) == {}
    assert composed_metrics({"autoscaling-group": {"kind": "AutoScalingGroup"}}) == {}
    for bad in (
        {"desiredCapacity": 9, "minSize": 1, "maxSize": 4},  # outside its bounds
        {"desiredCapacity": "4", "minSize": 1, "maxSize": 4},  # not a number
        {"desiredCapacity": True, "minSize": 1, "maxSize": 4},
        {"desiredCapacity": 2.5, "minSize": 1, "maxSize": 4},
        {"desiredCapacity": 2, "minSize": 1},  # no maximum
        {"desiredCapacity": float("nan"), "minSize": 1, "maxSize": 4},
    ):
        assert composed_metrics({"autoscaling-group": at(bad)}) == {}, bad
    assert composed_metrics({"node-group": at({"scalingConfig": [{}, {}]})}) == {}
    assert composed_metrics({"x": hpa("3", 6)}) == {}
    # A group scaled to zero runs no instance: nothing to divide by, but it is not at max.
    zero = at({"desiredCapacity": 0, "minSize": 0, "maxSize": 3})
    assert composed_metrics({"autoscaling-group": zero}) == {"atMaxSize": False}


def test_the_grpc_layer_keeps_the_fields_read_here_when_it_reduces_observed_resources() -> None:
    """fn.py passes on only the atProvider fields the pipeline reads: these must be among them."""
    from crossplane.function import resource
    from crossplane.function.proto.v1 import run_function_pb2 as fnv1

    from function.fn import _observed

    req = fnv1.RunFunctionRequest()
    group = at({"desiredCapacity": 4, "minSize": 2, "maxSize": 4, "arn": "a", "tag": [{}]})
    nodes = at({"scalingConfig": {"desiredSize": 2, "minSize": 1, "maxSize": 5}}, "NodeGroup")
    for name, body in (("autoscaling-group", group), ("node-group", nodes), ("hpa", hpa(6, 6))):
        req.observed.resources[name].resource.CopyFrom(resource.dict_to_struct(body))
    reduced = _observed(req)
    assert "tag" not in reduced["autoscaling-group"]["status"]["atProvider"]
    assert composed_metrics({"autoscaling-group": reduced["autoscaling-group"]}) == {
        "observedCapacity": 4.0,
        "atMaxSize": True,
    }
    assert composed_metrics({"node-group": reduced["node-group"]})["observedCapacity"] == 2.0
    assert composed_metrics({"hpa": reduced["hpa"]}) == {"atMaxSize": True}


def test_a_level_starts_its_scaling_counters_for_the_store_to_add_to() -> None:
    """A record carrying the group's level carries zero counters and the level as the highest
    seen: the store adds each later change (tests/memory/test_scaling_activity.py)."""
    group = at({"desiredCapacity": 3, "minSize": 2, "maxSize": 6})
    assert all_metrics({"autoscaling-group": group}) == {
        "observedCapacity": 3.0, "atMaxSize": False, "highestCapacity": 3.0,
        "scaleOuts": 0.0, "scaleIns": 0.0}  # fmt: skip


def test_the_autoscalers_want_and_when_they_last_scaled() -> None:
    """The HPAs' desired replicas (what they decided, ahead of the pods running) summed over
    the services, and the newest lastScaleTime in Unix seconds."""
    observed = {
        "node-group": at({"scalingConfig": {"desiredSize": 2, "minSize": 1, "maxSize": 5}}),
        "k8s-web-autoscaler": hpa(3, 6, desired=4, scaled="2026-11-29T21:00:00Z"),
        "k8s-api-autoscaler": hpa(2, 6, scaled="2026-11-29T21:30:05Z"),
    }
    m = all_metrics(observed)
    assert m["observedReplicas"] == 6.0 and m["highestReplicas"] == 6.0
    assert m["lastScaleTime"] == 1795987805.0  # 2026-11-29T21:30:05Z
    assert m["scaleOuts"] == 0.0 and m["scaleIns"] == 0.0
    # One autoscaler without a desired count: no sum (a partial one would read as a scale-in).
    observed["k8s-api-autoscaler"] = hpa(2, 6, desired="2")
    m = all_metrics(observed)
    assert "observedReplicas" not in m and m["lastScaleTime"] == 1795986000.0
    # An HPA that never scaled has no lastScaleTime; a time that is not RFC 3339 is ignored.
    assert "lastScaleTime" not in all_metrics({"a": hpa(2, 6)})
    assert "lastScaleTime" not in all_metrics({"a": hpa(2, 6, scaled="yesterday")})
    assert "lastScaleTime" not in all_metrics({"a": hpa(2, 6, scaled="2026-11-29T21:00:00")})


# GCP and Azure: the same reading from the fields their providers expose (both API groups:
# the legacy cluster-scoped `*.upbound.io` and the namespaced `*.m.upbound.io` kinds).
def kind(kind_: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "x.upbound.io/v1beta1", "kind": kind_, "status": {"atProvider": fields}}


def test_a_gcp_managed_instance_group_against_its_regional_autoscaler() -> None:
    for policy in ({"minReplicas": 2, "maxReplicas": 5}, [{"minReplicas": 2, "maxReplicas": 5}]):
        observed = {
            "instance-group": kind("RegionInstanceGroupManager", {"targetSize": 5}),
            "autoscaler": kind("RegionAutoscaler", {"autoscalingPolicy": policy}),
        }
        assert composed_metrics(observed) == {"observedCapacity": 5.0, "atMaxSize": True}
    observed["instance-group"] = kind("RegionInstanceGroupManager", {"targetSize": 3})
    assert composed_metrics(observed) == {"observedCapacity": 3.0, "atMaxSize": False}
    # The autoscaler not observed yet: no bounds, no reading.
    assert composed_metrics({"instance-group": observed["instance-group"]}) == {}


def test_a_gke_node_pool_counts_its_nodes_in_every_zone() -> None:
    zones = ["europe-west1-b", "europe-west1-c", "europe-west1-d"]
    pool = {"nodeCount": 2, "nodeLocations": zones,
            "autoscaling": {"totalMinNodeCount": 3, "totalMaxNodeCount": 6}}  # fmt: skip
    assert composed_metrics({"node-pool": kind("NodePool", pool)}) == {
        "observedCapacity": 6.0, "atMaxSize": True}  # fmt: skip
    per_zone = pool | {"nodeCount": 1, "autoscaling": [{"minNodeCount": 1, "maxNodeCount": 3}]}
    assert composed_metrics({"node-pool": kind("NodePool", per_zone)}) == {
        "observedCapacity": 3.0, "atMaxSize": False}  # fmt: skip
    # Without the zones the per-zone count cannot be totalled.
    assert composed_metrics({"node-pool": kind("NodePool", pool | {"nodeLocations": []})}) == {}


def test_an_azure_scale_set_against_its_autoscale_setting() -> None:
    profile = [{"name": "cpu", "capacity": {"default": 2, "minimum": 2, "maximum": 4}}]
    observed = {
        "vm-scale-set": kind("LinuxVirtualMachineScaleSet", {"instances": 4}),
        "autoscale-setting": kind("MonitorAutoscaleSetting", {"profile": profile}),
    }
    assert composed_metrics(observed) == {"observedCapacity": 4.0, "atMaxSize": True}
    observed["vm-scale-set"] = kind("LinuxVirtualMachineScaleSet", {"instances": 2})
    assert composed_metrics(observed) == {"observedCapacity": 2.0, "atMaxSize": False}
    # One size on purpose (no autoscale setting is composed): the instances only.
    alone = {"vm-scale-set": observed["vm-scale-set"]}
    assert composed_metrics(alone) == {"observedCapacity": 2.0}


def test_an_aks_default_node_pool() -> None:
    pool = {"name": "system", "nodeCount": 3, "autoScalingEnabled": True, "minCount": 1,
            "maxCount": 3}  # fmt: skip
    for block in (pool, [pool]):
        cluster = {"aks-cluster": kind("KubernetesCluster", {"defaultNodePool": block})}
        assert composed_metrics(cluster) == {"observedCapacity": 3.0, "atMaxSize": True}
    fixed = {"defaultNodePool": [{"nodeCount": 2, "autoScalingEnabled": False}]}
    assert composed_metrics({"aks-cluster": kind("KubernetesCluster", fixed)}) == {
        "observedCapacity": 2.0}  # fmt: skip
    # A resource of another kind under the same name says nothing.
    assert composed_metrics({"aks-cluster": kind("Cluster", {"defaultNodePool": [pool]})}) == {}


def test_hpas_on_gke_and_aks_are_read_as_on_eks() -> None:
    observed = {
        "aks-cluster": kind("KubernetesCluster", {"defaultNodePool": [
            {"nodeCount": 2, "autoScalingEnabled": True, "minCount": 1, "maxCount": 4}]}),
        "k8s-web-autoscaler": hpa(6, 6),
    }  # fmt: skip
    m = all_metrics(observed)
    assert m["atMaxSize"] is True and m["observedCapacity"] == 2.0 and m["observedReplicas"] == 6


def test_the_names_and_fields_are_the_renderers_and_the_providers() -> None:
    """The component names are those the GCP and Azure renderers compose, and each field read
    is in the provider CRDs' status.atProvider (../shared/crds), in both API groups."""
    from function.decide import composed as c
    from function.render.azure import kubernetes as aks
    from function.render.azure import vm as azvm
    from tests.support.crdcheck import SHARED_CRDS

    assert (c.AZURE_SCALE_SET, c.AZURE_AUTOSCALE, c.AKS_CLUSTER) == (
        azvm.SCALE_SET, azvm.AUTOSCALE, aks.AKS)  # fmt: skip
    gcp_vm = (REPO / "function/render/gcp/vm.py").read_text()
    gke = (REPO / "function/render/gcp/kubernetes.py").read_text()
    assert f'out["{c.GCP_GROUP}"] = ctx.resource' in gcp_vm
    assert f'out["{c.GCP_AUTOSCALER}"] = ctx.resource' in gcp_vm
    assert f'"{c.GKE_POOL}": ctx.resource(' in gke
    reads = {
        "gcp/compute.gcp.{g}upbound.io_regioninstancegroupmanagers.yaml": [("targetSize",)],
        "gcp/compute.gcp.{g}upbound.io_regionautoscalers.yaml": [
            ("autoscalingPolicy", "minReplicas"), ("autoscalingPolicy", "maxReplicas")],
        "gcp/container.gcp.{g}upbound.io_nodepools.yaml": [
            ("nodeCount",), ("nodeLocations",), ("autoscaling", "totalMinNodeCount"),
            ("autoscaling", "totalMaxNodeCount"), ("autoscaling", "minNodeCount"),
            ("autoscaling", "maxNodeCount")],
        "azure/compute.azure.{g}upbound.io_linuxvirtualmachinescalesets.yaml": [("instances",)],
        "azure/insights.azure.{g}upbound.io_monitorautoscalesettings.yaml": [
            ("profile", "capacity", "minimum"), ("profile", "capacity", "maximum")],
        "azure/containerservice.azure.{g}upbound.io_kubernetesclusters.yaml": [
            ("defaultNodePool", "nodeCount"), ("defaultNodePool", "minCount"),
            ("defaultNodePool", "maxCount"), ("defaultNodePool", "autoScalingEnabled")],
    }  # fmt: skip
    for pattern, paths in reads.items():
        for group in ("", "m."):
            crd = yaml.safe_load((SHARED_CRDS / pattern.format(g=group)).read_text())
            for version in crd["spec"]["versions"]:
                schema = version["schema"]["openAPIV3Schema"]["properties"]["status"]
                at = schema["properties"]["atProvider"]
                for path in paths:
                    node = at
                    for key in path:
                        node = node.get("items", node)["properties"][key]
                    assert node, (pattern, group, version["name"], path)
                    assert path[0] in c.AT_PROVIDER_FIELDS  # kept by the gRPC layer (fn.py)
