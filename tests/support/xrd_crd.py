"""Derive the CRDs Crossplane generates from a CompositeResourceDefinition (XRD).

A port of Crossplane v2.2 `internal/xcrd` (`ForCompositeResource`,
`ForCompositeResourceClaim`, `CompositeResourceSpecProps`, ...), restricted to
what schema validation needs:

- `apiextensions.crossplane.io/v1` XRDs default to `scope: LegacyCluster`: the XR
  is cluster-scoped and gets `spec.compositionRef`, `compositionSelector`,
  `compositionRevisionRef`, `compositionRevisionSelector`, `compositionUpdatePolicy`,
  `resourceRefs`, `claimRef`, `writeConnectionSecretToRef` and
  `status.conditions`, `status.connectionDetails`, `status.claimConditionTypes`.
  With `claimNames` there is also a namespaced claim kind with the claim fields
  (`compositeDeletePolicy`, `resourceRef`, `writeConnectionSecretToRef: {name}`, ...).
- `apiextensions.crossplane.io/v2` XRDs default to `scope: Namespaced` (or
  `Cluster`); Crossplane's fields live under `spec.crossplane`
  (`compositionRef`, ..., `resourceRefs`) and `status.conditions` is added.
- `metadata.name` is limited to 63 characters (it becomes a label value).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

JsonDict = dict[str, Any]

XRD_GROUP = "apiextensions.crossplane.io"


def _match_labels_selector() -> JsonDict:
    return {
        "type": "object",
        "required": ["matchLabels"],
        "properties": {
            "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}
        },
    }


def _name_ref() -> JsonDict:
    return {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}


def composite_spec_props(scope: str, default_update_policy: str | None) -> JsonDict:
    update_policy: JsonDict = {"type": "string", "enum": ["Automatic", "Manual"]}
    if default_update_policy:
        update_policy["default"] = default_update_policy
    ref_props: JsonDict = {
        "apiVersion": {"type": "string"},
        "name": {"type": "string"},
        "kind": {"type": "string"},
    }
    if scope != "Namespaced":
        ref_props["namespace"] = {"type": "string"}
    props: JsonDict = {
        "compositionRef": _name_ref(),
        "compositionSelector": _match_labels_selector(),
        "compositionRevisionRef": _name_ref(),
        "compositionRevisionSelector": _match_labels_selector(),
        "compositionUpdatePolicy": update_policy,
        "resourceRefs": {
            "type": "array",
            "x-kubernetes-list-type": "atomic",
            "items": {
                "type": "object",
                "required": ["apiVersion", "kind"],
                "properties": ref_props,
            },
        },
    }
    if scope == "LegacyCluster":
        props["claimRef"] = {
            "type": "object",
            "required": ["apiVersion", "kind", "namespace", "name"],
            "properties": {
                k: {"type": "string"} for k in ("apiVersion", "kind", "namespace", "name")
            },
        }
        props["writeConnectionSecretToRef"] = {
            "type": "object",
            "required": ["name", "namespace"],
            "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}},
        }
        return props
    return {
        "crossplane": {
            "type": "object",
            "description": "Configures how Crossplane will reconcile this composite resource",
            "properties": props,
        }
    }


def claim_spec_props(default_delete_policy: str | None) -> JsonDict:
    delete_policy: JsonDict = {"type": "string", "enum": ["Background", "Foreground"]}
    if default_delete_policy:
        delete_policy["default"] = default_delete_policy
    return {
        "compositionRef": _name_ref(),
        "compositionSelector": _match_labels_selector(),
        "compositionRevisionRef": _name_ref(),
        "compositionRevisionSelector": _match_labels_selector(),
        "compositionUpdatePolicy": {"type": "string", "enum": ["Automatic", "Manual"]},
        "compositeDeletePolicy": delete_policy,
        "resourceRef": {
            "type": "object",
            "required": ["apiVersion", "kind", "name"],
            "properties": {k: {"type": "string"} for k in ("apiVersion", "kind", "name")},
        },
        "writeConnectionSecretToRef": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}},
        },
    }


def composite_status_props(scope: str) -> JsonDict:
    props: JsonDict = {
        "conditions": {
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
            "items": {
                "type": "object",
                "required": ["lastTransitionTime", "reason", "status", "type"],
                "properties": {
                    "lastTransitionTime": {"type": "string", "format": "date-time"},
                    "message": {"type": "string"},
                    "reason": {"type": "string"},
                    "status": {"type": "string"},
                    "type": {"type": "string"},
                    "observedGeneration": {"type": "integer", "format": "int64"},
                },
            },
        }
    }
    if scope == "LegacyCluster":
        props["connectionDetails"] = {
            "type": "object",
            "properties": {"lastPublishedTime": {"type": "string", "format": "date-time"}},
        }
        props["claimConditionTypes"] = {
            "type": "array",
            "x-kubernetes-list-type": "set",
            "items": {"type": "string"},
        }
    return props


def _version_schema(
    xrd_schema: Mapping[str, Any], max_name: int, spec_props: JsonDict, status_props: JsonDict
) -> JsonDict:
    user: Mapping[str, Any] = xrd_schema.get("openAPIV3Schema") or {}
    user_props: Mapping[str, Any] = user.get("properties") or {}
    user_spec: Mapping[str, Any] = user_props.get("spec") or {}
    user_status: Mapping[str, Any] = user_props.get("status") or {}
    name_max = max_name
    user_name = ((user_props.get("metadata") or {}).get("properties") or {}).get("name") or {}
    if isinstance(user_name.get("maxLength"), int) and user_name["maxLength"] < name_max:
        name_max = user_name["maxLength"]
    spec: JsonDict = {"type": "object", "properties": {}}
    spec["properties"].update(spec_props)
    spec["properties"].update(copy.deepcopy(dict(user_spec.get("properties") or {})))
    for key in ("required", "x-kubernetes-validations", "oneOf"):
        if user_spec.get(key):
            spec[key] = copy.deepcopy(user_spec[key])
    if user_spec.get("x-kubernetes-preserve-unknown-fields"):
        spec["x-kubernetes-preserve-unknown-fields"] = True
    status: JsonDict = {"type": "object", "properties": {}}
    status["properties"].update(status_props)
    status["properties"].update(copy.deepcopy(dict(user_status.get("properties") or {})))
    for key in ("required", "x-kubernetes-validations", "oneOf"):
        if user_status.get(key):
            status[key] = copy.deepcopy(user_status[key])
    root: JsonDict = {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {
                "type": "object",
                "properties": {"name": {"type": "string", "maxLength": name_max}},
            },
            "spec": spec,
            "status": status,
        },
    }
    if user.get("x-kubernetes-validations"):
        root["x-kubernetes-validations"] = copy.deepcopy(user["x-kubernetes-validations"])
    return root


def _crd(group: str, names: Mapping[str, Any], scope: str, versions: list[JsonDict]) -> JsonDict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{names.get('plural', '')}.{group}"},
        "spec": {"group": group, "names": dict(names), "scope": scope, "versions": versions},
    }


def crds_from_xrd(xrd: Mapping[str, Any]) -> list[JsonDict]:
    """The XR CRD and, for a v1 XRD with `claimNames`, the claim CRD."""
    api_version = str(xrd.get("apiVersion", ""))
    if not api_version.startswith(XRD_GROUP + "/"):
        raise ValueError(f"not a Crossplane XRD: apiVersion {api_version!r}")
    xrd_version = api_version.split("/", 1)[1]
    spec: Mapping[str, Any] = xrd.get("spec") or {}
    default_scope = "Namespaced" if xrd_version == "v2" else "LegacyCluster"
    scope = str(spec.get("scope") or default_scope)
    if scope not in ("Namespaced", "Cluster", "LegacyCluster"):
        raise ValueError(f"XRD {xrd.get('metadata', {}).get('name')!r}: unknown scope {scope!r}")
    claim_names = spec.get("claimNames")
    if claim_names and xrd_version == "v2":
        raise ValueError("apiextensions.crossplane.io/v2 XRDs cannot define claimNames")
    if claim_names and scope != "LegacyCluster":
        raise ValueError(f"claimNames need scope LegacyCluster, not {scope}")
    group = str(spec["group"])
    names: Mapping[str, Any] = spec["names"]
    xr_versions: list[JsonDict] = []
    claim_versions: list[JsonDict] = []
    for version in spec.get("versions") or []:
        base = {
            "name": version["name"],
            "served": bool(version.get("served", False)),
            "storage": bool(version.get("referenceable", False)),
            "deprecated": bool(version.get("deprecated", False)),
        }
        schema: Mapping[str, Any] = version.get("schema") or {}
        xr_schema = _version_schema(
            schema,
            63,
            composite_spec_props(scope, spec.get("defaultCompositionUpdatePolicy")),
            composite_status_props(scope),
        )
        xr_versions.append({**base, "schema": {"openAPIV3Schema": xr_schema}})
        if claim_names:
            claim_schema = _version_schema(
                schema,
                63,
                claim_spec_props(spec.get("defaultCompositeDeletePolicy")),
                composite_status_props("LegacyCluster"),
            )
            claim_versions.append({**base, "schema": {"openAPIV3Schema": claim_schema}})
    crd_scope = "Namespaced" if scope == "Namespaced" else "Cluster"
    out = [_crd(group, names, crd_scope, xr_versions)]
    if claim_names:
        if claim_names.get("kind") == names.get("kind"):
            raise ValueError(f"claim kind {claim_names.get('kind')!r} equals the XR kind")
        out.append(_crd(group, claim_names, "Namespaced", claim_versions))
    return out
