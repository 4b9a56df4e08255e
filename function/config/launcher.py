"""Installing the launcher (scia_launch.py) where the application starts.

The launcher's source ships in this package; user data installs it gzip+base64 encoded (a
launch template's user data is limited to 16 KB: docs.aws.amazon.com/AWSEC2/latest/
APIReference/API_RequestLaunchTemplateData.html) with its configuration (names and ids,
never values) beside it.
"""

from __future__ import annotations

import base64
import functools
import gzip
from importlib import resources

LAUNCHER = "/usr/local/libexec/scia-launch"
LAUNCH_CONFIG = "/etc/scia/launch.json"
ENV_FILE = "/run/scia/app.env"
_DELIMITER = "SCIA_LAUNCH_CONFIG_EOF"
# The note a deployment gets when a team's own image (spec.image) must run the launcher.
IMAGE_NEEDS_LAUNCHER = (
    "spec.image must start through the launcher (scia-launch @env -- <command>, "
    "function/config/scia_launch.py, Python 3) to receive spec.env, spec.envFrom and the "
    "data stores' URLs; images built from the repository do"
)


@functools.cache
def launcher_source() -> str:
    """The launcher's Python source (standard library only, Python >= 3.9)."""
    return resources.files("function.config").joinpath("scia_launch.py").read_text()


@functools.cache
def _packed() -> str:
    raw = gzip.compress(launcher_source().encode(), compresslevel=9, mtime=0)
    return base64.b64encode(raw).decode()


def launcher_install(config_json: str) -> list[str]:
    """Shell lines (root, in user data) that install the launcher and its configuration."""
    if "\n" in config_json or _DELIMITER in config_json:
        raise ValueError("the launch configuration must be one line of JSON")
    packed = _packed()
    chunks = [packed[i : i + 76] for i in range(0, len(packed), 76)]
    return [
        "install -d -m 0755 /usr/local/libexec /etc/scia && install -d -m 0700 /run/scia",
        f"base64 -d <<'SCIA_LAUNCHER_EOF' | gunzip > {LAUNCHER}",
        *chunks,
        "SCIA_LAUNCHER_EOF",
        f"chmod 0755 {LAUNCHER}",
        f"cat > {LAUNCH_CONFIG} <<'{_DELIMITER}'",
        config_json,
        _DELIMITER,
        f"chmod 0644 {LAUNCH_CONFIG}",
    ]
