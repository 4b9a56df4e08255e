"""Allowlist entries a decision can never choose, named as the platform wrote them (pure).

The knowledge base and the LLM's bounds consider only allowlisted instance and node types
priced in the decision's region (pricing/catalog*.yaml): an entry the catalog does not know
(a typo, another cloud's type) or has no price for in that region is skipped. Skipping it
silently would leave a platform team believing a type is in play when it never is, so each
decision says which entries of `vm.allowedInstanceTypes` and `kubernetes.allowedNodeTypes`
(in the cloud's own block: `input.gcp.vm.allowedInstanceTypes` on GCP) it left out and why.
"""

from __future__ import annotations

from function.input import FunctionInput
from function.pricing.catalog import PriceCatalog


def unusable_entries(settings: FunctionInput, catalog: PriceCatalog, region: str) -> list[str]:
    """One warning per allowlist with entries never chosen in `region`; empty when every
    entry is priced there (or the region is not in the catalog: the decision says so)."""
    prices = catalog.by_region.get(region)
    if prices is None:
        return []
    known = set(catalog.instance_type_names(settings.cloud))
    out = []
    for path, allowed in (
        ("vm.allowedInstanceTypes", settings.vm.allowed_instance_types),
        ("kubernetes.allowedNodeTypes", settings.kubernetes.allowed_node_types),
    ):
        entries = list(dict.fromkeys(allowed))
        problems = [
            f"{t!r} is not in the {settings.cloud} pricing catalog"
            if t not in known
            else f"{t!r} has no price in {region}"
            for t in entries
            if t not in prices.instances
        ]
        if problems:
            out.append(
                f"{settings.field(path)}: {'; '.join(problems)}; never chosen "
                f"({len(entries) - len(problems)} of its {len(entries)} entries are usable here)"
            )
    return out
