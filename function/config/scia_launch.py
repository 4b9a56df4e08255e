#!/usr/bin/env python3
"""scia-launch: fetch an application's configuration from AWS, GCP or Azure, then start the app.

Runs where the application runs (an EC2 instance's systemd unit, a Lambda or Kubernetes
container's entrypoint) with nothing but Python 3.9+'s standard library. It reads a
launch configuration (JSON, no values in it: names and ids only), fetches each value with
the role's own credentials, and either execs the command with the values in its
environment or writes a Docker env file (mode 0600).

Sources (`sources[].from`):
- `ssm-json`: an SSM parameter holding a JSON object; every member becomes a variable
  (spec.env);
- `secret`: a Secrets Manager secret's SecretString (spec.envFrom, spec.services.*.secretRef);
- `rds`: a URL assembled from an RDS instance (DescribeDBInstances: endpoint, port, the
  RDS-managed master user secret) and that secret's JSON username/password:
  postgresql://user:password@host:port/db or mysql://...;
- `redis`: rediss://[:token@]host:port/0 from an ElastiCache replication group's primary
  endpoint and, with `auth`, its AUTH token from Secrets Manager;
- `values`: variables given in the configuration itself (`values`: spec.env on GCP, plain
  configuration, never a secret);
- `gcp-secret`: a Secret Manager secret version's payload (`id`: the secret id, `version`:
  a number or `latest`), read in the configuration's `project` (else the metadata
  server's) with an access token of the workload's own service account from the metadata
  server (Compute Engine, GKE Workload Identity, Cloud Run:
  cloud.google.com/compute/docs/access/authenticate-workloads#applications);
- `gcp-redis`: rediss://:<auth>@host:port/0 for a Memorystore instance: `host` and `port`
  given in the configuration (observed, not secret), the AUTH string from its Secret
  Manager copy (`auth`, `version`); with `ca` (the instance's own CA, a public
  certificate) written to `caFile` (mode 0644) and named in the URL's `ssl_ca_certs`
  (redis-py passes it to its TLS context; other clients read the file it names);
- `azure-secret`: a Key Vault secret's value (`vault`: the vault URI, `id`: the secret's
  name, `version`: a version id, empty for the current one), read with a token of the
  workload's user-assigned managed identity (the configuration's `azure.clientId`):
  AKS workload identity (AZURE_FEDERATED_TOKEN_FILE, exchanged at Entra ID), else the
  managed identity endpoint of Container Apps (IDENTITY_ENDPOINT/IDENTITY_HEADER), else
  the instance metadata service of a VM or scale set
  (learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token);
- `azure-db`: postgresql://user:password@host:port/database?sslmode=require for a composed
  Azure Database for PostgreSQL flexible server: `host` (its FQDN), `port`, `user` and
  `database` from the configuration, the password read from Key Vault like `azure-secret`
  (the vault's copy of the password the provider generated).

Credentials, in order: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN] (Lambda),
AWS_CONTAINER_CREDENTIALS_FULL_URI (EKS Pod Identity), the EC2 instance metadata service
(IMDSv2). Requests are signed with Signature Version 4
(docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html).
Values are never printed: errors name the variable, the source and AWS's error code only.
"""

# S310: URLs are the fixed AWS, IMDS or container-credentials endpoints (http/https only).
# S314: the XML is AWS's own answer over TLS; the standard library is all there is where the
# launcher runs, and its expat (>= 2.4.1) neither fetches external entities nor expands
# entity bombs.
# ruff: noqa: S310, S314
from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from typing import Any

IMDS = "http://169.254.169.254"
GCE_METADATA = "http://metadata.google.internal"
AZURE_IMDS = "http://169.254.169.254"
AZURE_AUTHORITY = "https://login.microsoftonline.com/"
VAULT_RESOURCE = "https://vault.azure.net"
VAULT_API_VERSION = "7.4"
SM_API = "https://secretmanager.googleapis.com"
API_VERSIONS = {"rds": "2014-10-31", "elasticache": "2015-02-02"}
JSON_TARGETS = {
    "ssm": "AmazonSSM.GetParameter",
    "secretsmanager": "secretsmanager.GetSecretValue",
}
TIMEOUT = 10.0


class LaunchError(Exception):
    """A value could not be fetched; the message never holds a value."""


class Credentials:
    def __init__(self, key: str, secret: str, token: str | None) -> None:
        self.key, self.secret, self.token = key, secret, token


def _http(req: urllib.request.Request) -> bytes:
    with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
        body: bytes = resp.read()
        return body


def credentials(env: dict[str, str]) -> Credentials:
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        return Credentials(
            env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env.get("AWS_SESSION_TOKEN")
        )
    full_uri = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
    if full_uri:
        req = urllib.request.Request(full_uri)
        token_file = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
        if token_file:
            with open(token_file) as f:
                req.add_header("Authorization", f.read().strip())
        data = json.loads(_http(req))
        return Credentials(data["AccessKeyId"], data["SecretAccessKey"], data.get("Token"))
    imds = env.get("SCIA_IMDS_ENDPOINT", IMDS)
    put = urllib.request.Request(
        imds + "/latest/api/token",
        method="PUT",
        headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"},
    )
    token = _http(put).decode()
    hdr = {"X-aws-ec2-metadata-token": token}
    base = imds + "/latest/meta-data/iam/security-credentials/"
    role = _http(urllib.request.Request(base, headers=hdr)).decode().split()[0]
    data = json.loads(_http(urllib.request.Request(base + role, headers=hdr)))
    return Credentials(data["AccessKeyId"], data["SecretAccessKey"], data.get("Token"))


def _sign(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signed_request(
    service: str,
    region: str,
    endpoint: str,
    body: bytes,
    headers: dict[str, str],
    creds: Credentials,
    now: datetime.datetime | None = None,
) -> urllib.request.Request:
    """A POST to `endpoint` (https://<service>.<region>.amazonaws.com/) signed with SigV4."""
    now = now or datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017 (Python 3.9)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    host = urllib.parse.urlsplit(endpoint).netloc
    all_headers = {"host": host, "x-amz-date": amz_date}
    all_headers |= {k.lower(): v for k, v in headers.items()}
    if creds.token:
        all_headers["x-amz-security-token"] = creds.token
    names = sorted(all_headers)
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            "".join(f"{n}:{all_headers[n].strip()}\n" for n in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    k = _sign(("AWS4" + creds.secret).encode(), day)
    for part in (region, service, "aws4_request"):
        k = _sign(k, part)
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    all_headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={creds.key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    del all_headers["host"]
    return urllib.request.Request(endpoint, data=body, method="POST", headers=all_headers)


class Aws:
    """The four calls the launcher makes, against real endpoints or SCIA_AWS_ENDPOINT."""

    def __init__(self, region: str, creds: Credentials, endpoint: str | None = None) -> None:
        self.region, self.creds, self.endpoint = region, creds, endpoint

    def _url(self, service: str) -> str:
        return self.endpoint or f"https://{service}.{self.region}.amazonaws.com/"

    def _call(self, service: str, body: bytes, headers: dict[str, str]) -> bytes:
        req = signed_request(service, self.region, self._url(service), body, headers, self.creds)
        try:
            return _http(req)
        except urllib.error.HTTPError as e:
            raise LaunchError(f"{service} answered HTTP {e.code} ({_error_code(e)})") from None
        except (urllib.error.URLError, OSError) as e:
            raise LaunchError(f"{service} unreachable ({type(e).__name__})") from None

    def json_call(self, service: str, payload: dict[str, Any]) -> dict[str, Any]:
        headers = {
            "content-type": "application/x-amz-json-1.1",
            "x-amz-target": JSON_TARGETS[service],
        }
        out: dict[str, Any] = json.loads(self._call(service, json.dumps(payload).encode(), headers))
        return out

    def query_call(self, service: str, params: dict[str, str]) -> ET.Element:
        form = {"Version": API_VERSIONS[service], **params}
        body = urllib.parse.urlencode(form).encode()
        headers = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
        return ET.fromstring(self._call(service, body, headers))

    def parameter(self, name: str) -> str:
        got = self.json_call("ssm", {"Name": name, "WithDecryption": True})
        return str(got["Parameter"]["Value"])

    def secret(self, secret_id: str) -> str:
        got = self.json_call("secretsmanager", {"SecretId": secret_id})
        if "SecretString" not in got:
            raise LaunchError("the secret has no SecretString")
        return str(got["SecretString"])


class Gcp:
    """Secret Manager reads with the workload's own service account (SCIA_GCE_METADATA and
    SCIA_GCP_ENDPOINT replace the metadata server and the API in tests)."""

    def __init__(self, metadata: str, endpoint: str | None, project: str | None) -> None:
        self.metadata, self.endpoint, self._project = metadata, endpoint, project
        self._token: tuple[str, float] | None = None

    def _metadata(self, path: str) -> bytes:
        req = urllib.request.Request(
            f"{self.metadata}/computeMetadata/v1/{path}", headers={"Metadata-Flavor": "Google"}
        )
        try:
            return _http(req)
        except urllib.error.HTTPError as e:
            raise LaunchError(f"the metadata server answered HTTP {e.code}") from None
        except (urllib.error.URLError, OSError) as e:
            raise LaunchError(f"the metadata server is unreachable ({type(e).__name__})") from None

    def token(self) -> str:
        if self._token is None or self._token[1] < time.monotonic():
            data = json.loads(self._metadata("instance/service-accounts/default/token"))
            life = max(0.0, float(data.get("expires_in", 60)) - 30)
            self._token = (str(data["access_token"]), time.monotonic() + life)
        return self._token[0]

    def project(self) -> str:
        if not self._project:
            self._project = self._metadata("project/project-id").decode().strip()
        return self._project

    def secret(self, secret_id: str, version: str = "latest") -> str:
        path = "/v1/projects/{}/secrets/{}/versions/{}:access".format(
            *(urllib.parse.quote(p, safe="") for p in (self.project(), secret_id, version))
        )
        req = urllib.request.Request(
            (self.endpoint or SM_API) + path,
            headers={"Authorization": f"Bearer {self.token()}"},
        )
        try:
            got = json.loads(_http(req))
        except urllib.error.HTTPError as e:
            raise LaunchError(f"secretmanager answered HTTP {e.code} ({_gcp_status(e)})") from None
        except (urllib.error.URLError, OSError) as e:
            raise LaunchError(f"secretmanager unreachable ({type(e).__name__})") from None
        data = (got.get("payload") or {}).get("data")
        if not isinstance(data, str):
            raise LaunchError("the secret version has no payload")
        return base64.b64decode(data).decode()


def _gcp_status(e: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(e.read()[:2000])["error"]["status"])[:80]
    except (OSError, ValueError, KeyError, TypeError):
        return "error"


class Azure:
    """Key Vault reads with the workload's managed identity (SCIA_AZURE_IMDS and
    SCIA_AZURE_VAULT_ENDPOINT replace the instance metadata service and the vault in
    tests)."""

    def __init__(self, env: dict[str, str], client_id: str | None) -> None:
        self.env, self.client_id = env, client_id
        self._token: tuple[str, float] | None = None

    def _get(self, req: urllib.request.Request, what: str) -> dict[str, Any]:
        try:
            out: dict[str, Any] = json.loads(_http(req))
            return out
        except urllib.error.HTTPError as e:
            raise LaunchError(f"{what} answered HTTP {e.code} ({_azure_code(e)})") from None
        except (urllib.error.URLError, OSError) as e:
            raise LaunchError(f"{what} unreachable ({type(e).__name__})") from None

    def _fetch_token(self) -> dict[str, Any]:
        env = self.env
        token_file = env.get("AZURE_FEDERATED_TOKEN_FILE")
        if token_file:  # AKS workload identity: the projected token, exchanged at Entra ID
            with open(token_file) as f:
                assertion = f.read().strip()
            authority = env.get("AZURE_AUTHORITY_HOST") or AZURE_AUTHORITY
            tenant = env.get("AZURE_TENANT_ID", "")
            form = {
                "client_id": env.get("AZURE_CLIENT_ID") or self.client_id or "",
                "scope": VAULT_RESOURCE + "/.default",
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
            }
            url = authority.rstrip("/") + "/" + urllib.parse.quote(tenant) + "/oauth2/v2.0/token"
            body = urllib.parse.urlencode(form).encode()
            req = urllib.request.Request(url, data=body, method="POST")
            return self._get(req, "entra id")
        params = {"resource": VAULT_RESOURCE}
        if self.client_id:
            params["client_id"] = self.client_id
        endpoint, header = env.get("IDENTITY_ENDPOINT"), env.get("IDENTITY_HEADER")
        if endpoint and header:  # Container Apps (and App Service)
            params["api-version"] = "2019-08-01"
            req = urllib.request.Request(
                endpoint + "?" + urllib.parse.urlencode(params),
                headers={"X-IDENTITY-HEADER": header},
            )
            return self._get(req, "the managed identity endpoint")
        params["api-version"] = "2018-02-01"
        imds = env.get("SCIA_AZURE_IMDS", AZURE_IMDS)
        req = urllib.request.Request(
            imds + "/metadata/identity/oauth2/token?" + urllib.parse.urlencode(params),
            headers={"Metadata": "true"},
        )
        return self._get(req, "the instance metadata service")

    def token(self) -> str:
        if self._token is None or self._token[1] < time.monotonic():
            data = self._fetch_token()
            life = max(0.0, float(data.get("expires_in", 60)) - 30)
            self._token = (str(data["access_token"]), time.monotonic() + life)
        return self._token[0]

    def secret(self, vault: str, name: str, version: str = "") -> str:
        base = self.env.get("SCIA_AZURE_VAULT_ENDPOINT") or vault
        if base is vault and not vault.startswith("https://"):
            raise LaunchError("the vault URI is not an https URL")
        path = "secrets/" + urllib.parse.quote(name, safe="")
        if version:
            path += "/" + urllib.parse.quote(version, safe="")
        url = base.rstrip("/") + "/" + path + "?api-version=" + VAULT_API_VERSION
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.token()}"})
        got = self._get(req, "keyvault")
        value = got.get("value")
        if not isinstance(value, str):
            raise LaunchError("the secret has no value")
        return value


def _azure_code(e: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(e.read()[:2000])
    except (OSError, ValueError):
        return "error"
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        return str(err.get("code", "error"))[:80]
    return str(err or "error")[:80]


class Clients:
    """The cloud clients a configuration's sources need, made on first use (a GCP
    workload never asks AWS's instance metadata for credentials, nor the reverse)."""

    def __init__(self, config: dict[str, Any], env: dict[str, str]) -> None:
        self.config, self.env = config, env
        self._aws: Aws | None = None
        self._gcp: Gcp | None = None
        self._azure: Azure | None = None

    @property
    def aws(self) -> Aws:
        if self._aws is None:
            self._aws = Aws(
                self.config["region"], credentials(self.env), self.env.get("SCIA_AWS_ENDPOINT")
            )
        return self._aws

    @property
    def gcp(self) -> Gcp:
        if self._gcp is None:
            self._gcp = Gcp(
                self.env.get("SCIA_GCE_METADATA", GCE_METADATA),
                self.env.get("SCIA_GCP_ENDPOINT"),
                self.config.get("project"),
            )
        return self._gcp

    @property
    def azure(self) -> Azure:
        if self._azure is None:
            client_id = (self.config.get("azure") or {}).get("clientId")
            self._azure = Azure(self.env, str(client_id) if client_id else None)
        return self._azure


def _error_code(e: urllib.error.HTTPError) -> str:
    try:
        raw = e.read()[:2000]
    except OSError:
        return "no body"
    try:
        data = json.loads(raw)
        return str(data.get("__type", "error")).rsplit("#", 1)[-1][:80]
    except ValueError:
        pass
    try:
        code = ET.fromstring(raw).find(".//{*}Code")
        return (code.text or "error")[:80] if code is not None else "error"
    except ET.ParseError:
        return "error"


def _text(node: ET.Element, path: str) -> str | None:
    found = node.find(path)
    return found.text if found is not None and found.text else None


def rds_url(aws: Aws, source: dict[str, Any]) -> str:
    root = aws.query_call(
        "rds", {"Action": "DescribeDBInstances", "DBInstanceIdentifier": source["id"]}
    )
    db = root.find(".//{*}DBInstance")
    if db is None:
        raise LaunchError("the RDS instance is not found")
    host = _text(db, "{*}Endpoint/{*}Address")
    port = _text(db, "{*}Endpoint/{*}Port")
    secret_arn = _text(db, "{*}MasterUserSecret/{*}SecretArn")
    if not host or not port:
        raise LaunchError("the RDS instance has no endpoint yet")
    if not secret_arn:
        raise LaunchError("the RDS instance has no managed master user secret")
    creds = json.loads(aws.secret(secret_arn))
    user = urllib.parse.quote(str(creds["username"]), safe="")
    password = urllib.parse.quote(str(creds["password"]), safe="")
    scheme = "mysql" if source.get("engine") == "mysql" else "postgresql"
    database = urllib.parse.quote(str(source.get("database") or ""), safe="")
    return f"{scheme}://{user}:{password}@{host}:{port}/{database}"


def redis_url(aws: Aws, source: dict[str, Any]) -> str:
    root = aws.query_call(
        "elasticache", {"Action": "DescribeReplicationGroups", "ReplicationGroupId": source["id"]}
    )
    group = root.find(".//{*}ReplicationGroup")
    if group is None:
        raise LaunchError("the replication group is not found")
    host = _text(group, ".//{*}PrimaryEndpoint/{*}Address")
    port = _text(group, ".//{*}PrimaryEndpoint/{*}Port")
    if not host or not port:
        raise LaunchError("the replication group has no primary endpoint yet")
    auth = ""
    if source.get("auth"):  # the AUTH token's Secrets Manager copy
        auth = ":" + urllib.parse.quote(aws.secret(source["auth"]), safe="") + "@"
    return f"rediss://{auth}{host}:{port}/0"


def gcp_redis_url(gcp: Gcp, source: dict[str, Any]) -> str:
    auth = gcp.secret(source["auth"], str(source.get("version") or "latest"))
    query = ""
    ca = source.get("ca")
    if ca:
        path = str(source["caFile"])
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        with os.fdopen(fd, "w") as f:
            f.write(str(ca))
        query = "?ssl_ca_certs=" + urllib.parse.quote(path, safe="/")
    host, port = str(source["host"]), int(source["port"])
    return f"rediss://:{urllib.parse.quote(auth, safe='')}@{host}:{port}/0{query}"


def azure_db_url(azure: Azure, source: dict[str, Any]) -> str:
    host = str(source.get("host") or "")
    if not host:
        raise LaunchError("the database server has no FQDN yet")
    password = azure.secret(str(source["vault"]), source["id"], str(source.get("version") or ""))
    user = urllib.parse.quote(str(source["user"]), safe="")
    database = urllib.parse.quote(str(source.get("database") or ""), safe="")
    port = int(source.get("port") or 5432)
    secret = urllib.parse.quote(password, safe="")
    return f"postgresql://{user}:{secret}@{host}:{port}/{database}?sslmode=require"


def fetch(clients: Clients, source: dict[str, Any]) -> dict[str, str]:
    """The variables one source gives."""
    kind = source["from"]
    if kind == "values":
        values = source.get("values")
        if not isinstance(values, dict):
            raise LaunchError("the values are not a JSON object")
        return {str(k): str(v) for k, v in values.items()}
    if kind == "gcp-secret":
        return {
            source["name"]: clients.gcp.secret(source["id"], str(source.get("version") or "latest"))
        }
    if kind == "azure-secret":
        return {
            source["name"]: clients.azure.secret(
                str(source["vault"]), source["id"], str(source.get("version") or "")
            )
        }
    if kind == "gcp-redis":
        return {source["name"]: gcp_redis_url(clients.gcp, source)}
    if kind == "azure-db":
        return {source["name"]: azure_db_url(clients.azure, source)}
    aws = clients.aws
    if kind == "ssm-json":
        values = json.loads(aws.parameter(source["id"]))
        if not isinstance(values, dict):
            raise LaunchError("the parameter is not a JSON object")
        return {str(k): str(v) for k, v in values.items()}
    if kind == "secret":
        return {source["name"]: aws.secret(source["id"])}
    if kind == "rds":
        return {source["name"]: rds_url(aws, source)}
    if kind == "redis":
        return {source["name"]: redis_url(aws, source)}
    raise LaunchError(f"unknown source kind {kind!r}")


def resolve(
    config: dict[str, Any], clients: Clients, attempts: int = 30, pause: float = 10.0
) -> dict[str, str]:
    """Every variable of the configuration; a source not ready yet (a database still being
    created) is tried `attempts` times, `pause` seconds apart, then the launch fails."""
    out: dict[str, str] = {}
    for source in config.get("sources", []):
        label = source.get("name") or source.get("id")
        for attempt in range(1, attempts + 1):
            try:
                out.update(fetch(clients, source))
                break
            except (LaunchError, KeyError, ValueError) as e:
                reason = str(e) if isinstance(e, LaunchError) else type(e).__name__
                print(
                    f"scia-launch: {label} from {source.get('from')} {source.get('id')}: "
                    f"{reason} (attempt {attempt}/{attempts})",
                    file=sys.stderr,
                )
                if attempt == attempts:
                    raise LaunchError(f"{label}: {reason}") from None
                time.sleep(pause)
    return out


def write_env_file(path: str, values: dict[str, str]) -> None:
    """A Docker --env-file (KEY=value per line), readable by its owner only."""
    for name, value in values.items():
        if "\n" in value or "\r" in value:
            raise LaunchError(f"{name}: a value with a line break cannot go in an env file")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.writelines(f"{k}={v}\n" for k, v in values.items())


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(
            "usage: scia-launch CONFIG.json|@env [--env-file PATH | -- COMMAND ...]",
            file=sys.stderr,
        )
        return 2
    env = dict(os.environ)
    if argv[1] == "@env":  # a Lambda or container: the configuration is in the environment
        config = json.loads(env.get("SCIA_LAUNCH_CONFIG", "{}"))
    else:
        with open(argv[1]) as f:
            config = json.load(f)
    try:
        clients = Clients(config, env)
        attempts = int(env.get("SCIA_LAUNCH_ATTEMPTS", "30"))
        pause = float(env.get("SCIA_LAUNCH_PAUSE", "10"))
        values = resolve(config, clients, attempts, pause)
        if len(argv) >= 4 and argv[2] == "--env-file":
            write_env_file(argv[3], values)
            return 0
    except (LaunchError, OSError, KeyError, ValueError) as e:
        reason = str(e) if isinstance(e, LaunchError) else type(e).__name__
        print(f"scia-launch: cannot start the application: {reason}", file=sys.stderr)
        return 1
    command = argv[3:] if len(argv) > 2 and argv[2] == "--" else argv[2:]
    if not command:
        print("scia-launch: no command", file=sys.stderr)
        return 2
    env.update(values)
    env["SCIA_CONFIG_VERSION"] = str(config.get("version", ""))
    os.execvpe(command[0], command, env)  # noqa: S606
    return 1  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main(sys.argv))
