"""Check an XR status against the CRDs Crossplane generates from an XRD.

Crossplane applies the desired composite status with typed server-side apply: a field the
CRD does not declare fails the whole apply, so unknown fields are errors here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.support.crdcheck import CrdIndex
from tests.support.openapi_schema import SchemaValidator
from tests.support.xrd_crd import crds_from_xrd

ROOT = Path(__file__).resolve().parents[2]
XRDS = {
    "legacy": ROOT / "xrds" / "legacy" / "definition.yaml",
    "namespaced": ROOT / "xrds" / "namespaced" / "definition.yaml",
    "cloudprovider": ROOT / "xrds" / "cloudprovider" / "definition.yaml",
}


def status_errors(xrd_path: Path, xr: dict[str, Any], status: dict[str, Any]) -> list[str]:
    """Errors for the XR with `status` against its own CRD, and for `status` against every
    CRD the XRD generates (the claim's too: Crossplane copies XR status to the claim)."""
    errors = CrdIndex.load(xrd_path).validate({**xr, "status": status})
    for crd in crds_from_xrd(yaml.safe_load(xrd_path.read_text())):
        schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        checker = SchemaValidator()
        checker.validate(status, schema["properties"]["status"], "status")
        errors += [f"{crd['spec']['names']['kind']}: {e}" for e in checker.errors]
    return errors
