"""`input.policy.https.keyVaultCertificate` (function/policy/settings.py): the platform's
Key Vault certificate Azure's TLS terminators serve, its derived URIs, its validation and
its place in the decision fingerprint."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from function.input import FunctionInput
from function.policy.settings import KeyVaultCertificate, PolicySettings

VAULT = (
    "/subscriptions/00000000-0000-0000-0000-00000000000a/resourceGroups/platform-certs"
    "/providers/Microsoft.KeyVault/vaults/acme-certs"
)


def _kv(**over: str) -> KeyVaultCertificate:
    return KeyVaultCertificate.model_validate({"vaultId": VAULT, "name": "wildcard"} | over)


def test_the_uris_are_versionless_and_name_the_vault() -> None:
    kv = _kv()
    assert kv.vault_name == "acme-certs"
    assert kv.secret_id == "https://acme-certs.vault.azure.net/secrets/wildcard"
    assert kv.certificate_uri == "https://acme-certs.vault.azure.net/certificates/wildcard"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("vaultId", "acme-certs"),  # a name, not the ARM id
        ("vaultId", VAULT.replace("Microsoft.KeyVault", "Microsoft.Storage")),
        ("vaultId", VAULT.replace("acme-certs", "a" * 25)),  # vault names hold 3-24
        ("vaultId", VAULT + "/certificates/x"),
        ("name", "wild_card"),
        ("name", "a" * 128),
    ],
)
def test_a_malformed_reference_is_refused_naming_the_field(field: str, value: str) -> None:
    reference = {"vaultId": VAULT, "name": "wildcard", field: value}
    with pytest.raises(ValidationError) as e:
        FunctionInput.model_validate({"policy": {"https": {"keyVaultCertificate": reference}}})
    assert any(err["loc"][-1] == field for err in e.value.errors())


def test_the_fingerprint_moves_only_when_it_is_set() -> None:
    assert PolicySettings().fingerprint() == {}
    fp = PolicySettings.model_validate(
        {"https": {"keyVaultCertificate": {"vaultId": VAULT, "name": "wildcard"}}}
    ).fingerprint()
    assert fp == {"keyVaultCertificate": [VAULT, "wildcard"]}
    other = PolicySettings.model_validate(
        {"https": {"keyVaultCertificate": {"vaultId": VAULT, "name": "other"}}}
    ).fingerprint()
    assert other != fp


def test_an_arm_id_in_another_letter_case_is_the_same_vault() -> None:
    """ARM ids are case-insensitive: Azure itself returns `resourcegroups` and
    `microsoft.keyvault` as often as the documented case."""
    lower = VAULT.replace("resourceGroups", "resourcegroups").replace(
        "Microsoft.KeyVault", "microsoft.keyvault"
    )
    kv = _kv(vaultId=lower)
    assert kv.vault_name == "acme-certs"
    assert kv.secret_id == "https://acme-certs.vault.azure.net/secrets/wildcard"
