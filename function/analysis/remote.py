"""Remote URLs: parsing, redaction and the SSRF guard (which hosts git may talk to)."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

Scheme = Literal["https", "ssh", "git", "file"]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_DEFAULT_PORTS: dict[str, int] = {"https": 443, "ssh": 22, "git": 9418}
_SCP_LIKE = re.compile(
    r"^(?:(?P<user>[A-Za-z0-9._~-]+)@)?(?P<host>[A-Za-z0-9.-]+):(?P<path>[^/:].*)$"
)
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")
_HOSTNAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*\.?$")


class RemoteRefusedError(ValueError):
    """The URL is not allowed; the message is safe to show (no secrets)."""


def redact(text: str) -> str:
    """Remove userinfo (user:token@) from every URL in `text`."""
    return _USERINFO.sub(r"\g<scheme>***@", text)


@dataclass(frozen=True)
class Remote:
    """A parsed remote. `url` is what git is given; `display` is safe to show."""

    scheme: Scheme
    url: str
    host: str
    port: int | None
    path: str
    display: str
    user: str | None = None

    @property
    def cache_key(self) -> str:
        return self.display


def parse_remote(url: str, *, allow_file: bool) -> Remote:
    """Parse a repository URL. Refuses unknown schemes, option-looking strings, odd hosts."""
    url = url.strip()
    if not url or url.startswith("-") or any(ord(c) < 0x20 or c == "\x7f" for c in url):
        raise RemoteRefusedError("not a repository URL")
    if "://" not in url:
        scp = _SCP_LIKE.match(url)
        if scp and "/" not in scp.group("host"):
            host = scp.group("host")
            _check_hostname(host)
            return Remote(
                scheme="ssh",
                url=url,
                host=host,
                port=None,
                path=scp.group("path"),
                display=url,
                user=scp.group("user"),
            )
        if allow_file and Path(url).is_absolute():
            return _file_remote(Path(url))
        raise RemoteRefusedError("only https://, ssh:// and git:// URLs are accepted")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if not allow_file:
            raise RemoteRefusedError("file:// URLs are not allowed by the settings")
        if parts.netloc not in ("", "localhost"):
            raise RemoteRefusedError("file:// URLs must not name a host")
        return _file_remote(Path(parts.path))
    if scheme not in ("https", "ssh", "git"):
        raise RemoteRefusedError(f"scheme {scheme!r} is not accepted (use https, ssh or git)")
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        raise RemoteRefusedError("the URL has an invalid port") from None
    if host.startswith("[") or ":" in host:
        host = host.strip("[]")
    _check_hostname(host)
    display_netloc = _netloc(host, port)
    if scheme == "ssh" and parts.username:
        display_netloc = (
            f"{parts.username}@{display_netloc}" if not parts.password else display_netloc
        )
    display = urlunsplit((scheme, display_netloc, parts.path, "", ""))
    return Remote(
        scheme=scheme,  # type: ignore[arg-type]
        url=url,
        host=host,
        port=port,
        path=parts.path,
        display=display,
        user=parts.username,
    )


def _file_remote(path: Path) -> Remote:
    resolved = str(path)
    return Remote(scheme="file", url=resolved, host="", port=None, path=resolved, display=resolved)


def _netloc(host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}" if port else shown


def _check_hostname(host: str) -> None:
    if not host:
        raise RemoteRefusedError("the URL has no host")
    if literal_ip(host) is not None:
        return
    if not _HOSTNAME.match(host):
        raise RemoteRefusedError("the host name is not valid")


def literal_ip(host: str) -> IPAddress | None:
    """The address a host string denotes by itself, including the legacy IPv4 forms
    resolvers accept (2130706433, 0x7f000001, 0177.0.0.1, 127.1)."""
    candidate = host.strip("[]").rstrip(".")
    try:
        address = ipaddress.ip_address(candidate.split("%", 1)[0])
    except ValueError:
        pass
    else:
        return address
    if re.fullmatch(r"[0-9a-fA-FxX.]+", candidate) and re.match(r"^(0[xX]|[0-9])", candidate):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(candidate))
        except OSError:
            return None
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in ipaddress.IPv6Network("64:ff9b::/96") or address in ipaddress.IPv6Network(
        "::/96"
    ):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """True for globally routable unicast addresses only."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and not is_public(embedded):
            return False
    return address.is_global and not address.is_multicast and not address.is_unspecified


async def resolve_host(host: str, port: int, seconds: float) -> list[IPAddress]:
    """Every address `host` resolves to (getaddrinfo in a thread, bounded)."""
    literal = literal_ip(host)
    if literal is not None:
        return [literal]
    try:
        infos = await asyncio.wait_for(
            asyncio.to_thread(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM),
            seconds,
        )
    except (OSError, TimeoutError, UnicodeError):
        raise RemoteRefusedError("the host name does not resolve") from None
    out: list[IPAddress] = []
    for info in infos:
        raw = str(info[4][0]).split("%", 1)[0]
        address = ipaddress.ip_address(raw)
        if address not in out:
            out.append(address)
    if not out:
        raise RemoteRefusedError("the host name does not resolve")
    return out


async def guard(remote: Remote, *, allow_private: bool, seconds: float) -> IPAddress | None:
    """Refuse remotes whose host is (or resolves to) a non-public address.

    Returns the address git must use (so a second DNS answer cannot differ), or None when
    no pinning applies (file remotes, or private addresses allowed)."""
    if remote.scheme == "file":
        return None
    if allow_private:
        return None
    port = remote.port or _DEFAULT_PORTS[remote.scheme]
    addresses = await resolve_host(remote.host, port, seconds)
    for address in addresses:
        if not is_public(address):
            raise RemoteRefusedError(
                "the host is on a loopback, private, link-local or reserved address"
            )
    return addresses[0]
