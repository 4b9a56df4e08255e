"""A real Kubernetes API server for the scia-api tests: etcd + kube-apiserver on loopback.

Client-certificate authentication for the admin (system:masters), RBAC, and
ServiceAccount tokens from the TokenRequest API for everyone else: each tenant's deployer
and viewer are ServiceAccounts bound to the project's `scia-deployer` / `scia-viewer`
ClusterRoles (examples/tenancy/cluster-roles.yaml) in their namespace, and scia-api runs
as its own ServiceAccount with only the RBAC of deploy/api/rbac.yaml.

The AppDeployment API is installed as the CRD Crossplane generates from
xrds/namespaced/definition.yaml (tests/support/xrd_crd.py, a port of Crossplane's
xcrd): no Crossplane runs, so the tests write status the way Crossplane would.

The binaries are the ones .ci/build-controlplane builds ($SCIA_CACHE/controlplane/bin,
or $SCIA_CONTROLPLANE_BIN); without them the tests skip with that reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.xrd_crd import crds_from_xrd

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("SCIA_CACHE") or Path.home() / ".cache" / "function-scia")
XRD = REPO / "xrds" / "namespaced" / "definition.yaml"
CLUSTER_ROLES = REPO / "examples" / "tenancy" / "cluster-roles.yaml"
API_RBAC = REPO / "deploy" / "api" / "rbac.yaml"
API_NAMESPACE = "scia-system"
API_SERVICE_ACCOUNT = "scia-api"


def bin_dir() -> Path:
    return Path(os.environ.get("SCIA_CONTROLPLANE_BIN") or CACHE / "controlplane" / "bin")


def unavailable() -> str:
    """Why no API server can run here ('' when it can)."""
    missing = [b for b in ("etcd", "kube-apiserver") if not (bin_dir() / b).exists()]
    if missing:
        return (
            f"{', '.join(missing)} not built in {bin_dir()}: run .ci/build-controlplane "
            "(or set SCIA_CONTROLPLANE_BIN)"
        )
    if subprocess.run(["openssl", "version"], capture_output=True, check=False).returncode:
        return "openssl not found"
    return ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _openssl(cwd: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _sign(d: Path, name: str, subject: str, ext: str) -> None:
    _openssl(d, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
             "-out", f"{name}.csr", "-subj", subject)  # fmt: skip
    (d / f"{name}.ext").write_text(ext)
    _openssl(d, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", f"{name}.crt", "-days", "1", "-extfile", f"{name}.ext")  # fmt: skip


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(30)


def start_process(
    name: str, args: list[str], logs: Path, env: dict[str, str] | None = None
) -> Proc:
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
    return Proc(name, popen, log)


def wait_until(what: str, check: Any, seconds: float, proc: Proc | None = None) -> Any:
    """Poll `check()` until it returns a truthy value; bounded by `seconds`."""
    deadline = time.monotonic() + seconds
    last: BaseException | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
        try:
            got = check()
        except (httpx.HTTPError, OSError, AssertionError) as e:
            last, got = e, None
        if got:
            return got
        time.sleep(0.2)
    raise TimeoutError(f"{what} not ready after {seconds:g}s (last: {last!r})")


@dataclass
class Tenant:
    namespace: str
    deployer_token: str
    viewer_token: str


@dataclass
class Cluster:
    work: Path
    procs: list[Proc] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pki = self.work / "pki"
        self.logs = self.work / "log"
        self.pki.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        self.port = free_port()
        self.server = f"https://127.0.0.1:{self.port}"
        self._admin: httpx.Client | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        d = self.pki
        _openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
                 "-out", "ca.crt", "-days", "1", "-subj", "/CN=scia-api-test-ca")  # fmt: skip
        _sign(d, "apiserver", "/CN=kube-apiserver",
              "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")  # fmt: skip
        _sign(d, "admin", "/O=system:masters/CN=test-admin", "extendedKeyUsage=clientAuth\n")
        _openssl(d, "genrsa", "-out", "sa.key", "2048")
        _openssl(d, "rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub")
        etcd_port, peer_port = free_port(), free_port()
        etcd = start_process(
            "etcd",
            [
                str(bin_dir() / "etcd"), "--name", "t", "--data-dir", str(self.work / "etcd"),
                "--listen-client-urls", f"http://127.0.0.1:{etcd_port}",
                "--advertise-client-urls", f"http://127.0.0.1:{etcd_port}",
                "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
                "--initial-cluster", f"t=http://127.0.0.1:{peer_port}",
                "--unsafe-no-fsync", "--log-level", "warn",
            ],
            self.logs,
        )  # fmt: skip
        self.procs.append(etcd)
        wait_until(
            "etcd",
            lambda: httpx.get(f"http://127.0.0.1:{etcd_port}/readyz", timeout=2).status_code == 200,
            60,
            etcd,
        )
        apiserver = start_process(
            "kube-apiserver",
            [
                str(bin_dir() / "kube-apiserver"),
                f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
                f"--secure-port={self.port}", f"--cert-dir={d}",
                f"--tls-cert-file={d / 'apiserver.crt'}",
                f"--tls-private-key-file={d / 'apiserver.key'}",
                f"--client-ca-file={d / 'ca.crt'}", "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={d / 'sa.pub'}",
                f"--service-account-signing-key-file={d / 'sa.key'}",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--disable-admission-plugins=ServiceAccount", "--v=1",
            ],
            self.logs,
        )  # fmt: skip
        self.procs.append(apiserver)
        wait_until(
            "kube-apiserver",
            lambda: self.admin.get("/readyz", timeout=5).text == "ok",
            180,
            apiserver,
        )
        self.install()

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.close()
        for p in reversed(self.procs):
            p.stop()

    @property
    def admin(self) -> httpx.Client:
        if self._admin is None:
            tls = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
            tls.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
            self._admin = httpx.Client(base_url=self.server, verify=tls, timeout=30)
        return self._admin

    # -- objects -----------------------------------------------------------------------

    def apply(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Create the object (or replace what is there), as the admin."""
        path = _collection_path(doc)
        r = self.admin.post(path, json=doc)
        if r.status_code == 409:
            name = doc["metadata"]["name"]
            current = self.admin.get(f"{path}/{name}").json()
            doc = {**doc, "metadata": {**doc["metadata"], **{
                "resourceVersion": current["metadata"]["resourceVersion"]}}}  # fmt: skip
            r = self.admin.put(f"{path}/{name}", json=doc)
        assert r.status_code < 300, f"{doc['kind']} {doc['metadata']['name']}: {r.text}"
        got: dict[str, Any] = r.json()
        return got

    def install(self) -> None:
        xrd = yaml.safe_load(XRD.read_text())
        columns = {v["name"]: v.get("additionalPrinterColumns") for v in xrd["spec"]["versions"]}
        for crd in crds_from_xrd(xrd):
            for version in crd["spec"]["versions"]:
                # As Crossplane's xcrd: a status subresource (its controllers write status
                # there), and the XRD's printer columns.
                version["subresources"] = {"status": {}}
                if columns.get(version["name"]):
                    version["additionalPrinterColumns"] = columns[version["name"]]
            self.apply(crd)
        name = "appdeployments.scia.io"
        wait_until(
            "the AppDeployment CRD",
            lambda: any(
                c.get("type") == "Established" and c.get("status") == "True"
                for c in self.admin.get(
                    f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"
                )
                .json()
                .get("status", {})
                .get("conditions")
                or []
            ),
            60,
        )
        wait_until(
            "the AppDeployment API",
            lambda: self.admin.get("/apis/scia.io/v1alpha1").status_code == 200,
            60,
        )
        for doc in yaml.safe_load_all(CLUSTER_ROLES.read_text()):
            if doc:
                self.apply(doc)
        self.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": API_NAMESPACE}})
        for doc in yaml.safe_load_all(API_RBAC.read_text()):
            if doc:
                self.apply(doc)

    def token(self, namespace: str, service_account: str, seconds: int = 7200) -> str:
        """A bound token for the ServiceAccount (TokenRequest API)."""
        r = self.admin.post(
            f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token",
            json={
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {"expirationSeconds": seconds},
            },
        )
        assert r.status_code < 300, r.text
        return str(r.json()["status"]["token"])

    def tenant(self, namespace: str) -> Tenant:
        """A namespace with a deployer and a viewer ServiceAccount bound to the roles."""
        self.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        for who, role in (("deployer", "scia-deployer"), ("viewer", "scia-viewer")):
            self.apply(
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": who, "namespace": namespace},
                }
            )
            self.apply(
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "RoleBinding",
                    "metadata": {"name": f"{who}s", "namespace": namespace},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": role,
                    },
                    "subjects": [{"kind": "ServiceAccount", "name": who, "namespace": namespace}],
                }
            )
        return Tenant(namespace, self.token(namespace, "deployer"), self.token(namespace, "viewer"))

    def api_kubeconfig(self) -> Path:
        """A kubeconfig for scia-api's own ServiceAccount (what in-cluster config gives it)."""
        path = self.work / "scia-api.kubeconfig"
        token = self.token(API_NAMESPACE, API_SERVICE_ACCOUNT)
        path.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {
                            "name": "test",
                            "cluster": {
                                "server": self.server,
                                "certificate-authority": str(self.pki / "ca.crt"),
                            },
                        }
                    ],
                    "users": [{"name": "scia-api", "user": {"token": token}}],
                    "contexts": [
                        {"name": "test", "context": {"cluster": "test", "user": "scia-api"}}
                    ],
                    "current-context": "test",
                }
            )
        )
        return path

    def get(self, namespace: str, name: str) -> dict[str, Any]:
        r = self.admin.get(f"/apis/scia.io/v1alpha1/namespaces/{namespace}/appdeployments/{name}")
        assert r.status_code == 200, r.text
        got: dict[str, Any] = r.json()
        return got

    def set_status(self, namespace: str, name: str, status: dict[str, Any]) -> dict[str, Any]:
        """Write status as Crossplane does for an XR (the status subresource)."""
        r = self.admin.patch(
            f"/apis/scia.io/v1alpha1/namespaces/{namespace}/appdeployments/{name}/status",
            content=json.dumps({"status": status}).encode(),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert r.status_code == 200, r.text
        got: dict[str, Any] = r.json()
        return got


def _collection_path(doc: dict[str, Any]) -> str:
    api_version, kind = doc["apiVersion"], doc["kind"]
    plural = {
        "Namespace": "namespaces",
        "ServiceAccount": "serviceaccounts",
        "ClusterRole": "clusterroles",
        "ClusterRoleBinding": "clusterrolebindings",
        "RoleBinding": "rolebindings",
        "Role": "roles",
        "CustomResourceDefinition": "customresourcedefinitions",
    }[kind]
    prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    ns = doc["metadata"].get("namespace")
    return f"{prefix}/namespaces/{ns}/{plural}" if ns else f"{prefix}/{plural}"


@contextlib.contextmanager
def running(work: Path) -> Iterator[Cluster]:
    cluster = Cluster(work)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
