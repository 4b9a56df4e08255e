"""A real control plane for the tests: etcd, kube-apiserver, kube-controller-manager and
Crossplane core v2.2.1, with function-scia served over mTLS as Crossplane serves functions.

    cp = ControlPlane(work_dir, memory_dsn=...)
    cp.start()            # ~20-60 s once the binaries are built (.ci/build-controlplane)
    cp.kube.get(...)      # the admin client (tests.controlplane.kube.Kube)
    cp.stop()

What runs, all inside a private network namespace (tests.controlplane.netns) when the
machine allows it, else on 127.0.0.1 with free ports:

- etcd v3.6.5; kube-apiserver v1.35.1 with client-certificate authentication and RBAC
  (the admin certificate is in system:masters; tests impersonate tenants);
  kube-controller-manager with the garbage collector (owner references: deleting a claim
  removes the composed resources), the namespace controller and the resource-quota
  controller (quota usage; admission enforces it).
- Crossplane core: `crossplane core init` (its own CRDs from the module's cluster/crds, the
  TLS CA and client-certificate Secrets), then `crossplane core start
  --package-runtime=External` (core runs no Deployments for packages) with webhooks off and
  `--circuit-breaker-burst=1000` (tests create and mark ready ~20 resources in seconds,
  which trips the default burst of 100 and delays reconciles by ~60 s).
- function-scia from the project's virtualenv, serving gRPC with mTLS: its server
  certificate is signed by Crossplane's own CA (Secret crossplane-root-ca, made by `core
  init`), core presents its client certificate (Secret crossplane-tls-client), exactly the
  pair a cluster's package runtime sets up. What stands in for the package runtime: an
  active FunctionRevision whose status.endpoint points at the function process
  (`install_function_revision`), or, for a package pulled from the loopback registry, the
  revision's endpoint and TLS-secret name set the same way (tests/controlplane/
  test_packaging.py).
- A scripted fake Ollama server (tests.support.fake_ollama) the function's LLM client
  calls, so LLM calls can be counted.

Nothing plays the AWS provider: the tests mark composed resources Ready/Synced the way a
provider would (`mark_ready`).
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.controlplane.kube import ApiError, Kube, condition, wait_for
from tests.controlplane.netns import NetworkNamespace
from tests.support.fake_ollama import FakeOllama, fake_ollama

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("SCIA_CACHE") or Path.home() / ".cache" / "function-scia")
CP_ROOT = CACHE / "controlplane"
BIN = CP_ROOT / "bin"
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "crossplane-core")
SHARED_CRDS = REPO_ROOT.parent / "shared" / "crds"
VENV_BIN = Path(sys.executable).parent
XP_NAMESPACE = "crossplane-system"
CORE_FLAGS = ("--package-runtime=External", "--circuit-breaker-burst=1000")


def unavailable() -> str:
    """Why the control plane cannot run on this machine ('' when it can)."""
    refused = CP_ROOT / "UNAVAILABLE"
    if refused.exists():
        return f"control plane not built: {refused.read_text().strip()}"
    missing = [b for b in BINARIES if not (BIN / b).exists()]
    if missing or not (CP_ROOT / "crossplane-crds").is_dir():
        return (
            f"control plane not built ({', '.join(missing) or 'crossplane-crds'} missing "
            f"under {CP_ROOT}): run .ci/build-controlplane"
        )
    if not shutil.which("openssl"):
        return "openssl not found (the harness makes its certificates with it)"
    if not SHARED_CRDS.is_dir():
        return f"provider CRDs not found at {SHARED_CRDS} (shared/ must sit beside the repo)"
    return ""


# -- certificates ------------------------------------------------------------------------


def _openssl(cwd: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def new_ca(d: Path, name: str, cn: str) -> None:
    _openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
             "-out", f"{name}.crt", "-days", "2", "-subj", f"/CN={cn}")  # fmt: skip


def sign(d: Path, ca: str, name: str, subject: str, ext: str) -> None:
    """<name>.key/.crt signed by <ca>.crt/.key with the extensions in ext (openssl syntax)."""
    _openssl(d, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
             "-out", f"{name}.csr", "-subj", subject)  # fmt: skip
    (d / f"{name}.ext").write_text(ext)
    _openssl(d, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext")  # fmt: skip
    (d / f"{name}.csr").unlink()


SERVER_EXT = (
    "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default\n"
    "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
)
CLIENT_EXT = "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n"


# -- processes ---------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the thread that started it ends, so a killed
    test session leaves no API server behind (the namespace thread is that parent)."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 25) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL after timeout; the process group (its children) too."""
        if self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(30)


@dataclass
class Ports:
    etcd: int
    etcd_peer: int
    apiserver: int
    kcm: int
    core_metrics: int
    core_health: int
    function: int
    function_metrics: int


@dataclass
class ControlPlane:
    work: Path
    memory_dsn: str | None = None
    private_network: bool = True
    timings: dict[str, float] = field(default_factory=dict)
    procs: dict[str, Proc] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        self.pki = self.work / "pki"
        self.logs = self.work / "log"
        for d in (self.pki, self.logs):
            d.mkdir(exist_ok=True)
        self.ns = NetworkNamespace(private=self.private_network)
        p = self.ns.free_port
        self.ports = Ports(p(), p(), p(), p(), p(), p(), p(), p())
        self.server = f"https://127.0.0.1:{self.ports.apiserver}"
        self.kubeconfig = self.work / "kubeconfig"
        self._kube: Kube | None = None
        self._llm_cm: contextlib.AbstractContextManager[FakeOllama] | None = None
        self.llm: FakeOllama | None = None

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def kube(self) -> Kube:
        assert self._kube is not None, "control plane not started"
        return self._kube

    def _timed(self, what: str, t0: float) -> None:
        self.timings[what] = round(time.monotonic() - t0, 1)

    def start(self) -> None:
        t_all = time.monotonic()
        t0 = time.monotonic()
        self._certificates()
        self._timed("certificates", t0)
        t0 = time.monotonic()
        self._start_etcd()
        self._timed("etcd ready", t0)
        t0 = time.monotonic()
        self._start_apiserver()
        self._timed("kube-apiserver ready", t0)
        self._start_kcm()
        t0 = time.monotonic()
        with self.ns.pool(4) as pool:
            # The provider CRDs (the API server's slowest work) go in while core initializes.
            crds = [pool.submit(self.kube.apply, load_yaml(f)) for f in crd_files()]
            self._core_init()
            self._timed("crossplane core init", t0)
            t1 = time.monotonic()
            self._start_function()  # loads the embedding model meanwhile
            self._start_core()
            self._timed("crossplane core ready", t1)
            names = [c.result()["metadata"]["name"] for c in crds]
        for name in names:
            self.wait_established(name)
        self._timed("ProviderConfig + input CRDs established", t0)
        t0 = time.monotonic()
        self._wait_function()
        self._timed("function-scia serving (after the CRDs)", t0)
        self.llm = self._start_llm()
        self._timed("start-up total", t_all)

    def stop(self) -> None:
        if self._llm_cm is not None:
            with contextlib.suppress(Exception):
                self.ns.run(self._llm_cm.__exit__, None, None, None)
            self._llm_cm = None
        order = ["function-scia", "crossplane-core", "kube-controller-manager"]
        order += ["kube-apiserver", "etcd"]
        for name in order + [n for n in self.procs if n not in order]:
            proc = self.procs.get(name)
            if proc is not None:
                proc.stop()
        if self._kube is not None:
            with contextlib.suppress(Exception):
                self._kube.close()
        self.ns.close()

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        log = self.logs / f"{name}.log"
        out = open(log, "ab")  # noqa: SIM115 - the child owns it
        try:
            popen = self.ns.popen(
                argv,
                env={**os.environ, **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent,
                cwd=self.work,
            )
        finally:
            out.close()
        proc = Proc(name, popen, log)
        self.procs[name] = proc
        return proc

    def _wait(self, what: str, proc: Proc, ready: Any, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.tail()}")
            with contextlib.suppress(OSError, httpx.HTTPError):
                if self.ns.run(ready):
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} not within {timeout:.0f} s:\n{proc.tail()}")
            time.sleep(0.2)

    # -- the parts --------------------------------------------------------------------------

    def _certificates(self) -> None:
        d = self.pki
        new_ca(d, "ca", "scia-controlplane-ca")
        sign(d, "ca", "apiserver", "/CN=kube-apiserver", SERVER_EXT)
        sign(d, "ca", "admin", "/O=system:masters/CN=scia-controlplane-admin", CLIENT_EXT)
        _openssl(d, "genrsa", "-out", "sa.key", "2048")
        _openssl(d, "rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub")
        self.kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {
                            "name": "controlplane",
                            "cluster": {
                                "server": self.server,
                                "certificate-authority": str(d / "ca.crt"),
                            },
                        }
                    ],
                    "users": [
                        {
                            "name": "admin",
                            "user": {
                                "client-certificate": str(d / "admin.crt"),
                                "client-key": str(d / "admin.key"),
                            },
                        }
                    ],
                    "contexts": [
                        {
                            "name": "controlplane",
                            "context": {"cluster": "controlplane", "user": "admin"},
                        }
                    ],
                    "current-context": "controlplane",
                }
            )
        )

    def _start_etcd(self) -> None:
        p = self.ports
        client, peer = f"http://127.0.0.1:{p.etcd}", f"http://127.0.0.1:{p.etcd_peer}"
        proc = self.spawn(
            "etcd",
            [str(BIN / "etcd"), "--name", "cp", "--data-dir", str(self.work / "etcd"),
             "--listen-client-urls", client, "--advertise-client-urls", client,
             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", f"cp={peer}", "--unsafe-no-fsync", "--log-level", "warn",
             "--listen-metrics-urls", ""],
        )  # fmt: skip
        self._wait(
            "etcd /readyz", proc, lambda: httpx.get(f"{client}/readyz", timeout=2).is_success
        )

    def _start_apiserver(self) -> None:
        d, p = self.pki, self.ports
        proc = self.spawn(
            "kube-apiserver",
            [str(BIN / "kube-apiserver"),
             f"--etcd-servers=http://127.0.0.1:{p.etcd}",
             "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
             f"--secure-port={p.apiserver}", f"--cert-dir={d}",
             f"--tls-cert-file={d / 'apiserver.crt'}", f"--tls-private-key-file={d / 'apiserver.key'}",
             f"--client-ca-file={d / 'ca.crt'}", "--authorization-mode=Node,RBAC",
             "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
             f"--service-account-key-file={d / 'sa.pub'}",
             f"--service-account-signing-key-file={d / 'sa.key'}",
             "--service-cluster-ip-range=10.0.0.0/24", "--allow-privileged=true",
             # no kubelet, no pods: the ServiceAccount admission plugin would wait for
             # token controllers that do not run here.
             "--disable-admission-plugins=ServiceAccount", "--v=1"],
        )  # fmt: skip
        http = httpx.Client(verify=ssl.create_default_context(cafile=str(d / "ca.crt")))
        try:
            self._wait(
                "kube-apiserver /readyz",
                proc,
                lambda: http.get(f"{self.server}/readyz", timeout=5).text == "ok",
                timeout=180,
            )
        finally:
            self.ns.run(http.close)
        self._kube = Kube.connect(self.ns, self.server, d)

    def _start_kcm(self) -> None:
        self.spawn(
            "kube-controller-manager",
            [str(BIN / "kube-controller-manager"), f"--kubeconfig={self.kubeconfig}",
             "--controllers=garbagecollector,namespace,resourcequota",
             # Quotas counting a kind whose CRD appeared after them get usage on the next
             # full resync (default 5 min); quota admission refuses creates until then.
             "--resource-quota-sync-period=10s",
             "--leader-elect=false", "--use-service-account-credentials=false",
             "--bind-address=127.0.0.1", f"--secure-port={self.ports.kcm}",
             f"--cert-dir={self.pki / 'kcm'}",
             f"--authentication-kubeconfig={self.kubeconfig}",
             f"--authorization-kubeconfig={self.kubeconfig}", "--v=1"],
        )  # fmt: skip

    def _core_env(self) -> dict[str, str]:
        return {
            "KUBECONFIG": str(self.kubeconfig),
            "POD_NAMESPACE": XP_NAMESPACE,
            "POD_SERVICE_ACCOUNT": "crossplane",
            "ENABLE_WEBHOOKS": "false",
            "TLS_CA_SECRET_NAME": "crossplane-root-ca",
            "TLS_CLIENT_SECRET_NAME": "crossplane-tls-client",
            "METRICS_PORT": str(self.ports.core_metrics),
            "HEALTH_PROBE_PORT": str(self.ports.core_health),
        }

    def _core_init(self) -> None:
        self.kube.apply(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": XP_NAMESPACE}}
        )
        env = {**self._core_env(), "CRDS_PATH": str(CP_ROOT / "crossplane-crds")}
        # On a fresh API server the first try can fail with 'no matches for kind "Lock"'
        # (the CRDs it just applied are not in its REST mapper yet); in a cluster the init
        # container restarts. Bounded retries.
        for attempt in range(1, 6):
            proc = self.spawn(
                "crossplane-init", [str(BIN / "crossplane-core"), "core", "init"], env
            )
            if self.ns.run(proc.popen.wait, 300) == 0:
                return
            if attempt == 5:
                raise RuntimeError(f"crossplane core init failed 5 times:\n{proc.tail()}")
            time.sleep(1)

    def secret_data(self, name: str, namespace: str = XP_NAMESPACE) -> dict[str, bytes]:
        s = self.kube.get("v1", "Secret", name, namespace) or {}
        return {k: base64.b64decode(v) for k, v in (s.get("data") or {}).items()}

    def _start_core(self) -> None:
        client = self.work / "xp-tls-client"
        client.mkdir(exist_ok=True)
        for k, v in self.secret_data("crossplane-tls-client").items():
            (client / k).write_bytes(v)
        (client / "tls.key").chmod(0o600)
        proc = self.spawn(
            "crossplane-core",
            [str(BIN / "crossplane-core"), "core", "start", "--debug", *CORE_FLAGS,
             f"--xpkg-cache-dir={self.work / 'xpkg-cache'}", f"--xfn-cache-dir={self.work / 'xfn-cache'}"],
            {**self._core_env(), "TLS_CLIENT_CERTS_DIR": str(client)},
        )  # fmt: skip
        (self.work / "xpkg-cache").mkdir(exist_ok=True)
        url = f"http://127.0.0.1:{self.ports.core_health}/readyz"
        self._wait("crossplane core /readyz", proc, lambda: httpx.get(url, timeout=2).is_success)

    # -- the function ---------------------------------------------------------------------------

    @property
    def function_tls(self) -> Path:
        return self.work / "fn-tls"

    def _function_certificate(self) -> None:
        """The function's server certificate, signed by Crossplane's CA (as the package
        runtime does for a function's Service); ca.crt verifies core's client certificate."""
        d = self.function_tls
        d.mkdir(exist_ok=True)
        ca = self.secret_data("crossplane-root-ca")
        (d / "ca.crt").write_bytes(ca["tls.crt"])
        (d / "xpca.crt").write_bytes(ca["tls.crt"])
        (d / "xpca.key").write_bytes(ca["tls.key"])
        try:
            sign(d, "xpca", "tls", "/CN=function-scia", SERVER_EXT)
        finally:
            (d / "xpca.key").unlink()
        for leftover in ("tls.ext", "xpca.srl"):
            (d / leftover).unlink(missing_ok=True)

    def start_function(self, extra_args: tuple[str, ...] = ()) -> Proc:
        """function-scia with mTLS on the function port (memory on the harness's database)."""
        if not self.function_tls.joinpath("tls.crt").exists():
            self._function_certificate()
        memory = ["--memory", "on", "--memory-dsn", self.memory_dsn] if self.memory_dsn else [
            "--memory", "off"]  # fmt: skip
        return self.spawn(
            "function-scia",
            [str(VENV_BIN / "function-scia"), "--address", f"127.0.0.1:{self.ports.function}",
             "--tls-certs-dir", str(self.function_tls),
             "--metrics-address", f"127.0.0.1:{self.ports.function_metrics}", *memory, *extra_args],
            {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO_ROOT)},
        )  # fmt: skip

    def _start_function(self) -> None:
        self.start_function()

    def _wait_function(self, timeout: float = 240.0) -> None:
        port = self.ports.function

        def listening() -> bool:
            with socket.create_connection(("127.0.0.1", port), 1):
                return True

        self._wait("function-scia listening", self.procs["function-scia"], listening, timeout)

    def stop_function(self) -> None:
        self.procs["function-scia"].stop()

    def restart_function(self) -> None:
        self.stop_function()
        self.start_function()
        self._wait_function()

    def function_metric(self, name: str) -> float:
        """Sum of a Prometheus sample of the function (e.g. scia_run_function_seconds_count)."""
        text = self.ns.run(
            lambda: (
                httpx.get(f"http://127.0.0.1:{self.ports.function_metrics}/metrics", timeout=5).text
            )
        )
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and line[len(name) : len(name) + 1] in (" ", "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def install_function_revision(self) -> None:
        """What a package runtime reports for the function: an active FunctionRevision whose
        status names the endpoint (the package manager never pulls it: paused)."""
        self.kube.apply(
            {
                "apiVersion": "pkg.crossplane.io/v1",
                "kind": "FunctionRevision",
                "metadata": {
                    "name": "function-scia-local",
                    "labels": {"pkg.crossplane.io/package": "function-scia"},
                    "annotations": {"crossplane.io/paused": "true"},
                },
                "spec": {
                    "desiredState": "Active",
                    "image": "xpkg.crossplane.io/scia/function-scia:v0.0.0-local",
                    "revision": 1,
                    "ignoreCrossplaneConstraints": True,
                    "skipDependencyResolution": True,
                },
            }
        )
        self.kube.patch(
            "pkg.crossplane.io/v1",
            "FunctionRevision",
            "function-scia-local",
            {
                "status": {
                    "endpoint": f"127.0.0.1:{self.ports.function}",
                    "capabilities": ["composition"],
                }
            },
            subresource="status",
        )

    def _start_llm(self) -> FakeOllama:
        cm = fake_ollama()
        fake = self.ns.run(cm.__enter__)
        self._llm_cm = cm
        return fake

    # -- installing ------------------------------------------------------------------------------

    def install_crds(self, files: list[Path]) -> None:
        """Apply CRDs (in parallel: the API server is the slow part) and wait until served."""
        with self.ns.pool(4) as pool:
            names = [
                n["metadata"]["name"]
                for n in pool.map(self.kube.apply, map(without_webhook, map(load_yaml, files)))
            ]
        for name in names:
            self.wait_established(name)

    def wait_established(self, crd: str, timeout: float = 180.0) -> None:
        wait_for(
            f"CRD {crd} Established",
            lambda: (
                condition(
                    self.kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", crd),
                    "Established",
                ).get("status")
                == "True"
            ),
            timeout,
        )

    def cli(
        self, *args: str, kubeconfig: Path | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """The project's `scia` command line, run inside the namespace against this API server."""
        env = {
            **os.environ,
            "KUBECONFIG": str(kubeconfig or self.kubeconfig),
            "PYTHONPATH": str(REPO_ROOT),
        }
        if self.memory_dsn:
            env["SCIA_MEMORY_DSN"] = self.memory_dsn
        return self.ns.run(
            subprocess.run,
            [str(VENV_BIN / "scia"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def describe(self) -> str:
        """The tails of every component's log, for a failure message."""
        return "\n".join(f"--- {p.name} ({p.log})\n{p.tail(15)}" for p in self.procs.values())


def without_webhook(crd: dict[str, Any]) -> dict[str, Any]:
    """A CRD without its conversion webhook: the package manager points it at the
    provider's service when it installs a provider; none runs here (provider-kubernetes'
    Object CRD names a webhook with no service), so every served version is stored as is."""
    if (crd.get("spec") or {}).get("conversion", {}).get("strategy") == "Webhook":
        crd = {**crd, "spec": {**crd["spec"], "conversion": {"strategy": "None"}}}
    return crd


def load_yaml(path: Path) -> Any:
    """One YAML document, parsed with libyaml when PyYAML has it (CRDs are large)."""
    return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def crd_files() -> list[Path]:
    """The CRDs installed at start-up: the provider's ProviderConfig kinds (the
    CloudProvider composition emits them) and the function's input."""
    configs = (
        sorted((SHARED_CRDS / "aws").glob("aws.*upbound.io_*.yaml"))
        + sorted((SHARED_CRDS / "gcp").glob("gcp.*upbound.io_*.yaml"))
        + sorted((SHARED_CRDS / "azure").glob("azure.*upbound.io_*providerconfigs.yaml"))
    )
    return [*configs, REPO_ROOT / "package" / "input" / "scia.fn.crossplane.io_inputs.yaml"]


def provider_crd_files(namespaced: bool) -> list[Path]:
    """The provider CRDs (provider-upjet-aws, provider-upjet-gcp, provider-kubernetes) of
    every kind the compositions emit, in one scope: cluster-scoped *.<cloud>.upbound.io and
    kubernetes.crossplane.io (legacy) or namespaced *.<cloud>.m.upbound.io and
    kubernetes.m.crossplane.io (v2)."""
    from function.render.common import LEGACY_VERSIONS

    picked = []
    for cloud, versions in sorted(LEGACY_VERSIONS.items()):
        wanted = set(versions)
        suffix = f".{cloud}.m.upbound.io" if namespaced else f".{cloud}.upbound.io"
        for f in sorted((SHARED_CRDS / cloud).glob("*.yaml")):
            group = f.name.split("_", 1)[0]
            svc = group.split(".", 1)[0]
            # Azure's resource group is in the provider's own group (azure.upbound.io).
            ours = group == f"{svc}{suffix}" or (svc == cloud and group == suffix[1:])
            if ours and (svc, _kind_of(f)) in wanted:
                picked.append(f)
    # The kubernetes strategy's provider-kubernetes Objects and ProviderConfig.
    k8s = "kubernetes.m.crossplane.io" if namespaced else "kubernetes.crossplane.io"
    picked += [
        SHARED_CRDS / "kubernetes" / f"{k8s}_{p}.yaml" for p in ("objects", "providerconfigs")
    ]
    return picked


def _kind_of(path: Path) -> str:
    """spec.names.kind of a CRD file, read without parsing the whole (large) document."""
    in_names = False
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped == "names:":
            in_names = True
        elif in_names and stripped.startswith("kind:"):
            return stripped.split(":", 1)[1].strip()
    raise ValueError(f"no spec.names.kind in {path}")


@contextlib.contextmanager
def running(work: Path, memory_dsn: str | None) -> Iterator[ControlPlane]:
    cp = ControlPlane(work, memory_dsn=memory_dsn)
    try:
        cp.start()
        cp.install_function_revision()
        yield cp
    except BaseException:
        sys.stderr.write(cp.describe() + "\n")
        raise
    finally:
        cp.stop()


__all__ = ["ApiError", "ControlPlane", "running", "unavailable"]
