"""The fresh-user check of issue 15, end to end: a Go app whose analysis builds `bin/goweb`
and starts `./bin/goweb`, deployed on a vm on every cloud (both XRD scopes) through the
real `crossplane render` and the real function server.

The vm's boot script used to run fixed per-language lines (`go build -o app . || true`),
so this app never started. Now the rendered boot script (AWS launch template user data,
GCP instance template startup script, Azure Custom Script extension) runs the analysed
build command as the app user, and the build the analysis wrote really builds the binary
the start command runs: the test runs them both from the rendered script, in a checkout of
the repository, and asks the app's health path.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from examples import render as R
from function.render.startup import APP_SHELL
from tests.support.inproc import observed_from
from tests.support.render_env import Env, assert_resources_valid, split

pytestmark = pytest.mark.e2e
SCOPES = ["legacy", "namespaced"]
CLOUDS = {"aws": "eu-west-1", "gcp": "europe-west1", "azure": "westeurope"}
BUILD = "CGO_ENABLED=0 go build -o bin/goweb ."
MAIN_GO = """package main

import (
	"log"
	"net/http"
	"os"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("hello from goweb"))
	})
	log.Fatal(http.ListenAndServe(":"+port, nil))
}
"""
GO_MOD = "module github.com/acme/goweb\n\ngo 1.21\n"


@pytest.fixture(scope="module")
def goweb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of local mirrors holding github.com/acme/goweb (a git repository)."""
    repos = tmp_path_factory.mktemp("goweb-repos")
    repo = repos / "goweb"
    repo.mkdir()
    (repo / "go.mod").write_text(GO_MOD)
    (repo / "main.go").write_text(MAIN_GO)
    (repo / "README.md").write_text("goweb: a Go web app built to bin/goweb\n")
    R.git(repo, "init", "-q", "-b", "main")
    R.git(repo, "add", "-A")
    R.git(repo, "commit", "-q", "-m", "goweb")
    return repos


def _xr(cloud: str, scope: str) -> dict[str, Any]:
    spec = {
        "repository": {"url": "https://github.com/acme/goweb", "ref": "main"},
        "prompt": "deploy the go web app on a vm",
        "cloudProvider": cloud,
        "region": CLOUDS[cloud],
        "budget": {"maxMonthlyCost": 500},
        "strategy": "vm",
    }
    if scope == "legacy":
        meta = {"name": f"goweb-{cloud}-x1", "uid": _uid(cloud, scope)}
        return {"apiVersion": "scia.io/v1alpha1", "kind": "XAppDeployment", "metadata": meta,
                "spec": spec}  # fmt: skip
    meta = {"name": f"goweb-{cloud}", "namespace": "team-go", "uid": _uid(cloud, scope)}
    return {"apiVersion": "scia.io/v1alpha1", "kind": "AppDeployment", "metadata": meta,
            "spec": spec}  # fmt: skip


def _uid(cloud: str, scope: str) -> str:
    n = list(CLOUDS).index(cloud) * 2 + SCOPES.index(scope)
    return f"90e00000-0000-4000-8000-{n:012d}"


def _boot_script(resources: dict[str, Any]) -> str | None:
    """The rendered boot script of whichever cloud's vm resource is composed yet."""
    for body in resources.values():
        fp = body["spec"].get("forProvider", {})
        if body["kind"] == "LaunchTemplate":
            return base64.b64decode(fp["userData"]).decode()
        if body["kind"] == "InstanceTemplate":
            return str(fp["metadataStartupScript"])
        if body["kind"] == "LinuxVirtualMachineScaleSet":
            (ext,) = fp["extension"]
            return base64.b64decode(json.loads(ext["settings"])["script"]).decode()
    return None


def _named(body: dict[str, Any]) -> dict[str, Any]:
    meta = body["metadata"]
    name = meta.get("name") or meta["generateName"] + "x1"
    return {**body, "metadata": {**meta, "name": name}}


def _render_until_the_vm(
    env: Env, goweb: Path, cloud: str, scope: str
) -> tuple[dict[str, Any], str]:
    """Render the XR, then again with what it composed observed Ready (and the status it
    wrote), until the vm resource that carries the boot script is composed (at most 4)."""
    composition = R.mirrored_composition(
        R.REPO_ROOT / "compositions" / f"{scope}.yaml", goweb, env.work, 60
    )
    composition = composition.rename(env.work / f"composition-goweb-{cloud}-{scope}.yaml")
    xr = _xr(cloud, scope)
    observed_file: Path | None = None
    for attempt in range(4):
        rendered, resources, results = split(env.render(xr, scope, observed_file, composition))
        assert not [r for r in results if r.get("severity") == "SEVERITY_FATAL"], results
        assert_resources_valid(resources)
        script = _boot_script(resources)
        if script is not None:
            return rendered, script
        xr = {**xr, "status": {k: v for k, v in rendered["status"].items() if k != "conditions"}}
        observed = observed_from(resources)
        observed_file = env.work / f"observed-goweb-{cloud}-{scope}-{attempt}.yaml"
        observed_file.write_text(yaml.safe_dump_all([_named(b) for b in observed.values()]))
    raise AssertionError(f"{cloud}/{scope}: no vm resource composed after 4 renders")


@pytest.fixture(scope="module")
def scripts(env: Env, goweb: Path) -> dict[tuple[str, str], tuple[dict[str, Any], str]]:
    return {
        (cloud, scope): _render_until_the_vm(env, goweb, cloud, scope)
        for cloud in CLOUDS
        for scope in SCOPES
    }


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("cloud", list(CLOUDS))
def test_the_vm_runs_the_analysed_build_as_the_app_user(
    scripts: dict[tuple[str, str], tuple[dict[str, Any], str]], cloud: str, scope: str
) -> None:
    xr, script = scripts[(cloud, scope)]
    analysis = xr["status"]["decision"]["analysis"]
    assert (analysis["buildCommand"], analysis["startCommand"]) == (BUILD, "./bin/goweb")
    assert xr["status"]["strategy"] == "vm"
    lines = script.splitlines()
    assert f"BUILD_COMMAND='{BUILD}'" in lines
    assert f'{APP_SHELL} "$BUILD_COMMAND" || {{' in lines
    assert "  exit 1" in lines
    assert "go build -o app ." not in script
    assert any(line.endswith("/bin/bash -lc ./bin/goweb") for line in lines if "ExecStart" in line)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _running(cmd: list[str], cwd: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.mark.skipif(shutil.which("go") is None, reason="needs the Go toolchain")
def test_the_rendered_build_and_start_commands_really_serve_the_app(
    scripts: dict[tuple[str, str], tuple[dict[str, Any], str]], goweb: Path
) -> None:
    """What the AWS boot script runs for the app user, run here in a checkout of the
    repository at the pinned commit (the toolchain is this machine's Go, not the image's)."""
    xr, script = scripts[("aws", "legacy")]
    commit = xr["status"]["decision"]["commit"]
    bash = shutil.which("bash") or "/bin/bash"
    assignment = next(line for line in script.splitlines() if line.startswith("BUILD_COMMAND="))
    build = subprocess.run(
        [bash, "-c", f'{assignment}\nprintf %s "$BUILD_COMMAND"'],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    start = next(line for line in script.splitlines() if line.startswith("ExecStart="))
    with tempfile.TemporaryDirectory(prefix="goweb-checkout-") as work:
        checkout = Path(work) / "app"
        subprocess.run(["git", "clone", "-q", str(goweb / "goweb"), str(checkout)], check=True)
        subprocess.run(
            ["git", "-C", str(checkout), "checkout", "-q", "--detach", commit], check=True
        )
        env = {**os.environ, "GOFLAGS": "-p=1", "GOTOOLCHAIN": "local", "GOPROXY": "off"}
        done = subprocess.run(
            ["nice", "-n", "10", bash, "-c", build], cwd=checkout, env=env,
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert (checkout / "bin" / "goweb").is_file()
        port = _free_port()
        command = start.removeprefix("ExecStart=/bin/bash -lc ")
        with _running([bash, "-c", command], checkout, {**env, "PORT": str(port)}) as app:
            deadline, body = time.monotonic() + 120, b""
            while time.monotonic() < deadline and app.poll() is None:
                with contextlib.suppress(OSError):
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                        body = r.read()
                        break
                time.sleep(0.2)
            assert body == b"ok", app.stderr.read() if app.poll() is not None else "no answer"
