"""Write the vm rollout examples: flask-app on `strategy: vm` (AWS), pinned, and its observed
composed resources at each step of a rollout.

    python -m examples.vm.generate

For each scope (legacy claim-backed XR, v2 namespaced XR) it renders the XR through the
real `crossplane render` and function server (the demo's machinery: the example apps as
local git repositories), then plays the provider: each step's observed resources are the
previous render's desired resources, Ready, with what the provider reports (ARNs, the
launch template's latestVersion, the group's launch template version as AWS has it). Each
step's XR carries the status the previous reconcile wrote (status.rollout included: the
vm rollout remembers the version it saw applied, render/aws/vm_rollout.py). Steps:

- running (xr.yaml): the first commit, launch template version 1, serves;
- rolling-out (xr-next-commit.yaml: the team pinned the next commit, decision revision 2):
  the template has version 2, the group asks for it, AWS still reports 1;
- running-next (xr-next-commit.yaml): AWS reports version 2 (the instance refresh runs);
- rolled-back (xr-next-commit-applied.yaml, whose status.rollout saw version 2 applied):
  the refresh failed and AWS rolled the group back to version 1, which keeps serving; the
  function names version 1 again and reports RolledBack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from examples import render as demo
from examples import steps
from examples.build.generate import (
    ACCOUNT,
    REGION,
    Resources,
    external_name,
    observed,
    split,
)
from examples.vm import azure_https

HERE = Path(__file__).resolve().parent
KEPT_STATUS = ("decision", "history", "rollout")


def xr_doc(scope: str) -> dict[str, Any]:
    return steps.team_b_xr(
        scope,
        "flask-app-vm",
        "3e9b1c7d-5a2f-4e8b-9c1d-7f3a5b9e1c2d",
        {
            "repository": {"url": "https://github.com/acme/flask-app", "ref": "main"},
            "prompt": "a small Flask API on instances behind a load balancer",
            "region": REGION,
            "strategy": "vm",
            "budget": {"maxMonthlyCost": 200},
        },
    )


def elb_arns(desired: Resources) -> dict[str, dict[str, Any]]:
    """The target group's and load balancer's ARNs as ELB reports them (their names are
    forProvider.name)."""
    out = {}
    for component, kind in (("target-group", "targetgroup"), ("load-balancer", "loadbalancer/app")):
        name = desired[component]["spec"]["forProvider"].get("name") or component
        out[component] = {
            "arn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:{kind}/{name}/0123456789abcdef"
        }
    out["load-balancer"]["dnsName"] = f"{name}-1234567890.{REGION}.elb.amazonaws.com"
    return out


def next_commit(repo: Path) -> str:
    """The next commit of flask-app (the commit the team pins for the rollout steps)."""
    return steps.next_commit(repo, "app.py", lambda text: text + "\n# v2\n", "flask-app: v2")


def main() -> int:
    return steps.generate("flask-app", next_commit, steps.SCOPES, write_scope)


def write_observed(path: Path, what: str, resources: Resources) -> None:
    steps.write_observed(path, what, resources, "examples.vm.generate")


def write_xr(path: Path, doc: dict[str, Any], status: dict[str, Any], what: str) -> None:
    body = doc | {"status": {k: status[k] for k in KEPT_STATUS if k in status}}
    path.write_text(
        f"# {what}\n# Written by `python -m examples.vm.generate`.\n"
        + yaml.safe_dump(body, sort_keys=False)
    )


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
    name = xr["metadata"]["name"]
    xr_path = out / "xr.yaml"
    first_what = f"flask-app on vm, pinned at {commit[:12]}: render it with observed-running.yaml"
    write_xr(xr_path, xr_doc(scope), xr["status"], first_what)
    last: dict[str, Any] = {}

    def step(seen: Resources, path: Path) -> Resources:
        obs = work / "observed.yaml"
        obs.write_text(yaml.safe_dump_all(list(seen.values())))
        composite, resources = split(demo.render(crossplane, path, comp, functions, obs))
        last["xr"] = composite
        return resources

    at: dict[str, dict[str, Any]] = {
        **elb_arns(desired),
        "launch-template": {"latestVersion": 1},
        "autoscaling-group": {"launchTemplate": {"version": "1"}},
    }
    seen = observed(desired, name, at)
    for _ in range(4):  # the group, its policy, the log policy and the alarm appear in turn
        seen = observed(step(seen, xr_path), name, at)
    assert "rollout-alarm" in seen and "autoscaling-group" in seen, sorted(seen)
    write_xr(xr_path, xr_doc(scope), last["xr"]["status"], first_what)
    seen = observed(step(seen, xr_path), name, at)
    assert last["xr"]["status"]["rollout"]["state"] == "Running", last["xr"]["status"]
    write_observed(out / "observed-running.yaml",
                   f"launch template version 1 ({commit[:12]}) serves", seen)  # fmt: skip

    # The team pins the next commit: decision revision 2; the launch template's user data
    # changes, and the provider makes version 2.
    moved = xr_doc(scope)
    moved["spec"]["repository"]["ref"] = after
    before = work / f"xr-next-{scope}.yaml"
    write_xr(before, moved, last["xr"]["status"], "the next commit, before its pin")
    seen = observed(step(seen, before), name, at)
    status = last["xr"]["status"]
    assert status["decision"]["commit"] == after and status["decision"]["revision"] == 2, status
    next_path = out / "xr-next-commit.yaml"
    write_xr(next_path, moved, status,
             f"flask-app after the team pinned the next commit ({after[:12]}): decision "
             "revision 2. Render it with observed-rolling-out.yaml and "
             "observed-running-next.yaml.")  # fmt: skip
    at["launch-template"] = {"latestVersion": 2}
    for _ in range(2):  # the template's new version is observed, then the group asks for it
        seen = observed(step(seen, next_path), name, at)
    assert seen["autoscaling-group"]["spec"]["forProvider"]["launchTemplate"]["version"] == "2"
    step(seen, next_path)
    assert last["xr"]["status"]["rollout"]["state"] == "RollingOut", last["xr"]["status"]
    write_observed(out / "observed-rolling-out.yaml",
                   f"the group asks for launch template version 2 ({after[:12]}); AWS still "
                   "reports version 1", seen)  # fmt: skip

    at["autoscaling-group"] = {"launchTemplate": {"version": "2"}}
    seen = observed(step(seen, next_path), name, at)
    step(seen, next_path)
    assert last["xr"]["status"]["rollout"]["state"] == "Running", last["xr"]["status"]
    write_observed(out / "observed-running-next.yaml",
                   f"AWS reports launch template version 2 ({after[:12]})", seen)  # fmt: skip
    applied = out / "xr-next-commit-applied.yaml"
    write_xr(applied, moved, last["xr"]["status"],
             f"flask-app at {after[:12]} after AWS reported launch template version 2 "
             "(status.rollout.appliedVersion). Render it with observed-rolled-back.yaml.",
             )  # fmt: skip

    # The instance refresh failed (the rollout alarm: version 2's instances never became
    # healthy) and AWS rolled the group back: it reports version 1 while Crossplane still
    # asks for 2.
    at["autoscaling-group"] = {"launchTemplate": {"version": "1"}}
    back = observed(step(seen, applied), name, at)
    assert back["autoscaling-group"]["spec"]["forProvider"]["launchTemplate"]["version"] == "2"
    assert external_name(back["autoscaling-group"]) == external_name(seen["autoscaling-group"])
    desired = step(back, applied)
    assert last["xr"]["status"]["rollout"]["state"] == "RolledBack", last["xr"]["status"]
    assert desired["autoscaling-group"]["spec"]["forProvider"]["launchTemplate"]["version"] == "1"
    write_observed(out / "observed-rolled-back.yaml",
                   f"AWS rolled launch template version 2 ({after[:12]}) back; version 1 "
                   f"({commit[:12]}) keeps serving", back)  # fmt: skip
    azure_https.write_scope(scope, work, crossplane, comp, functions)


if __name__ == "__main__":
    raise SystemExit(main())
