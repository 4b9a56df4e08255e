"""spec.env, spec.envFrom, spec.services and spec.repository.path: shapes and named errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from function.errors import InputError
from function.input import FunctionInput
from function.pinning import spec_hash
from function.reconcile import parse_input
from function.xr import parse_xr

ROOT = Path(__file__).resolve().parents[2]
BASE: dict[str, Any] = {
    "apiVersion": "scia.io/v1alpha1",
    "kind": "AppDeployment",
    "metadata": {"name": "app", "namespace": "team-a", "uid": "u-1"},
    "spec": {"repository": {"url": "https://github.com/acme/flask-app"}},
}


def xr(**spec: Any) -> dict[str, Any]:
    return {**BASE, "spec": {**BASE["spec"], **spec}}


def refused(**spec: Any) -> InputError:
    with pytest.raises(InputError) as e:
        parse_xr(xr(**spec))
    return e.value


def test_valid_config_parses() -> None:
    got = parse_xr(
        xr(
            env=[{"name": "LOG_LEVEL", "value": "debug"}],
            envFrom=[
                {
                    "secretRef": {
                        "name": "app-secrets",
                        "keys": [{"key": "api-key", "as": "API_KEY"}],
                    },
                },
                {"secretRef": {"name": "more", "keys": [{"key": "TOKEN"}]}, "prefix": "X_"},
            ],
            services={"postgres": {"secretRef": {"name": "db"}}, "redis": {}},
        )
    )
    assert got.spec.env[0].name == "LOG_LEVEL"
    assert got.spec.env_from[1].prefix == "X_"
    assert got.spec.services["postgres"].secret_ref is not None
    assert got.spec.services["postgres"].secret_ref.key == "url"


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        ({"env": [{"name": "1BAD", "value": "x"}]}, "spec.env[0].name", "not an environment"),
        ({"env": [{"name": "A-B", "value": "x"}]}, "spec.env[0].name", "not an environment"),
        ({"env": [{"name": "PORT", "value": "1"}]}, "spec.env[0].name", "reserved"),
        ({"env": [{"name": "AWS_REGION", "value": "x"}]}, "spec.env[0].name", "reserved"),
        ({"env": [{"name": "K_SERVICE", "value": "x"}]}, "spec.env[0].name", "Cloud Run"),
        ({"env": [{"name": "scia_launch_config"}]}, "spec.env[0].name", "reserved"),
        (
            {"env": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]},
            "spec.env[1].name",
            "set twice",
        ),
        (
            {
                "env": [{"name": "API_KEY", "value": "1"}],
                "envFrom": [{"secretRef": {"name": "s", "keys": [{"key": "API_KEY"}]}}],
            },
            "spec.envFrom[0].secretRef.keys[0]",
            "set twice",
        ),
        (
            {"envFrom": [{"secretRef": {"name": "s", "keys": [{"key": "api-key"}]}}]},
            "spec.envFrom[0].secretRef.keys[0]",
            "not an environment",
        ),
        (
            {"envFrom": [{"secretRef": {"name": "s", "keys": [{"key": "k", "as": "PORT"}]}}]},
            "spec.envFrom[0].secretRef.keys[0]",
            "reserved",
        ),
        ({"services": {"mongodb": {}}}, "spec.services.mongodb", "not a data store"),
        (
            {"services": {"postgres": {}, "mysql": {}}},
            "spec.services.mysql.envName",
            "DATABASE_URL",
        ),
        (
            {"env": [{"name": "DATABASE_URL", "value": "x"}], "services": {"postgres": {}}},
            "spec.services.postgres.envName",
            "set twice",
        ),
        ({"env": [{"name": "BIG", "value": "x" * 4090}]}, "spec.env", "bytes"),
        (
            {"envFrom": [{"secretRef": {"name": "Bad_Name", "keys": [{"key": "k"}]}}]},
            "spec.envFrom[0].secretRef.name",
            "",
        ),
        (
            {"envFrom": [{"secretRef": {"name": "s", "keys": []}}]},
            "spec.envFrom[0].secretRef.keys",
            "",
        ),
        (
            {"repository": {"url": "https://x.io/a", "path": "../etc"}},
            "spec.repository.path",
            "relative",
        ),
        ({"env": [{"name": "A", "value": "x", "secret": True}]}, "spec.env[0].secret", "unknown"),
    ],
)
def test_bad_config_names_the_field(spec: dict[str, Any], field: str, words: str) -> None:
    e = refused(**spec)
    assert e.field == field, (e.field, e.reason)
    assert words in e.reason


def test_env_values_never_in_an_error() -> None:
    e = refused(env=[{"name": "9X", "value": "canary-4f1e-value"}])
    assert "canary-4f1e-value" not in str(e)


def test_env_changes_do_not_redecide_but_services_do() -> None:
    settings = FunctionInput()
    base = parse_xr(xr()).spec
    with_env = parse_xr(xr(env=[{"name": "A", "value": "1"}])).spec
    other_env = parse_xr(xr(env=[{"name": "A", "value": "2"}])).spec
    with_svc = parse_xr(xr(services={"postgres": {}})).spec
    with_path = parse_xr(
        xr(repository={"url": BASE["spec"]["repository"]["url"], "path": "api"})
    ).spec
    h = spec_hash(base, settings)
    assert spec_hash(with_env, settings) == h == spec_hash(other_env, settings)
    assert spec_hash(with_svc, settings) != h
    assert spec_hash(with_path, settings) != h


def test_existing_pins_keep_their_spec_hash() -> None:
    # The example pin was made before these fields existed: its hash must not move.
    doc = yaml.safe_load((ROOT / "examples/legacy/xr-running.yaml").read_text())
    comp = yaml.safe_load((ROOT / "compositions/legacy.yaml").read_text())
    settings = parse_input(comp["spec"]["pipeline"][0]["input"])
    got = spec_hash(parse_xr(doc).spec, settings)
    assert got == doc["status"]["decision"]["specHash"]
