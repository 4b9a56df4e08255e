"""The ECR lifecycle policy never expires the image that serves or a rollback target.

`expired()` evaluates a policy by the rules of the ECR User Guide ("Lifecycle policy
evaluation rules"): rules in rulePriority order; a rule considers the images that match its
tagging requirements and were not matched by a higher-priority rule ("an image that
matches the tagging requirements of a higher priority rule cannot be expired by a rule with
a lower priority"); `tagPrefixList` matches an image when, for every prefix, one of its
tags starts with it; `imageCountMoreThan N` expires the images past the newest N by push
time; `sinceImagePushed` expires those older than N days. It is checked on the old policy
first: the fault it guards against is reproduced, then shown gone.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

import pytest

from function.model import Strategy
from function.render.aws.registry import (
    COUNT_RULE_PRIORITY,
    LIFECYCLE,
    MAX_PROTECTED,
    PROTECTED_HISTORY,
    REPOSITORY,
    lifecycle_policy,
    protected_commits,
    registry_resources,
)
from function.render.kube.workload import LAST_GOOD
from tests.render.test_render_aws import ctx
from tests.support.crdcheck import assert_all_valid

URL = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/scia/team-a-flask-app-1a2b3c4d"


def sha(i: int) -> str:
    return f"{i:040x}"


@dataclass(frozen=True)
class Image:
    tags: tuple[str, ...]
    pushed_day: int  # days since the first push; larger is newer


def _matches(rule: dict[str, Any], image: Image) -> bool:
    sel = rule["selection"]
    status = sel["tagStatus"]
    if status == "untagged":
        return not image.tags
    if status == "tagged":
        prefixes = sel.get("tagPrefixList") or []
        return bool(image.tags) and all(any(t.startswith(p) for t in image.tags) for p in prefixes)
    return True  # any


def expired(policy: str, images: list[Image], today: int) -> set[Image]:
    rules = sorted(json.loads(policy)["rules"], key=lambda r: r["rulePriority"])
    assert rules[-1]["selection"]["tagStatus"] == "any" or all(
        r["selection"]["tagStatus"] != "any" for r in rules
    ), "ECR: a tagStatus any rule must have the highest rulePriority"
    claimed: set[Image] = set()
    out: set[Image] = set()
    for rule in rules:
        mine = [i for i in images if i not in claimed and _matches(rule, i)]
        claimed.update(mine)
        sel = rule["selection"]
        if sel["countType"] == "imageCountMoreThan":
            newest_first = sorted(mine, key=lambda i: -i.pushed_day)
            out.update(newest_first[sel["countNumber"] :])
        else:
            out.update(i for i in mine if today - i.pushed_day > sel["countNumber"])
    return out


def _history_after_failures(live: int, failed: int) -> list[Image]:
    """The live commit's image, then `failed` newer builds (each pushed, then failing its
    health check or rolled back: the live version stays)."""
    return [Image((sha(live),), 0)] + [Image((sha(live + n),), n) for n in range(1, failed + 1)]


def test_the_old_count_only_policy_expires_the_live_image() -> None:
    images = _history_after_failures(1, 12)
    assert Image((sha(1),), 0) in expired(lifecycle_policy(10), images, today=12)


@pytest.mark.parametrize("failed", [0, 9, 10, 11, 30])
def test_the_live_image_survives_any_number_of_newer_builds(failed: int) -> None:
    images = _history_after_failures(1, failed)
    live = Image((sha(1),), 0)
    newest = sha(1 + failed)
    policy = lifecycle_policy(10, protect=[sha(1), newest])
    gone = expired(policy, images, today=failed + 400)
    assert live not in gone
    assert Image((newest,), failed) not in gone
    # The count still bounds the rest: at most 10 unprotected images remain.
    assert len(images) - len(gone) <= 10 + 2


def test_untagged_images_still_expire_and_rules_are_in_priority_order() -> None:
    policy = lifecycle_policy(10, protect=[sha(3), sha(1), sha(2)])
    rules = json.loads(policy)["rules"]
    priorities = [r["rulePriority"] for r in rules]
    # terraform-provider-aws: rules not in ascending priority are re-created on every plan.
    assert priorities == sorted(priorities) and len(set(priorities)) == len(priorities)
    assert rules[-1]["rulePriority"] == COUNT_RULE_PRIORITY
    assert [r["selection"].get("tagPrefixList") for r in rules[1:-1]] == [
        [sha(1)], [sha(2)], [sha(3)]
    ]  # fmt: skip
    assert Image((), 0) in expired(policy, [Image((), 0)], today=5)
    assert lifecycle_policy(10, [sha(1), sha(1)]) == lifecycle_policy(10, [sha(1)])
    for bad in (["main"], [sha(1)[:12]], [sha(i) for i in range(MAX_PROTECTED + 1)]):
        with pytest.raises(ValueError):
            lifecycle_policy(10, bad)


def _observed_running(
    lambda_image: str | None, deployment: dict[str, str] | None
) -> dict[str, Any]:
    observed: dict[str, Any] = {REPOSITORY: {"status": {"atProvider": {"repositoryUrl": URL}}}}
    if lambda_image:
        observed["lambda-function"] = {"spec": {"forProvider": {"imageUri": lambda_image}}}
    if deployment:
        manifest = {
            "metadata": {"annotations": {LAST_GOOD: deployment["last_good"]}},
            "spec": {"template": {"spec": {"containers": [{"image": deployment["image"]}]}}},
        }
        observed["k8s-web-deployment"] = {"spec": {"forProvider": {"manifest": manifest}}}
    # An image of another repository is never this repository's to protect.
    observed["other"] = {"spec": {"forProvider": {"imageUri": f"public.ecr.aws/x/y:{sha(99)}"}}}
    return observed


def test_protected_commits_come_from_the_pin_observed_images_and_history() -> None:
    c = ctx(Strategy.SERVERLESS, False)
    history = tuple(sha(100 + i) for i in range(8))  # oldest first
    c = dataclasses.replace(c, commit=sha(7), history_commits=history)
    observed = _observed_running(
        f"{URL}:{sha(5)}", {"image": f"{URL}:{sha(6)}", "last_good": f"{URL}:{sha(4)}"}
    )
    got = protected_commits(c, observed)
    assert got[0] == sha(7)
    assert {sha(4), sha(5), sha(6)} <= set(got)
    assert sha(99) not in got
    newest = list(reversed(history))[:PROTECTED_HISTORY]
    assert set(newest) <= set(got) and sha(100) not in got
    policy = registry_resources(c, observed)[LIFECYCLE]["spec"]["forProvider"]["policy"]
    prefixes = {
        p for r in json.loads(policy)["rules"] for p in r["selection"].get("tagPrefixList", [])
    }
    assert prefixes == set(got)


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
def test_the_protecting_policy_validates(namespaced: bool) -> None:
    c = dataclasses.replace(ctx(Strategy.SERVERLESS, namespaced), history_commits=(sha(1), sha(2)))
    out = registry_resources(c, _observed_running(f"{URL}:{sha(5)}", None))
    body = out[LIFECYCLE]
    assert_all_valid([{**body, "metadata": {**body["metadata"], "name": "x-lifecycle"}}])
