"""Pure parts: settings aliases, the embedded text, DSNs from credentials, redaction."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from pydantic import ValidationError

from function.memory.db import conninfo_for, dsn_from_credentials, redact_dsn
from function.memory.embedded import default_data_dir
from function.memory.models import DeploymentRecord, RetrievalQuery
from function.memory.retrieve import candidate_sql
from function.memory.settings import MemorySettings
from function.memory.text import deployment_text


def test_settings_accept_camel_case_and_reject_unknown_keys() -> None:
    settings = MemorySettings.model_validate(
        {"retrieveTimeoutSeconds": 0.5, "topK": 3, "weights": {"costEfficiency": 0.4}}
    )
    assert settings.retrieve_timeout_seconds == 0.5
    assert settings.top_k == 3
    assert settings.weights.cost_efficiency == 0.4
    assert settings.model_dump(by_alias=True)["weights"]["costEfficiency"] == 0.4
    with pytest.raises(ValidationError):
        MemorySettings.model_validate({"retrieveTimeout": 1})
    with pytest.raises(ValidationError):
        MemorySettings.model_validate({"weights": {"similarity": -1}})


def test_deployment_text_is_stable_and_orders_facts() -> None:
    one = deployment_text(
        framework="django",
        language="python",
        dependencies=["Celery", "django", "celery", " "],
        strategy="kubernetes",
        reason="background workers",
        region="eu-west-1",
        sizes={"minNodes": 2, "nodeInstanceType": "t3.medium"},
        prompt="  internal CRM  ",
    )
    two = deployment_text(
        framework="django",
        language="python",
        dependencies=["django", "celery"],
        strategy="kubernetes",
        reason="background workers",
        region="eu-west-1",
        sizes={"nodeInstanceType": "t3.medium", "minNodes": 2},
        prompt="internal CRM",
    )
    assert one == two
    assert one.splitlines() == [
        "framework: django",
        "language: python",
        "dependencies: celery, django",
        "strategy: kubernetes",
        "reason: background workers",
        "region: eu-west-1",
        "sizes: minNodes=2, nodeInstanceType=t3.medium",
        "intent: internal CRM",
    ]
    assert deployment_text() == ""


def test_dsn_from_a_dsn_key_and_from_parts() -> None:
    assert dsn_from_credentials({"dsn": b"postgresql://u:p@db:5432/scia\n"}) == (
        "postgresql://u:p@db:5432/scia"
    )
    parts = dsn_from_credentials(
        {
            "host": b"db.internal",
            "port": b"5433",
            "user": b"scia",
            "password": b"s3 cr'et",
            "database": b"memory",
            "sslmode": b"verify-full",
            "sslrootcert": b"/etc/ca.pem",
        }
    )
    params = psycopg.conninfo.conninfo_to_dict(parts)
    assert params == {
        "host": "db.internal",
        "port": "5433",
        "user": "scia",
        "password": "s3 cr'et",
        "dbname": "memory",
        "sslmode": "verify-full",
        "sslrootcert": "/etc/ca.pem",
    }
    with pytest.raises(ValueError, match="dsn"):
        dsn_from_credentials({"user": b"x"})
    with pytest.raises(psycopg.ProgrammingError):
        dsn_from_credentials({"dsn": b"host=a =broken"})


def test_redacted_dsn_never_shows_the_password() -> None:
    for dsn in ("postgresql://scia:hunter2@db/memory", "host=db user=scia password=hunter2"):
        shown = redact_dsn(dsn)
        assert "hunter2" not in shown
        assert "db" in shown
    assert redact_dsn("host=a =broken") == "<unparsable dsn>"


def test_settings_become_connection_options() -> None:
    settings = MemorySettings(
        statement_timeout_ms=750,
        connect_timeout_seconds=3,
        sslmode="verify-full",
        sslrootcert="/ca.pem",
    )
    params = psycopg.conninfo.conninfo_to_dict(conninfo_for("host=db dbname=m", settings))
    assert params["options"] == "-c statement_timeout=750"
    assert params["connect_timeout"] == "3"
    assert params["sslmode"] == "verify-full"
    assert params["sslrootcert"] == "/ca.pem"


def test_candidate_sql_binds_every_value() -> None:
    evil = "a' OR '1'='1"
    query = RetrievalQuery(namespace=evil, framework=evil, max_monthly_cost=10, exclude_xr_uid=evil)
    sql, params = candidate_sql(query, MemorySettings(), failures=False)
    assert evil not in sql
    assert params["namespace"] == evil
    assert params["framework"] == evil
    assert params["budget"] == 10
    sql, _ = candidate_sql(query, MemorySettings(), failures=True)
    assert "outcome IN ('failed', 'degraded')" in sql


def test_records_validate_their_fields() -> None:
    with pytest.raises(ValidationError):
        DeploymentRecord(namespace="a", deployment_name="d", xr_uid="u", revision=-1, strategy="vm")
    with pytest.raises(ValidationError):
        DeploymentRecord.model_validate(
            {
                "namespace": "a",
                "deploymentName": "d",
                "xrUid": "u",
                "revision": 0,
                "strategy": "vm",
                "outcome": "exploded",
            }
        )


def test_default_data_dir_follows_scia_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SCIA_DATA_DIR", str(tmp_path / "pg"))
    assert default_data_dir() == tmp_path / "pg"
    monkeypatch.delenv("SCIA_DATA_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / ".cache" / "function-scia" / "pgdata"
