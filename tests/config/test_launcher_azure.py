"""The launcher on Azure (function/config/scia_launch.py): Key Vault secrets read with a token
of the workload's user-assigned managed identity, from each place Azure gives one:

- a VM scale set: the instance metadata service (`Metadata: true`, the identity's
  `client_id`, resource `https://vault.azure.net`);
- Container Apps: the managed identity endpoint (IDENTITY_ENDPOINT, `X-IDENTITY-HEADER`);
- AKS workload identity: the projected service account token exchanged at Entra ID
  (client-assertion grant, scope `https://vault.azure.net/.default`).

A loopback stand-in answers like each of them and like Key Vault's
`GET /secrets/<name>/<version>?api-version=7.4` (a bearer token required). Errors name the
variable and Key Vault's error code, never a value; AWS's and GCP's metadata are never asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import pytest

from function.config.launcher import launcher_source
from tests.support.jsonhttp import JsonHandler, serving, url_of

CANARY = f"azure-canary-{uuid.uuid4().hex}:/@?#%"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
TOKENS = {"imds": "imds-token", "endpoint": "endpoint-token", "entra": "entra-token"}
PRINT_ENV = "import json, os; print(json.dumps(dict(os.environ)))"
ASSERTION = "eyJ.federated.token"


def _handler(secrets: dict[tuple[str, str], str], calls: list[str]) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def do_POST(self) -> None:
            calls.append("POST " + self.path)
            length = int(self.headers.get("Content-Length") or 0)
            form = urllib.parse.parse_qs(self.rfile.read(length).decode())
            # Entra ID's token endpoint: /<tenant>/oauth2/v2.0/token
            ok = (
                self.path == "/tenant-1/oauth2/v2.0/token"
                and form.get("client_assertion") == [ASSERTION]
                and form.get("client_id") == [CLIENT_ID]
                and form.get("scope") == ["https://vault.azure.net/.default"]
                and form.get("grant_type") == ["client_credentials"]
            )
            if ok:
                self._send(200, {"access_token": TOKENS["entra"], "expires_in": 3599})
            else:
                self._send(400, {"error": "invalid_client"})

        def do_GET(self) -> None:
            calls.append(self.path)
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            if url.path == "/metadata/identity/oauth2/token":
                ok = self.headers.get("Metadata") == "true" and query.get("client_id") == [
                    CLIENT_ID
                ]
                ok = ok and query.get("resource") == ["https://vault.azure.net"]
                if ok:
                    self._send(200, {"access_token": TOKENS["imds"], "expires_in": "3599"})
                else:
                    self._send(400, {"error": "invalid_request"})
                return
            if url.path == "/msi/token":
                ok = self.headers.get("X-IDENTITY-HEADER") == "header-secret"
                ok = ok and query.get("client_id") == [CLIENT_ID]
                if ok:
                    self._send(200, {"access_token": TOKENS["endpoint"], "expires_in": "3599"})
                else:
                    self._send(401, {"error": "unauthorized"})
                return
            auth = self.headers.get("Authorization", "")
            if auth.removeprefix("Bearer ") not in TOKENS.values():
                self._send(401, {"error": {"code": "Unauthorized", "message": "no token"}})
                return
            if query.get("api-version") != ["7.4"]:
                self._send(400, {"error": {"code": "BadParameter"}})
                return
            parts = urllib.parse.unquote(url.path).strip("/").split("/")
            if parts[0] == "secrets":
                key = (parts[1], parts[2] if len(parts) > 2 else "")
                if key in secrets:
                    self._send(200, {"value": secrets[key], "id": "/".join(parts)})
                    return
            self._send(404, {"error": {"code": "SecretNotFound", "message": "not found"}})

    return Handler


def _run(
    tmp_path: Path, base: str, config: dict[str, Any], extra: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "scia-launch"
    script.write_text(launcher_source())
    cfg = tmp_path / "launch.json"
    cfg.write_text(json.dumps(config))
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SCIA_AZURE_IMDS": base,
        "SCIA_AZURE_VAULT_ENDPOINT": base,
        # Neither AWS's nor GCP's metadata is asked on Azure: addresses nothing answers.
        "SCIA_IMDS_ENDPOINT": "http://127.0.0.1:9",
        "SCIA_GCE_METADATA": "http://127.0.0.1:9",
        "SCIA_LAUNCH_ATTEMPTS": "2",
        "SCIA_LAUNCH_PAUSE": "0.05",
        **extra,
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
    "region": "westeurope",
    "version": "v-azure",
    "azure": {"clientId": CLIENT_ID},
    "sources": [
        {"from": "values", "values": {"MODE": "prod"}},
        {"from": "azure-secret", "name": "API_KEY", "vault": "https://kv.vault.azure.net/",
         "id": "api-key-0123abcd", "version": ""},
        {"from": "azure-secret", "name": "DATABASE_URL", "vault": "https://kv.vault.azure.net/",
         "id": "database-url-4567", "version": "0a1b2c"},
    ],
}  # fmt: skip
SECRETS = {
    ("api-key-0123abcd", ""): CANARY,
    ("database-url-4567", "0a1b2c"): "postgresql://u:p@10.0.0.3:5432/app",
}


def _where(tmp_path: Path, base: str, place: str) -> dict[str, str]:
    if place == "imds":
        return {}
    if place == "endpoint":
        return {"IDENTITY_ENDPOINT": base + "/msi/token", "IDENTITY_HEADER": "header-secret"}
    token = tmp_path / "azure-identity-token"
    token.write_text(ASSERTION + "\n")
    return {
        "AZURE_FEDERATED_TOKEN_FILE": str(token),
        "AZURE_AUTHORITY_HOST": base + "/",
        "AZURE_TENANT_ID": "tenant-1",
        "AZURE_CLIENT_ID": CLIENT_ID,
    }


@pytest.mark.parametrize("place", ["imds", "endpoint", "entra"])
def test_key_vault_values_reach_the_app(tmp_path: Path, place: str) -> None:
    calls: list[str] = []
    with serving(_handler(SECRETS, calls)) as server:
        base = url_of(server)
        got = _run(tmp_path, base, CONFIG, _where(tmp_path, base, place))
    assert got.returncode == 0, got.stderr
    env = json.loads(got.stdout)
    assert env["API_KEY"] == CANARY
    assert env["DATABASE_URL"] == "postgresql://u:p@10.0.0.3:5432/app"
    assert env["MODE"] == "prod"
    assert env["SCIA_CONFIG_VERSION"] == "v-azure"
    token_calls = [c for c in calls if "token" in c]
    assert len(token_calls) == 1, calls  # one token for both secrets
    assert CANARY not in got.stderr


def test_a_missing_secret_names_the_source_and_the_code_never_a_value(tmp_path: Path) -> None:
    calls: list[str] = []
    secrets = {("database-url-4567", "0a1b2c"): CANARY}
    with serving(_handler(secrets, calls)) as server:
        got = _run(tmp_path, url_of(server), CONFIG, {})
    assert got.returncode == 1
    assert "API_KEY" in got.stderr and "SecretNotFound" in got.stderr
    assert CANARY not in got.stderr + got.stdout


def test_a_vault_uri_that_is_not_https_is_refused(tmp_path: Path) -> None:
    config = {**CONFIG, "sources": [{**CONFIG["sources"][1], "vault": "http://kv.example/"}]}
    with serving(_handler(SECRETS, [])) as server:
        env = {"SCIA_AZURE_IMDS": url_of(server)}
        script = tmp_path / "scia-launch"
        script.write_text(launcher_source())
        cfg = tmp_path / "launch.json"
        cfg.write_text(json.dumps(config))
        got = subprocess.run(
            [sys.executable, "-I", str(script), str(cfg), "--", "true"],
            env={"PATH": os.environ.get("PATH", ""), "SCIA_LAUNCH_ATTEMPTS": "1", **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert got.returncode == 1 and "not an https URL" in got.stderr


DB_SOURCE: dict[str, Any] = {
    "from": "azure-db",
    "name": "DATABASE_URL",
    "engine": "postgres",
    "host": "s-team-a-flask-0123abcd-pg.postgres.database.azure.com",
    "port": 5432,
    "user": "scia_admin",
    "database": "app",
    "vault": "https://kv.vault.azure.net/",
    "id": "postgres-admin-89abcdef",
    "version": "",
}


@pytest.mark.parametrize("place", ["imds", "endpoint"])
def test_a_composed_postgres_url_is_assembled_with_the_vault_copy_of_its_password(
    tmp_path: Path, place: str
) -> None:
    """The composed flexible server (render/azure/datastores.py): the password the provider
    generated, read from the vault's copy, quoted into a URL that requires TLS."""
    config = {**CONFIG, "sources": [DB_SOURCE]}
    secrets = {("postgres-admin-89abcdef", ""): CANARY}
    calls: list[str] = []
    with serving(_handler(secrets, calls)) as server:
        base = url_of(server)
        got = _run(tmp_path, base, config, _where(tmp_path, base, place))
    assert got.returncode == 0, got.stderr
    url = json.loads(got.stdout)["DATABASE_URL"]
    parts = urllib.parse.urlsplit(url)
    assert parts.scheme == "postgresql" and parts.query == "sslmode=require"
    assert (parts.hostname, parts.port, parts.path) == (DB_SOURCE["host"], 5432, "/app")
    assert parts.username == "scia_admin"
    assert urllib.parse.unquote(parts.password or "") == CANARY  # quoted: ':/@?#%' survive
    assert CANARY not in got.stderr


def test_a_composed_postgres_without_its_fqdn_waits_then_fails_naming_it(tmp_path: Path) -> None:
    config = {**CONFIG, "sources": [{**DB_SOURCE, "host": ""}]}
    with serving(_handler({("postgres-admin-89abcdef", ""): CANARY}, [])) as server:
        got = _run(tmp_path, url_of(server), config, {})
    assert got.returncode == 1
    assert "DATABASE_URL" in got.stderr and "no FQDN" in got.stderr
    assert CANARY not in got.stderr + got.stdout
