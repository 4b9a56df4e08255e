"""URL rules: accepted schemes, the SSRF guard, redaction, ref names."""

from __future__ import annotations

import pytest

from function.analysis.analyzer import AnalysisError, Analyzer, RepoCredentials
from function.analysis.fetch import FetchError, check_ref, pick_sha
from function.analysis.remote import (
    RemoteRefusedError,
    guard,
    literal_ip,
    parse_remote,
    redact,
)
from function.analysis.settings import AnalysisSettings

REFUSED_HOSTS = [
    "127.0.0.1", "127.1", "2130706433", "0x7f000001", "0177.0.0.1", "0x7f.0.0.1", "localhost",
    "0.0.0.0", "0", "10.0.0.1", "172.16.5.4", "192.168.1.10", "169.254.169.254",
    "2852039166", "0xa9fea9fe", "100.64.0.1", "224.0.0.1", "255.255.255.255",
    "[::1]", "[::]", "[fd00::1]", "[fc00::5]", "[fe80::1]", "[::ffff:127.0.0.1]",
    "[::ffff:169.254.169.254]", "[::ffff:a9fe:a9fe]", "[64:ff9b::a9fe:a9fe]",
    "[2002:7f00:1::]", "[2001:db8::1]", "[ff02::1]",
]  # fmt: skip


def _forms(host: str) -> list[str]:
    return [f"https://{host}/org/repo.git", f"git://{host}:9418/repo", f"ssh://git@{host}/repo"]


@pytest.mark.parametrize("host", REFUSED_HOSTS)
async def test_non_public_addresses_are_refused(host: str) -> None:
    for url in _forms(host):
        remote = parse_remote(url, allow_file=False)
        with pytest.raises(RemoteRefusedError, match="loopback, private"):
            await guard(remote, allow_private=False, seconds=5)


async def test_scp_like_ssh_urls_are_guarded_too() -> None:
    remote = parse_remote("git@127.0.0.1:org/repo.git", allow_file=False)
    assert remote.scheme == "ssh"
    with pytest.raises(RemoteRefusedError):
        await guard(remote, allow_private=False, seconds=5)


async def test_public_literal_address_is_accepted_and_pinned() -> None:
    remote = parse_remote("https://140.82.112.3/org/repo.git", allow_file=False)
    pinned = await guard(remote, allow_private=False, seconds=5)
    assert str(pinned) == "140.82.112.3"


async def test_private_addresses_allowed_only_when_settings_say_so() -> None:
    remote = parse_remote("git://127.0.0.1:9418/repo", allow_file=False)
    assert await guard(remote, allow_private=True, seconds=5) is None


@pytest.mark.parametrize(
    ("host", "address"),
    [("2130706433", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"),
     ("127.1", "127.0.0.1"), ("[::ffff:127.0.0.1]", "::ffff:7f00:1"), ("example.com", None)],
)  # fmt: skip
def test_literal_ip_understands_legacy_forms(host: str, address: str | None) -> None:
    found = literal_ip(host)
    assert (str(found) if found else None) == address


@pytest.mark.parametrize(
    "url",
    [
        "http://github.com/org/repo.git", "ftp://example.com/repo", "ext::sh -c touch% /tmp/x",
        "fd::17", "file:///etc", "/srv/git/repo", "-uhack", "--upload-pack=touch /tmp/x",
        "https://exa mple.com/repo", "https://example.com:99999/repo", "https:///repo",
        "https://host\n.com/repo",
    ],
)  # fmt: skip
def test_unaccepted_urls_are_refused(url: str) -> None:
    with pytest.raises(RemoteRefusedError):
        parse_remote(url, allow_file=False)


def test_file_urls_need_the_setting() -> None:
    with pytest.raises(RemoteRefusedError, match="file://"):
        parse_remote("file:///srv/repo", allow_file=False)
    assert parse_remote("file:///srv/repo", allow_file=True).scheme == "file"
    with pytest.raises(RemoteRefusedError):
        parse_remote("file://evil.example.com/srv/repo", allow_file=True)


def test_redaction_removes_userinfo() -> None:
    text = "fatal: unable to access 'https://bot:ghp_SECRET@github.com/o/r.git/': 403"
    assert "ghp_SECRET" not in redact(text)
    assert "bot" not in redact(text)
    remote = parse_remote("https://bot:ghp_SECRET@github.com/o/r.git", allow_file=False)
    assert remote.display == "https://github.com/o/r.git"


async def test_errors_never_carry_credentials() -> None:
    analyzer = Analyzer(AnalysisSettings())
    credentials = RepoCredentials.from_secret_data({"token": b"tok_SECRET", "username": "me"})
    with pytest.raises(AnalysisError) as caught:
        await analyzer.analyze(
            "https://me:url_SECRET@169.254.169.254/org/repo.git", "main", credentials
        )
    error = caught.value
    assert "SECRET" not in str(error) and "SECRET" not in error.url
    assert error.url == "https://169.254.169.254/org/repo.git"
    assert error.ref == "main"
    assert "loopback, private" in error.reason
    assert "Traceback" not in str(error)
    assert "tok_SECRET" not in repr(credentials)


@pytest.mark.parametrize(
    "ref",
    ["--upload-pack=x", "-b", "a..b", "has space", "x:y", "x~1", "main^", "refs/heads/",
     ".hidden", "a\x00b", "x" * 300, "HEAD@{1}"],
)  # fmt: skip
def test_bad_refs_are_refused(ref: str) -> None:
    with pytest.raises(FetchError):
        check_ref(ref)


@pytest.mark.parametrize("ref", ["main", "release/1.2", "v1.0.0", "refs/heads/main", "HEAD"])
def test_good_refs_pass(ref: str) -> None:
    assert check_ref(ref) == ref


def test_annotated_tags_resolve_to_the_commit() -> None:
    listing = (
        "1111111111111111111111111111111111111111\trefs/tags/v1\n"
        "2222222222222222222222222222222222222222\trefs/tags/v1^{}\n"
    )
    assert pick_sha(listing, "v1") == "2" * 40
    branch = "3" * 40 + "\trefs/heads/v1\n"
    assert pick_sha(branch + listing, "v1") == "3" * 40
    assert pick_sha(listing, "v2") is None


async def test_full_sha_needs_no_network() -> None:
    analyzer = Analyzer(AnalysisSettings())
    sha = "a" * 40
    # unroutable documentation address: any network use would fail or be refused
    assert await analyzer.resolve("https://192.0.2.1/org/repo.git", sha.upper()) == sha
