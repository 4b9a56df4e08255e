"""Cloud-init user data for the vm strategy on AWS (Amazon Linux 2023): the cloud-neutral
boot script (function/render/startup.py), base64-encoded as the launch template wants it.

Logs (`log_group`): the app's output goes to the deployment's CloudWatch log group, one
stream per instance, written with the instance role (render/aws/vm.py):

- a container: Docker's `awslogs` log driver, stream `<instance id>/app` (`docker logs`
  still works: Docker keeps a local copy, "dual logging", Docker 20.10 and later);
- a systemd service: its stdout and stderr appended to `/var/log/app/app.log` (rotated by
  logrotate at 50 MB, `copytruncate`), shipped by the Amazon CloudWatch agent to stream
  `<instance id>/app`;
- either way the agent also ships the script's own output
  (`/var/log/cloud-init-output.log`, stream `<instance id>/setup`), so a failed fetch or
  build on an instance is readable without logging in.

The agent is installed before the repository is fetched and its failure is not fatal (the
app still starts; its logs then stay on the instance, and the setup log says why).
Sources: Amazon CloudWatch agent configuration file reference
(`logs.logs_collected.files.collect_list`, `{instance_id}`), Docker "Amazon CloudWatch Logs
logging driver" (`awslogs-region`, `awslogs-group`, `awslogs-stream`), systemd.exec
`StandardOutput=append:`.
"""

from __future__ import annotations

import base64
import json
import shlex

from function.pinning import AnalysisSummary
from function.render.startup import AL2023, LogShipping, startup_script

AGENT_CONFIG = "/opt/aws/amazon-cloudwatch-agent/etc/scia-logs.json"
AGENT_CTL = "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl"
APP_LOG_FILE = "/var/log/app/app.log"
SETUP_LOG_FILE = "/var/log/cloud-init-output.log"


def agent_config(log_group: str, app_file: bool) -> dict[str, object]:
    """The CloudWatch agent's configuration: the setup log, and the app's log file when the
    app runs as a systemd service (a container logs through Docker's driver instead)."""
    files = [
        {
            "file_path": SETUP_LOG_FILE,
            "log_group_name": log_group,
            "log_stream_name": "{instance_id}/setup",
        }
    ]
    if app_file:
        files.append(
            {
                "file_path": APP_LOG_FILE,
                "log_group_name": log_group,
                "log_stream_name": "{instance_id}/app",
            }
        )
    return {"logs": {"logs_collected": {"files": {"collect_list": files}}}}


def log_shipping(log_group: str, region: str, use_docker: bool) -> LogShipping:
    """The boot script's part that ships the app's and the setup's output to `log_group`."""
    q = shlex.quote
    config = json.dumps(agent_config(log_group, not use_docker), sort_keys=True)
    setup = [
        "INSTANCE_ID=$(cloud-init query v1.instance_id 2>/dev/null || echo unknown)",
        "install -d -m 0755 /var/log/app",
        "{ dnf install -y amazon-cloudwatch-agent logrotate &&",
        f"  printf '%s\\n' {q(config)} > {AGENT_CONFIG} &&",
        f"  {AGENT_CTL} -a fetch-config -m ec2 -s -c file:{AGENT_CONFIG}; }} ||",
        '  echo "scia: the CloudWatch agent did not start; logs stay on the instance" >&2',
    ]
    if use_docker:
        return LogShipping(
            setup=tuple(setup),
            docker_options=(
                f"--log-driver=awslogs --log-opt awslogs-region={q(region)} "
                f"--log-opt awslogs-group={q(log_group)} "
                '--log-opt awslogs-stream="$INSTANCE_ID/app" '
            ),
        )
    setup += [
        "cat > /etc/logrotate.d/app <<'ROTATE'",
        f"{APP_LOG_FILE} {{",
        "  size 50M",
        "  rotate 2",
        "  copytruncate",
        "  missingok",
        "  notifempty",
        "}",
        "ROTATE",
    ]
    return LogShipping(
        setup=tuple(setup),
        unit=(f"StandardOutput=append:{APP_LOG_FILE}", f"StandardError=append:{APP_LOG_FILE}"),
    )


def user_data(
    repo_url: str,
    commit: str,
    summary: AnalysisSummary,
    port: int,
    start_command: str | None,
    use_docker: bool,
    launch_config: str | None = None,
    dockerfile: str | None = None,
    log_group: str | None = None,
    region: str = "",
) -> str:
    """The user data script, base64-encoded as the launch template wants it.

    `launch_config` (JSON, names and ids only: function/render/aws/secrets.py) installs the
    launcher, which fetches the app's configuration with the instance role at each start.
    With `use_docker`, the repository's Dockerfile is built on the instance from the
    fetched commit and run with Docker; `dockerfile` is its path in the repository (its
    folder is the build context, function/build/dockerfile.py), None or "Dockerfile" for
    the root one.

    `log_group` (in `region`): the CloudWatch log group the app's and the script's output
    go to (module docstring); None keeps them on the instance.
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
        log_shipping(log_group, region, use_docker) if log_group is not None else None,
    )
    return base64.b64encode(script.encode()).decode()
