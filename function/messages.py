"""Status and result messages kept within their limits, shortened where it loses least (pure).

A message names images by their full reference (an Artifact Registry one is ~90 characters
before its 40-character commit tag) and says where a log is; Kubernetes and the XRD bound
a message's length. Cutting the end loses what matters most (where to look, what is kept),
so an over-long message first names each commit-tagged image by its last path segment and
the tag's first 12 characters (`app:264f6cc6078a`; the full references stay in
status.rollout.image and status.build.image), and only then is cut; a clause added to a
message (what is kept meanwhile) is added whole or not at all.
"""

from __future__ import annotations

import re

# <registry>/<path>/<name>:<tag>, the tag a 40-hex commit SHA, optionally after a service
# name (`web-<sha>`, a monorepo's services).
IMAGE_REF = re.compile(
    r"(?:[\w.-]+(?::\d+)?/)+(?P<name>[\w.-]+):(?P<tag>(?:[\w.-]*-)?[0-9a-f]{12})[0-9a-f]{28}\b"
)


def compact_images(text: str) -> str:
    """`text` with every commit-tagged image reference as `<name>:<tag's first 12>`."""
    return IMAGE_REF.sub(lambda m: f"{m['name']}:{m['tag']}", text)


def with_suffix(message: str, suffix: str, limit: int) -> str:
    """`message + suffix` within `limit` characters: image references compacted when it is
    too long; a suffix that still does not fit whole is left out, never cut mid-word."""
    if len(message) + len(suffix) <= limit:
        return message + suffix
    short = compact_images(message)
    if len(short) + len(suffix) <= limit:
        return short + suffix
    return message[:limit]
