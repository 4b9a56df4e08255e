"""A vm whose repository has no start command and no Dockerfile runs nothing made up.

The boot script used to fall back to `python3 -m http.server <port>` in the checkout: the
load balancer's health check passed, and the instance published the repository, `.git`
included, to the world. Now the unit fails saying why (in the setup log the instance ships
to the deployment's log group), so the health check fails and the rollout is not healthy.
A Node app keeps npm's own default (`npm start` runs `node server.js`).
"""

from __future__ import annotations

import pytest

from function.pinning import AnalysisSummary
from function.render.startup import AL2023, DEBIAN12, NO_START_COMMAND, Distro, startup_script

COMMIT = "a" * 40


def _script(language: str, distro: Distro, start: str | None = None) -> str:
    summary = AnalysisSummary(language=language, framework=None, port=8080, start_command=start)
    return startup_script("https://github.com/acme/app", COMMIT, summary, 8080, None, False, distro)


@pytest.mark.parametrize("distro", [AL2023, DEBIAN12], ids=lambda d: d.name)
@pytest.mark.parametrize("language", ["python", "go", "ruby", "java", "php", "rust", None])
def test_no_start_command_never_serves_the_checkout(language: str | None, distro: Distro) -> None:
    script = _script(language or "", distro)
    assert "http.server" not in script
    exec_start = next(line for line in script.splitlines() if line.startswith("ExecStart="))
    assert "exit 1" in exec_start and "no start command" in exec_start, exec_start
    assert "add a Dockerfile" in NO_START_COMMAND


@pytest.mark.parametrize("distro", [AL2023, DEBIAN12], ids=lambda d: d.name)
def test_a_node_app_keeps_npms_default_and_a_start_command_is_run(distro: Distro) -> None:
    assert "ExecStart=/bin/bash -lc 'npm start'" in _script("javascript", distro)
    script = _script("python", distro, "gunicorn app:app")
    assert "ExecStart=/bin/bash -lc 'gunicorn app:app'" in script
