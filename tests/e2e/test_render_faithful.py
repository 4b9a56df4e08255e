"""Through the real `crossplane render`: the XR status fits its XRD, and the XR's Ready
condition follows the phase (cases 04 and 14 of ../shared/cases/crossplane)."""

from __future__ import annotations

import copy
import socket
from typing import Any

import pytest
import yaml

from examples import render as R
from tests.support.render_env import Env, split
from tests.support.xrstatus import XRDS, status_errors

pytestmark = pytest.mark.e2e


def _ready(xr: dict[str, Any]) -> dict[str, Any]:
    found = [c for c in xr["status"].get("conditions", []) if c["type"] == "Ready"]
    assert len(found) == 1, xr["status"].get("conditions")
    return found[0]


def _own_status(xr: dict[str, Any]) -> dict[str, Any]:
    """The status the function wrote (render adds Crossplane's conditions)."""
    return {k: v for k, v in xr["status"].items() if k != "conditions"}


@pytest.mark.parametrize("example", R.examples(), ids=lambda e: e.name)
def test_rendered_status_fits_the_xrd_and_ready_follows_the_phase(env: Env, example: Any) -> None:
    scope = example.composition.stem
    xr, _, _ = split(env.render(example.xr, scope, example.observed))
    source = yaml.safe_load(example.xr.read_text())
    source.pop("status", None)
    errors = status_errors(XRDS[scope], source, _own_status(xr))
    assert not errors, "\n".join(errors)
    ready = _ready(xr)
    assert ready["status"] == ("True" if xr["status"]["phase"] == "Running" else "False")


def test_case_04a_analyzing_xr_is_not_ready(env: Env) -> None:
    """The LLM accepts the connection and never answers, so the decision stays in flight."""
    doc = yaml.safe_load((R.EXAMPLES / "legacy" / "xr.yaml").read_text())
    doc["metadata"]["uid"] = "04a00000-0000-4000-8000-000000000001"
    with socket.socket() as hang:
        hang.bind(("127.0.0.1", 0))
        hang.listen(8)  # never accepted: the TCP handshake completes, no answer ever comes
        llm = {
            "enabled": True,
            "host": f"http://127.0.0.1:{hang.getsockname()[1]}",
            "timeoutSeconds": 30,
        }
        comp = env.composition("legacy", decision={"waitSeconds": 1}, llm=llm)
        xr, resources, _ = split(env.render(doc, "legacy", composition=comp))
    assert xr["status"]["phase"] == "Analyzing" and not resources
    assert (_ready(xr)["status"], _ready(xr)["reason"]) == ("False", "Creating")


def test_case_04b_decision_failed_xr_is_not_ready(env: Env) -> None:
    doc = yaml.safe_load((R.EXAMPLES / "legacy" / "xr.yaml").read_text())
    doc["metadata"]["uid"] = "04b00000-0000-4000-8000-000000000001"
    doc["spec"]["strategy"] = "kubernetes"
    doc["spec"]["budget"] = {"maxMonthlyCost": 20, "enforcementMode": "hard"}
    xr, resources, results = split(env.render(doc, "legacy"))
    assert xr["status"]["phase"] == "Failed" and not resources
    assert (_ready(xr)["status"], _ready(xr)["reason"]) == ("False", "Creating")
    decided = [c for c in xr["status"]["conditions"] if c["type"] == "Decided"]
    assert decided[0]["reason"] == "DecisionFailed"
    assert any(r["severity"] == "SEVERITY_WARNING" for r in results)


def test_case_14_status_written_by_render_fits_both_xrds(env: Env) -> None:
    ex = R.EXAMPLES / "legacy"
    xr, _, _ = split(env.render(ex / "xr-running.yaml", "legacy", ex / "observed-running.yaml"))
    assert xr["status"]["outcome"] == "success"
    source = yaml.safe_load((ex / "xr-running.yaml").read_text())
    source.pop("status")
    assert not status_errors(XRDS["legacy"], source, _own_status(xr))
    namespaced = copy.deepcopy(source)
    namespaced["kind"] = "AppDeployment"
    namespaced["metadata"]["namespace"] = "team-a"
    for key in ("claimRef", "compositionRef"):
        namespaced["spec"].pop(key, None)
    assert not status_errors(XRDS["namespaced"], namespaced, _own_status(xr))


def test_case_03a_status_lost_adopts_through_render(env: Env) -> None:
    """03-status-lost-redecide-deletes a): the XR (strategy auto) comes back without status
    while an EKS deployment composed for it exists: nothing is left out."""
    ex = R.EXAMPLES / "legacy"
    doc = yaml.safe_load((ex / "xr.yaml").read_text())
    doc["metadata"]["uid"] = "03a00000-0000-4000-8000-000000000001"
    eks = copy.deepcopy(doc)
    eks["spec"]["strategy"] = "kubernetes"
    eks["spec"].pop("budget", None)
    _, resources, _ = split(env.render(eks, "legacy"))
    assert "eks-cluster" in resources
    observed = []
    for i, (name, rendered) in enumerate(sorted(resources.items())):
        body = copy.deepcopy(rendered)
        body["metadata"]["name"] = f"{doc['metadata']['name']}-{i:05d}"
        body["metadata"].pop("generateName", None)
        body["status"] = {
            "conditions": [
                {"type": "Ready", "status": "True", "reason": "Available"},
                {"type": "Synced", "status": "True", "reason": "ReconcileSuccess"},
            ],
            "atProvider": {"id": f"{name}-0123", "arn": f"arn:aws:x:eu-west-1:1:{name}"},
        }
        observed.append(body)
    path = env.work / "observed-03a.yaml"
    path.write_text(yaml.safe_dump_all(observed))
    xr, desired, results = split(env.render(doc, "legacy", path))
    assert set(resources) <= set(desired)
    assert xr["status"]["decision"]["decidedBy"] == "adopted"
    assert xr["status"]["strategy"] == "kubernetes"
    assert any(r["severity"] == "SEVERITY_WARNING" and "adopted" in r["message"] for r in results)
