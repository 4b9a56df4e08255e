"""Every decided fact says where it came from, and confidence follows: a port read in the
repository scores higher than a framework's default, a start command from a Procfile higher
than one built from the entry module."""

from __future__ import annotations

from pathlib import Path

from analysis_fixtures import write_files

from function.analysis.analyzer import analyze_path

FLASK = "from flask import Flask\napp = Flask(__name__)\n"


def test_framework_default_port_is_marked_default_and_scores_lower(tmp_path: Path) -> None:
    write_files(tmp_path / "default", {"requirements.txt": "flask\ngunicorn\n", "app.py": FLASK})
    write_files(
        tmp_path / "explicit",
        {
            "requirements.txt": "flask\ngunicorn\n",
            "app.py": FLASK + "app.run(host='0.0.0.0', port=5055)\n",
            "Procfile": "web: gunicorn app:app --bind 0.0.0.0:5055\n",
        },
    )
    default = analyze_path(tmp_path / "default")
    explicit = analyze_path(tmp_path / "explicit")
    assert default.ports == [5000] and explicit.ports == [5055]
    assert default.sources["port"] == "default"
    assert default.sources["start_command"] == "inferred"
    assert explicit.sources["port"] == "repository"
    assert explicit.sources["start_command"] == "repository"
    assert default.sources["framework"] == explicit.sources["framework"] == "repository"
    port_evidence = next(e for e in default.evidence if e.fact == "port")
    assert port_evidence.source == "default" and port_evidence.file == "requirements.txt"
    assert default.confidence < 0.7 < explicit.confidence


def test_missing_server_program_is_installed_and_said(tmp_path: Path) -> None:
    write_files(tmp_path, {"requirements.txt": "flask\n", "app.py": FLASK})
    profile = analyze_path(tmp_path)
    assert profile.build_command == "pip install -r requirements.txt && pip install gunicorn"
    notes = [e.value for e in profile.evidence if e.fact == "build_command"]
    assert "gunicorn is not a dependency: the build installs it" in notes
