"""The buildspec's script, run for real by bash against a real git repository.

AWS and Docker cannot be reached here: `aws` and `docker` are small stand-in executables on
PATH that keep the SSM parameter in a file and record what they were asked. What is tested
is the script's own logic: fetch and check the pinned commit, write the generated
Dockerfile, build and push `<repository>:<commit>`, record BUILDING then SUCCEEDED or
FAILED with the step, and do nothing but record success for a commit already built.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from function.analysis.profile import DockerfileFacts, ServiceProfile
from function.build.buildspec import buildspec
from function.build.dockerfile import build_recipe

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analysis"))
from analysis_fixtures import make_repo

REPO_URL = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/scia/team-a-app-1a2b3c4d"

AWS = r"""#!/bin/bash
state="$STUB_DIR/parameter"
echo "aws $*" >> "$STUB_DIR/calls"
case "$1 $2" in
  "ssm get-parameter") [ -f "$state" ] && cat "$state" || exit 255 ;;
  "ssm put-parameter")
    while [ $# -gt 0 ]; do [ "$1" = --value ] && { printf '%s' "$2" > "$state"; printf '%s\n' "$2" >> "$STUB_DIR/history"; }; shift; done ;;
  "ecr describe-images") [ -f "$STUB_DIR/pushed" ] && echo "sha256:$(cat "$STUB_DIR/pushed")" || exit 254 ;;
  "ecr get-login-password") echo password ;;
esac
"""
DOCKER = r"""#!/bin/bash
echo "docker $*" >> "$STUB_DIR/calls"
case "$1" in
  login) cat > /dev/null ;;
  build)
    [ -n "${FAIL_BUILD:-}" ] && { echo "build failed" >&2; exit 1; }
    case "$*" in *--build-arg*) for last; do :; done; cp "$last/Dockerfile" "$STUB_DIR/wrapper-dockerfile" ;; esac
    while [ $# -gt 0 ]; do [ "$1" = -f ] && cp "$2" "$STUB_DIR/built-dockerfile"; [ "$1" = - ] && cat > "$STUB_DIR/adapter-dockerfile"; shift; done ;;
  push) echo 0123abcd > "$STUB_DIR/pushed" ;;
  inspect) echo "repo@sha256:0123abcd" ;;
esac
"""


def setup(
    tmp_path: Path, profile: ServiceProfile | None = None
) -> tuple[dict[str, str], str, str, Path]:
    repo = tmp_path / "repo"
    sha = make_repo(repo, {"requirements.txt": "flask\n", "app.py": "print('hi')\n"})
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for name, text in (("aws", AWS), ("docker", DOCKER)):
        (stubs / name).write_text(text)
        (stubs / name).chmod(0o755)
    profile = profile or ServiceProfile(
        name="app", runtime="python", package_manager="pip", ports=[5000],
        build_command="pip install -r requirements.txt", start_command="gunicorn app:app",
    )  # fmt: skip
    recipe = build_recipe(profile)
    spec = yaml.safe_load(buildspec(recipe))
    env = {
        "PATH": f"{stubs}:{os.environ['PATH']}",
        "HOME": str(tmp_path / "home"),
        "STUB_DIR": str(stubs),
        "GIT_CONFIG_NOSYSTEM": "1",
        "SCIA_GIT_URL": repo.as_uri(),
        "SCIA_COMMIT": sha,
        "SCIA_TOKEN": "t1",
        "SCIA_IMAGE_REPOSITORY": REPO_URL,
        "SCIA_STATUS_PARAMETER": "/scia/x/build-status",
        "SCIA_CONTEXT": ".",
        "SCIA_DOCKERFILE": "",
        "SCIA_PLATFORM": "linux/amd64",
        "CODEBUILD_BUILD_ID": "scia-x:1",
        **spec["env"]["variables"],
    }
    (tmp_path / "home").mkdir()
    if recipe.origin == "repository":
        env["SCIA_DOCKERFILE"] = recipe.dockerfile_path or ""
    text = recipe.dockerfile if recipe.dockerfile is not None else recipe.wrapper
    assert text is not None
    return env, spec["phases"]["build"]["commands"][0], text, stubs


def run(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def history(stubs: Path) -> list[dict[str, str]]:
    path = stubs / "history"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_builds_pushes_and_records_success_then_is_idempotent(tmp_path: Path) -> None:
    env, script, dockerfile, stubs = setup(tmp_path)
    done = run(script, env, tmp_path)
    assert done.returncode == 0, done.stderr
    states = [(h["state"], h["step"]) for h in history(stubs)]
    assert states == [("BUILDING", "start"), ("SUCCEEDED", "done")]
    last = history(stubs)[-1]
    assert last == {"token": "t1", "commit": env["SCIA_COMMIT"], "state": "SUCCEEDED",
                    "buildId": "scia-x:1", "step": "done", "digest": "sha256:0123abcd"}  # fmt: skip
    assert (stubs / "built-dockerfile").read_text() == dockerfile
    calls = (stubs / "calls").read_text()
    assert f"-t {REPO_URL}:{env['SCIA_COMMIT']} ." in calls
    assert f"docker push {REPO_URL}:{env['SCIA_COMMIT']}" in calls
    assert "--platform linux/amd64" in calls
    # Started again (the schedule fires before the outcome is observed): nothing is built.
    (stubs / "calls").write_text("")
    again = run(script, env, tmp_path)
    assert again.returncode == 0 and "already SUCCEEDED" in again.stdout
    assert "docker" not in (stubs / "calls").read_text()
    # A new token (a rebuild) of a commit whose image exists records success at once.
    again = run(script, env | {"SCIA_TOKEN": "t2"}, tmp_path)
    assert again.returncode == 0 and "exists" in again.stdout
    assert history(stubs)[-1]["state"] == "SUCCEEDED" and history(stubs)[-1]["token"] == "t2"
    assert "docker build" not in (stubs / "calls").read_text()


def test_a_failed_build_records_the_step_and_fails_the_codebuild_build(tmp_path: Path) -> None:
    env, script, _, stubs = setup(tmp_path)
    failed = run(script, env | {"FAIL_BUILD": "1"}, tmp_path)
    assert failed.returncode != 0
    assert [(h["state"], h["step"]) for h in history(stubs)] == [
        ("BUILDING", "start"),
        ("FAILED", "build"),
    ]
    assert "docker push" not in (stubs / "calls").read_text()
    # The schedule starts it again: the recorded failure stands until a rebuild is asked.
    again = run(script, env, tmp_path)
    assert again.returncode == 0 and "already FAILED" in again.stdout


def test_a_commit_the_repository_does_not_have_fails_at_fetch(tmp_path: Path) -> None:
    env, script, _, stubs = setup(tmp_path)
    failed = run(script, env | {"SCIA_COMMIT": "b" * 40}, tmp_path)
    assert failed.returncode != 0
    assert history(stubs)[-1]["state"] == "FAILED" and history(stubs)[-1]["step"] == "fetch"


def test_the_git_token_reaches_git_only_through_the_credential_helper(tmp_path: Path) -> None:
    env, script, _, stubs = setup(tmp_path)
    token = "ghp_" + base64.b16encode(os.urandom(12)).decode()
    done = run(script, env | {"SCIA_GIT_TOKEN": token}, tmp_path)
    assert done.returncode == 0, done.stderr
    for text in (
        done.stdout,
        done.stderr,
        (stubs / "calls").read_text(),
        (stubs / "history").read_text(),
    ):
        assert token not in text
    helper = subprocess.run(
        ["git", "config", "--global", "credential.helper"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert token not in helper and "SCIA_GIT_TOKEN" in helper


def test_for_lambda_the_adapter_is_layered_on_whatever_dockerfile_built_the_app(
    tmp_path: Path,
) -> None:
    env, script, _, stubs = setup(tmp_path)
    adapter = "public.ecr.aws/awsguru/aws-lambda-adapter:0.8.4"
    done = run(script, env | {"SCIA_LAMBDA_ADAPTER": adapter}, tmp_path)
    assert done.returncode == 0, done.stderr
    sha = env["SCIA_COMMIT"]
    calls = (stubs / "calls").read_text()
    assert f"-t scia-app:{sha} ." in calls and f"-t {REPO_URL}:{sha} -" in calls
    assert (stubs / "adapter-dockerfile").read_text() == (
        f"FROM scia-app:{sha}\nCOPY --from={adapter} /lambda-adapter /opt/extensions/lambda-adapter\n"
    )
    assert f"docker push {REPO_URL}:{sha}" in calls


def test_a_repository_dockerfile_gets_the_launcher_then_the_adapter(tmp_path: Path) -> None:
    facts = DockerfileFacts(
        present=True, path="Dockerfile", base_image="python:3.12-slim",
        cmd_argv=["gunicorn", "-b", "0.0.0.0:8000", "app:app"],
    )  # fmt: skip
    profile = ServiceProfile(name="app", ports=[8000], dockerfile=facts)
    env, script, wrapper, stubs = setup(tmp_path, profile)
    adapter = "public.ecr.aws/awsguru/aws-lambda-adapter:0.8.4"
    done = run(script, env | {"SCIA_LAMBDA_ADAPTER": adapter}, tmp_path)
    assert done.returncode == 0, done.stderr
    sha = env["SCIA_COMMIT"]
    calls = (stubs / "calls").read_text().splitlines()
    builds = [c for c in calls if c.startswith("docker build")]
    assert len(builds) == 3  # the repository's Dockerfile, the launcher, the adapter
    assert "-f Dockerfile" in builds[0] and f"-t scia-app:{sha} ." in builds[0]
    assert f"--build-arg SCIA_APP_IMAGE=scia-app:{sha} -t scia-app-launcher:{sha}" in builds[1]
    assert (stubs / "wrapper-dockerfile").read_text() == wrapper
    assert (stubs / "adapter-dockerfile").read_text().startswith(f"FROM scia-app-launcher:{sha}\n")
    assert f"docker push {REPO_URL}:{sha}" in calls
