"""Offline validation of Kubernetes objects against real CRDs (and Crossplane XRDs).

    from tests.support.crdcheck import assert_valid, default_index
    assert_valid(obj)                                  # pytest-friendly
    errors = default_index().validate(obj)             # [] == valid

Each error reads `<apiVersion> <Kind> '<name>': <path>: <message>`, e.g.
`ec2.aws.upbound.io/v1beta1 SecurityGroup 'x': spec.forProvider.foo: unknown field`.

What a validation does, in the API server's order:
1. `apiVersion` group/version exists and is served (deprecated versions are
   accepted), `kind` exists in that group.
2. Scope: a namespaced kind needs `metadata.namespace`; a cluster-scoped kind must
   not have one (the API server would silently drop it, and a Crossplane v2
   namespaced XR cannot compose cluster-scoped resources anyway).
   `allow_missing_namespace=True` accepts a namespaced object without namespace:
   the desired resources a composition function returns leave it out, because
   Crossplane puts composed resources in the XR's namespace itself (`crossplane
   render` output already has it filled in). Likewise `allow_missing_name=True`
   accepts an object with neither `name` nor `generateName` (Crossplane generates
   `<xr-name>-xxxxx`; render output has `generateName`).
3. `metadata` is checked as ObjectMeta: known fields only, DNS-subdomain name,
   DNS-label namespace, label keys/values (values <= 63 chars), string annotations.
4. Schema defaults are applied (e.g. `spec.managementPolicies: ["*"]`,
   `providerConfigRef`), then the object is validated structurally against the
   version's OpenAPI v3 schema (unknown fields are errors; see openapi_schema.py),
   and every `x-kubernetes-validations` CEL rule is evaluated where it is declared
   (upjet's "spec.forProvider.X is a required parameter" rules among them).

Loading: `CrdIndex.load(*dirs)` reads every `*.yaml`/`*.yml` below the folders.
A single-document CRD file is indexed from its header and parsed only when a kind
from it is validated (the provider CRDs are large); XRDs
(`apiextensions.crossplane.io/v1|v2 CompositeResourceDefinition`) are turned into
the CRDs Crossplane would generate (see xrd_crd.py). Other documents are ignored.
Several definitions of one kind (`xrds/legacy` and `xrds/namespaced` both define
`scia.io` `AppDeployment`: install one or the other) are kept as alternatives: an
object is valid when one of them accepts it; otherwise the errors of each are
reported, tagged with the defining file. For a strict check against one flavour,
load only its folder: `CrdIndex.load(SHARED_CRDS, REPO_ROOT / "xrds" / "namespaced")`.
`default_index()` (shared CRDs + `xrds/` + `package/input/`) is cached per process.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support.openapi_schema import SchemaValidator, apply_defaults, join_path
from tests.support.xrd_crd import XRD_GROUP, crds_from_xrd

JsonDict = dict[str, Any]

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_CRDS = REPO_ROOT.parent / "shared" / "crds"

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_OBJECT_META_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "managedFields",
        "selfLink",
    }
)
_MAX_ANNOTATIONS_BYTES = 256 * 1024


class CrdLoadError(Exception):
    """A CRD/XRD file that cannot be read or conflicts with another one."""


@dataclass(frozen=True)
class CrdVersion:
    name: str
    served: bool
    deprecated: bool
    schema: Mapping[str, Any]


@dataclass
class CrdEntry:
    """One kind; `crd` is parsed on first use when it came from a large file."""

    group: str
    kind: str
    source: Path
    crd: JsonDict | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def definition(self) -> JsonDict:
        with self._lock:
            if self.crd is None:
                docs = [d for d in _read_docs(self.source) if _is_crd(d)]
                if len(docs) != 1:
                    raise CrdLoadError(f"{self.source}: expected one CRD, found {len(docs)}")
                crd = docs[0]
                group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
                if (group, kind) != (self.group, self.kind):
                    raise CrdLoadError(
                        f"{self.source}: header said {self.group}/{self.kind}, "
                        f"document is {group}/{kind}"
                    )
                self.crd = crd
            return self.crd

    @property
    def scope(self) -> str:
        return str(self.definition()["spec"].get("scope", "Namespaced"))

    def versions(self) -> dict[str, CrdVersion]:
        out: dict[str, CrdVersion] = {}
        for v in self.definition()["spec"].get("versions") or []:
            schema = ((v.get("schema") or {}).get("openAPIV3Schema")) or {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
            }
            out[str(v["name"])] = CrdVersion(
                name=str(v["name"]),
                served=bool(v.get("served", False)),
                deprecated=bool(v.get("deprecated", False)),
                schema=schema,
            )
        return out


def _read_docs(path: Path) -> list[JsonDict]:
    try:
        text = path.read_text(encoding="utf-8")
        return [d for d in yaml.load_all(text, Loader=_Loader) if isinstance(d, dict)]
    except (OSError, yaml.YAMLError) as exc:
        raise CrdLoadError(f"cannot read {path}: {exc}") from exc


def _is_crd(doc: Mapping[str, Any]) -> bool:
    return (
        str(doc.get("apiVersion", "")).startswith("apiextensions.k8s.io/")
        and doc.get("kind") == "CustomResourceDefinition"
    )


def _is_xrd(doc: Mapping[str, Any]) -> bool:
    return (
        str(doc.get("apiVersion", "")).startswith(XRD_GROUP + "/")
        and doc.get("kind") == "CompositeResourceDefinition"
    )


_HEADER_GROUP = re.compile(
    r"^spec:\n  group: ([\w.\-]+)\n  names:\n(?:    .*\n)*?    kind: (\w+)\n", re.M
)
_LAZY_MIN_BYTES = 64 * 1024


def _header(path: Path) -> tuple[str, str] | None:
    """(group, kind) of a large single-document controller-gen CRD file, else None."""
    try:
        if path.stat().st_size < _LAZY_MIN_BYTES:
            return None
        with path.open(encoding="utf-8") as handle:
            head = handle.read(16384)
            rest = handle.read()
    except OSError:
        return None
    body = head.removeprefix("---\n")
    if not re.search(
        r"^apiVersion: apiextensions\.k8s\.io/v1\nkind: CustomResourceDefinition\n", body, re.M
    ):
        return None
    if "\n---" in body or "\n---" in rest:
        return None
    match = _HEADER_GROUP.search(body)
    return (match.group(1), match.group(2)) if match else None


def _display_path(path: Path) -> str:
    for base in (REPO_ROOT, REPO_ROOT.parent):
        if path.is_relative_to(base):
            return str(path.relative_to(base))
    return str(path)


def _object_label(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    assert isinstance(meta, Mapping)
    name = meta.get("name") or (f"{meta['generateName']}*" if meta.get("generateName") else "")
    return f"{obj.get('apiVersion', '?')} {obj.get('kind', '?')} '{name or '<unnamed>'}'"


class CrdIndex:
    """CRDs by (group, kind); validate objects against them."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], list[CrdEntry]] = {}

    @classmethod
    def load(cls, *dirs: Path) -> CrdIndex:
        index = cls()
        for folder in dirs:
            if folder.is_file():
                index._add_file(folder)
                continue
            if not folder.is_dir():
                raise CrdLoadError(f"not a folder: {folder}")
            for path in sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml")):
                index._add_file(path)
        return index

    def _add(self, entry: CrdEntry) -> None:
        """Several sources may define one kind (alternative XRDs, e.g. a legacy and a
        namespaced flavour of the same API): they are kept as alternatives."""
        alternatives = self._entries.setdefault((entry.group, entry.kind), [])
        if all(other.source != entry.source for other in alternatives):
            alternatives.append(entry)

    def _add_file(self, path: Path) -> None:
        header = _header(path)
        if header is not None:
            self._add(CrdEntry(group=header[0], kind=header[1], source=path))
            return
        for doc in _read_docs(path):
            if _is_crd(doc):
                self.add_crd(doc, path)
            elif _is_xrd(doc):
                try:
                    crds = crds_from_xrd(doc)
                except (KeyError, ValueError) as exc:
                    raise CrdLoadError(f"{path}: invalid XRD: {exc}") from exc
                for crd in crds:
                    self.add_crd(crd, path)

    def add_crd(self, crd: JsonDict, source: Path) -> None:
        spec = crd["spec"]
        self._add(
            CrdEntry(
                group=str(spec["group"]), kind=str(spec["names"]["kind"]), source=source, crd=crd
            )
        )

    def kinds(self) -> list[tuple[str, str]]:
        return sorted(self._entries)

    def entries(self, api_version: str, kind: str) -> list[CrdEntry]:
        """The definitions of a kind (more than one when alternatives were loaded)."""
        group = api_version.rpartition("/")[0]
        return list(self._entries.get((group, kind), []))

    def validate(
        self,
        obj: Mapping[str, Any],
        *,
        allow_missing_namespace: bool = False,
        allow_missing_name: bool = False,
    ) -> list[str]:
        """Errors for `obj` (an empty list means valid); `obj` is not modified."""
        label = _object_label(obj)
        group = str(obj.get("apiVersion", "")).rpartition("/")[0]
        known = self._entries.get((group, str(obj.get("kind", ""))))
        alternatives: list[CrdEntry | None] = list(known) if known else [None]
        if len(alternatives) == 1:
            found = self._problems(
                obj, alternatives[0], allow_missing_namespace, allow_missing_name
            )
            return [f"{label}: {e}" for e in found]
        # Alternative definitions (install one or the other): valid if any accepts it.
        out: list[str] = []
        for entry in alternatives:
            found = self._problems(obj, entry, allow_missing_namespace, allow_missing_name)
            if not found:
                return []
            where = _display_path(entry.source) if entry else "?"
            out.extend(f"{label} (as defined in {where}): {e}" for e in found)
        return out

    def _problems(
        self,
        obj: Mapping[str, Any],
        entry: CrdEntry | None,
        allow_missing_namespace: bool,
        allow_missing_name: bool,
    ) -> list[str]:
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api_version, str) or not api_version:
            return ["apiVersion: required field is missing"]
        if not isinstance(kind, str) or not kind:
            return ["kind: required field is missing"]
        group, _, version = api_version.rpartition("/")
        if not group:
            return [f"apiVersion: core group {api_version!r} is not covered by the loaded CRDs"]
        if not any(g == group for g, _ in self._entries):
            return [f"apiVersion: unknown API group {group!r}"]
        if entry is None:
            known = sorted(k for g, k in self._entries if g == group)
            return [f"kind: unknown kind {kind!r} in group {group!r} (known: {', '.join(known)})"]
        versions = entry.versions()
        found = versions.get(version)
        if found is None or not found.served:
            served = sorted(v.name for v in versions.values() if v.served)
            state = "not served" if found is not None else "unknown"
            return [
                f"apiVersion: version {version!r} of {group}/{kind} is {state} "
                f"(served: {', '.join(served)})"
            ]
        problems = _metadata_problems(
            obj.get("metadata"),
            entry.scope,
            found.schema,
            allow_missing_namespace,
            allow_missing_name,
        )
        # apiVersion, kind and metadata were checked above, whatever the schema says.
        envelope = ("apiVersion", "kind", "metadata")
        body = {k: copy.deepcopy(v) for k, v in obj.items() if k not in envelope}
        apply_defaults(body, found.schema)
        root = dict(found.schema)
        root["properties"] = {
            k: v for k, v in (root.get("properties") or {}).items() if k not in envelope
        }
        checker = SchemaValidator()
        checker.validate(body, root, "")
        return problems + checker.errors


def _metadata_problems(
    meta: Any,
    scope: str,
    schema: Mapping[str, Any],
    allow_missing_namespace: bool,
    allow_missing_name: bool,
) -> list[str]:
    if meta is None:
        meta = {}
    if not isinstance(meta, Mapping):
        return ["metadata: must be an object"]
    out: list[str] = []
    for key in meta:
        if key not in _OBJECT_META_FIELDS:
            out.append(f"{join_path('metadata', str(key))}: unknown field")
    name, generate = meta.get("name"), meta.get("generateName")
    name_schema = (
        ((schema.get("properties") or {}).get("metadata") or {}).get("properties") or {}
    ).get("name") or {}
    max_name = int(name_schema.get("maxLength", 253))
    if name is not None:
        if not isinstance(name, str) or not _DNS1123_SUBDOMAIN.match(name) or len(name) > 253:
            out.append(f"metadata.name: {name!r} is not a valid DNS-1123 subdomain")
        elif len(name) > max_name:
            out.append(f"metadata.name: longer than {max_name} characters")
    if generate is not None and (
        not isinstance(generate, str) or not re.match(r"^[a-z0-9]([-a-z0-9.]*)?$", generate)
    ):
        out.append(f"metadata.generateName: {generate!r} is not a valid name prefix")
    if name is None and generate is None and not allow_missing_name:
        out.append("metadata.name: required (or metadata.generateName)")
    namespace = meta.get("namespace")
    if scope == "Namespaced":
        if namespace is None and not allow_missing_namespace:
            out.append("metadata.namespace: required for a namespaced kind")
        elif namespace is not None and (
            not isinstance(namespace, str)
            or not _DNS1123_LABEL.match(namespace)
            or len(namespace) > 63
        ):
            out.append(f"metadata.namespace: {namespace!r} is not a valid DNS-1123 label")
    elif namespace not in (None, ""):
        out.append("metadata.namespace: must not be set on a cluster-scoped kind")
    out.extend(_label_problems(meta.get("labels")))
    out.extend(_annotation_problems(meta.get("annotations")))
    for key in ("finalizers",):
        value = meta.get(key)
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(v, str) for v in value)
        ):
            out.append(f"metadata.{key}: must be a list of strings")
    refs = meta.get("ownerReferences")
    if refs is not None:
        if not isinstance(refs, list):
            out.append("metadata.ownerReferences: must be a list")
        else:
            for i, ref in enumerate(refs):
                # `uid` must be present; `crossplane render` leaves it empty.
                missing = [
                    k
                    for k in ("apiVersion", "kind", "name", "uid")
                    if not isinstance(ref, Mapping)
                    or not isinstance(ref.get(k), str)
                    or (k != "uid" and not ref.get(k))
                ]
                if missing:
                    out.append(f"metadata.ownerReferences[{i}]: missing {', '.join(missing)}")
    return out


def _qualified_key_problem(key: Any) -> str | None:
    if not isinstance(key, str):
        return "key must be a string"
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix)):
        return f"key {key!r}: prefix must be a DNS-1123 subdomain"
    if not name or len(name) > 63 or not _QUALIFIED_NAME.match(name):
        return f"key {key!r}: name part must be 1-63 alphanumerics, '-', '_' or '.'"
    return None


def _label_problems(labels: Any) -> list[str]:
    if labels is None:
        return []
    if not isinstance(labels, Mapping):
        return ["metadata.labels: must be a map of strings"]
    out: list[str] = []
    for key, value in labels.items():
        path = join_path("metadata.labels", str(key))
        problem = _qualified_key_problem(key)
        if problem:
            out.append(f"{path}: {problem}")
        if not isinstance(value, str):
            out.append(f"{path}: value must be a string, got {json.dumps(value, default=str)}")
        elif len(value) > 63 or not _LABEL_VALUE.match(value):
            out.append(f"{path}: value {value!r} must be <= 63 alphanumerics, '-', '_' or '.'")
    return out


def _annotation_problems(annotations: Any) -> list[str]:
    if annotations is None:
        return []
    if not isinstance(annotations, Mapping):
        return ["metadata.annotations: must be a map of strings"]
    out: list[str] = []
    total = 0
    for key, value in annotations.items():
        path = join_path("metadata.annotations", str(key))
        problem = _qualified_key_problem(key)
        if problem:
            out.append(f"{path}: {problem}")
        if not isinstance(value, str):
            out.append(f"{path}: value must be a string, got {json.dumps(value, default=str)}")
        else:
            total += len(str(key)) + len(value)
    if total > _MAX_ANNOTATIONS_BYTES:
        out.append(f"metadata.annotations: total size {total} exceeds 256 KiB")
    return out


def default_dirs(repo: Path = REPO_ROOT) -> list[Path]:
    """`<repo>/../shared/crds` plus `<repo>/xrds` and `<repo>/package/input` if present."""
    shared = repo.parent / "shared" / "crds"
    if not shared.is_dir():
        raise CrdLoadError(
            f"provider CRDs not found at {shared} (shared/ must sit beside the repo)"
        )
    return [shared] + [p for p in (repo / "xrds", repo / "package" / "input") if p.is_dir()]


@functools.cache
def default_index() -> CrdIndex:
    return CrdIndex.load(*default_dirs())


def _format_failure(errors: list[str]) -> str:
    return f"{len(errors)} schema error(s):\n  " + "\n  ".join(errors)


def assert_valid(
    obj: Mapping[str, Any],
    *,
    index: CrdIndex | None = None,
    allow_missing_namespace: bool = False,
    allow_missing_name: bool = False,
) -> None:
    errors = (index or default_index()).validate(
        obj, allow_missing_namespace=allow_missing_namespace, allow_missing_name=allow_missing_name
    )
    if errors:
        raise AssertionError(_format_failure(errors))


def assert_all_valid(
    objs: Iterable[Mapping[str, Any]],
    *,
    index: CrdIndex | None = None,
    allow_missing_namespace: bool = False,
    allow_missing_name: bool = False,
) -> None:
    idx = index or default_index()
    errors: list[str] = []
    count = 0
    for obj in objs:
        count += 1
        errors.extend(
            idx.validate(
                obj,
                allow_missing_namespace=allow_missing_namespace,
                allow_missing_name=allow_missing_name,
            )
        )
    if count == 0:
        raise AssertionError("assert_all_valid: no objects given")
    if errors:
        raise AssertionError(_format_failure(errors))
