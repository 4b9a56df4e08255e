"""Replace, never edit, what AWS cannot change in place: generations of a composed resource.

A renderer names each resource by its component (the composition-resource name, e.g.
`target-group`). When a field listed in immutable.py differs between the desired body and
the observed resource of that name, the desired body is composed under a new name,
`<component>-g<6 hex of the immutable values>`, with its own AWS name (names.py), beside
the old one. Then, over the following reconciles:

1. the old resource is kept exactly as observed (its spec echoed back) while its
   replacement is being created: references (selectors, and ARNs read from observed
   state) keep pointing at the old one, so traffic flows;
2. once the new resource is Ready, references switch to it (selectors are rewritten, the
   observed view renderers read is aliased), and a dependent whose *immutable* reference
   changed by that switch is itself replaced the same way (a listener of a new load
   balancer);
3. the old resource leaves the desired state (so Crossplane deletes it) only when its
   replacement is Ready, no other observed resource's spec still names it (its ARN,
   id or external name): deleting an in-use target group fails with ResourceInUse, and
   every referrer's observed spec positively names the replacement (unknown is "used").
   Moved selectors get `policy.resolve: Always` (the default, IfNotPresent, never
   re-resolves a field that is already set).

Resources selected as a set by a shared label (subnets, the VPC) cannot stand side by
side; a change to their immutable fields is refused with a message naming the field.
The plan is a pure function of (rendered bodies, observed resources).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from function.render.common import COMPONENT_LABEL, Resources, UnsupportedTarget, label_value
from function.render.immutable import (
    IMMUTABLE,
    SHARED_SELECTION_KINDS,
    STATEFUL_KINDS,
    Immutable,
    full_spec,
    kind_key,
    whole,
)
from function.render.names import EXTERNAL_NAME

Observed = dict[str, dict[str, Any]]
# Names follow generations (names.py), so they never make one: AWS names, statement ids.
_NAME_FIELDS = {"name", "namePrefix", "statementId", "statementIdPrefix"}
_SPEC_KEEP = ("forProvider", "initProvider", "providerConfigRef", "managementPolicies")
_SPEC_KEEP_ALSO = ("deletionPolicy", "writeConnectionSecretToRef")


class ReplacementRefused(UnsupportedTarget):
    """An immutable field changed on a resource that cannot be replaced side by side."""


@dataclass
class Plan:
    """Desired resources, the observed ones left out on purpose (name -> why), and notes."""

    desired: Resources
    retired: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)


def _ready(resource: dict[str, Any] | None) -> bool:
    for c in ((resource or {}).get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def _get(obj: dict[str, Any], path: str) -> Any:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _norm(v: Any) -> Any:
    """Numbers as floats (protobuf Struct carries every number as a double)."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, list):
        return [_norm(x) for x in v]
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in sorted(v.items())}
    return v


def immutable_values(body: dict[str, Any], imm: Immutable) -> dict[str, Any]:
    """The immutable fields the desired body sets (names excluded: they follow generations)."""
    fp = (body.get("spec") or {}).get("forProvider") or {}
    return {
        p: _norm(v) for p in imm.fields if p not in _NAME_FIELDS and (v := _get(fp, p)) is not None
    }


def _matches(desired: Any, seen: Any) -> bool:
    """Whether the observed value holds the desired one (both normalised).

    Objects match when every desired key matches (the provider late-initialises others
    into the observed spec, and resolves selectors into ids beside them: a GCP instance
    template's networkInterface gains `network` next to our `networkSelector`); lists
    match element by element; anything else by equality."""
    if isinstance(desired, dict):
        return isinstance(seen, dict) and all(
            k in seen and _matches(v, seen[k]) for k, v in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(seen, list)
            and len(seen) == len(desired)
            and all(_matches(d, s) for d, s in zip(desired, seen, strict=True))
        )
    return bool(desired == seen)


def _changed(values: dict[str, Any], observed: dict[str, Any]) -> list[str]:
    """Immutable paths whose observed value differs from the desired one.

    A path the observed spec does not show is not counted: we cannot tell, and a
    replacement on missing data would be worse than none.
    """
    fp = (observed.get("spec") or {}).get("forProvider") or {}
    out = []
    for p, v in values.items():
        seen = _get(fp, p)
        if seen is not None and not _matches(v, _norm(seen)):
            out.append(p)
    return out


def _digest(values: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:6]


_GENERATION = re.compile(r"(.+)-g[0-9a-f]{6}")


def family(base: str, observed: Observed) -> list[str]:
    """Observed generations of `base`: itself and `<base>-g<6 hex>`, oldest name first."""
    return families(observed).get(base, [])


def families(observed: Observed) -> dict[str, list[str]]:
    """Every observed name under each base it can be a generation of (itself, and the base
    `<base>-g<6 hex>` names), names sorted: one pass over the observed names."""
    out: dict[str, list[str]] = {}
    for n in sorted(observed):
        out.setdefault(n, []).append(n)
        if m := _GENERATION.fullmatch(n):
            out.setdefault(m.group(1), []).append(n)
    return out


def _identifiers(resource: dict[str, Any]) -> set[str]:
    at = ((resource.get("status") or {}).get("atProvider")) or {}
    ann = ((resource.get("metadata") or {}).get("annotations")) or {}
    # GCP references name resources by selfLink (or the id, a partial path).
    ids = {at.get("arn"), at.get("id"), at.get("selfLink"), ann.get(EXTERNAL_NAME)}
    return {i for i in ids if isinstance(i, str) and len(i) >= 3}


def _strings(obj: Any) -> set[str]:
    if isinstance(obj, str):
        return {obj}
    if isinstance(obj, dict):
        return set().union(*(_strings(v) for v in obj.values())) if obj else set()
    if isinstance(obj, list):
        return set().union(*(_strings(v) for v in obj)) if obj else set()
    return set()


def users(name: str, observed: Observed) -> list[str]:
    """Observed resources whose spec names `name`'s ARN, id or external name."""
    ids = _identifiers(observed[name])
    if not ids:
        return []
    return sorted(
        other
        for other, body in observed.items()
        if other != name and ids & _strings(full_spec(body))
    )


def echo(observed: dict[str, Any]) -> dict[str, Any]:
    """An observed resource as a desired one: the same spec, labels and annotations."""
    observed = whole(observed)
    meta = observed.get("metadata") or {}
    out_meta: dict[str, Any] = {"labels": dict(meta.get("labels") or {})}
    ann = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if k == EXTERNAL_NAME or not k.startswith(("crossplane.io/", "kubectl.kubernetes.io/"))
    }
    if ann:
        out_meta["annotations"] = ann
    for k in list(out_meta["labels"]):
        if k.startswith("crossplane.io/"):
            del out_meta["labels"][k]
    if meta.get("namespace"):
        out_meta["namespace"] = meta["namespace"]
    spec = observed.get("spec") or {}
    out_spec = {k: copy.deepcopy(spec[k]) for k in (*_SPEC_KEEP, *_SPEC_KEEP_ALSO) if k in spec}
    return {
        "apiVersion": observed.get("apiVersion"),
        "kind": observed.get("kind"),
        "metadata": out_meta,
        "spec": out_spec,
    }


def rewrite_selectors(body: Any, aliases: dict[str, str]) -> Any:
    """Selectors by component label pointed at the alias of that component.

    A moved selector also gets `policy.resolve: Always`: crossplane-runtime resolves a
    reference only when its field is empty by default (IfNotPresent), so a resource that
    already holds the old generation's ARN or id would keep it for ever.
    """
    if isinstance(body, list):
        return [rewrite_selectors(x, aliases) for x in body]
    if not isinstance(body, dict):
        return body
    out = {k: rewrite_selectors(v, aliases) for k, v in body.items()}
    labels = out.get("matchLabels")
    if isinstance(labels, dict) and labels.get(COMPONENT_LABEL) in aliases:
        out["matchLabels"] = {**labels, COMPONENT_LABEL: aliases[labels[COMPONENT_LABEL]]}
        policy = out.get("policy")
        out["policy"] = {**(policy if isinstance(policy, dict) else {}), "resolve": "Always"}
    return out


def _relabel(body: dict[str, Any], name: str) -> dict[str, Any]:
    out = copy.deepcopy(body)
    out.setdefault("metadata", {}).setdefault("labels", {})[COMPONENT_LABEL] = label_value(name)
    return out


@dataclass
class _Family:
    base: str
    target: str
    olds: list[str]
    changed: list[str]


def _assign(rendered: Resources, observed: Observed) -> dict[str, _Family]:
    fams: dict[str, _Family] = {}
    by_base = families(observed)
    for base, body in rendered.items():
        imm = IMMUTABLE.get(kind_key(str(body.get("apiVersion", "")), str(body.get("kind"))))
        members = by_base.get(base, [])
        if imm is None or not members:
            fams[base] = _Family(base, base, [], [])
            continue
        values = immutable_values(body, imm)
        matching = [m for m in members if not _changed(values, observed[m])]
        if matching:
            target = base if base in matching else matching[-1]
            changed: list[str] = []
        else:
            newest = members[-1]
            changed = _changed(values, observed[newest])
            key = kind_key(str(body.get("apiVersion", "")), str(body.get("kind")))
            if key in STATEFUL_KINDS:
                fields = ", ".join(f"spec.forProvider.{p}" for p in changed)
                raise ReplacementRefused(
                    f"{base} ({body.get('kind')}): {fields} cannot change in place and this "
                    "resource holds the application's data: a replacement would be empty and "
                    "retiring the old one would delete the data; refusing to render (keep the "
                    "region and the store's input as they were, or move the data yourself)"
                )
            if key in SHARED_SELECTION_KINDS:
                raise ReplacementRefused(_refusal(base, body, changed, observed[newest]))
            target = f"{base}-g{_digest(values)}"
        fams[base] = _Family(base, target, [m for m in members if m != target], changed)
    return fams


# Composed fields that are the XR's spec.region (every cloud's spelling of where).
_REGION_FIELDS = ("region", "location")


def _refusal(base: str, body: dict[str, Any], changed: list[str], old: dict[str, Any]) -> str:
    """Why a shared-selection resource cannot follow a change, naming what the user changed:
    spec.region when the resource's region or location moved, else the network input."""
    fields = ", ".join(f"spec.forProvider.{p}" for p in changed)
    tail = (
        f"{base} ({body.get('kind')}): {fields} cannot change in place and this resource is "
        "selected as a set (by label), so it cannot be replaced side by side; refusing to render"
    )
    moved = [p for p in changed if p in _REGION_FIELDS]
    if moved:
        was = ((old.get("spec") or {}).get("forProvider") or {}).get(moved[0])
        now = ((body.get("spec") or {}).get("forProvider") or {}).get(moved[0])
        return (
            f"spec.region: a deployment cannot move from {was!s} to {now!s}; set spec.region "
            f"back to {was!s}, or deploy a new XR in {now!s} ({tail})"
        )
    return f"{tail} (keep the network input as it was, or deploy a new XR)"


def _aliases(fams: dict[str, _Family], observed: Observed) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in fams.values():
        if f.target == f.base and not f.olds:
            continue
        if _ready(observed.get(f.target)) or not f.olds:
            out[f.base] = f.target
            continue
        live = [m for m in f.olds if _ready(observed.get(m))] or f.olds
        out[f.base] = f.base if f.base in live else live[-1]
    return {b: a for b, a in out.items() if b != a}


def _rewrite(body: dict[str, Any], ready: dict[str, str], target: dict[str, str]) -> Any:
    """Point a body's selectors at the right generation of what they select.

    An immutable reference (listed in immutable.py: a Function URL's functionNameSelector)
    names the newest generation: a resource holding it is created (or replaced) for that
    generation. An updatable one (a listener's forward action) names the generation that
    is ready, so traffic moves only to what exists.
    """
    if not ready and not target:
        return body
    imm = IMMUTABLE.get(kind_key(str(body.get("apiVersion", "")), str(body.get("kind"))))
    out = copy.deepcopy(body)
    spec = out.get("spec") or {}
    for part in ("forProvider", "initProvider"):
        fp = spec.get(part)
        if not isinstance(fp, dict):
            continue
        for k, v in fp.items():
            fixed = imm is not None and k in imm.fields
            fp[k] = rewrite_selectors(v, {**ready, **target} if fixed else ready)
    return out


def plan(render: Callable[[Observed], Resources], observed: Observed) -> Plan:
    """Run `render` against an observed view until references settle; assign generations.

    `render(view)` returns bodies keyed by component; `view` is `observed` with each
    replaced component aliased to the generation that is ready (renderers read ARNs
    from it for updatable references).
    """
    ready: dict[str, str] = {}
    target: dict[str, str] = {}
    for _ in range(16):  # each pass can only move a reference one hop; bounded
        view = dict(observed)
        for base, alias in ready.items():
            if alias in observed:
                view[base] = observed[alias]
        rendered = {name: _rewrite(body, ready, target) for name, body in render(view).items()}
        fams = _assign(rendered, observed)
        new_ready = _aliases(fams, observed)
        new_target = {b: f.target for b, f in fams.items() if f.target != b}
        if (new_ready, new_target) == (ready, target):
            break
        ready, target = new_ready, new_target
    return _finish(rendered, fams, observed, ready)


def _finish(
    rendered: Resources, fams: dict[str, _Family], observed: Observed, aliases: dict[str, str]
) -> Plan:
    out = Plan(desired={}, aliases=aliases)
    for base, body in rendered.items():
        f = fams[base]
        out.desired[f.target] = body if f.target == base else _relabel(body, f.target)
        if not f.olds:
            continue
        target_ready = _ready(observed.get(f.target))
        for old in f.olds:
            in_use = users(old, observed) or _not_switched(f, rendered, fams, observed)
            if target_ready and not in_use:
                out.retired[old] = f"replaced by {f.target}, which is ready; nothing uses it"
                out.notes.append(f"{old} is replaced by {f.target} and is no longer used: removed")
                continue
            out.desired[old] = echo(observed[old])
            why = (
                f"waiting for {f.target} to be ready"
                if not target_ready
                else f"still used by {', '.join(in_use[:3])}"
            )
        if f.changed and not target_ready:
            fields = ", ".join(f.changed)
            out.notes.append(
                f"{base}: {fields} cannot change in place ({body.get('kind')}); composing "
                f"{f.target} beside {', '.join(f.olds)}, which stays until it is replaced "
                f"({why})"
            )
        elif any(o in out.desired for o in f.olds):
            out.notes.append(f"{', '.join(f.olds)} kept: {why}")
    return out


def _refers(body: dict[str, Any], labels: set[str], ids: set[str]) -> bool:
    """Whether a desired body selects one of `labels` or names one of `ids`."""
    spec = body.get("spec") or {}
    found = False

    def walk(v: Any) -> None:
        nonlocal found
        if isinstance(v, dict):
            ml = v.get("matchLabels")
            if isinstance(ml, dict) and ml.get(COMPONENT_LABEL) in labels:
                found = True
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, str) and v in ids:
            found = True

    walk({k: spec.get(k) for k in ("forProvider", "initProvider")})
    return found


def _not_switched(
    f: _Family, rendered: Resources, fams: dict[str, _Family], observed: Observed
) -> list[str]:
    """Referrers of `f` whose observed spec does not yet name its new generation.

    Fail closed: a referrer (a desired body selecting any generation of `f` or naming one's
    ARN/id) that is observed but whose observed spec does not show an identifier of the
    target (a field not resolved yet, status lost, the provider not caught up) still counts
    as using the old generation. The target's identifiers unknown counts the same.
    """
    gens = [f.base, f.target, *f.olds]
    labels = {label_value(g) for g in gens}
    all_ids = set().union(*(_identifiers(observed[g]) for g in gens if g in observed))
    target_ids = _identifiers(observed[f.target]) if f.target in observed else set()
    out = []
    for base, body in rendered.items():
        name = fams[base].target
        if base == f.base or name not in observed or not _refers(body, labels, all_ids):
            continue
        if not target_ids or not (target_ids & _strings(full_spec(observed[name]))):
            out.append(name)
    return sorted(out)
