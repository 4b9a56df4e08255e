"""`scia explain | history | feedback | rollback` with the real kubernetes client against a
fake API server that serves a recorded claim (tests/cli/record_claim.py) and records PATCHes."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from function.cli.main import cli
from tests.cli.fake_kube import FakeKube, fake_kube

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CLAIM = json.loads((HERE / "recorded" / "appdeployment-flask-app.json").read_text())
CLAIM_PATH = "/apis/scia.io/v1alpha1/namespaces/team-a/appdeployments/flask-app"


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    v2 = yaml.safe_load(
        (ROOT / "examples" / "namespaced" / "xr-serverless-running.yaml").read_text()
    )
    with fake_kube(CLAIM, v2) as fake:
        yield fake


def run(kube: FakeKube, tmp_path: Path, *args: str) -> Any:
    cfg = kube.kubeconfig(tmp_path / "kubeconfig")
    return CliRunner().invoke(cli, [*args, "--kubeconfig", str(cfg)])


def test_explain_shows_decision_cost_alternatives_and_similar(
    kube: FakeKube, tmp_path: Path
) -> None:
    result = run(kube, tmp_path, "explain", "flask-app")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "AppDeployment team-a/flask-app" in out
    assert "strategy       vm" in out and "revision       2" in out
    assert "decided by     knowledge-base" in out and "confidence     0.91" in out
    assert "vm: desiredCapacity=1, instanceType=t3.micro" in out
    assert "monthly cost   $34.32" in out
    assert "ec2-instances  $8.32" in out  # cost breakdown
    assert "kubernetes  $132.29" in out  # an alternative with its cost
    assert "imported/billing-api  vm        success  0.713" in out  # the similar one used
    # The namespace came from the kubeconfig context; one GET, with the context's token.
    [req] = kube.requests
    assert (req["method"], req["path"]) == ("GET", CLAIM_PATH)
    assert req["authorization"] == "Bearer test-token-1f2e3d"


def test_explain_json_for_scripts(kube: FakeKube, tmp_path: Path) -> None:
    result = run(kube, tmp_path, "explain", "flask-app", "-o", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    d = data["decision"]
    assert (d["revision"], d["strategy"], d["decidedBy"]) == (2, "vm", "knowledge-base")
    assert d["configuration"]["vm"]["instanceType"] == "t3.micro"
    assert data["cost"]["estimatedMonthly"] == 34.32
    assert data["cost"]["breakdown"][0]["resource"] == "ec2-instances"
    assert {a["strategy"] for a in data["alternatives"]} == {"kubernetes", "serverless"}
    assert data["similar"][0]["deployment"] == "imported/billing-api"
    assert data["outcome"] == "success" and data["phase"] == "Running"


def test_explain_v2_namespaced_xr_in_another_namespace(kube: FakeKube, tmp_path: Path) -> None:
    result = run(kube, tmp_path, "explain", "express-api-fn", "-n", "team-b", "-o", "yaml")
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(result.output)
    assert data["decision"]["strategy"] == "serverless"
    assert "serverless" in data["decision"]["configuration"]
    assert kube.requests[0]["path"].endswith("/namespaces/team-b/appdeployments/express-api-fn")


def test_explain_local_file_needs_no_cluster(tmp_path: Path) -> None:
    xr = ROOT / "examples" / "legacy" / "xr-running.yaml"
    result = CliRunner().invoke(cli, ["explain", "-f", str(xr)])
    assert result.exit_code == 0, result.output
    assert "XAppDeployment flask-app-7xk2p" in result.output
    assert "vm: desiredCapacity=2, instanceType=t3.micro" in result.output
    # Undecided XR: says so instead of failing.
    fresh = CliRunner().invoke(
        cli, ["explain", "-f", str(ROOT / "examples" / "legacy" / "xr.yaml")]
    )
    assert fresh.exit_code == 0 and "none yet" in fresh.output


def test_explain_errors_and_exit_codes(kube: FakeKube, tmp_path: Path) -> None:
    missing = run(kube, tmp_path, "explain", "nope")
    assert missing.exit_code == 3
    assert (
        'AppDeployment team-a/nope not found (appdeployments.scia.io "nope" not found)'
        in missing.output
    )
    both = run(kube, tmp_path, "explain", "flask-app", "-f", "x.yaml")
    assert both.exit_code == 2
    no_file = CliRunner().invoke(cli, ["explain", "-f", str(tmp_path / "none.yaml")])
    assert no_file.exit_code == 3
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    wrong = CliRunner().invoke(cli, ["explain", "-f", str(tmp_path / "cm.yaml")])
    assert wrong.exit_code == 1 and "no AppDeployment or XAppDeployment document" in wrong.output


def test_wrong_credentials_are_reported(kube: FakeKube, tmp_path: Path) -> None:
    cfg = kube.kubeconfig(tmp_path / "kubeconfig", token="wrong")
    result = CliRunner().invoke(cli, ["explain", "flask-app", "--kubeconfig", str(cfg)])
    assert result.exit_code == 1
    assert "HTTP 401 Unauthorized" in result.output


def test_unreachable_cluster_exits_4(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = FakeKube(url=f"http://127.0.0.1:{port}")
    cfg = dead.kubeconfig(tmp_path / "kubeconfig")
    result = CliRunner().invoke(cli, ["history", "flask-app", "--kubeconfig", str(cfg)])
    assert result.exit_code == 4, result.output
    assert f"cannot reach the cluster at http://127.0.0.1:{port}" in result.output
    no_config = CliRunner().invoke(cli, ["history", "x", "--kubeconfig", str(tmp_path / "none")])
    assert no_config.exit_code == 4 and "no usable kubeconfig" in no_config.output


def test_history_table_and_json(kube: FakeKube, tmp_path: Path) -> None:
    result = run(kube, tmp_path, "history", "flask-app")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == [
        "REVISION",
        "TIMESTAMP",
        "STRATEGY",
        "DECIDED-BY",
        "MONTHLY",
        "OUTCOME",
        "REASON",
    ]
    assert lines[1].split()[0] == "1" and "$44.40" in lines[1] and "success" in lines[1]
    assert lines[2].split()[0] == "2*" and "$34.32" in lines[2]
    data = json.loads(run(kube, tmp_path, "history", "flask-app", "-o", "json").output)
    assert data["current"] == 2
    assert [(h["revision"], h["outcome"]) for h in data["history"]] == [
        (1, "success"),
        (2, "success"),
    ]


def test_feedback_patches_the_annotations(kube: FakeKube, tmp_path: Path) -> None:
    down = run(kube, tmp_path, "feedback", "flask-app", "-1", "--comment", "too slow at peak")
    assert down.exit_code == 0, down.output
    assert "feedback -1 on team-a/flask-app (decision revision 2): too slow at peak" in down.output
    up = run(kube, tmp_path, "feedback", "flask-app", "+1")
    assert up.exit_code == 0, up.output
    first, second = kube.patches()
    assert first["path"] == CLAIM_PATH + "?fieldManager=scia-cli"
    assert first["content_type"] == "application/merge-patch+json"
    assert first["body"] == {
        "metadata": {
            "annotations": {
                "scia.io/feedback": "-1",
                "scia.io/feedback-comment": "too slow at peak",
            }
        }
    }
    # New feedback without a comment removes the earlier comment (null in a merge patch).
    assert second["body"] == {
        "metadata": {"annotations": {"scia.io/feedback": "+1", "scia.io/feedback-comment": None}}
    }
    stored = kube.objects[("team-a", "flask-app")]["metadata"]["annotations"]
    assert stored == {"scia.io/feedback": "+1"}


def test_feedback_rejects_other_votes_without_patching(kube: FakeKube, tmp_path: Path) -> None:
    result = run(kube, tmp_path, "feedback", "flask-app", "+5")
    assert result.exit_code == 2 and "give +1, -1 or 0" in result.output
    assert kube.requests == []


def test_rollback_patches_spec_after_checking_history(kube: FakeKube, tmp_path: Path) -> None:
    result = run(kube, tmp_path, "rollback", "flask-app", "--to-revision", "1", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rollbackToRevision"] == 1
    [patch] = kube.patches()
    assert patch["body"] == {"spec": {"rollbackToRevision": 1}}
    assert patch["content_type"] == "application/merge-patch+json"
    assert kube.objects[("team-a", "flask-app")]["spec"]["rollbackToRevision"] == 1

    cleared = run(kube, tmp_path, "rollback", "flask-app", "--clear")
    assert cleared.exit_code == 0, cleared.output
    assert kube.patches()[-1]["body"] == {"spec": {"rollbackToRevision": None}}
    assert "rollbackToRevision" not in kube.objects[("team-a", "flask-app")]["spec"]


def test_rollback_refuses_unknown_or_current_revision(kube: FakeKube, tmp_path: Path) -> None:
    unknown = run(kube, tmp_path, "rollback", "flask-app", "--to-revision", "7")
    assert unknown.exit_code == 3
    assert "revision 7 is not in the history of team-a/flask-app (kept: 1, 2)" in unknown.output
    current = run(kube, tmp_path, "rollback", "flask-app", "--to-revision", "2")
    assert current.exit_code == 1 and "already the pinned decision" in current.output
    usage = run(kube, tmp_path, "rollback", "flask-app")
    assert usage.exit_code == 2
    assert kube.patches() == []
