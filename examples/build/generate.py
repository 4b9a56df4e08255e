"""Write the build-and-rollout examples: an XR of express-api with no spec.image and
`strategy: serverless`, pinned, and its observed composed resources at each step.

    python -m examples.build.generate

For each scope (legacy claim-backed XR, v2 namespaced XR) it renders the XR through the
real `crossplane render` and function server (the demo's machinery: the example apps as
local git repositories), then plays the provider: each step's observed resources are the
previous render's desired resources, Ready, with what the provider reports (ARNs, the
repository URL, the build's status parameter, the function's version, the health check's
result). Steps: building, built, rolling-out, running, build-failed, rolled-back.
"""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

import yaml

from examples import render as demo
from function.render.aws.build import token_for

HERE = Path(__file__).resolve().parent
SCOPES = {"legacy": "XAppDeployment", "namespaced": "AppDeployment"}
ACCOUNT = "123456789012"
REGION = "eu-central-1"
REPO_URL = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/scia/team-b-express-api-build-4f1d2c3b"
HEALTHY = json.dumps({"statusCode": 200, "headers": {"content-type": "application/json"},
                      "body": "{\"ok\":true}", "isBase64Encoded": False})  # fmt: skip
UNHEALTHY = json.dumps({"statusCode": 500, "body": "boom", "isBase64Encoded": False})
Resources = dict[str, dict[str, Any]]


def xr_doc(scope: str) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": "express-api-build",
        "uid": "7a1c3e5f-2b4d-4c6e-8f0a-1b3d5f7a9c2e",
    }
    if scope == "namespaced":
        meta["namespace"] = "team-b"
    else:
        meta["labels"] = {"crossplane.io/claim-name": "express-api-build",
                          "crossplane.io/claim-namespace": "team-b"}  # fmt: skip
    return {
        "apiVersion": "scia.io/v1alpha1",
        "kind": SCOPES[scope],
        "metadata": meta,
        "spec": {
            "repository": {"url": "https://github.com/acme/express-api", "ref": "main"},
            "prompt": "serverless, built from the repository; traffic is sporadic",
            "region": REGION,
            "strategy": "serverless",
            "budget": {"maxMonthlyCost": 50},
        },
    }


def arn(component: str) -> str:
    service = {"image-repository": "ecr", "build-logs": "logs", "app-logs": "logs",
               "build-status": "ssm", "build-project": "codebuild", "lambda-function": "lambda",
               "build-schedule": "scheduler"}.get(component, "service")  # fmt: skip
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{component}/express-api-build"


def observed(desired: Resources, xr_name: str, at: dict[str, dict[str, Any]]) -> Resources:
    out: Resources = {}
    for i, (name, body) in enumerate(sorted(desired.items())):
        obj = copy.deepcopy(body)
        obj["metadata"].pop("generateName", None)
        obj["metadata"]["name"] = f"{xr_name}-{i:04x}"
        reported = {"arn": arn(name), "id": f"{name}-0123456789abcdef"} | at.get(name, {})
        obj["status"] = {
            "conditions": [
                {"type": "Ready", "status": "True", "reason": "Available"},
                {"type": "Synced", "status": "True", "reason": "ReconcileSuccess"},
            ],
            "atProvider": reported,
        }
        out[name] = obj
    return out


def split(docs: list[dict[str, Any]]) -> tuple[dict[str, Any], Resources]:
    resources = {
        d["metadata"]["annotations"]["crossplane.io/composition-resource-name"]: d
        for d in docs[1:]
        if d.get("kind") != "Result"
    }
    return docs[0], resources


def write_observed(path: Path, what: str, resources: Resources) -> None:
    header = (
        f"# Observed composed resources: {what} (for crossplane render -o).\n"
        "# Written by `python -m examples.build.generate`.\n"
    )
    path.write_text(header + yaml.safe_dump_all(list(resources.values()), sort_keys=False))


def status_value(commit: str, state: str, step: str = "done") -> str:
    return json.dumps({"token": token_for(commit), "commit": commit, "state": state,
                       "buildId": "scia-express-api-build:0b3c", "step": step,
                       "digest": "sha256:" + "c" * 64 if state == "SUCCEEDED" else ""})  # fmt: skip


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        commits = demo.build_repositories(work / "repos")
        port = demo.free_port()
        functions = demo.functions_file(port, work)
        crossplane = demo.crossplane_binary()
        with demo.function_server(port, log=work / "function.log"):
            for scope in SCOPES:
                comp = demo.mirrored_composition(
                    demo.REPO_ROOT / "compositions" / f"{scope}.yaml", work / "repos", work, 60
                )
                write_scope(scope, work, commits["express-api"], crossplane, comp, functions)
    return 0


def write_scope(
    scope: str, work: Path, commit: str, crossplane: Path, comp: Path, functions: Path
) -> None:
    out = HERE / scope
    out.mkdir(exist_ok=True)
    fresh = work / f"xr-{scope}.yaml"
    fresh.write_text(yaml.safe_dump(xr_doc(scope), sort_keys=False))
    xr, desired = split(demo.render(crossplane, fresh, comp, functions))
    pinned = xr_doc(scope) | {"status": {"decision": xr["status"]["decision"]}}
    xr_path = out / "xr.yaml"
    xr_path.write_text(
        "# express-api with no spec.image: serverless from an image built from the\n"
        "# repository; pinned (status.decision). Render it with each observed-*.yaml.\n"
        + yaml.safe_dump(pinned, sort_keys=False)
    )
    name = xr["metadata"]["name"]

    def step(seen: Resources) -> Resources:
        obs = work / "observed.yaml"
        obs.write_text(yaml.safe_dump_all(list(seen.values())))
        return split(demo.render(crossplane, xr_path, comp, functions, obs))[1]

    at: dict[str, dict[str, Any]] = {
        "image-repository": {"repositoryUrl": REPO_URL},
        "build-status": {"insecureValue": status_value(commit, "BUILDING", "build")},
    }
    seen = observed(desired, name, at)
    for _ in range(3):  # the project, then the schedule, appear once ARNs are seen
        seen = observed(step(seen), name, at)
    write_observed(out / "observed-building.yaml", "the image is building", seen)
    at["build-status"] = {"insecureValue": status_value(commit, "SUCCEEDED")}
    seen = observed(step(observed(step(seen), name, at)), name, at)
    # The function is being created: observed, not Ready yet, no version reported. (Every
    # desired resource is observed in every step, without lastTransitionTime, so the
    # examples never age past the input's readyGraceSeconds.)
    built = copy.deepcopy(seen)
    built["lambda-function"]["status"] = {
        "conditions": [{"type": "Ready", "status": "False", "reason": "Creating"}],
        "atProvider": {},
    }
    write_observed(out / "observed-built.yaml", "the image is built", built)
    image = f"{REPO_URL}:{commit}"
    at["lambda-function"] = {"version": "1", "imageUri": image}
    seen = observed(step(seen), name, at)
    at["lambda-alias-candidate"] = {"functionVersion": "1"}
    seen = observed(step(seen), name, at)
    seen = observed(step(seen), name, at)
    rolling = copy.deepcopy(seen)
    rolling["health-check"]["status"]["conditions"][0] = {
        "type": "Ready", "status": "False", "reason": "Creating"}  # fmt: skip
    rolling["health-check"]["status"]["atProvider"].pop("result", None)
    write_observed(out / "observed-rolling-out.yaml",
                   "version 1 is being health-checked", rolling)  # fmt: skip
    at["health-check"] = {"result": HEALTHY}
    at["lambda-alias-live"] = {"functionVersion": "1"}
    at["function-url"] = {"functionUrl": "https://abcdefghijklmnop.lambda-url.eu-central-1.on.aws/"}
    seen = observed(step(observed(step(seen), name, at)), name, at)
    write_observed(out / "observed-running.yaml", "version 1 serves", seen)
    failed = copy.deepcopy(seen)
    failed["build-status"]["status"]["atProvider"]["insecureValue"] = status_value(
        commit, "FAILED", "build"
    )
    write_observed(out / "observed-build-failed.yaml",
                   "the build failed (an earlier version would keep serving)",
                   failed)  # fmt: skip
    sick = copy.deepcopy(seen)
    sick["lambda-function"]["status"]["atProvider"]["version"] = "2"
    sick["lambda-alias-candidate"]["spec"]["forProvider"]["functionVersion"] = "2"
    sick["lambda-alias-candidate"]["status"]["atProvider"]["functionVersion"] = "2"
    check = sick["health-check"]["spec"]["forProvider"]
    event = json.loads(check["input"])
    event["headers"]["x-scia-version"] = "2"
    check["input"] = json.dumps(event, sort_keys=True, separators=(",", ":"))
    sick["health-check"]["status"]["atProvider"]["result"] = UNHEALTHY
    write_observed(out / "observed-rolled-back.yaml",
                   "version 2 failed its health check; version 1 keeps serving",
                   sick)  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
