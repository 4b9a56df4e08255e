"""A private repository over HTTPS: the token from the function credential is sent, a wrong
or missing one is a clear authentication failure, and the token never shows anywhere."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from analysis_fixtures import FIXTURES, make_repo
from analysis_httpsgit import PrivateGitServer, private_git_server

from function.analysis.analyzer import AnalysisError, Analyzer
from function.analysis.credentials import RepoCredentials
from function.analysis.settings import AnalysisSettings

pytestmark = pytest.mark.integration

TOKEN = "ghp_s3cr3t-t0ken-for-tests"
FLASK = next(f for f in FIXTURES if f.name == "flask-env-default")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PrivateGitServer, str]]:
    root = tmp_path_factory.mktemp("private")
    sha = make_repo(root / "app", FLASK.files)
    certs = tmp_path_factory.mktemp("certs")
    with private_git_server(root, certs, "x-access-token", TOKEN) as srv:
        yield srv, sha


def settings(srv: PrivateGitServer, **extra: object) -> AnalysisSettings:
    return AnalysisSettings.model_validate(
        {"allowPrivateAddresses": True, "caBundle": srv.ca_pem, "timeoutSeconds": 30, **extra}
    )


async def test_token_from_the_credential_opens_the_private_repository(
    server: tuple[PrivateGitServer, str],
) -> None:
    srv, sha = server
    creds = RepoCredentials.from_secret_data({"token": TOKEN.encode()})
    profile = await Analyzer(settings(srv)).analyze(srv.repo_url("app"), "main", creds)
    assert profile.commit == sha and profile.framework == "flask"
    assert srv.requests and all(r["authorized"] for r in srv.requests)


@pytest.mark.parametrize("token", [None, "wrong-token"], ids=["no-credential", "wrong-token"])
async def test_missing_or_wrong_token_is_a_clear_auth_failure(
    server: tuple[PrivateGitServer, str], token: str | None
) -> None:
    srv, _ = server
    creds = RepoCredentials.from_secret_data({"token": token.encode()}) if token else None
    with pytest.raises(AnalysisError) as err:
        await Analyzer(settings(srv)).analyze(srv.repo_url("app"), "main", creds)
    message = str(err.value)
    assert "authentication failed" in message and "'main'" in message
    assert srv.repo_url("app") in message
    assert TOKEN not in message and "wrong-token" not in message


async def test_untrusted_certificate_is_refused_without_the_ca_bundle(
    server: tuple[PrivateGitServer, str],
) -> None:
    srv, _ = server
    creds = RepoCredentials.from_secret_data({"token": TOKEN.encode()})
    plain = AnalysisSettings.model_validate({"allowPrivateAddresses": True, "timeoutSeconds": 30})
    with pytest.raises(AnalysisError) as err:
        await Analyzer(plain).analyze(srv.repo_url("app"), "main", creds)
    assert TOKEN not in str(err.value)


async def test_loopback_server_is_refused_unless_the_platform_allows_it(
    server: tuple[PrivateGitServer, str],
) -> None:
    srv, _ = server
    strict = AnalysisSettings.model_validate({"caBundle": srv.ca_pem})
    with pytest.raises(AnalysisError, match=r"127\.0\.0\.1"):
        await Analyzer(strict).analyze(srv.repo_url("app"), "main")
