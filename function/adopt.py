"""Adopting composed resources that exist without a pinned decision (pure).

An XR whose status was lost (restored from a backup, re-applied by GitOps, status pruned)
arrives with no `status.decision` while its composed resources exist. A fresh decision
could choose another architecture, and leaving an observed resource out of the desired
state deletes it. So the pin is rebuilt from what is observed: the strategy from the
composed kinds, the sizes from their specs (`decidedBy: adopted`). The caller renders the
adopted pin and refuses (fatal) unless that render covers every observed resource.

Errors: `AdoptionRefused` names the resources and fields that made adoption impossible.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from function.config.env import secret_count
from function.input import FunctionInput
from function.model import Decision, KubernetesParams, ServerlessParams, Strategy, VmParams
from function.pinning import PinnedDecision
from function.policy.https import REQUIRE_HTTPS
from function.pricing.catalog import PriceCatalog, PricingError
from function.pricing.estimate import estimate
from function.xr import AppSpec

Observed = dict[str, dict[str, Any]]

# Composition resource names that only one strategy composes.
STRATEGY_OF = {
    "launch-template": Strategy.VM,
    "autoscaling-group": Strategy.VM,
    "eks-cluster": Strategy.KUBERNETES,
    "node-group": Strategy.KUBERNETES,
    "lambda-function": Strategy.SERVERLESS,
    "function-url": Strategy.SERVERLESS,
    # GCP (function/render/gcp)
    "instance-template": Strategy.VM,
    "instance-group": Strategy.VM,
    "gke-cluster": Strategy.KUBERNETES,
    "node-pool": Strategy.KUBERNETES,
    "cloud-run-service": Strategy.SERVERLESS,
    # Azure (function/render/azure)
    "vm-scale-set": Strategy.VM,
    "lb-probe": Strategy.VM,
    "aks-cluster": Strategy.KUBERNETES,
    "container-app": Strategy.SERVERLESS,
    "container-app-environment": Strategy.SERVERLESS,
}
_AZURE_MARKERS = ("vm-scale-set", "lb-probe", "aks-cluster", "container-app")


class AdoptionRefused(Exception):
    pass


def observed_strategy(observed: Observed) -> Strategy | None:
    """The strategy the observed resources were composed for; None when they say nothing.

    Raises AdoptionRefused when they belong to more than one strategy."""
    found: dict[Strategy, list[str]] = {}
    for name in sorted(observed):
        if name in STRATEGY_OF:
            found.setdefault(STRATEGY_OF[name], []).append(name)
    if len(found) > 1:
        mixed = "; ".join(f"{s.value}: {', '.join(n)}" for s, n in sorted(found.items()))
        raise AdoptionRefused(f"the observed resources belong to several strategies ({mixed})")
    return next(iter(found), None)


def _params(observed: Observed, name: str) -> dict[str, Any]:
    """spec.initProvider overlaid by spec.forProvider: what the resource was created with."""
    spec = (observed.get(name) or {}).get("spec") or {}
    out: dict[str, Any] = dict(spec.get("initProvider") or {})
    out.update(spec.get("forProvider") or {})
    return out


def _need(params: dict[str, Any], name: str, *path: str | int) -> Any:
    value: Any = params
    for key in path:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            value = None
            break
    if value is None:
        where = ".".join(str(p) for p in path)
        raise AdoptionRefused(f"{name}: spec.forProvider.{where} is not observed")
    return value


def _adopted(
    observed: Observed,
    fresh: Decision,
    strategy: Strategy,
    sizes: dict[str, Any],
    port: Any,
    health: Any,
) -> Decision:
    """The adopted Decision: `sizes` ({strategy: its params}) and the port and health path
    read from the resources, the rest from `fresh`."""
    names = ", ".join(n for n in sorted(observed) if n in STRATEGY_OF)
    return Decision(
        strategy=strategy,
        **sizes,
        port=port or fresh.port,
        health_check_path=health or fresh.health_check_path,
        start_command=fresh.start_command,
        reason=(
            f"adopted: {strategy.value} resources ({names}) existed without a pinned decision "
            "(XR status lost); strategy and sizes are read from them, nothing is replaced"
        ),
        confidence=1.0,
        alternatives=[],
        decided_by="adopted",
    )


def adopted_decision(observed: Observed, fresh: Decision, strategy: Strategy) -> Decision:
    """The decision the observed resources embody. `fresh` (a decision made now for the same
    spec and commit) supplies what resources do not record: the start command."""
    if any(n in observed for n in ("instance-template", "gke-cluster", "cloud-run-service")):
        return _gcp_decision(observed, fresh, strategy)
    if any(n in observed for n in _AZURE_MARKERS):
        return _azure_decision(observed, fresh, strategy)
    try:
        if strategy is Strategy.VM:
            lt, asg = _params(observed, "launch-template"), _params(observed, "autoscaling-group")
            min_size = _need(asg, "autoscaling-group", "minSize")
            volume = lt.get("blockDeviceMappings") or [{}]
            vm = VmParams(
                instance_type=_need(lt, "launch-template", "instanceType"),
                min_size=min_size,
                max_size=_need(asg, "autoscaling-group", "maxSize"),
                desired_capacity=asg.get("desiredCapacity") or min_size,
                volume_gb=((volume[0] or {}).get("ebs") or {}).get("volumeSize") or 20,
            )
            sizes: dict[str, Any] = {"vm": vm}
        elif strategy is Strategy.KUBERNETES:
            ng, eks = _params(observed, "node-group"), _params(observed, "eks-cluster")
            scaling = _need(ng, "node-group", "scalingConfig")
            k8s = KubernetesParams(
                node_instance_type=_need(ng, "node-group", "instanceTypes", 0),
                min_nodes=_need(scaling, "node-group", "minSize"),
                max_nodes=_need(scaling, "node-group", "maxSize"),
                desired_nodes=scaling.get("desiredSize") or scaling.get("minSize"),
                kubernetes_version=str(_need(eks, "eks-cluster", "version")),
                disk_gb=ng.get("diskSize") or 20,
            )
            sizes = {"kubernetes": k8s}
        else:
            fn = _params(observed, "lambda-function")
            arch = fn.get("architectures") or ["x86_64"]
            sizes = {
                "serverless": ServerlessParams(
                    memory_mb=_need(fn, "lambda-function", "memorySize"),
                    timeout_seconds=_need(fn, "lambda-function", "timeout"),
                    architecture=arch[0],
                )
            }
    except ValidationError as e:
        raise AdoptionRefused(
            f"the observed sizes are out of bounds ({e.errors()[0]['msg']})"
        ) from None
    tg = _params(observed, "target-group")
    port = tg.get("port") if strategy is Strategy.VM else None
    health = ((tg.get("healthCheck") or {}).get("path")) if strategy is Strategy.VM else None
    return _adopted(observed, fresh, strategy, sizes, port, health)


def _quantity_mib(value: object) -> int | None:
    """'1024Mi' / '2Gi' -> MiB; None for anything else."""
    text = str(value or "")
    for suffix, factor in (("Mi", 1), ("Gi", 1024)):
        if text.endswith(suffix) and text[: -len(suffix)].isdigit():
            return int(text[: -len(suffix)]) * factor
    return None


def _gcp_decision(observed: Observed, fresh: Decision, strategy: Strategy) -> Decision:
    """adopted_decision for resources composed by function/render/gcp."""
    port: Any = None
    health: Any = None
    try:
        if strategy is Strategy.VM:
            tmpl = _params(observed, "instance-template")
            group, scaler = _params(observed, "instance-group"), _params(observed, "autoscaler")
            disk = (tmpl.get("disk") or [{}])[0] or {}
            min_size = _need(scaler, "autoscaler", "autoscalingPolicy", "minReplicas")
            sizes: dict[str, Any] = {
                "vm": VmParams(
                    instance_type=_need(tmpl, "instance-template", "machineType"),
                    min_size=min_size,
                    max_size=_need(scaler, "autoscaler", "autoscalingPolicy", "maxReplicas"),
                    desired_capacity=group.get("targetSize") or min_size,
                    volume_gb=disk.get("diskSizeGb") or 20,
                )
            }
            check = _params(observed, "health-check").get("httpHealthCheck") or {}
            port, health = check.get("port"), check.get("requestPath")
        elif strategy is Strategy.KUBERNETES:
            pool, gke = _params(observed, "node-pool"), _params(observed, "gke-cluster")
            scaling = _need(pool, "node-pool", "autoscaling")
            zones = len(pool.get("nodeLocations") or [1])
            low = _need(pool, "node-pool", "autoscaling", "totalMinNodeCount")
            sizes = {
                "kubernetes": KubernetesParams(
                    node_instance_type=_need(pool, "node-pool", "nodeConfig", "machineType"),
                    min_nodes=low,
                    max_nodes=_need(pool, "node-pool", "autoscaling", "totalMaxNodeCount"),
                    desired_nodes=min(
                        max(low, int(pool.get("initialNodeCount") or 1) * zones),
                        scaling.get("totalMaxNodeCount") or low,
                    ),
                    kubernetes_version=str(_need(gke, "gke-cluster", "minMasterVersion")),
                    disk_gb=(pool.get("nodeConfig") or {}).get("diskSizeGb") or 20,
                )
            }
        else:
            run = _params(observed, "cloud-run-service")
            template = _need(run, "cloud-run-service", "template")
            container = _need(run, "cloud-run-service", "template", "containers", 0)
            limits = (container.get("resources") or {}).get("limits") or {}
            memory = _quantity_mib(limits.get("memory"))
            timeout = str(template.get("timeout") or "")
            if memory is None or not timeout.endswith("s") or not timeout[:-1].isdigit():
                raise AdoptionRefused(
                    "cloud-run-service: spec.forProvider.template memory or timeout is not "
                    "observed in a form this release wrote"
                )
            sizes = {
                "serverless": ServerlessParams(memory_mb=memory, timeout_seconds=int(timeout[:-1]))
            }
            port = (container.get("ports") or {}).get("containerPort")
    except ValidationError as e:
        raise AdoptionRefused(
            f"the observed sizes are out of bounds ({e.errors()[0]['msg']})"
        ) from None
    return _adopted(observed, fresh, strategy, sizes, port, health)


def _gib_mib(value: object) -> int | None:
    """'1Gi' / '1.5Gi' (a Container Apps memory) -> MiB; None for anything else."""
    text = str(value or "")
    try:
        return int(float(text.removesuffix("Gi")) * 1024) if text.endswith("Gi") else None
    except ValueError:
        return None


def _azure_decision(observed: Observed, fresh: Decision, strategy: Strategy) -> Decision:
    """adopted_decision for resources composed by function/render/azure."""
    port: Any = None
    health: Any = None

    def init(name: str) -> dict[str, Any]:
        spec = (observed.get(name) or {}).get("spec") or {}
        return dict(spec.get("initProvider") or {})

    try:
        if strategy is Strategy.VM:
            vmss = _params(observed, "vm-scale-set")
            count = _need(vmss, "vm-scale-set", "instances")
            profiles = _params(observed, "autoscale-setting").get("profile") or [{}]
            capacity = (profiles[0] or {}).get("capacity") or {}
            sizes: dict[str, Any] = {
                "vm": VmParams(
                    instance_type=_need(vmss, "vm-scale-set", "sku"),
                    min_size=capacity.get("minimum") or count,
                    max_size=capacity.get("maximum") or count,
                    desired_capacity=count,
                    volume_gb=(vmss.get("osDisk") or {}).get("diskSizeGb") or 30,
                )
            }
            probe = _params(observed, "lb-probe")
            port, health = probe.get("port"), probe.get("requestPath")
        elif strategy is Strategy.KUBERNETES:
            aks = _params(observed, "aks-cluster")
            pool = _need(aks, "aks-cluster", "defaultNodePool")
            count = (init("aks-cluster").get("defaultNodePool") or {}).get("nodeCount")
            low = pool.get("minCount") or count
            if low is None:
                raise AdoptionRefused(
                    "aks-cluster: spec.forProvider.defaultNodePool.minCount (or "
                    "spec.initProvider.defaultNodePool.nodeCount) is not observed"
                )
            sizes = {
                "kubernetes": KubernetesParams(
                    node_instance_type=_need(pool, "aks-cluster", "vmSize"),
                    min_nodes=low,
                    max_nodes=pool.get("maxCount") or low,
                    desired_nodes=count or low,
                    kubernetes_version=str(_need(aks, "aks-cluster", "kubernetesVersion")),
                    disk_gb=pool.get("osDiskSizeGb") or 20,
                )
            }
        else:
            app = _params(observed, "container-app")
            container = _need(app, "container-app", "template", "container", 0)
            memory = _gib_mib(container.get("memory"))
            if memory is None:
                raise AdoptionRefused(
                    "container-app: spec.forProvider.template.container[0].memory is not "
                    "observed in a form this release wrote"
                )
            # A Container App records no timeout (the ingress ends requests after 240 s).
            timeout = fresh.serverless.timeout_seconds if fresh.serverless else 240
            sizes = {"serverless": ServerlessParams(memory_mb=memory, timeout_seconds=timeout)}
            port = (app.get("ingress") or {}).get("targetPort")
            probes = container.get("livenessProbe") or [{}]
            health = (probes[0] or {}).get("path")
    except ValidationError as e:
        raise AdoptionRefused(
            f"the observed sizes are out of bounds ({e.errors()[0]['msg']})"
        ) from None
    return _adopted(observed, fresh, strategy, sizes, port, health)


def adopt_pin(
    fresh: PinnedDecision,
    bodies: Observed,
    spec: AppSpec,
    settings: FunctionInput,
    catalog: PriceCatalog,
) -> PinnedDecision:
    """The pin the observed resources (`bodies`: whole observed bodies) embody; `fresh` is
    the decision made now for the same spec and commit.

    Raises AdoptionRefused naming what makes adoption impossible."""
    strategy = observed_strategy(bodies)
    if strategy is None:
        return fresh  # only shared resources exist: the desired-set guard decides
    wanted = spec.strategy.value
    if wanted not in ("auto", strategy.value):
        raise AdoptionRefused(
            f"spec.strategy is {wanted} but they are a {strategy.value} deployment; "
            f"set spec.strategy to {strategy.value} or auto to adopt them"
        )
    decision = adopted_decision(bodies, fresh.parameters, strategy)
    try:
        cost = estimate(
            decision,
            spec.region,
            catalog,
            built_image=not spec.image,
            existing_network=settings.network.existing,
            secrets=secret_count(spec.env_from, spec.services),
            https=REQUIRE_HTTPS in spec.policies,
        )
    except PricingError:
        cost = None
    return fresh.model_copy(
        update={
            "parameters": decision,
            "decided_by": "adopted",
            "estimated_monthly_cost": cost.monthly_total if cost else None,
            "cost_breakdown": [
                {"resource": i.resource, "description": i.description, "monthly": i.monthly}
                for i in (cost.breakdown if cost else [])
            ],
            "similar": [],
            "llm_fallback": None,
            "llm_retry_after": None,
        }
    )
