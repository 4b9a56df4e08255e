"""Resolve a ref to a commit and read one commit's files: shallow, single-commit, bounded."""

from __future__ import annotations

import asyncio
import posixpath
import re

from function.analysis.gitrun import GitError, GitSession, directory_bytes
from function.analysis.settings import AnalysisSettings
from function.analysis.tree import MemoryTree, decode, select_for_reading

FULL_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_BAD_REF = re.compile(r"(^[-/.])|(\.\.)|([\x00-\x20~^:?*\[\\\x7f])|(@\{)|(/$)|(\.lock$)|(//)")
_MODE_SYMLINK = "120000"
_MAX_LS_REMOTE_BYTES = 1024 * 1024


class FetchError(Exception):
    """A reason (short, no secrets) why the repository could not be read."""


def check_ref(ref: str) -> str:
    """The ref as git will be asked for it; refuses option-like or malformed names."""
    ref = ref.strip() or "HEAD"
    if len(ref) > 255 or _BAD_REF.search(ref):
        raise FetchError("the ref is not a valid branch, tag or commit name")
    return ref


def ref_patterns(ref: str) -> list[str]:
    if ref == "HEAD":
        return ["HEAD"]
    if ref.startswith("refs/"):
        return [ref, f"{ref}^{{}}"]
    return [f"refs/heads/{ref}", f"refs/tags/{ref}", f"refs/tags/{ref}^{{}}"]


def pick_sha(listing: str, ref: str) -> str | None:
    """From `git ls-remote` output: a branch first, then a tag (peeled when annotated)."""
    found: dict[str, str] = {}
    for line in listing.splitlines():
        sha, _, name = line.partition("\t")
        if FULL_SHA.match(sha):
            found[name.strip()] = sha
    for pattern in ref_patterns(ref):
        if pattern.endswith("^{}"):
            continue
        peeled = found.get(f"{pattern}^{{}}")
        if peeled:
            return peeled
        if pattern in found:
            return found[pattern]
    return None


def explain(error: GitError, what: str) -> str:
    """A short reason from git's stderr (the caller redacts and scrubs it)."""
    if error.over_limit:
        return f"over the {error.over_limit} limit"
    if error.timed_out:
        return f"{what} took longer than the time limit"
    text = error.stderr.lower()
    if any(
        key in text
        for key in (
            "authentication failed", "could not read username", "could not read password",
            "terminal prompts disabled", "permission denied", "http 401", "http 403",
            "returned error: 401", "returned error: 403", "invalid username or password",
        )
    ):  # fmt: skip
        return "authentication failed (private repository, or the credential is wrong)"
    if "not our ref" in text or "couldn't find remote ref" in text or "no such ref" in text:
        return "unknown ref (the server does not have this commit)"
    if any(
        key in text
        for key in (
            "repository not found", "does not appear to be a git repository", "not found",
            "no such repository", "access denied", "returned error: 404",
        )
    ):  # fmt: skip
        return "repository not found (or not visible with the given credential)"
    if "host key verification failed" in text:
        return "the SSH host key does not match the known hosts"
    if "redirect" in text:
        return "the server answered with a redirect, which is not followed"
    if any(
        key in text
        for key in (
            "could not resolve", "connection refused", "unable to connect", "timed out",
            "network is unreachable", "no route to host", "failed to connect",
            "unable to access", "connection reset", "could not connect",
        )
    ):  # fmt: skip
        return "repository unreachable"
    if "transport" in text and "not allowed" in text:
        return "this URL scheme is not allowed"
    return f"{what} failed"


async def resolve_ref(git: GitSession, ref: str, seconds: float) -> str:
    """`git ls-remote` restricted to the ref's candidate names."""
    try:
        out = await git.run(["ls-remote", "--", git.fetch_url, *ref_patterns(ref)], seconds=seconds)
    except GitError as error:
        raise FetchError(explain(error, "listing refs")) from None
    sha = pick_sha(out.stdout[:_MAX_LS_REMOTE_BYTES].decode(errors="replace"), ref)
    if sha is None:
        if re.fullmatch(r"[0-9a-f]{4,39}", ref):
            raise FetchError("abbreviated commit SHAs are not supported; give all 40 digits")
        raise FetchError("unknown ref (no such branch, tag or commit)")
    return sha


async def fetch_commit(git: GitSession, sha: str, settings: AnalysisSettings) -> str:
    """Shallow-fetch exactly one commit into the session's bare repository."""
    limit = settings.max_clone_bytes
    repo = git.repo

    def watch() -> str:
        return "clone size" if directory_bytes(repo / "objects") > limit else ""

    args = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--depth=1",
            "--no-recurse-submodules", "--", git.fetch_url, sha]  # fmt: skip
    try:
        await git.run(args, seconds=settings.timeout_seconds, watch=watch)
        if await asyncio.to_thread(watch):
            raise GitError("", over_limit="clone size")
        out = await git.run(["rev-parse", "--verify", "--quiet", f"{sha}^{{commit}}"], seconds=10)
    except GitError as error:
        raise FetchError(explain(error, "fetching the commit")) from None
    return out.stdout.decode().strip()


async def read_commit(git: GitSession, sha: str, settings: AnalysisSettings) -> MemoryTree:
    """List the commit's tree and read the files the detectors need (no checkout)."""
    try:
        listing = await git.run(
            ["ls-tree", "-r", "-l", "-z", "--full-tree", sha], seconds=settings.timeout_seconds
        )
    except GitError as error:
        raise FetchError(explain(error, "listing files")) from None
    blobs: dict[str, tuple[str, int]] = {}
    links: dict[str, str] = {}
    for entry in listing.stdout.split(b"\0"):
        if not entry:
            continue
        meta, _, raw_path = entry.partition(b"\t")
        fields = meta.split()
        if len(fields) != 4 or fields[1] != b"blob":
            continue  # submodules (commit) and anything odd
        path = raw_path.decode(errors="replace")
        mode, oid, size = fields[0].decode(), fields[2].decode(), fields[3].decode()
        if mode == _MODE_SYMLINK:
            links[path] = oid
        else:
            blobs[path] = (oid, int(size) if size.isdigit() else 0)
        if len(blobs) + len(links) > settings.max_files:
            raise FetchError(f"over the file count limit ({settings.max_files} files)")
    targets = await _cat_blobs(git, list(links.values()), settings.timeout_seconds)
    for path, oid in links.items():
        target = decode(targets.get(oid, b"")) or ""
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        if target.startswith("/") or resolved.startswith("..") or resolved not in blobs:
            continue  # leaves the checkout, or points at a folder / nothing
        blobs[path] = blobs[resolved]
    chosen = select_for_reading(
        ((path, size) for path, (_, size) in blobs.items()),
        max_file_bytes=settings.max_file_bytes,
        max_read_bytes=settings.max_read_bytes,
    )
    data = await _cat_blobs(git, [blobs[p][0] for p in chosen], settings.timeout_seconds)
    contents: dict[str, bytes] = {}
    total = 0
    for path in chosen:
        raw = data.get(blobs[path][0])
        if raw is None:
            continue
        total += len(raw)
        contents[path] = raw  # decoded in the analysis worker, not here
    return MemoryTree(blobs.keys(), contents, total)


async def _cat_blobs(git: GitSession, oids: list[str], seconds: float) -> dict[str, bytes]:
    unique = sorted(set(oids))
    if not unique:
        return {}
    try:
        out = await git.run(
            ["cat-file", "--batch"], seconds=seconds, stdin="\n".join(unique).encode() + b"\n"
        )
    except GitError as error:
        raise FetchError(explain(error, "reading files")) from None
    result: dict[str, bytes] = {}
    buffer = out.stdout
    position = 0
    while position < len(buffer):
        newline = buffer.index(b"\n", position)
        header = buffer[position:newline].split()
        position = newline + 1
        if len(header) != 3:
            continue  # "<oid> missing"
        size = int(header[2])
        result[header[0].decode()] = buffer[position : position + size]
        position += size + 1
    return result
