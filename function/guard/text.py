"""Untrusted text: find what must be refused, or make model output safe to show.

Tenant input with control characters is refused (the caller names the field). Model
output is never trusted: what of it is kept is cut to a length, stripped of control
characters and markup, and labelled as the model's.
"""

from __future__ import annotations

import re
import unicodedata

# Unicode format characters that reorder or hide text (the "Trojan Source" set).
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_MULTILINE_OK = frozenset("\n\t\r")
MODEL_TEXT_LABEL = "model text, unverified"


_BIDI_CLASS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# Cc is exactly U+0000-001F and U+007F-009F; Zl and Zp are U+2028 and U+2029.
_BAD_ONE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI_CLASS}]")
_BAD_MULTILINE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI_CLASS}]")


def bad_char(text: str, multiline: bool = False) -> str | None:
    """A description of the first character that has no place in `text`, or None.

    Refused: C0/C1 control characters and DEL (tab, newline and carriage return are
    allowed when `multiline`), Unicode line/paragraph separators unless `multiline`, and
    the bidirectional controls that make text read differently from what it is.
    """
    m = (_BAD_MULTILINE if multiline else _BAD_ONE_LINE).search(text)
    if m is None:
        return None
    c = m.group(0)
    name = unicodedata.name(c, "control character")
    return f"contains a control character (U+{ord(c):04X} {name}) at position {m.start()}"


_TAG = re.compile(r"<[^<>]{0,200}>")
_IMAGE_OR_LINK = re.compile(r"!?\[([^\]]{0,200})\]\([^)]{0,500}\)")
_FENCE = re.compile(r"`{1,3}")
_EMPHASIS = re.compile(r"(\*{1,3}|_{2,3}|~~)")
_LINE_MARKUP = re.compile(r"(?m)^\s{0,3}(#{1,6}|>+|[-*+]|\d{1,3}[.)])\s+")
_SPACE = re.compile(r"\s+")


def clean_model_text(text: str, limit: int = 300) -> str:
    """Model output as plain, single-line text of at most `limit` characters.

    Control and bidirectional characters become spaces; HTML tags, markdown links,
    images, code fences, emphasis, headings, quotes and list markers are removed (a
    link keeps its text); whitespace collapses to single spaces; longer text is cut
    and ends with an ellipsis.
    """
    chars = [
        " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in _BIDI else c for c in text
    ]
    out = "".join(chars)
    out = _LINE_MARKUP.sub("", out.replace("\r", "\n"))
    out = _IMAGE_OR_LINK.sub(r"\1", out)
    out = _TAG.sub(" ", out)
    out = _FENCE.sub("", out)
    out = _EMPHASIS.sub("", out)
    out = out.replace("<", " ").replace(">", " ")
    out = _SPACE.sub(" ", out).strip()
    if len(out) > limit:
        out = out[: max(0, limit - 1)].rstrip() + "…"
    return out


def labelled_model_text(text: str, limit: int = 300) -> str | None:
    """`clean_model_text`, prefixed with the label that says whose words these are."""
    cleaned = clean_model_text(text, limit)
    return f"[{MODEL_TEXT_LABEL}] {cleaned}" if cleaned else None
