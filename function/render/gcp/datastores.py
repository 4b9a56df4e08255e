"""Composed data stores on GCP: Cloud SQL for PostgreSQL and MySQL, with no password anywhere.

Per store (decision.data_stores, sized within the input's `gcp.dataStores` allowlists):

- private services access (composed network only): a global internal address range of
  purpose VPC_PEERING (`gcp.dataStores.privateServicesRange`) and the service networking
  connection that peers the VPC network with Google's services network; with an existing
  network (`gcp.network.network`) the platform's own connection is used. The instance is
  composed once the connection is observed (its creation fails before).
- a Cloud SQL instance (Enterprise edition, the decision's tier) with a private IP only
  (`ipv4Enabled: false`), encrypted connections only, `connectorEnforcement: REQUIRED`
  (only the Cloud SQL connectors, which check IAM's `cloudsql.instances.connect`, may
  connect: nothing else in the VPC reaches the database), IAM database authentication on
  (`cloudsql.iam_authentication` / MySQL `cloudsql_iam_authentication`), automated backups
  kept `backupRetentionDays` (PostgreSQL point-in-time recovery, MySQL binary logs),
  regional (a standby in another zone) when the team asked for high availability, and
  deletion protection for production stores. SSD storage grows automatically up to
  `maxStorageGb`.
- the database `app` and a database user of type CLOUD_IAM_SERVICE_ACCOUNT for the app's
  own service account (render/gcp/secrets.py), member of `cloudsqlsuperuser` (the app owns
  its database, as the RDS master user does on AWS): no password exists. PostgreSQL names
  it by the account's email without `.gserviceaccount.com`; MySQL takes the whole email and
  logs it in by the part before `@` (Cloud SQL Admin API, User.type).
- `roles/cloudsql.client` and `roles/cloudsql.instanceUser` for the app's service account,
  conditioned to this deployment's instances (`scia-<12 hex of the XR's uid>-...`).

The app reaches each store through the Cloud SQL Auth Proxy with automatic IAM database
authentication (`--auto-iam-authn --private-ip`): the proxy gets the workload's OAuth token
from the metadata server and refreshes it, so the app connects to 127.0.0.1 without a
password: `DATABASE_URL=postgresql://<user>@127.0.0.1:5432/app` (`mysql://...:3306`), plain
configuration. On a vm the proxy is a systemd unit installed at boot; on Cloud Run a sidecar
container (the app's container starts after it), with Direct VPC egress to private ranges.
https://cloud.google.com/sql/docs/postgres/iam-authentication,
https://cloud.google.com/sql/docs/postgres/sql-proxy.

Memorystore for Redis (`memorystore-redis`, id `scia-<12 hex>-redis`): the decision's size
(`M1-<n>GB`), Standard tier (a replica in another zone, automatic failover) when the team
asked for high availability, else Basic; on the same private services access
(`connectMode: PRIVATE_SERVICE_ACCESS`, `authorizedNetwork`), AUTH on (`authEnabled`) and
TLS (`transitEncryptionMode: SERVER_AUTHENTICATION`, port 6378); production stores keep
daily RDB snapshots. The AUTH string is a sensitive output the provider writes into the
instance's connection Secret (`<id>-conn` in the tenant's namespace, key
`attribute.auth_string`, upjet's convention for sensitive attributes); a Secret Manager
`SecretVersion` copies it by reference (`secretDataSecretRef`) into
`scia-<12 hex>-redis-auth`, which the app's account may read (render/gcp/secrets.py's
grant). The launcher (`gcp-redis` source) assembles `rediss://:<auth>@<host>:6378/0` at
start, the host and port from the instance's observed status, and writes the instance's CA
(observed `serverCaCerts`, a public certificate) to a file named in the URL's
`ssl_ca_certs`. On Cloud Run the image must start through the launcher (as on Lambda).
"""

from __future__ import annotations

import hashlib
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from function.model import DataStoreParams
from function.pricing.datastores import memorystore_gb
from function.render.common import RenderContext, Resources, select
from function.render.gcp.common import Observed, at_provider, labels, waiting
from function.render.gcp.network import GcpNetworkRefs
from function.render.names import EXTERNAL_NAME

PORTS = {"postgres": 5432, "mysql": 3306}
DATABASE = "app"
PSA_RANGE = "private-services-range"
PSA_CONNECTION = "private-services-connection"
SQL_CLIENT = "app-sql-client"
SQL_INSTANCE_USER = "app-sql-instance-user"
REDIS = "memorystore-redis"
REDIS_AUTH = "redis-auth"
REDIS_AUTH_KEY = "attribute.auth_string"  # upjet's connection detail of the sensitive field
# Where the launcher writes the instance's CA: the vm app's home (a Docker app gets it
# mounted at the same path), the container's own file system on Cloud Run.
REDIS_CA_FILE = {
    "vm": "/srv/app/.scia/redis-ca.pem",
    "serverless": "/tmp/scia/redis-ca.pem",  # noqa: S108 (a public certificate, in the container)
}
_IAM_FLAG = {"postgres": "cloudsql.iam_authentication", "mysql": "cloudsql_iam_authentication"}
PROXY_HEALTH_PORT = {"postgres": 9801, "mysql": 9802}


@dataclass(frozen=True)
class SqlProxy:
    """One Cloud SQL Auth Proxy the app runs beside it: the instance's connection name
    (`project:region:instance`) and the local port it listens on."""

    kind: str
    connection_name: str
    port: int


@dataclass
class GcpStores:
    """The composed stores' resources and what the app needs to reach them."""

    resources: Resources = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # DATABASE_URL...: no secret in it
    proxies: list[SqlProxy] = field(default_factory=list)
    launch_sources: list[dict[str, Any]] = field(default_factory=list)  # the launcher's
    waiting: list[str] = field(default_factory=list)  # what is not observed yet

    @property
    def ready(self) -> bool:
        return not self.waiting


def _digest(text: str, n: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def instance_prefix(ctx: RenderContext) -> str:
    """`scia-<12 hex of the XR's uid>-`: every Cloud SQL instance of this deployment."""
    return f"scia-{_digest(ctx.identity.uid, 12)}-"


def instance_name(ctx: RenderContext, kind: str) -> str:
    """The Cloud SQL instance id: lowercase letters, digits and '-', a letter first (at
    most 98 with the project; ours are 23). Not reusable for a week after deletion: it is
    per XR, never per generation."""
    return f"{instance_prefix(ctx)}{'pg' if kind == 'postgres' else 'my'}"


def database_version(store: DataStoreParams) -> str:
    """ "17" -> POSTGRES_17, "8.4" -> MYSQL_8_4."""
    engine = "POSTGRES" if store.kind == "postgres" else "MYSQL"
    return f"{engine}_{store.engine_version.replace('.', '_')}"


def db_user(kind: str, email: str) -> tuple[str, str]:
    """(the sql.User's name, the name the app logs in with) for the app's account."""
    if kind == "postgres":
        name = email.removesuffix(".gserviceaccount.com")
        return name, name
    return email, email.split("@", 1)[0]


def _private_services(ctx: RenderContext, refs: GcpNetworkRefs) -> Resources:
    net = ctx.settings.gcp.data_stores.private_services_range
    address, prefix = net.split("/")
    return {
        PSA_RANGE: ctx.resource(
            "compute",
            "GlobalAddress",
            PSA_RANGE,
            {
                **refs.network,
                "purpose": "VPC_PEERING",
                "addressType": "INTERNAL",
                "address": address,
                "prefixLength": int(prefix),
                "description": f"Google managed services of {ctx.who}"[:2048],
            },
        ),
        PSA_CONNECTION: ctx.resource(
            "servicenetworking",
            "Connection",
            PSA_CONNECTION,
            {
                **refs.network,
                "service": "servicenetworking.googleapis.com",
                "reservedPeeringRangesSelector": select(PSA_RANGE),
            },
        ),
    }


def _private_network(ctx: RenderContext) -> dict[str, Any]:
    net = ctx.settings.gcp.network
    if net.existing:
        return {"privateNetwork": net.network}
    return {"privateNetworkSelector": select("network")}


def _instance(ctx: RenderContext, store: DataStoreParams, component: str) -> dict[str, Any]:
    kind = store.kind
    storage = store.storage_gb or 20
    backup: dict[str, Any] = {
        "enabled": True,
        "startTime": "03:00",
        "backupRetentionSettings": {
            "retainedBackups": store.backup_retention_days or 1,
            "retentionUnit": "COUNT",
        },
    }
    if kind == "postgres":
        backup["pointInTimeRecoveryEnabled"] = True
    else:
        backup["binaryLogEnabled"] = True
    settings: dict[str, Any] = {
        "tier": store.size,
        "edition": "ENTERPRISE",
        "availabilityType": "REGIONAL" if store.multi_az else "ZONAL",
        "diskType": "PD_SSD",
        "diskSize": storage,
        "diskAutoresize": True,
        "diskAutoresizeLimit": max(store.max_storage_gb or storage, storage),
        "ipConfiguration": {
            "ipv4Enabled": False,
            **_private_network(ctx),
            "sslMode": "ENCRYPTED_ONLY",
        },
        "connectorEnforcement": "REQUIRED",
        "databaseFlags": [{"name": _IAM_FLAG[kind], "value": "on"}],
        "backupConfiguration": backup,
        "deletionProtectionEnabled": store.production,
        "userLabels": labels(ctx),
    }
    body = ctx.resource(
        "sql",
        "DatabaseInstance",
        component,
        {
            "databaseVersion": database_version(store),
            "region": ctx.region,
            "deletionProtection": store.production,
            "settings": settings,
        },
    )
    body["metadata"]["annotations"] = {EXTERNAL_NAME: instance_name(ctx, kind)}
    return body


def _grants(ctx: RenderContext, email: str) -> Resources:
    """The app's account may connect (Auth Proxy) and log in to this deployment's
    instances only (IAM conditions on the instance's resource name)."""
    prefix = instance_prefix(ctx)
    condition = {
        "title": f"scia instances {prefix}*"[:100],
        "description": f"Cloud SQL instances of {ctx.who}"[:256],
        "expression": (
            'resource.type == "sqladmin.googleapis.com/Instance" && '
            f'resource.name.extract("/instances/{{name}}").startsWith("{prefix}")'
        ),
    }
    out: Resources = {}
    for component, role in ((SQL_CLIENT, "roles/cloudsql.client"),
                            (SQL_INSTANCE_USER, "roles/cloudsql.instanceUser")):  # fmt: skip
        fp: dict[str, Any] = {
            "role": role,
            "member": f"serviceAccount:{email}",
            "condition": condition,
        }
        if ctx.settings.gcp.project:
            fp["project"] = ctx.settings.gcp.project
        out[component] = ctx.resource("cloudplatform", "ProjectIAMMember", component, fp)
    return out


def _connection_name(ctx: RenderContext, observed: Observed, component: str, kind: str) -> Any:
    """The instance's `project:region:name`: observed, else known from `gcp.project`."""
    seen = at_provider(observed, component, "connectionName")
    if seen:
        return str(seen)
    if ctx.settings.gcp.project:
        return f"{ctx.settings.gcp.project}:{ctx.region}:{instance_name(ctx, kind)}"
    return None


def render_gcp_datastores(
    ctx: RenderContext,
    refs: GcpNetworkRefs,
    observed: Observed,
    service_account: str | None,
) -> GcpStores:
    """The composed Cloud SQL instances of the decision, their users and grants for
    `service_account` (the app's, once observed), and the app's URLs and proxies."""
    out = GcpStores()
    stores = ctx.decision.data_stores or []
    if not stores:
        return out
    if not ctx.settings.gcp.network.existing:
        out.resources |= _private_services(ctx, refs)
        if at_provider(observed, PSA_CONNECTION, "id") is None and not any(
            store_component(s.kind) in observed for s in stores
        ):
            waiting(ctx, "the Cloud SQL instances", "the private services connection")
            out.waiting.append(PSA_CONNECTION)
            return out
    if service_account:
        if any(s.kind != "redis" for s in stores):
            out.resources |= _grants(ctx, service_account)
    else:
        out.waiting.append("app-service-account")
    for store in stores:
        if store.kind == "redis":
            _redis(ctx, store, observed, out)
            continue
        component = f"db-{store.kind}"
        out.resources[component] = _instance(ctx, store, component)
        database = ctx.resource(
            "sql",
            "Database",
            f"{component}-database",
            {"instanceSelector": select(component)}
            | ({"charset": "utf8mb4"} if store.kind == "mysql" else {}),
        )
        database["metadata"]["annotations"] = {EXTERNAL_NAME: DATABASE}
        out.resources[f"{component}-database"] = database
        conn = _connection_name(ctx, observed, component, store.kind)
        if conn is None:
            waiting(ctx, f"the app (it reaches {store.kind})", f"{component}'s connectionName")
            out.waiting.append(component)
        if not service_account:
            continue
        user_name, login = db_user(store.kind, service_account)
        user_fp: dict[str, Any] = {
            "instanceSelector": select(component),
            "type": "CLOUD_IAM_SERVICE_ACCOUNT",
            "databaseRoles": ["cloudsqlsuperuser"],
        }
        if store.kind == "postgres":
            # A PostgreSQL role that owns objects cannot be dropped: the instance goes with it.
            user_fp["deletionPolicy"] = "ABANDON"
        user = ctx.resource("sql", "User", f"{component}-app-user", user_fp)
        user["metadata"]["annotations"] = {EXTERNAL_NAME: user_name}
        out.resources[f"{component}-app-user"] = user
        port = PORTS[store.kind]
        scheme = "postgresql" if store.kind == "postgres" else "mysql"
        out.env[store.env_name] = (
            f"{scheme}://{urllib.parse.quote(login, safe='')}@127.0.0.1:{port}/{DATABASE}"
        )
        if conn is not None:
            out.proxies.append(SqlProxy(store.kind, conn, port))
    return out


def store_component(kind: str) -> str:
    """The composed resource name of a store: `db-postgres`, `db-mysql`, `memorystore-redis`."""
    return REDIS if kind == "redis" else f"db-{kind}"


def redis_id(ctx: RenderContext) -> str:
    """The Memorystore instance id (1-40 characters, a letter first, no '-' last)."""
    return f"{instance_prefix(ctx)}redis"


def _redis(ctx: RenderContext, store: DataStoreParams, observed: Observed, out: GcpStores) -> None:
    ident = redis_id(ctx)
    gb = memorystore_gb(store.size) or 1
    net = ctx.settings.gcp.network
    fp: dict[str, Any] = {
        "region": ctx.region,
        "tier": "STANDARD_HA" if store.multi_az else "BASIC",
        "memorySizeGb": gb,
        "redisVersion": f"REDIS_{store.engine_version.replace('.', '_')}",
        "connectMode": "PRIVATE_SERVICE_ACCESS",
        **(
            {"authorizedNetwork": net.network}
            if net.existing
            else {"authorizedNetworkSelector": select("network")}
        ),
        "authEnabled": True,
        "transitEncryptionMode": "SERVER_AUTHENTICATION",
        "displayName": f"redis of {ctx.who}"[:80],
        "labels": labels(ctx),
    }
    if store.multi_az:
        fp["replicaCount"] = 1
        fp["readReplicasMode"] = "READ_REPLICAS_DISABLED"
    if store.production:
        fp["persistenceConfig"] = {
            "persistenceMode": "RDB",
            "rdbSnapshotPeriod": "TWENTY_FOUR_HOURS",
        }
    body = ctx.resource("redis", "Instance", REDIS, fp)
    body["metadata"]["annotations"] = {EXTERNAL_NAME: ident}
    conn: dict[str, str] = {"name": f"{ident}-conn"}
    ref: dict[str, str] = {"name": conn["name"], "key": REDIS_AUTH_KEY}
    if not ctx.identity.namespaced:  # the tenant's own namespace, never another
        conn["namespace"] = ref["namespace"] = ctx.identity.tenant
    body["spec"]["writeConnectionSecretToRef"] = conn
    out.resources[REDIS] = body
    secret_id = f"{instance_prefix(ctx)}redis-auth"
    secret = ctx.resource("secretmanager", "Secret", REDIS_AUTH,
                          {"replication": {"auto": {}}, "labels": labels(ctx)})  # fmt: skip
    secret["metadata"]["annotations"] = {EXTERNAL_NAME: secret_id}
    out.resources[REDIS_AUTH] = secret
    out.resources[f"{REDIS_AUTH}-version"] = ctx.resource(
        "secretmanager",
        "SecretVersion",
        f"{REDIS_AUTH}-version",
        {"secretSelector": select(REDIS_AUTH), "secretDataSecretRef": ref, "enabled": True},
    )
    host, port = at_provider(observed, REDIS, "host"), at_provider(observed, REDIS, "port")
    # Every CA the instance lists (a new one appears five years before the old one expires:
    # trusting all of them keeps clients working through the rotation).
    certs = at_provider(observed, REDIS, "serverCaCerts")
    pems = [str(c["cert"]).strip() for c in certs or [] if isinstance(c, dict) and c.get("cert")]
    ca = "\n".join(pems) + "\n" if pems else None
    if not host or not port or not ca:
        waiting(ctx, "the app (it reaches redis)", f"{REDIS}'s host, port and CA")
        out.waiting.append(REDIS)
        return
    version = at_provider(observed, f"{REDIS_AUTH}-version", "version")
    out.launch_sources.append(
        {
            "from": "gcp-redis",
            "name": store.env_name,
            "host": str(host),
            "port": int(port),
            "auth": secret_id,
            "version": str(version) if version else "latest",
            "ca": str(ca),
            "caFile": REDIS_CA_FILE[ctx.decision.strategy.value],
        }
    )


def proxy_args(proxy: SqlProxy, health: bool = False) -> list[str]:
    """The Cloud SQL Auth Proxy's arguments: automatic IAM database authentication over the
    instance's private IP, on 127.0.0.1:<port>; `health`: its startup/liveness endpoints
    (Cloud Run's startup probe of the sidecar)."""
    args = ["--auto-iam-authn", "--private-ip", "--address=127.0.0.1", f"--port={proxy.port}"]
    if health:
        args += ["--health-check", f"--http-port={PROXY_HEALTH_PORT[proxy.kind]}",
                 "--http-address=0.0.0.0"]  # fmt: skip
    return [*args, proxy.connection_name]


def proxy_boot_lines(proxies: list[SqlProxy], version: str) -> tuple[list[str], list[str]]:
    """(boot script lines installing the proxy and one systemd unit per store, the unit
    names the app starts after) for a vm (Debian 12, amd64 or arm64)."""
    if not proxies:
        return [], []
    url = (
        "https://storage.googleapis.com/cloud-sql-connectors/cloud-sql-proxy/"
        f"v{version}/cloud-sql-proxy.linux.$(dpkg --print-architecture)"
    )
    lines = [
        f'curl -fsSL --retry 5 -o /usr/local/bin/cloud-sql-proxy "{url}"',
        "chmod 0755 /usr/local/bin/cloud-sql-proxy",
    ]
    units: list[str] = []
    for p in proxies:
        unit = f"cloud-sql-proxy-{p.kind}.service"
        units.append(unit)
        lines += [
            f"cat > /etc/systemd/system/{unit} <<'UNIT'",
            "[Unit]",
            f"Description=Cloud SQL Auth Proxy to the app's {p.kind} (IAM authentication)",
            "After=network-online.target",
            "Wants=network-online.target",
            "[Service]",
            "DynamicUser=yes",
            f"ExecStart=/usr/local/bin/cloud-sql-proxy {' '.join(proxy_args(p))}",
            "Restart=always",
            "RestartSec=5",
            "[Install]",
            "WantedBy=multi-user.target",
            "UNIT",
        ]
    lines += ["systemctl daemon-reload", f"systemctl enable --now {' '.join(units)}"]
    return lines, units


def cloud_run_sidecars(proxies: list[SqlProxy], image: str) -> list[dict[str, Any]]:
    """Cloud Run sidecar containers running the proxy (the app's container depends on
    them: it starts once their startup probes pass)."""
    return [
        {
            "name": f"cloud-sql-proxy-{p.kind}",
            "image": image,
            "args": proxy_args(p, health=True),
            "resources": {"limits": {"cpu": "1", "memory": "512Mi"}},
            "startupProbe": {
                "httpGet": {"path": "/startup", "port": PROXY_HEALTH_PORT[p.kind]},
                "periodSeconds": 2,
                "failureThreshold": 30,
            },
        }
        for p in proxies
    ]
