"""Credentials for private repositories (from a Crossplane function credential)."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, SecretStr

DEFAULT_TOKEN_USERNAME = "x-access-token"  # noqa: S105 (a user name)


class RepoCredentials(BaseModel):
    """A token for https remotes or an SSH private key for ssh remotes. Never logged."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token: SecretStr | None = None
    username: str | None = None
    ssh_private_key: SecretStr | None = None

    @classmethod
    def from_secret_data(cls, data: Mapping[str, bytes | str]) -> RepoCredentials:
        """Build from a Secret's data (keys: token or password, username, sshPrivateKey
        or ssh-privatekey)."""

        def get(*keys: str) -> str | None:
            for key in keys:
                value = data.get(key)
                if value is not None:
                    text = value.decode() if isinstance(value, bytes) else value
                    return text.strip() if key != "sshPrivateKey" else text
            return None

        token = get("token", "password")
        key = get("sshPrivateKey", "ssh-privatekey", "ssh_private_key")
        return cls(
            token=SecretStr(token) if token else None,
            username=get("username") or None,
            ssh_private_key=SecretStr(key) if key else None,
        )

    def secrets(self) -> list[str]:
        """The secret strings, to scrub them from any text shown to people."""
        out = []
        for secret in (self.token, self.ssh_private_key):
            if secret is not None and secret.get_secret_value():
                out.append(secret.get_secret_value())
        return out
