"""`scia analyze` prints what the analyzer sees; settings accept the CRD's camelCase keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from analysis_fixtures import FIXTURES, make_repo, write_files
from click.testing import CliRunner
from pydantic import ValidationError

from function.analysis.profile import AppProfile
from function.analysis.settings import AnalysisSettings
from function.cli.main import cli

RAILS = next(f for f in FIXTURES if f.name == "rails")


def test_table_shows_facts_and_evidence(tmp_path: Path) -> None:
    write_files(tmp_path, RAILS.files)
    result = CliRunner().invoke(cli, ["analyze", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "framework     rails" in result.output
    assert "ports         3000" in result.output
    assert "config/puma.rb:1" in result.output


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_machine_formats_round_trip(tmp_path: Path, fmt: str) -> None:
    write_files(tmp_path, RAILS.files)
    result = CliRunner().invoke(cli, ["analyze", str(tmp_path), "-o", fmt])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output) if fmt == "json" else yaml.safe_load(result.output)
    profile = AppProfile.model_validate(data)
    assert profile.framework == "rails" and profile.datastores == ["postgres"]


def test_local_git_repo_at_a_ref(tmp_path: Path) -> None:
    sha = make_repo(tmp_path / "repo", RAILS.files)
    result = CliRunner().invoke(cli, ["analyze", str(tmp_path / "repo"), "--ref", "main",
                                      "-o", "json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["commit"] == sha


def test_errors_are_one_clear_line() -> None:
    result = CliRunner().invoke(cli, ["analyze", "https://169.254.169.254/x.git"])
    assert result.exit_code == 1
    assert "cannot analyze https://169.254.169.254/x.git" in result.output
    assert "Traceback" not in result.output


def test_settings_accept_camel_case_and_forbid_unknown_keys() -> None:
    settings = AnalysisSettings.model_validate(
        {"allowFileUrls": True, "maxCloneBytes": 1024, "timeoutSeconds": 5, "cacheSize": 3}
    )
    assert settings.allow_file_urls and settings.max_clone_bytes == 1024
    assert AnalysisSettings(allow_private_addresses=True).allow_private_addresses
    with pytest.raises(ValidationError):
        AnalysisSettings.model_validate({"maxCloneByte": 1})
    with pytest.raises(ValidationError):
        AnalysisSettings.model_validate({"timeoutSeconds": 0})
