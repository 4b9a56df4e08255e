"""The launcher on GCP (function/config/scia_launch.py): Secret Manager versions read with the
workload's own service account token from the metadata server, spec.env values given in
the configuration, never AWS's instance metadata; errors name the source, never a value.

A loopback stand-in answers like the metadata server (`Metadata-Flavor: Google` required)
and Secret Manager's `versions/*:access` (a bearer token required, the payload base64)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

from function.config.launcher import launcher_source
from tests.support.jsonhttp import JsonHandler, serving, url_of

CANARY = f"gcp-canary-{uuid.uuid4().hex}:/@?#%"
TOKEN = "ya29.fake-access-token"
PRINT_ENV = "import json, os; print(json.dumps(dict(os.environ)))"


def _handler(secrets: dict[tuple[str, str, str], str], calls: list[str]) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def do_GET(self) -> None:
            calls.append(self.path)
            path = urllib.parse.urlsplit(self.path).path
            if path.startswith("/computeMetadata/v1/"):
                if self.headers.get("Metadata-Flavor") != "Google":
                    self._send(403, {"error": "Missing Metadata-Flavor:Google header"})
                elif path.endswith("/instance/service-accounts/default/token"):
                    self._send(200, {"access_token": TOKEN, "expires_in": 3599})
                elif path.endswith("/project/project-id"):
                    raw = b"acme-prod"
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                else:
                    self._send(404, {})
                return
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}})
                return
            parts = urllib.parse.unquote(path).split("/")
            # /v1/projects/<p>/secrets/<s>/versions/<v>:access
            if len(parts) == 8 and parts[7].endswith(":access"):
                key = (parts[3], parts[5], parts[7].removesuffix(":access"))
                if key in secrets:
                    data = base64.b64encode(secrets[key].encode()).decode()
                    self._send(200, {"name": "/".join(parts[1:]), "payload": {"data": data}})
                    return
            self._send(404, {"error": {"code": 404, "status": "NOT_FOUND"}})

    return Handler


def _run(tmp_path: Path, base: str, config: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "scia-launch"
    script.write_text(launcher_source())
    cfg = tmp_path / "launch.json"
    cfg.write_text(json.dumps(config))
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SCIA_GCE_METADATA": base,
        "SCIA_GCP_ENDPOINT": base,
        # AWS's instance metadata is never asked on GCP: an address nothing answers.
        "SCIA_IMDS_ENDPOINT": "http://127.0.0.1:9",
        "SCIA_LAUNCH_ATTEMPTS": "2",
        "SCIA_LAUNCH_PAUSE": "0.05",
    }
    return subprocess.run(
        [sys.executable, "-I", str(script), str(cfg), "--", sys.executable, "-c", PRINT_ENV],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


CONFIG: dict[str, Any] = {
    "region": "europe-west1",
    "version": "v-gcp",
    "sources": [
        {"from": "values", "values": {"MODE": "prod", "WORKERS": 3}},
        {"from": "gcp-secret", "name": "API_KEY", "id": "scia-abc-API_KEY", "version": "latest"},
        {"from": "gcp-secret", "name": "DATABASE_URL", "id": "scia-abc-DATABASE_URL",
         "version": "2"},
    ],
}  # fmt: skip
SECRETS = {
    ("acme-prod", "scia-abc-API_KEY", "latest"): CANARY,
    ("acme-prod", "scia-abc-DATABASE_URL", "2"): "postgresql://u:p@10.0.0.3:5432/app",
}


def test_secret_manager_values_reach_the_app(tmp_path: Path) -> None:
    calls: list[str] = []
    with serving(_handler(SECRETS, calls)) as server:
        got = _run(tmp_path, url_of(server), CONFIG)
    assert got.returncode == 0, got.stderr
    env = json.loads(got.stdout)
    assert env["API_KEY"] == CANARY
    assert env["DATABASE_URL"] == "postgresql://u:p@10.0.0.3:5432/app"
    assert env["MODE"] == "prod" and env["WORKERS"] == "3"
    assert env["SCIA_CONFIG_VERSION"] == "v-gcp"
    # The project from the metadata server (the config names none); one token for both.
    assert sum(c.endswith("/project/project-id") for c in calls) == 1
    assert sum("/token" in c for c in calls) == 1
    assert CANARY not in got.stderr


def test_the_configurations_project_is_used(tmp_path: Path) -> None:
    calls: list[str] = []
    secrets = {("other-proj", k[1], k[2]): v for k, v in SECRETS.items()}
    with serving(_handler(secrets, calls)) as server:
        got = _run(tmp_path, url_of(server), {**CONFIG, "project": "other-proj"})
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["API_KEY"] == CANARY
    assert not [c for c in calls if c.endswith("/project/project-id")]


def test_a_missing_secret_names_the_source_never_a_value(tmp_path: Path) -> None:
    config = {
        **CONFIG,
        "sources": [*CONFIG["sources"], {"from": "gcp-secret", "name": "GONE", "id": "nope"}],
    }
    with serving(_handler(SECRETS, [])) as server:
        got = _run(tmp_path, url_of(server), config)
    assert got.returncode == 1
    assert "GONE" in got.stderr and "HTTP 404 (NOT_FOUND)" in got.stderr
    assert "attempt 2/2" in got.stderr
    assert CANARY not in got.stderr + got.stdout and "prod" not in got.stderr


def test_no_metadata_server_fails_clearly(tmp_path: Path) -> None:
    with serving(_handler(SECRETS, [])) as server:
        base = url_of(server)
    got = _run(tmp_path, base, CONFIG)  # the server is gone: nothing answers
    assert got.returncode == 1
    assert "metadata server is unreachable" in got.stderr
    assert CANARY not in got.stderr


CA = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"


def test_a_memorystore_url_is_assembled_with_its_auth_and_its_ca(tmp_path: Path) -> None:
    """`gcp-redis`: the AUTH string from its Secret Manager copy (URL-encoded), the host and
    port given, the instance's CA written where the URL's `ssl_ca_certs` says."""
    ca_file = tmp_path / "scia" / "redis-ca.pem"
    source = {"from": "gcp-redis", "name": "REDIS_URL", "host": "10.100.0.3", "port": 6378,
              "auth": "scia-abc-redis-auth", "version": "3", "ca": CA, "caFile": str(ca_file)}  # fmt: skip
    secrets = {("acme-prod", "scia-abc-redis-auth", "3"): CANARY}
    with serving(_handler(secrets, [])) as server:
        got = _run(tmp_path, url_of(server), {**CONFIG, "sources": [source]})
    assert got.returncode == 0, got.stderr
    url = json.loads(got.stdout)["REDIS_URL"]
    parts = urllib.parse.urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.port, parts.path) == (
        "rediss", "10.100.0.3", 6378, "/0")  # fmt: skip
    assert urllib.parse.unquote(parts.password or "") == CANARY
    assert urllib.parse.parse_qs(parts.query) == {"ssl_ca_certs": [str(ca_file)]}
    assert ca_file.read_text() == CA
    assert CANARY not in got.stderr
    # The AUTH copy not readable: the launch fails naming the variable, never a value.
    with serving(_handler({}, [])) as server:
        gone = _run(tmp_path, url_of(server), {**CONFIG, "sources": [source]})
    assert gone.returncode == 1 and "REDIS_URL" in gone.stderr and "NOT_FOUND" in gone.stderr
