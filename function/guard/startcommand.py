"""Start commands that would reach the cloud's instance metadata service.

A start command comes from the repository (Procfile, package.json, ...) or from a pinned
decision anyone with write access to the XR's /status can edit. On a vm it runs on an
instance whose metadata service hands out the instance role's credentials, so a command
that names the metadata endpoint, in any of the spellings an IPv4 address accepts
(dotted, decimal, hex, octal, mixed), is refused. IMDSv2 on the launch template is the
first guard; this is the second, and it is a denylist of known forms, not a sandbox.
"""

from __future__ import annotations

import ipaddress
import re
import socket

MAX_START_COMMAND = 1024
# Names that resolve to a metadata service on AWS, GCP and Azure instances.
_METADATA_NAMES = ("instance-data", "metadata.google.internal", "metadata.goog", "metadata.azure")
# 169.254.x.y written with dashes or dots inside a name (169-254-169-254.nip.io, ...).
_LINK_LOCAL_NAME = re.compile(r"169[-_.]254[-_.]\d{1,3}[-_.]\d{1,3}")
_TOKEN = re.compile(r"[0-9A-Za-z.:%\[\]-]+")
_NUMERIC_V4 = re.compile(r"^(0x[0-9a-f]+|\d+)(\.(0x[0-9a-f]+|\d+)){0,3}$")
# AWS's IPv6 metadata endpoint (fd00:ec2::254) and its neighbours.
_AWS_V6 = ipaddress.IPv6Network("fd00:ec2::/64")


def _link_local(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(addr, ipaddress.IPv6Address):
        mapped = addr.ipv4_mapped
        if mapped is not None:
            return mapped.is_link_local
        return addr.is_link_local or addr in _AWS_V6
    return addr.is_link_local


def _token_reaches(token: str) -> bool:
    t = token.strip("[]").lower()
    if not t:
        return False
    if any(name in t for name in _METADATA_NAMES) or _LINK_LOCAL_NAME.search(t):
        return True
    if ":" in t:
        try:
            return _link_local(ipaddress.IPv6Address(t.split("%", 1)[0]))
        except ValueError:
            return any(_v4_reaches(part) for part in t.split(":"))  # host:port
    return _v4_reaches(t)


def _v4_reaches(t: str) -> bool:
    if not _NUMERIC_V4.match(t):
        return False
    try:  # inet_aton takes every legacy form: 2852039166, 0xa9fea9fe, 0251.0376.0251.0376
        return _link_local(ipaddress.IPv4Address(socket.inet_aton(t)))
    except (OSError, ValueError):
        return False


def metadata_reference(command: str) -> str | None:
    """The part of `command` that names a metadata endpoint, or None."""
    for m in _TOKEN.finditer(command):
        if _token_reaches(m.group(0)):
            return m.group(0)[:80]
    return None
