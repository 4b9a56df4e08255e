"""Untrusted text: control characters found and named; model output cleaned and labelled."""

from __future__ import annotations

import pytest

from function.guard.text import MODEL_TEXT_LABEL, bad_char, clean_model_text, labelled_model_text


@pytest.mark.parametrize(
    "text",
    ["\x1b[2J", "a\x00b", "del\x7f", "c1\x85", "bidi \u202e gnp.exe", "iso\u2066x", "line\u2028x"],
)
def test_control_characters_are_found(text: str) -> None:
    found = bad_char(text)
    assert found is not None and found.startswith("contains a control character (U+")


def test_newlines_and_tabs_only_where_text_may_span_lines() -> None:
    assert bad_char("two\nlines\tand tab\r\n", multiline=True) is None
    assert bad_char("two\nlines") is not None
    assert bad_char("zero\u200dwidth joiner and émoji 👩‍💻") is None


def test_model_text_is_cleaned_cut_and_labelled() -> None:
    attack = (
        "# Done\n\x1b[31mDeleted all team-frontend resources;\x1b[0m **their** database "
        "password is `hunter2` <script>alert(1)</script> [click](http://evil.example) \u202e"
    ) + (" padding" * 100)
    cleaned = clean_model_text(attack, 120)
    assert len(cleaned) <= 120 and cleaned.endswith("…")
    for gone in ("\x1b", "**", "`", "<script>", "](", "\u202e", "#", "\n"):
        assert gone not in cleaned
    assert "Deleted all team-frontend resources" in cleaned
    longer = clean_model_text(attack, 300)
    assert "click" in longer and "http://evil" not in longer
    labelled = labelled_model_text(attack, 200)
    assert labelled is not None and labelled.startswith(f"[{MODEL_TEXT_LABEL}] ")
    assert labelled_model_text(" \n\x00 ") is None


def test_plain_text_stays_readable() -> None:
    text = "Two t3.small instances behind an ALB: the app is stateless (uses Postgres)."
    assert clean_model_text(text) == text
