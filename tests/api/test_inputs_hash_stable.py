"""A new field of the function input, at its default, never moves a pin's inputs hash.

The inputs hash (function/pinning.py) covers the input's decision fingerprint
(`FunctionInput.decision_fingerprint`): when it moves, every deployment of that cloud is
decided again at its next reconcile. A field that only names an identity or where alerts go
(gcp.projectNumber, azure.secretsWriterObjectId, gcp.notificationChannels) is no decision
input; one that is must enter only when set (as dataStores does), or be listed in
CHANGELOG.md as a change that re-decides every pin. Twice in one day a new field at its
default moved every GCP or Azure pin; these are the fingerprints of the default input as
they were before (commit 756f40c) and must stay.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from function.input import FunctionInput

DEFAULT_FINGERPRINTS = {
    "aws": "38dee403387bcf75424c616f41962a57dd7d6d4d8f538de3ef8269767fd4dd6f",
    "gcp": "00409a205e564b33e17d53c8469ded68a383a0c3637cd3bb24a2f628c226b4c1",
    "azure": "053a484627a36b1e8771260a690067919e2bc8d859f1231a3c6803ae083ae104",
}


def _digest(settings: FunctionInput) -> str:
    text = json.dumps(settings.decision_fingerprint(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("cloud", sorted(DEFAULT_FINGERPRINTS))
def test_the_default_inputs_fingerprint_has_not_moved(cloud: str) -> None:
    assert _digest(FunctionInput().for_cloud(cloud)) == DEFAULT_FINGERPRINTS[cloud]


@pytest.mark.parametrize(
    ("cloud", "settings"),
    [
        ("gcp", {"gcp": {"projectNumber": "123456789012"}}),
        ("gcp", {"gcp": {"notificationChannels": ["projects/acme-prod/notificationChannels/1"]}}),
        ("azure", {"azure": {"secretsWriterObjectId": "00000000-0000-0000-0000-000000000001"}}),
    ],
)
def test_fields_that_are_no_decision_input_never_move_it(
    cloud: str, settings: dict[str, object]
) -> None:
    assert (
        _digest(FunctionInput.model_validate(settings).for_cloud(cloud))
        == (DEFAULT_FINGERPRINTS[cloud])
    )
