"""The one error the analyzer raises, with a short message that never carries secrets."""

from __future__ import annotations


class AnalysisError(Exception):
    """A repository could not be analyzed.

    `url` is already redacted (no userinfo), `reason` is a short sentence.
    """

    def __init__(self, url: str, ref: str, reason: str) -> None:
        self.url = url
        self.ref = ref
        self.reason = reason
        at = f" at {ref!r}" if ref else ""
        super().__init__(f"cannot analyze {url}{at}: {reason}")
