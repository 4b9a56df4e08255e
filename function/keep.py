"""Faults never delete: the one rule that guards every desired set (pure).

Crossplane deletes a composed resource the moment the desired state leaves it out. So a
desired set never omits an observed composed resource, unless a *recorded* decision change
asked for it (a new revision in `status.history`: spec change, `scia.io/redecide`, a new
commit, rollback, a platform-rule change that forced a redecision). Even then the resources
the new revision leaves out are kept exactly as they are observed until every resource of
the new revision is Ready; only then are they retired (left out, so Crossplane deletes
them), and the pin records their names in `retired`. Anything else that would shrink the
desired set is refused with a fatal result, and Crossplane keeps what exists.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from function.pinning import PinnedDecision
from function.status import is_ready

Resources = dict[str, dict[str, Any]]
Body = Callable[[str], dict[str, Any] | None]


@dataclass
class Kept:
    desired: Resources
    pin: PinnedDecision
    carried: list[str] = field(default_factory=list)
    retiring: list[str] = field(default_factory=list)
    refusal: str | None = None


def passthrough(body: dict[str, Any]) -> dict[str, Any] | None:
    """An observed composed resource as a desired one, unchanged (None: no spec observed)."""
    if not isinstance(body.get("spec"), dict) or not body.get("apiVersion") or not body.get("kind"):
        return None
    labels = ((body.get("metadata") or {}).get("labels")) or {}
    own = {k: v for k, v in labels.items() if not k.startswith("crossplane.io/")}
    return {
        "apiVersion": body["apiVersion"],
        "kind": body["kind"],
        "metadata": {"labels": own} if own else {},
        "spec": copy.deepcopy(body["spec"]),
    }


def keep(
    before: PinnedDecision | None,
    current: PinnedDecision,
    rendered: Resources,
    observed: dict[str, dict[str, Any]],
    body: Body,
    planned: set[str] | None = None,
) -> Kept:
    """The desired set to answer with, and the pin updated with what it carries or retired.

    `planned`: observed resources the render itself retires on purpose (replaced
    generations whose replacement is Ready and in use, function/render/replace.py)."""
    leaving = sorted(set(observed) - set(rendered) - set(current.retired) - (planned or set()))
    changed = before is not None and current.revision != before.revision
    if not leaving:
        pin = current if current.replaces is None else current.model_copy(update={"replaces": None})
        return Kept(rendered, pin)
    if not changed and current.replaces is None:
        return Kept(
            rendered,
            current,
            refusal=f"would delete {', '.join(leaving[:8])}"
            + (f" and {len(leaving) - 8} more" if len(leaving) > 8 else ""),
        )
    if all(n in observed and is_ready(observed[n]) for n in rendered):
        retired = sorted(set(current.retired) | set(leaving))
        pin = current.model_copy(update={"replaces": None, "retired": retired})
        return Kept(rendered, pin, retiring=leaving)
    carried: Resources = {}
    for name in leaving:
        kept = passthrough(body(name) or {})
        if kept is None:
            return Kept(rendered, current, refusal=f"cannot keep {name} (its spec is not observed)")
        carried[name] = kept
    replaces = before.revision if (changed and before is not None) else current.replaces
    pin = current.model_copy(update={"replaces": replaces})
    return Kept(rendered | carried, pin, carried=leaving)
