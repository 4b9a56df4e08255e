"""Write the build-and-rollout examples: an XR of express-api with no spec.image and
`strategy: serverless`, pinned, and its observed composed resources at each step.

    python -m examples.build.generate

For each scope (legacy claim-backed XR, v2 namespaced XR) it renders the XR through the
real `crossplane render` and function server (the demo's machinery: the example apps as
local git repositories), then plays the provider: each step's observed resources are the
previous render's desired resources, Ready, with what the provider reports (ARNs, the
repository URL, the build's status parameter, the function's version, the health check's
result). Steps: building, built, rolling-out, running (xr.yaml, the first commit), then the team
pins the next commit (`xr-next-commit.yaml`, decision revision 2, the first revision in
status.history): build-failed (the next commit's build failed; version 1, the first
commit's image, keeps serving) and rolled-back (the next commit's image, version 2, failed
its health check; version 1 keeps serving).

What the provider reports follows from what was composed, as AWS would name it: the
repository URL from the repository's external name, ARNs from each resource's external
name, the build id from the CodeBuild project's name, images tagged with their commit
(tests/e2e/test_fixture_identities.py checks every example against the composed names).
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import yaml

from examples import render as demo
from examples import steps
from function.render.aws.build import token_for
from function.render.names import EXTERNAL_NAME

HERE = Path(__file__).resolve().parent
ACCOUNT = "123456789012"
REGION = "eu-central-1"
NEXT_XR = demo.BUILD_NEXT_XR
HEALTHY = json.dumps({"statusCode": 200, "headers": {"content-type": "application/json"},
                      "body": "{\"ok\":true}", "isBase64Encoded": False})  # fmt: skip
UNHEALTHY = json.dumps({"statusCode": 500, "body": "boom", "isBase64Encoded": False})
Resources = dict[str, dict[str, Any]]


def xr_doc(scope: str) -> dict[str, Any]:
    return steps.team_b_xr(
        scope,
        "express-api-build",
        "7a1c3e5f-2b4d-4c6e-8f0a-1b3d5f7a9c2e",
        {
            "repository": {"url": "https://github.com/acme/express-api", "ref": "main"},
            "prompt": "serverless, built from the repository; traffic is sporadic",
            "region": REGION,
            "strategy": "serverless",
            "budget": {"maxMonthlyCost": 50},
        },
    )


def external_name(body: dict[str, Any]) -> str:
    name: str = (body["metadata"].get("annotations") or {}).get(EXTERNAL_NAME) or ""
    return name


def arn(component: str, body: dict[str, Any]) -> str:
    """The ARN AWS gives the resource, from its kind and external name."""
    name, kind = external_name(body), body["kind"]
    if kind == "Role" and name:
        return f"arn:aws:iam::{ACCOUNT}:role/{name}"
    resource = {
        "Repository": ("ecr", f"repository/{name}"),
        "Group": ("logs", f"log-group:{name}"),
        "Parameter": ("ssm", f"parameter{name}"),
        "Project": ("codebuild", f"project/{name}"),
        "Function": ("lambda", f"function:{name}"),
    }.get(kind)
    if resource and name:
        return f"arn:aws:{resource[0]}:{REGION}:{ACCOUNT}:{resource[1]}"
    if kind == "Schedule":
        return f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{component}"
    return f"arn:aws:service:{REGION}:{ACCOUNT}:{component}/express-api-build"


def repository_url(desired: Resources) -> str:
    """What ECR reports as the composed repository's URL."""
    name = external_name(desired["image-repository"])
    return f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{name}"


def observed(desired: Resources, xr_name: str, at: dict[str, dict[str, Any]]) -> Resources:
    out: Resources = {}
    for i, (name, body) in enumerate(sorted(desired.items())):
        obj = copy.deepcopy(body)
        obj["metadata"].pop("generateName", None)
        obj["metadata"]["name"] = f"{xr_name}-{i:04x}"
        reported = {"arn": arn(name, obj), "id": f"{name}-0123456789abcdef"} | at.get(name, {})
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


def status_value(project: str, commit: str, state: str, step: str = "done") -> str:
    """The build-status parameter's value as the buildspec writes it (CodeBuild's build id
    is `<project name>:<build uuid>`)."""
    build = uuid.uuid5(uuid.NAMESPACE_URL, f"{project}/{commit}")
    return json.dumps({"token": token_for(commit), "commit": commit, "state": state,
                       "buildId": f"{project}:{build}", "step": step,
                       "digest": "sha256:" + "c" * 64 if state == "SUCCEEDED" else ""})  # fmt: skip


def next_commit(repo: Path) -> str:
    """The next commit of express-api (the commit the team pins for the build-failed and
    rolled-back steps)."""
    return steps.next_commit(
        repo,
        "server.js",
        lambda text: text.replace("hello from express-api", "hello from express-api, v2"),
        "express-api: v2",
    )


def main() -> int:
    return steps.generate("express-api", next_commit, steps.SCOPES, write_scope)


def write_observed(path: Path, what: str, resources: Resources) -> None:
    steps.write_observed(path, what, resources, "examples.build.generate")


def write_scope(  # noqa: PLR0915 (the steps, in the order the provider plays them)
    scope: str, work: Path, commits: tuple[str, str], crossplane: Path, comp: Path,
    functions: Path,
) -> None:  # fmt: skip
    commit, after = commits
    out = HERE / scope
    out.mkdir(exist_ok=True)
    fresh = work / f"xr-{scope}.yaml"
    fresh.write_text(yaml.safe_dump(xr_doc(scope), sort_keys=False))
    xr, desired = split(demo.render(crossplane, fresh, comp, functions))
    pinned = xr_doc(scope) | {"status": {"decision": xr["status"]["decision"]}}
    xr_path = out / "xr.yaml"
    xr_path.write_text(
        "# express-api with no spec.image: serverless from an image built from the\n"
        "# repository; pinned (status.decision). Render it with observed-building, -built,\n"
        f"# -rolling-out and -running.yaml (the next commit: {NEXT_XR}).\n"
        + yaml.safe_dump(pinned, sort_keys=False)
    )
    name = xr["metadata"]["name"]
    repo_url = repository_url(desired)
    # The CodeBuild project is composed once the roles are observed: its name is the
    # repository's after scia/ (render/aws/build.py), checked against it below.
    project = "scia-" + external_name(desired["image-repository"]).removeprefix("scia/")
    last: dict[str, Any] = {}

    def step(seen: Resources, path: Path = xr_path) -> Resources:
        obs = work / "observed.yaml"
        obs.write_text(yaml.safe_dump_all(list(seen.values())))
        composite, resources = split(demo.render(crossplane, path, comp, functions, obs))
        last["xr"] = composite
        return resources

    at: dict[str, dict[str, Any]] = {
        "image-repository": {"repositoryUrl": repo_url},
        "build-status": {"insecureValue": status_value(project, commit, "BUILDING", "build")},
    }
    seen = observed(desired, name, at)
    for _ in range(3):  # the project, then the schedule, appear once ARNs are seen
        seen = observed(step(seen), name, at)
    assert external_name(seen["build-project"]) == project, seen["build-project"]
    write_observed(out / "observed-building.yaml", "the image is building", seen)
    at["build-status"] = {"insecureValue": status_value(project, commit, "SUCCEEDED")}
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
    at["lambda-function"] = {"version": "1", "imageUri": f"{repo_url}:{commit}"}
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

    # The team pins the next commit (spec.repository.ref: its SHA): decision revision 2,
    # revision 1 in status.history; its image is built while version 1 keeps serving.
    running = last["xr"]["status"]
    moved = xr_doc(scope)
    moved["spec"]["repository"]["ref"] = after
    moved["status"] = {k: running[k] for k in ("decision", "history") if k in running}
    before = work / f"xr-next-{scope}.yaml"
    before.write_text(yaml.safe_dump(moved, sort_keys=False))
    at["build-status"] = {"insecureValue": status_value(project, after, "BUILDING", "build")}
    seen = observed(step(seen, before), name, at)
    status = last["xr"]["status"]
    assert status["decision"]["commit"] == after and status["decision"]["revision"] == 2, status
    moved["status"] = {k: status[k] for k in ("decision", "history") if k in status}
    next_path = out / NEXT_XR
    next_path.write_text(
        f"# express-api-build after the team pinned the next commit ({after[:12]}):\n"
        "# decision revision 2, revision 1 (the first commit) in status.history. Render it\n"
        "# with observed-build-failed.yaml and observed-rolled-back.yaml.\n"
        + yaml.safe_dump(moved, sort_keys=False)
    )
    for _ in range(2):
        seen = observed(step(seen, next_path), name, at)
    at["build-status"] = {"insecureValue": status_value(project, after, "FAILED", "build")}
    failed = observed(step(seen, next_path), name, at)
    write_observed(out / "observed-build-failed.yaml",
                   f"the build of {after[:12]} failed; version 1 ({commit[:12]}) keeps serving",
                   failed)  # fmt: skip
    at["build-status"] = {"insecureValue": status_value(project, after, "SUCCEEDED")}
    seen = observed(step(seen, next_path), name, at)
    at["lambda-function"] = {"version": "2", "imageUri": f"{repo_url}:{after}"}
    seen = observed(step(seen, next_path), name, at)
    at["lambda-alias-candidate"] = {"functionVersion": "2"}
    seen = observed(step(seen, next_path), name, at)
    at["health-check"] = {"result": UNHEALTHY}
    sick = observed(step(seen, next_path), name, at)
    sick = observed(step(sick, next_path), name, at)
    write_observed(out / "observed-rolled-back.yaml",
                   f"version 2 ({after[:12]}) failed its health check; version 1 "
                   f"({commit[:12]}) keeps serving", sick)  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
