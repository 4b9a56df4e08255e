"""Every example's observed state is what the provider would report for what the function
composes: a reviewer can follow image -> build -> rollout -> endpoint in the manifests.

For each example with observed composed resources (examples/<scope>, examples/build,
examples/vm, examples/datastores), against what the function composes for that XR:
- every observed external name (ECR repository, CodeBuild project, Lambda function, log
  groups, roles, ...) is the one the function composes for the XR with nothing observed;
- the ECR repository's `repositoryUrl` is `<account>.dkr.ecr.<the XR's region>.amazonaws.com/
  <the composed repository name>`;
- every image of the deployment's registry named anywhere in the observed state (the Lambda
  function's image, a Deployment's, a build Job's destination) is in the composed
  repository, tagged with a commit the XR pinned (its decision or its history);
- the build-status parameter reports a pinned commit, that commit's build token, and a
  CodeBuild build id of the composed project (`<project>:<build uuid>`); when that build
  failed, nothing runs its image (the previous commit's keeps serving); likewise no
  Deployment runs an image a build Job the cluster reports Failed was to push;
- an ARN that names its service names the resource's external name the way AWS does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from examples import render as R
from function.render.aws.build import REBUILD_ANNOTATION, token_for
from function.render.names import EXTERNAL_NAME
from tests.support import inproc as P

DATASTORES = R.EXAMPLES / "datastores"
# <account>.dkr.ecr.<region>.amazonaws.com/scia/<name>[:<tag>]: the deployment's registry
# (a team's own spec.image lives elsewhere and is not composed).
SCIA_IMAGE = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com"
    r"/(?P<repo>scia/[a-z0-9][a-z0-9._/-]*?)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]*))?"
    r"(?=$|[\s\"',;\\])"
)
COMMIT_TAG = re.compile(r"^(?P<commit>[0-9a-f]{40})(?:-base)?$")


@dataclass(frozen=True)
class Case:
    name: str
    xr: Path
    observed: Path
    datastores: bool = False


def cases() -> list[Any]:
    out = [Case(e.name, e.xr, e.observed) for e in R.examples() if e.observed is not None]
    out += [Case(e.name, e.xr, e.observed) for e in R.build_examples() if e.observed]
    out += [Case(e.name, e.xr, e.observed) for e in R.vm_examples() if e.observed]
    for xr in sorted(DATASTORES.glob("xr-*.yaml")):
        observed = DATASTORES / xr.name.replace("xr-", "observed-", 1)
        if observed.exists():
            out.append(Case(f"datastores/{xr.stem}", xr, observed, datastores=True))
    return [pytest.param(c, id=c.name) for c in out]


def _external(body: dict[str, Any]) -> str | None:
    name = ((body.get("metadata") or {}).get("annotations") or {}).get(EXTERNAL_NAME)
    return name if isinstance(name, str) else None


def _strings(obj: Any) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


def _arn(kind: str, name: str, region: str, account: str) -> str | None:
    """The ARN AWS gives a resource of `kind` named `name` (None: not checked here)."""
    if kind == "Role":
        return f"arn:aws:iam::{account}:role/{name}"
    resource = {
        "Repository": ("ecr", f"repository/{name}"),
        "Group": ("logs", f"log-group:{name}"),
        "Parameter": ("ssm", f"parameter{name}" if name.startswith("/") else f"parameter/{name}"),
        "Project": ("codebuild", f"project/{name}"),
        "Function": ("lambda", f"function:{name}"),
    }.get(kind)
    return f"arn:aws:{resource[0]}:{region}:{account}:{resource[1]}" if resource else None


@pytest.mark.parametrize("case", cases())
async def test_observed_identities_agree_with_what_is_composed(case: Case, repos: Path) -> None:
    xr = P.load_xr(case.xr)
    observed = P.load_observed(case.observed)
    assert observed, case.observed
    scope = P.scope_of(xr)
    extra = P.compose_stores(scope) if case.datastores else {}
    inp = P.function_input(scope, repos, **extra)
    fresh = await P.reconcile(xr, {}, inp)
    assert not fresh.fatal, fresh.results
    composed = {n: _external(b) for n, b in fresh.desired.items()}
    region = xr["spec"]["region"]
    status = xr.get("status") or {}
    pinned = {status["decision"]["commit"]} if status.get("decision") else set()
    pinned |= {h["commit"] for h in status.get("history") or []}
    problems: list[str] = []

    for name, body in observed.items():
        seen = _external(body)
        if seen is not None and composed.get(name) not in (None, seen):
            problems.append(f"{name}: observed as {seen!r}, composed as {composed[name]!r}")

    repository = observed.get("image-repository")
    repo_name = None
    if repository is not None:
        repo_name = composed.get("image-repository") or _external(repository)
        url = (repository.get("status") or {}).get("atProvider", {}).get("repositoryUrl")
        m = SCIA_IMAGE.fullmatch(url or "")
        if not m or m["region"] != region or m["repo"] != repo_name or m["tag"]:
            problems.append(
                f"image-repository: repositoryUrl {url!r} is not the composed repository "
                f"{repo_name!r} in {region}"
            )

    for name, body in observed.items():
        for text in _strings(body):
            for m in SCIA_IMAGE.finditer(text):
                where = f"{name}: image {m[0]!r}"
                if repo_name is None:
                    problems.append(f"{where} but no image-repository is observed")
                    continue
                if m["repo"] != repo_name or m["region"] != region:
                    problems.append(f"{where} is not in the composed repository {repo_name!r}")
                if m["tag"] is None:
                    continue  # the repository itself (a build's push target, a policy)
                tag = COMMIT_TAG.match(m["tag"])
                if tag is None or tag["commit"] not in pinned:
                    problems.append(f"{where}: its tag is not a commit the XR pinned {pinned}")

    build_status = observed.get("build-status")
    value = ((build_status or {}).get("status") or {}).get("atProvider", {}).get("insecureValue")
    reported = json.loads(value) if isinstance(value, str) else {}
    if reported.get("commit"):
        commit = reported["commit"]
        rebuild = (xr["metadata"].get("annotations") or {}).get(REBUILD_ANNOTATION, "")
        project = composed.get("build-project") or _external(observed["build-project"])
        if commit not in pinned:
            problems.append(f"build-status: commit {commit} is not pinned ({pinned})")
        if reported.get("token") != token_for(commit, rebuild):
            problems.append(f"build-status: token {reported.get('token')} is not {commit}'s")
        build_id = reported.get("buildId") or ""
        if build_id and not build_id.startswith(f"{project}:"):
            problems.append(f"build-status: build id {build_id!r} is not of project {project!r}")
        if reported.get("state") == "FAILED" and repo_name:
            # No image of a commit whose build failed exists: what serves is an older one.
            failed = f"{repo_name}:{commit}"
            for name, body in observed.items():
                runs = name == "lambda-function" or name.endswith("-deployment")
                if runs and any(failed in text for text in _strings(body)):
                    problems.append(f"{name} runs {failed}, whose build failed")

    problems += _failed_jobs_images_not_running(observed)

    for name, body in observed.items():
        at = (body.get("status") or {}).get("atProvider") or {}
        ext = _external(body)
        arn = at.get("arn") if isinstance(at, dict) else None
        if not (isinstance(arn, str) and ext) or arn.startswith("arn:aws:service:"):
            continue  # a placeholder that names no service
        account = arn.split(":")[4]
        want = _arn(body["kind"], ext, region, account)
        if want is not None and arn != want:
            problems.append(f"{name}: arn {arn!r}, AWS names it {want!r}")

    assert not problems, "\n".join(problems)


# The images a build Job pushes (BuildKit's output, `name=<image>[,<image>],push=true`).
PUSHED = re.compile(r"type=image,name=(?P<names>[^\s\"']+?),push=true")


def _manifest_images(manifest: dict[str, Any]) -> set[str]:
    pod = ((manifest.get("spec") or {}).get("template") or {}).get("spec") or {}
    return {c["image"] for c in pod.get("containers") or [] if isinstance(c.get("image"), str)}


def _failed_jobs_images_not_running(observed: dict[str, Any]) -> list[str]:
    """A build Job the cluster reports Failed pushed nothing: no Deployment asks for or runs
    an image it was to push (what serves is an older one), on every cloud."""
    problems = []
    for name, body in observed.items():
        job = ((body.get("status") or {}).get("atProvider") or {}).get("manifest") or {}
        conditions = (job.get("status") or {}).get("conditions") or []
        if job.get("kind") != "Job" or not any(
            c.get("type") == "Failed" and c.get("status") == "True" for c in conditions
        ):
            continue
        pushed = {
            image
            for text in _strings(body.get("spec") or {})
            for m in PUSHED.finditer(text)
            for image in m["names"].split(",")
        }
        assert pushed, f"{name}: a build Job that pushes nothing"
        for other, dep in observed.items():
            spec = ((dep.get("spec") or {}).get("forProvider") or {}).get("manifest") or {}
            seen = ((dep.get("status") or {}).get("atProvider") or {}).get("manifest") or {}
            if spec.get("kind") != "Deployment":
                continue
            runs = (_manifest_images(spec) | _manifest_images(seen)) & pushed
            if runs:
                problems.append(f"{other} runs {sorted(runs)}, whose build ({name}) failed")
    return problems


def test_every_example_with_observed_state_is_checked() -> None:
    """The cases cover the build steps, the kubernetes steps and the data-store examples."""
    names = {p.values[0].name for p in cases()}
    assert {"legacy/build-rolled-back", "namespaced/build-build-failed"} <= names
    assert {"legacy/xr-kubernetes-running", "namespaced/xr-kubernetes-building"} <= names
    assert {"legacy/xr-kubernetes-build-failed", "namespaced/xr-kubernetes-rolled-back"} <= names
    assert {"legacy/xr-azure-build-failed", "namespaced/xr-azure-build-rolled-back"} <= names
    assert "datastores/xr-flask-kubernetes" in names
    assert {"legacy/vm-rolled-back", "namespaced/vm-rolling-out"} <= names
