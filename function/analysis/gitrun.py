"""Run the machine's git safely: clean environment, no hooks, bounded time and size."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shlex
import shutil
import signal
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from function.analysis.credentials import DEFAULT_TOKEN_USERNAME, RepoCredentials
from function.analysis.remote import IPAddress, Remote

_POLL_SECONDS = 0.05


class GitError(Exception):
    """git exited non-zero, timed out or went over a limit; `stderr` is not yet redacted."""

    def __init__(self, stderr: str, *, timed_out: bool = False, over_limit: str = "") -> None:
        super().__init__(stderr)
        self.stderr = stderr
        self.timed_out = timed_out
        self.over_limit = over_limit


@dataclass(frozen=True)
class GitOutput:
    stdout: bytes
    stderr: str


def _kill_group(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def directory_bytes(path: Path) -> int:
    total = 0
    for current, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(current, name)).st_size
    return total


class GitSession:
    """A private temporary home, an empty bare repository and the hardened git environment
    for one remote. Use as `async with GitSession(...) as git:`."""

    def __init__(
        self,
        remote: Remote,
        *,
        pinned: IPAddress | None,
        allow_file: bool,
        credentials: RepoCredentials | None,
        known_hosts: str | None,
        work_dir: str | None,
        ca_bundle: str | None = None,
    ) -> None:
        self.remote = remote
        self._pinned = pinned
        self._allow_file = allow_file
        self._credentials = credentials
        self._known_hosts = known_hosts
        self._work_dir = work_dir
        self._ca_bundle = ca_bundle
        self._tmp: Path | None = None
        self.env: dict[str, str] = {}
        self.fetch_url = remote.url

    @property
    def repo(self) -> Path:
        assert self._tmp is not None
        return self._tmp / "repo.git"

    async def __aenter__(self) -> GitSession:
        self._tmp = Path(await asyncio.to_thread(tempfile.mkdtemp, "", "scia-", self._work_dir))
        await asyncio.to_thread(self._prepare)
        await self.run(["init", "--bare", "--quiet", str(self.repo)], seconds=10.0, cwd=self._tmp)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._tmp is not None:
            await asyncio.to_thread(shutil.rmtree, self._tmp, True)

    def _prepare(self) -> None:
        assert self._tmp is not None
        home = self._tmp / "home"
        home.mkdir(mode=0o700)
        protocols = "https:ssh:git" + (":file" if self._allow_file else "")
        config: list[tuple[str, str]] = [
            ("core.hooksPath", os.devnull),
            ("core.fsmonitor", "false"),
            ("credential.helper", ""),
            ("protocol.version", "2"),
            ("protocol.file.allow", "always" if self._allow_file else "never"),
            ("http.followRedirects", "false"),
            ("http.lowSpeedLimit", "1000"),
            ("http.lowSpeedTime", "30"),
            ("fetch.recurseSubmodules", "false"),
            ("submodule.recurse", "false"),
            ("gc.auto", "0"),
            ("maintenance.auto", "false"),
            ("filter.lfs.smudge", ""),
            ("filter.lfs.process", ""),
            ("filter.lfs.required", "false"),
        ]
        remote = self.remote
        if self._pinned is not None:
            if remote.scheme == "https":
                https_port = remote.port or 443
                pin = f"{remote.host}:{https_port}:{self._pinned}"
                config.append(("http.curloptResolve", pin))
            elif remote.scheme == "git":
                shown = f"[{self._pinned}]" if self._pinned.version == 6 else str(self._pinned)
                suffix = f":{remote.port}" if remote.port else ""
                self.fetch_url = f"git://{shown}{suffix}{remote.path}"
        if self._ca_bundle and remote.scheme == "https":
            ca = home / "ca.pem"
            ca.write_text(self._ca_bundle)
            config.append(("http.sslCAInfo", str(ca)))
        creds = self._credentials
        if creds is not None and creds.token is not None and remote.scheme == "https":
            user = creds.username or DEFAULT_TOKEN_USERNAME
            basic = base64.b64encode(f"{user}:{creds.token.get_secret_value()}".encode()).decode()
            config.append(("http.extraHeader", f"Authorization: Basic {basic}"))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home),
            "LC_ALL": "C",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ALLOW_PROTOCOL": protocols,
            "GIT_PROTOCOL_FROM_USER": "0",
            "GIT_LFS_SKIP_SMUDGE": "1",
            "GIT_NO_REPLACE_OBJECTS": "1",
            "GIT_SSH_COMMAND": self._ssh_command(home),
            "GIT_SSH_VARIANT": "ssh",
            "GIT_CONFIG_COUNT": str(len(config)),
        }
        for index, (key, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{index}"] = key
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        self.env = env

    def _ssh_command(self, home: Path) -> str:
        known_hosts = home / "known_hosts"
        known_hosts.write_text(self._known_hosts or "")
        args = [
            "ssh", "-F", os.devnull, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", f"UserKnownHostsFile={known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=" + ("yes" if self._known_hosts else "accept-new"),
            "-o", "ConnectTimeout=10", "-o", "PermitLocalCommand=no",
            "-o", "ClearAllForwardings=yes",
        ]  # fmt: skip
        creds = self._credentials
        if creds is not None and creds.ssh_private_key is not None:
            key = home / "id_key"
            fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                text = creds.ssh_private_key.get_secret_value()
                handle.write(text if text.endswith("\n") else text + "\n")
            args += ["-i", str(key)]
        if self._pinned is not None and self.remote.scheme == "ssh":
            args += ["-o", f"HostName={self._pinned}", "-o", f"HostKeyAlias={self.remote.host}"]
        return shlex.join(args)

    async def run(
        self,
        args: list[str],
        *,
        seconds: float,
        cwd: Path | None = None,
        stdin: bytes | None = None,
        watch: Callable[[], str] | None = None,
    ) -> GitOutput:
        """Run `git args...`; kill the whole process group on timeout or when `watch`
        returns a non-empty limit description."""
        process = await asyncio.create_subprocess_exec(
            "git",
            *args,
            cwd=str(cwd or self.repo),
            env=self.env,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        communicate = asyncio.ensure_future(process.communicate(stdin))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        over_limit = ""
        try:
            while not communicate.done():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                await asyncio.wait({communicate}, timeout=min(_POLL_SECONDS, remaining))
                if watch is not None and not communicate.done():
                    over_limit = await asyncio.to_thread(watch)
                    if over_limit:
                        break
        finally:
            if not communicate.done():
                _kill_group(process)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(communicate, 5.0)
                communicate.cancel()
        if over_limit:
            raise GitError("", over_limit=over_limit)
        if not communicate.done() or communicate.cancelled():
            raise GitError("", timed_out=True)
        stdout, stderr = communicate.result()
        if process.returncode != 0:
            if process.returncode == -signal.SIGKILL:
                raise GitError(stderr.decode(errors="replace"), timed_out=True)
            raise GitError(stderr.decode(errors="replace"))
        return GitOutput(stdout=stdout, stderr=stderr.decode(errors="replace"))
