"""Observations from the composed resources' observed status (function/decide/composed.py)."""

from __future__ import annotations

from typing import Any

from function.decide.composed import composed_metrics


def at(fields: dict[str, Any], kind: str = "AutoScalingGroup") -> dict[str, Any]:
    return {"apiVersion": "x.aws.upbound.io/v1beta1", "kind": kind,
            "status": {"atProvider": fields}}  # fmt: skip


def hpa(current: Any, top: Any, low: int = 1) -> dict[str, Any]:
    manifest = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "spec": {"minReplicas": low, "maxReplicas": top},
        "status": {"currentReplicas": current, "desiredReplicas": current},
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
