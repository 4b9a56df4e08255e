"""The launcher, run as a real process against a loopback AWS: values reach the app's
environment, never its output; requests are SigV4-signed with the role's credentials."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from function.config import scia_launch
from function.config.launcher import launcher_install, launcher_source
from tests.config.fake_aws import World, handler_for
from tests.support.jsonhttp import serving, url_of

CANARY = "canary-Zq8!x@y:/p%w"
DB_PASSWORD = "pw:/@?#%-canary-db"
REDIS_TOKEN = "redis-token-canary+/="


def test_sigv4_matches_the_aws_test_suite() -> None:
    # aws-sig-v4-test-suite "post-vanilla" (docs.aws.amazon.com/general/latest/gr/
    # signature-v4-test-suite.html): POST / to example.amazonaws.com, 20150830T123600Z.
    creds = scia_launch.Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None)
    when = datetime.datetime(2015, 8, 30, 12, 36, tzinfo=datetime.UTC)
    req = scia_launch.signed_request(
        "service", "us-east-1", "https://example.amazonaws.com/", b"", {}, creds, when
    )
    assert req.get_header("Authorization") == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
    )


def _world() -> World:
    world = World()
    world.parameters["/scia/team-a/app-1/env"] = json.dumps(
        {"LOG_LEVEL": "debug", "GREETING": "hi"}
    )
    world.secrets["scia/team-a/app-1/API_KEY"] = CANARY
    world.secrets["arn:aws:secretsmanager:eu-west-1:1:secret:rds!db-1-AbCdEf"] = json.dumps(
        {"username": "app_admin", "password": DB_PASSWORD}
    )
    world.rds["db-1"] = {
        "host": "db-1.abc.eu-west-1.rds.amazonaws.com",
        "port": "5432",
        "secret": "arn:aws:secretsmanager:eu-west-1:1:secret:rds!db-1-AbCdEf",
    }
    world.redis["cache-1"] = ("master.cache-1.abc.euw1.cache.amazonaws.com", 6379)
    world.secrets["scia/team-a/app-1/redis-auth"] = REDIS_TOKEN
    return world


CONFIG = {
    "region": "eu-west-1",
    "version": "v-1",
    "sources": [
        {"from": "ssm-json", "id": "/scia/team-a/app-1/env"},
        {"from": "secret", "name": "API_KEY", "id": "scia/team-a/app-1/API_KEY"},
        {
            "from": "rds",
            "name": "DATABASE_URL",
            "id": "db-1",
            "engine": "postgres",
            "database": "app",
        },
        {
            "from": "redis",
            "name": "REDIS_URL",
            "id": "cache-1",
            "auth": "scia/team-a/app-1/redis-auth",
        },
    ],
}
PRINT_ENV = "import json, os; print(json.dumps(dict(os.environ)))"


def _run(
    tmp_path: Path, base: str, config: dict[str, object], *args: str
) -> subprocess.CompletedProcess[str]:
    # The source the user data installs, run by a plain interpreter: no package imports.
    script = tmp_path / "scia-launch"
    script.write_text(launcher_source())
    cfg = tmp_path / "launch.json"
    cfg.write_text(json.dumps(config))
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SCIA_AWS_ENDPOINT": base + "/",
        "SCIA_IMDS_ENDPOINT": base,
        "SCIA_LAUNCH_ATTEMPTS": "2",
        "SCIA_LAUNCH_PAUSE": "0.05",
    }
    return subprocess.run(
        [sys.executable, "-I", str(script), str(cfg), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_launcher_gives_the_app_every_value(tmp_path: Path) -> None:
    world = _world()
    with serving(handler_for(world)) as server:
        got = _run(tmp_path, url_of(server), CONFIG, "--", sys.executable, "-c", PRINT_ENV)
    assert got.returncode == 0, got.stderr
    env = json.loads(got.stdout)
    assert env["LOG_LEVEL"] == "debug" and env["GREETING"] == "hi"
    assert env["API_KEY"] == CANARY
    assert env["DATABASE_URL"] == (
        "postgresql://app_admin:pw%3A%2F%40%3F%23%25-canary-db"
        "@db-1.abc.eu-west-1.rds.amazonaws.com:5432/app"
    )
    assert env["REDIS_URL"] == (
        "rediss://:redis-token-canary%2B%2F%3D@master.cache-1.abc.euw1.cache.amazonaws.com:6379/0"
    )
    assert REDIS_TOKEN not in got.stderr
    assert env["SCIA_CONFIG_VERSION"] == "v-1"
    assert world.bad_signatures == 0
    assert CANARY not in got.stderr and DB_PASSWORD not in got.stderr


def test_launcher_env_file_for_docker(tmp_path: Path) -> None:
    world = _world()
    out = tmp_path / "app.env"
    with serving(handler_for(world)) as server:
        got = _run(tmp_path, url_of(server), CONFIG, "--env-file", str(out))
    assert got.returncode == 0, got.stderr
    assert f"API_KEY={CANARY}\n" in out.read_text()
    assert out.stat().st_mode & 0o777 == 0o600
    assert got.stdout == "" and CANARY not in got.stderr


def test_launcher_failure_names_the_source_never_a_value(tmp_path: Path) -> None:
    world = _world()
    config = {
        **CONFIG,
        "sources": [*CONFIG["sources"], {"from": "secret", "name": "GONE", "id": "nope"}],
    }  # type: ignore[list-item]
    with serving(handler_for(world)) as server:
        got = _run(tmp_path, url_of(server), config, "--", sys.executable, "-c", "print('ran')")
    assert got.returncode == 1
    assert "ran" not in got.stdout  # the app does not start half-configured
    assert "GONE" in got.stderr and "ResourceNotFoundException" in got.stderr
    assert "attempt 2/2" in got.stderr
    assert CANARY not in got.stderr + got.stdout and DB_PASSWORD not in got.stderr + got.stdout


def test_launcher_reads_its_configuration_from_the_environment(tmp_path: Path) -> None:
    world = _world()
    script = tmp_path / "scia-launch"
    script.write_text(launcher_source())
    with serving(handler_for(world)) as server:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "SCIA_AWS_ENDPOINT": url_of(server) + "/",
            "SCIA_LAUNCH_CONFIG": json.dumps({**CONFIG, "sources": CONFIG["sources"][:2]}),  # type: ignore[index]
            # Lambda's own credentials variables
            "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE0001",
            "AWS_SECRET_ACCESS_KEY": "fake/secret/key/for/loopback/tests/only",
            "AWS_SESSION_TOKEN": "session-token-of-the-fake",
        }
        got = subprocess.run(
            [sys.executable, "-I", str(script), "@env", "--", sys.executable, "-c", PRINT_ENV],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["API_KEY"] == CANARY


@pytest.mark.parametrize("bad", ['{"a": 1}\nrm -rf /', "x SCIA_LAUNCH_CONFIG_EOF"])
def test_install_refuses_a_config_that_could_end_the_heredoc(bad: str) -> None:
    with pytest.raises(ValueError, match="one line"):
        launcher_install(bad)
