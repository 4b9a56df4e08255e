"""Cloud-init user data for the vm strategy on AWS (Amazon Linux 2023): the cloud-neutral
boot script (function/render/startup.py), base64-encoded as the launch template wants it."""

from __future__ import annotations

import base64

from function.pinning import AnalysisSummary
from function.render.startup import AL2023, startup_script


def user_data(
    repo_url: str,
    commit: str,
    summary: AnalysisSummary,
    port: int,
    start_command: str | None,
    use_docker: bool,
    launch_config: str | None = None,
    dockerfile: str | None = None,
) -> str:
    """The user data script, base64-encoded as the launch template wants it.

    `launch_config` (JSON, names and ids only: function/render/aws/secrets.py) installs the
    launcher, which fetches the app's configuration with the instance role at each start.
    With `use_docker`, the repository's Dockerfile is built on the instance from the
    fetched commit and run with Docker; `dockerfile` is its path in the repository (its
    folder is the build context, function/build/dockerfile.py), None or "Dockerfile" for
    the root one.
    """
    script = startup_script(
        repo_url,
        commit,
        summary,
        port,
        start_command,
        use_docker,
        AL2023,
        launch_config,
        dockerfile,
    )
    return base64.b64encode(script.encode()).decode()
