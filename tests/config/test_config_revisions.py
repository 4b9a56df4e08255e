"""A configuration change is a recorded revision that keeps the decision: it rolls out (a
new launch template version), it may retire what it no longer needs, and status keeps only
a digest of it."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from function.reconcile import ReconcileResult
from tests.support.inproc import function_input, observed_from, reconcile, reconciler, with_status

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
XR = yaml.safe_load((ROOT / "examples" / "legacy" / "xr.yaml").read_text())
VALUE = "config-value-8c2e"


async def _settle(
    xr: dict[str, Any], inp: dict[str, Any], status: dict[str, Any] | None, rec: Any
) -> ReconcileResult:
    """Reconcile until the desired set is stable and every resource is observed Ready."""
    got = await reconcile(xr if status is None else with_status(xr, status), {}, inp, rec)
    for _ in range(4):
        got = await reconcile(with_status(xr, got.status), observed_from(got.desired), inp, rec)
    return got


def _user_data(result: ReconcileResult) -> str:
    return base64.b64decode(
        result.desired["launch-template"]["spec"]["forProvider"]["userData"]
    ).decode()


async def test_configuration_changes_are_revisions_that_keep_the_decision(repos: Path) -> None:
    rec = reconciler()
    inp = function_input("legacy", repos)
    plain = await _settle(XR, inp, None, rec)
    first = plain.status["decision"]
    assert first["revision"] == 1 and "configHash" not in first

    configured = copy.deepcopy(XR)
    configured["spec"]["env"] = [{"name": "GREETING", "value": VALUE}]
    configured["spec"]["envFrom"] = [{"secretRef": {"name": "s", "keys": [{"key": "TOKEN"}]}}]
    added = await reconcile(
        with_status(configured, plain.status), observed_from(plain.desired), inp, rec
    )
    assert not added.fatal, added.results
    second = added.status["decision"]
    assert second["revision"] == 2 and "configuration changed" in second["trigger"]
    assert second["parameters"] == first["parameters"] and second["commit"] == first["commit"]
    assert second["configHash"] and VALUE not in json.dumps(added.status)
    assert {"config-env", "instance-role"} <= set(added.desired)
    assert any(
        h.get("trigger", "").startswith("configuration changed") for h in added.status["history"]
    )
    settled = await _settle(configured, inp, added.status, rec)
    assert settled.status["decision"]["revision"] == 2  # stable: no revision per reconcile

    changed = copy.deepcopy(configured)
    changed["spec"]["env"][0]["value"] = "another"
    again = await reconcile(
        with_status(changed, settled.status), observed_from(settled.desired), inp, rec
    )
    assert again.status["decision"]["revision"] == 3
    assert _user_data(again) != _user_data(settled)  # a new launch template version: a rollout

    removed = copy.deepcopy(XR)
    gone = await reconcile(
        with_status(removed, again.status), observed_from(again.desired), inp, rec
    )
    assert not gone.fatal, gone.results  # removing configuration is not refused
    assert gone.status["decision"]["revision"] == 4
    assert not {"config-env", "instance-config-policy"} & set(gone.desired)
    assert "instance-role" in gone.desired  # the log policy keeps it (render/aws/vm.py)
    assert "config-env" in gone.status["decision"]["retired"]
    assert "instance-role" not in gone.status["decision"]["retired"]
