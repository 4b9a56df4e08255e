"""The deployment's image registry: one Amazon ECR repository, and the image URI per commit.

Every strategy that runs a container built from the repository pushes it here, tagged with
the full commit SHA it was built from. The repository:

- has immutable tags (`imageTagMutability: IMMUTABLE`): a tag names one image forever, so
  the commit a deployment runs is the commit it was built from, and a second build of the
  same commit cannot replace what runs (its push fails; builders check the tag first);
- scans every image on push (basic scanning, `imageScanningConfiguration.scanOnPush`);
- is encrypted with AES-256 (ECR's default, stated);
- is deleted with its images when the deployment is (`forceDelete`), or deleting a
  deployment would hang on a non-empty repository;
- has a lifecycle policy (its own resource): untagged images (failed or interrupted
  pushes) expire after a day, and only the newest `keep` images are kept (default 10).
  A count alone could expire what serves (more than `keep` builds while the live version
  stays put: failed health checks, a long rollback), so the images that must stay have
  rules of their own, evaluated before the count (`protected_commits`): ECR evaluates rules
  by priority and "an image that matches the tagging requirements of a higher priority
  rule cannot be expired by a rule with a lower priority" (ECR User Guide, "Lifecycle
  policy evaluation rules"). Each protected commit gets a rule `tagStatus: tagged`,
  `tagPrefixList: [<full SHA>]` (a list must match ALL its prefixes, hence one rule per
  commit), `imageCountMoreThan 1`: its tag names one image (immutable tags), so it never
  expires. Protected: the commit being deployed, every image of this repository that an
  observed resource names (the Lambda function's image, a Deployment's image and its
  last-good annotation), and the commits of the newest `PROTECTED_HISTORY` revisions of
  `status.history` (the version a Lambda alias still serves after a failed health check,
  and rollback targets). A rollback to an older commit whose image expired builds it again.
  The policy is replaced when that set changes (terraform-provider-aws's
  `aws_ecr_lifecycle_policy` has no update: `policy` forces a new resource, i.e. a new
  PutLifecyclePolicy on the same repository; nothing expires while none is set).

Its AWS name is `scia/<tenant>-<deployment>-<hash>` (the external-name annotation, ECR's
NameAsIdentifier in provider-upjet-aws): lowercase, starts with a letter, unique per
account and region (names.py), and kept once observed.

Sources: ECR API CreateRepository (name rule
^(?=.{2,256}$)((?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)$),
ECR User Guide "Lifecycle policies" (a `tagStatus: any` rule must have the highest
rulePriority), "Image tag mutability", "Image scanning".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from function.render.aws.arns import Observed
from function.render.common import RenderContext, Resources, select
from function.render.names import EXTERNAL_NAME, NameRule, generate, observed_external_name

REPOSITORY = "image-repository"
LIFECYCLE = "image-lifecycle"
KEEP_IMAGES = 10
UNTAGGED_DAYS = 1
PROTECTED_HISTORY = 5
MAX_PROTECTED = 20  # rules of their own; the policy text stays far below ECR's 30,720 bytes
COUNT_RULE_PRIORITY = 100
NAME_PREFIX = "scia/"

RULE = NameRule(
    "ECR repository name (after scia/)",
    256 - len(NAME_PREFIX),
    "a-z0-9-",
    "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html",
    alnum_ends=True,
)
_COMMIT = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
# <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<name>, as ECR reports it.
_REPOSITORY_URL = re.compile(
    r"^\d{12}\.dkr\.ecr(?:-fips)?\.[a-z]{2}(?:-[a-z]+)+-\d{1,2}\.amazonaws\.com(?:\.cn)?"
    r"/[a-z0-9][a-z0-9._/-]*$"
)


def lifecycle_policy(keep: int = KEEP_IMAGES, protect: Sequence[str] = ()) -> str:
    """The lifecycle policy document (JSON text): untagged images expire after a day, the
    images of the `protect` commits (full SHAs) never, the others beyond the newest `keep`.

    Raises ValueError for keep < 1, a protected value that is not a full SHA, or more than
    MAX_PROTECTED of them."""
    if keep < 1:
        raise ValueError("keep must be at least 1")
    commits = sorted(set(protect))
    if len(commits) > MAX_PROTECTED:
        raise ValueError(f"at most {MAX_PROTECTED} protected commits")
    for commit in commits:
        if not _COMMIT.match(commit):
            raise ValueError(f"protected commit {commit!r} is not a full SHA")
    rules: list[dict[str, Any]] = [
        {
            "rulePriority": 1,
            "description": f"expire untagged images after {UNTAGGED_DAYS} day",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": UNTAGGED_DAYS,
            },
            "action": {"type": "expire"},
        }
    ]
    rules += [
        {
            "rulePriority": 2 + i,
            "description": f"keep the image of {commit[:12]} (serving, or a rollback target)",
            "selection": {
                "tagStatus": "tagged",
                "tagPrefixList": [commit],
                "countType": "imageCountMoreThan",
                "countNumber": 1,
            },
            "action": {"type": "expire"},
        }
        for i, commit in enumerate(commits)
    ]
    rules.append(
        {
            "rulePriority": COUNT_RULE_PRIORITY,
            "description": f"keep the newest {keep} images",
            "selection": {
                "tagStatus": "any",
                "countType": "imageCountMoreThan",
                "countNumber": keep,
            },
            "action": {"type": "expire"},
        }
    )
    return json.dumps({"rules": rules}, sort_keys=True, separators=(",", ":"))


def _strings(value: Any) -> Iterator[str]:
    """Every string inside a parsed manifest (bounded by the manifest's size)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def protected_commits(ctx: RenderContext, observed: Observed) -> list[str]:
    """The commits whose images the lifecycle policy must keep (module docstring): the
    deployed commit, the commits of this repository's images that observed resources name,
    and those of the newest PROTECTED_HISTORY revisions; at most MAX_PROTECTED, in that
    order of precedence."""
    url = repository_url(observed)
    seen: list[str] = [ctx.commit]
    if url:
        prefix = url + ":"
        for name in sorted(observed):
            body = observed[name]
            for text in _strings({"spec": body.get("spec"), "status": body.get("status"),
                                  "metadata": body.get("metadata")}):  # fmt: skip
                if text.startswith(prefix) and _COMMIT.match(text[len(prefix) :]):
                    seen.append(text[len(prefix) :])
    seen += list(reversed(ctx.history_commits))[:PROTECTED_HISTORY]
    out: list[str] = []
    for commit in seen:
        if _COMMIT.match(commit) and commit not in out:
            out.append(commit)
    return out[:MAX_PROTECTED]


def repository_name(ctx: RenderContext, observed: Observed | None = None) -> str:
    """The repository's AWS name: the observed one, else a new valid unique one."""
    kept = observed_external_name((observed or {}).get(REPOSITORY))
    if kept:
        return kept
    ident = ctx.identity
    return NAME_PREFIX + generate(RULE, ident.tenant, ident.deployment_name, ident.uid, REPOSITORY)


def registry_resources(
    ctx: RenderContext, observed: Observed | None = None, keep: int = KEEP_IMAGES
) -> Resources:
    """The ECR repository and its lifecycle policy, keyed by composition-resource name."""
    repo = ctx.resource(
        "ecr",
        "Repository",
        REPOSITORY,
        {
            "imageTagMutability": "IMMUTABLE",
            "imageScanningConfiguration": {"scanOnPush": True},
            "encryptionConfiguration": [{"encryptionType": "AES256"}],
            "forceDelete": True,
            "tags": ctx.tags,
        },
    )
    repo["metadata"].setdefault("annotations", {})[EXTERNAL_NAME] = repository_name(ctx, observed)
    protect = protected_commits(ctx, observed or {})
    policy = ctx.resource(
        "ecr",
        "LifecyclePolicy",
        LIFECYCLE,
        {"repositorySelector": select(REPOSITORY), "policy": lifecycle_policy(keep, protect)},
    )
    return {REPOSITORY: repo, LIFECYCLE: policy}


def repository_url(observed: Observed) -> str | None:
    """The observed repository's URL (status.atProvider.repositoryUrl), None until observed
    or when it is not an ECR repository URL."""
    body: dict[str, Any] = observed.get(REPOSITORY) or {}
    at = (body.get("status") or {}).get("atProvider") or {}
    url = at.get("repositoryUrl") if isinstance(at, dict) else None
    return url if isinstance(url, str) and _REPOSITORY_URL.match(url) else None


def image_uri(observed: Observed, commit: str) -> str | None:
    """`<repositoryUrl>:<commit>`, the image built from `commit` (a full SHA), or None
    while the repository is not observed. Raises ValueError for a commit that is not a
    full SHA (a tag must name one commit)."""
    if not _COMMIT.match(commit):
        raise ValueError(f"commit {commit!r} is not a full SHA")
    url = repository_url(observed)
    return f"{url}:{commit}" if url else None
