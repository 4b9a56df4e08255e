"""The operations manifests in docs/operations/: valid against Crossplane's CRDs, probes on
real ports, and every dashboard query and alert rule parsed by Prometheus' own promtool,
with the alerts unit-tested on synthetic series."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from prometheus_client import REGISTRY

from function import main as function_main
from function import metrics
from tests.support.crdcheck import assert_valid

ROOT = Path(__file__).resolve().parents[2]
OPS = ROOT / "docs" / "operations"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (apt-get install -y prometheus)"
)


def load(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((OPS / name).read_text())
    assert isinstance(doc, dict)
    return doc


def dashboard_queries() -> list[tuple[str, str]]:
    dash = json.loads((OPS / "grafana-dashboard.json").read_text())
    return [(p["title"], t["expr"]) for p in dash["panels"] for t in p["targets"]]


def rule_exprs() -> list[tuple[str, str]]:
    rule = load("prometheusrule.yaml")
    return [(r["alert"], r["expr"]) for g in rule["spec"]["groups"] for r in g["rules"]]


def exported_series() -> set[str]:
    """Every series name function.metrics can export (histograms as _bucket/_sum/_count)."""
    names = set()
    for family in REGISTRY.collect():
        if not family.name.startswith("scia_"):
            continue
        if family.type == "histogram":
            names |= {f"{family.name}_bucket", f"{family.name}_sum", f"{family.name}_count"}
        elif family.type == "counter":
            names.add(f"{family.name}_total")
        else:
            names.add(family.name)
    return names


def test_runtime_config_and_function_manifests_are_valid() -> None:
    assert metrics.STAGES  # function.metrics is imported: its families are registered
    for name in (
        "deploymentruntimeconfig.yaml",
        "function.yaml",
        "configuration.yaml",
        "providerconfig.yaml",
    ):
        assert_valid(load(name))


def test_install_manifests_name_the_packages_this_repository_builds() -> None:
    version = "v" + (ROOT / "function" / "__version__.py").read_text().split('"')[1]
    assert load("function.yaml")["spec"]["package"] == f"ghcr.io/scia/function-scia:{version}"
    configuration = load("configuration.yaml")["spec"]["package"]
    assert configuration == f"ghcr.io/scia/configuration-scia:{version}"
    legacy = yaml.safe_load(
        (ROOT / "package" / "configuration" / "legacy" / "crossplane.yaml").read_text()
    )
    assert legacy["metadata"]["name"] == "configuration-scia"
    # The legacy composition's function input names the ProviderConfig shipped here.
    composition = yaml.safe_load((ROOT / "compositions" / "legacy.yaml").read_text())
    step = composition["spec"]["pipeline"][0]["input"]
    assert step["providerConfigName"] == load("providerconfig.yaml")["metadata"]["name"]
    assert step["providerConfigKind"] == load("providerconfig.yaml")["kind"]


def test_runtime_config_runs_the_function_as_crossplane_expects() -> None:
    drc = load("deploymentruntimeconfig.yaml")
    assert load("function.yaml")["spec"]["runtimeConfigRef"]["name"] == drc["metadata"]["name"]
    pod = drc["spec"]["deploymentTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["name"] == "package-runtime"  # Crossplane's runtime container
    # Crossplane adds the `grpc` (9443) port; the metrics port is declared here.
    ports = {"grpc": 9443} | {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        spec = container[probe]
        target = spec.get("tcpSocket") or spec.get("httpGet")
        assert target["port"] in ports, probe
    (flag,) = [a for a in container["args"] if a.startswith("--metrics-address=")]
    assert metrics.parse_address(flag.split("=", 1)[1])[1] == ports["metrics"] == 8080
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert container["securityContext"]["readOnlyRootFilesystem"] and "/tmp" in mounts


def test_the_cli_accepts_the_runtime_config_args() -> None:
    drc = load("deploymentruntimeconfig.yaml")
    (container,) = drc["spec"]["deploymentTemplate"]["spec"]["template"]["spec"]["containers"]
    result = CliRunner().invoke(function_main.cli, [*container["args"], "--help"])
    assert result.exit_code == 0, result.output
    assert "--metrics-address" in result.output


def test_pod_monitor_scrapes_the_function_pods() -> None:
    monitor = load("podmonitor.yaml")
    assert monitor["spec"]["selector"]["matchLabels"] == {
        "pkg.crossplane.io/function": load("function.yaml")["metadata"]["name"]
    }
    assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"


def test_dashboard_has_the_design_panels() -> None:
    titles = {title for title, _ in dashboard_queries()}
    assert {
        "Deployments by strategy",
        "Success rate over time",
        "Average deployment time",
        "Retrieval latency",
        "Decision confidence",
    } <= titles


@pytest.mark.parametrize(
    ("where", "expr"), dashboard_queries() + rule_exprs(), ids=lambda x: str(x)[:40]
)
def test_every_series_queried_is_exported(where: str, expr: str) -> None:
    used = set(re.findall(r"\bscia_[a-z_]+", expr))
    assert used or expr.startswith("sum(up{"), where
    assert used <= exported_series(), f"{where}: {sorted(used - exported_series())}"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=60, check=False
    )


@needs_promtool
def test_alert_rules_pass_promtool(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(load("prometheusrule.yaml")["spec"]))
    done = promtool("check", "rules", str(rules))
    assert done.returncode == 0, done.stdout + done.stderr


@needs_promtool
def test_dashboard_queries_parse(tmp_path: Path) -> None:
    """Each panel query, with Grafana's variables filled in, as a recording rule that
    promtool parses."""
    records = []
    for i, (_, expr) in enumerate(dashboard_queries()):
        concrete = expr.replace("$__rate_interval", "1m").replace("$namespace", ".*")
        records.append({"record": f"scia:dashboard:{i}", "expr": concrete})
    rules = tmp_path / "dashboard.yaml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]}))
    done = promtool("check", "rules", str(rules))
    assert done.returncode == 0, done.stdout + done.stderr


ALERT_TESTS = """
rule_files: [rules.yaml]
evaluation_interval: 1m
tests:
- interval: 1m
  input_series:
  - series: 'scia_deployments_total{outcome="success",strategy="vm",framework="flask"}'
    values: '0+1x120'
  - series: 'scia_deployments_total{outcome="failed",strategy="vm",framework="flask"}'
    values: '0+1x120'
  - series: 'up{job="crossplane-system/function-scia"}'
    values: '1x30 0x60'
  - series: 'scia_llm_fallbacks_total{reason="timeout"}'
    values: '0+2x120'
  - series: 'scia_decision_stage_seconds_count{stage="llm"}'
    values: '0+3x120'
  alert_rule_test:
  - eval_time: 100m
    alertname: SciaDeploymentFailureRateHigh
    exp_alerts:
    - exp_labels: {severity: warning}
      exp_annotations: {"summary": "50% of deployments failed or degraded in the last hour.", "description": "Look at the failed XRs' status.reason and the managed resources' conditions (`kubectl get managed`)."}
  - eval_time: 20m
    alertname: SciaFunctionDown
    exp_alerts: []
  - eval_time: 80m
    alertname: SciaFunctionDown
    exp_alerts:
    - exp_labels: {severity: critical}
      exp_annotations: {"summary": "No function-scia replica is being scraped.", "description": "Compositions that use function-scia cannot reconcile; check `kubectl -n crossplane-system get pods -l pkg.crossplane.io/function=function-scia`."}
  - eval_time: 100m
    alertname: SciaLLMFallbacksHigh
    exp_alerts:
    - exp_labels: {severity: warning}
      exp_annotations: {"summary": "More than half of the LLM decisions fell back to the knowledge base.", "description": "Check the `reason` label of scia_llm_fallbacks_total (timeout, unavailable, invalid answer) and the LLM endpoint."}
- interval: 1m
  input_series:
  - series: 'scia_deployments_total{outcome="success",strategy="vm",framework="flask"}'
    values: '0+10x120'
  - series: 'scia_deployments_total{outcome="failed",strategy="vm",framework="flask"}'
    values: '0+1x120'
  - series: 'scia_llm_fallbacks_total{reason="timeout"}'
    values: '0+1x120'
  - series: 'scia_decision_stage_seconds_count{stage="llm"}'
    values: '0+3x120'
  alert_rule_test:
  - eval_time: 100m
    alertname: SciaDeploymentFailureRateHigh
    exp_alerts: []
  - eval_time: 100m
    alertname: SciaLLMFallbacksHigh
    exp_alerts: []
"""


@needs_promtool
def test_alerts_fire_only_when_they_should(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(load("prometheusrule.yaml")["spec"]))
    (tmp_path / "tests.yaml").write_text(ALERT_TESTS)
    done = subprocess.run(
        [str(PROMTOOL), "test", "rules", "tests.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
