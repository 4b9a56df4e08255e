"""A private network namespace, held by one worker thread.

Linux keeps the network namespace per thread: the worker thread `unshare`s a new one
(its own loopback, nothing else), and everything the harness does that touches the
network runs on that thread: processes started there inherit the namespace (etcd,
kube-apiserver, Crossplane core, the function, the `scia` CLI), sockets opened there
live in it (the API client, the fake Ollama server). Crossplane core binds its metrics
and health ports on every interface; inside the namespace that is its own loopback, so
concurrent test sessions never collide. When the machine does not allow it (no
CAP_SYS_ADMIN, seccomp), the thread stays in the host namespace and everything binds
127.0.0.1 on free ports: `private` is False and `reason` says why.

The namespace has no name (nothing in /run/netns to clean up): it goes away with the last
process and socket in it. To look inside by hand: `nsenter -t <pid of etcd> -n ...`.
"""

from __future__ import annotations

import ctypes
import os
import queue
import socket
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
CLONE_NEWNET = 0x40000000


_member = threading.local()


def _setns(path: str) -> None:
    """Move this thread into the network namespace at path (/proc/<pid>/task/<tid>/ns/net)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)
    _member.inside = True


def _enter_private_namespace() -> str:
    """Unshare this thread's network namespace and bring its loopback up; '' or why not."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        return f"unshare(CLONE_NEWNET) failed: {os.strerror(err)}"
    done = subprocess.run(
        ["ip", "link", "set", "lo", "up"], capture_output=True, text=True, timeout=30, check=False
    )
    if done.returncode != 0:
        # The thread is in an isolated namespace without a loopback: unusable.
        raise RuntimeError(f"ip link set lo up: {done.stderr.strip()}")
    return ""


class NetworkNamespace:
    """Runs callables on the thread that owns the namespace (one at a time, in order)."""

    def __init__(self, private: bool = True) -> None:
        self._calls: queue.Queue[tuple[Callable[[], Any], Future[Any]] | None] = queue.Queue()
        ready: Future[str] = Future()
        self._thread = threading.Thread(
            target=self._loop, args=(private, ready), name="controlplane-netns", daemon=True
        )
        self._thread.start()
        self.reason = ready.result(timeout=60)
        self.private = private and not self.reason
        self._ns_path = self.run(
            lambda: f"/proc/{os.getpid()}/task/{threading.get_native_id()}/ns/net"
        )

    def _loop(self, private: bool, ready: Future[str]) -> None:
        _member.inside = True
        try:
            ready.set_result(_enter_private_namespace() if private else "not asked for")
        except BaseException as e:  # report it to the constructor, then serve nothing
            ready.set_exception(e)
            return
        while (item := self._calls.get()) is not None:
            fn, fut = item
            if fut.set_running_or_notify_cancel():
                try:
                    fut.set_result(fn())
                except BaseException as e:
                    fut.set_exception(e)

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call fn(*args, **kwargs) on the namespace's thread and return its result."""
        if getattr(_member, "inside", False):  # already in the namespace (or a pool of it)
            return fn(*args, **kwargs)
        fut: Future[T] = Future()
        self._calls.put((lambda: fn(*args, **kwargs), fut))
        return fut.result()

    def pool(self, workers: int) -> ThreadPoolExecutor:
        """Worker threads that join this namespace (for requests in parallel)."""
        if not self.private:
            return ThreadPoolExecutor(workers, initializer=lambda: setattr(_member, "inside", True))
        return ThreadPoolExecutor(workers, initializer=_setns, initargs=(self._ns_path,))

    def free_port(self) -> int:
        def pick() -> int:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                return int(s.getsockname()[1])

        return self.run(pick)

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """A process started from the namespace's thread (so: inside the namespace)."""
        return self.run(subprocess.Popen, argv, **kwargs)

    def close(self) -> None:
        self._calls.put(None)
        self._thread.join(10)
