"""A throwaway CA and certificates for loopback TLS in tests (made with openssl)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def make_certs(d: Path, *names: str) -> None:
    """Write ca.crt/ca.key and, for each name, <name>.crt/<name>.key signed by that CA,
    valid for 127.0.0.1 and localhost, for one day."""

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "1",
        "-subj",
        "/CN=scia-test-ca",
    )
    for name in names:
        run(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            f"/CN={name}",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        )
        run(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.crt",
            "-days",
            "1",
            "-copy_extensions",
            "copy",
        )
