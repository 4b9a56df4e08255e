"""Observations from the composed resources' observed status (function/decide/composed.py)."""

from __future__ import annotations

from typing import Any

from function.decide.composed import composed_metrics as all_metrics

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
