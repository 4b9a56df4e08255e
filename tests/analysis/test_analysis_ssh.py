"""A private repository over SSH: the key from the function credential against a real sshd
on 127.0.0.1, with the platform's known_hosts checked strictly."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from analysis_fixtures import FIXTURES, make_repo

from function.analysis.analyzer import AnalysisError, Analyzer
from function.analysis.credentials import RepoCredentials
from function.analysis.settings import AnalysisSettings

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path("/usr/sbin/sshd").exists(), reason="openssh-server not installed"),
]
FLASK = next(f for f in FIXTURES if f.name == "flask-env-default")


@dataclass
class Sshd:
    port: int
    repo: Path
    sha: str
    client_key: str
    host_key_line: str
    other_key_line: str

    @property
    def url(self) -> str:
        return f"ssh://{getpass.getuser()}@127.0.0.1:{self.port}{self.repo}"


def _keygen(path: Path) -> str:
    """An ed25519 key pair at `path` (no passphrase); returns the public key line."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True, timeout=30
    )
    return Path(f"{path}.pub").read_text().strip()


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    d = tmp_path_factory.mktemp("sshd")
    os.chmod(d, 0o700)
    sha = make_repo(d / "repo", FLASK.files)
    host_pub = _keygen(d / "host_key")
    client_pub = _keygen(d / "client_key")
    other_pub = _keygen(d / "other_key")
    (d / "authorized_keys").write_text(client_pub + "\n")
    os.chmod(d / "authorized_keys", 0o600)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    config = d / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host_key'}\n"
        f"AuthorizedKeysFile {d / 'authorized_keys'}\nPidFile {d / 'sshd.pid'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
        "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    proc = subprocess.Popen(
        [shutil.which("sshd") or "/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=(d / "sshd.log").open("wb"),
    )
    try:
        for _ in range(100):  # bounded: sshd listens within a second
            if proc.poll() is not None:
                pytest.skip(f"sshd did not start: {(d / 'sshd.log').read_text()[-300:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), 0.2):
                    break
            except OSError:
                time.sleep(0.05)
        kind_host, key_host = host_pub.split()[:2]
        kind_other, key_other = other_pub.split()[:2]
        yield Sshd(
            port=port,
            repo=d / "repo",
            sha=sha,
            client_key=(d / "client_key").read_text(),
            host_key_line=f"[127.0.0.1]:{port} {kind_host} {key_host}\n127.0.0.1 {kind_host} {key_host}\n",
            other_key_line=f"[127.0.0.1]:{port} {kind_other} {key_other}\n127.0.0.1 {kind_other} {key_other}\n",
        )
    finally:
        proc.terminate()
        proc.wait(10)


def settings(known_hosts: str) -> AnalysisSettings:
    return AnalysisSettings.model_validate(
        {"allowPrivateAddresses": True, "sshKnownHosts": known_hosts, "timeoutSeconds": 30}
    )


async def test_ssh_key_from_the_credential_opens_the_repository(sshd: Sshd) -> None:
    creds = RepoCredentials.from_secret_data({"sshPrivateKey": sshd.client_key.encode()})
    profile = await Analyzer(settings(sshd.host_key_line)).analyze(sshd.url, "main", creds)
    assert profile.commit == sshd.sha and profile.framework == "flask"


async def test_without_the_key_it_is_an_auth_failure(sshd: Sshd) -> None:
    with pytest.raises(AnalysisError) as err:
        await Analyzer(settings(sshd.host_key_line)).analyze(sshd.url, "main")
    assert "authentication failed" in str(err.value) and "'main'" in str(err.value)


async def test_a_host_key_not_in_known_hosts_is_refused(sshd: Sshd) -> None:
    """A man in the middle (here: known_hosts names another key) never gets the fetch."""
    creds = RepoCredentials.from_secret_data({"sshPrivateKey": sshd.client_key.encode()})
    with pytest.raises(AnalysisError) as err:
        await Analyzer(settings(sshd.other_key_line)).analyze(sshd.url, "main", creds)
    assert "BEGIN OPENSSH PRIVATE KEY" not in str(err.value)
    assert sshd.client_key.strip().splitlines()[1] not in str(err.value)
