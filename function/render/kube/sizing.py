"""Pod sizes and replica bounds from the pinned decision (pure).

The decision sizes the node group (decide/capacity.py `size_nodes`: every service's
replica fits a node next to the system pods, the average and peak CPU fit the nodes); the
pods take their share of it:

- memory request = limit = the analysed memory need of one instance
  (`status.decision.analysis.memoryGib`; 0.5 GiB when a pin predates it);
- pods of one service per node = the node's memory after the system reserve
  (capacity.NODE_RESERVED_GIB) divided by what one replica of every service needs;
- CPU request = the node's vCPU after the system reserve, shared by those pods (no CPU
  limit: a throttled web process misses its probes; requests keep the scheduler honest);
- replicas: at least the decided minimum of nodes (two when highly available), at most
  what the decided maximum of nodes holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from function.decide.capacity import NODE_RESERVED_GIB, NODE_RESERVED_VCPU
from function.model import KubernetesParams
from function.pricing.catalog import load_catalog

DEFAULT_MEMORY_GIB = 0.5
MIN_CPU_MILLIS = 100
_FALLBACK = (2, 4.0)  # vCPU, GiB: a t3.medium, for a node type the catalog does not know


@dataclass(frozen=True)
class PodSize:
    cpu_millis: int
    memory_mib: int
    min_replicas: int
    max_replicas: int

    @property
    def highly_available(self) -> bool:
        return self.min_replicas >= 2


def node_size(instance_type: str) -> tuple[int, float]:
    spec = load_catalog().instance_specs.get(instance_type)
    return (spec.vcpu, spec.memory_gib) if spec is not None else _FALLBACK


def pod_size(
    k: KubernetesParams,
    memory_gib: float | None,
    services: int,
    overhead: tuple[float, float] = (0.0, 0.0),
) -> PodSize:
    """The size of one replica of each of `services` services on the decided nodes;
    `overhead`: (vCPU, GiB) other pods the platform runs request on each node (AKS's
    application routing NGINX under require-https, decide/capacity.py
    `ingress_controller_share`), left free so they and the replicas schedule together."""
    services = max(1, services)
    vcpu, node_gib = node_size(k.node_instance_type)
    over_vcpu, over_gib = overhead
    mem = memory_gib if memory_gib and memory_gib > 0 else DEFAULT_MEMORY_GIB
    usable_gib = max(node_gib - NODE_RESERVED_GIB - over_gib, mem)
    per_node = max(1, int(usable_gib // (mem * services)))
    usable_millis = max((vcpu - NODE_RESERVED_VCPU - over_vcpu) * 1000, MIN_CPU_MILLIS)
    cpu = int(usable_millis / (per_node * services) // 50 * 50)
    return PodSize(
        cpu_millis=max(MIN_CPU_MILLIS, cpu),
        memory_mib=math.ceil(mem * 1024),
        min_replicas=max(1, k.min_nodes),
        max_replicas=max(1, k.min_nodes, k.max_nodes * per_node),
    )
