"""The composed ECR repository: immutable SHA tags, scan on push, lifecycle, image URI."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from function.model import Strategy
from function.render.aws.registry import (
    KEEP_IMAGES,
    LIFECYCLE,
    REPOSITORY,
    image_uri,
    lifecycle_policy,
    registry_resources,
    repository_name,
    repository_url,
)
from function.render.common import RenderContext
from function.render.names import EXTERNAL_NAME
from tests.render.test_render_aws import ctx
from tests.support.crdcheck import assert_all_valid

SHA = "0123456789abcdef0123456789abcdef01234567"
URL = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/scia/team-a-flask-app-1a2b3c4d"
# ECR's own rule for repository names (CreateRepository, repositoryName pattern).
ECR_NAME = re.compile(
    r"^(?=.{2,256}$)((?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)$"
)


def observed_repo(url: str | None, name: str | None = None) -> dict[str, dict[str, Any]]:
    body: dict[str, Any] = {"status": {"atProvider": {"repositoryUrl": url} if url else {}}}
    if name:
        body["metadata"] = {"annotations": {EXTERNAL_NAME: name}}
    return {REPOSITORY: body}


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
def test_repository_and_lifecycle_validate_in_both_scopes(namespaced: bool) -> None:
    out = registry_resources(ctx(Strategy.SERVERLESS, namespaced))
    assert set(out) == {REPOSITORY, LIFECYCLE}
    for name, body in out.items():
        assert body["apiVersion"].split("/")[0].endswith(".aws.m.upbound.io") == namespaced
        assert_all_valid([{**body, "metadata": {**body["metadata"], "name": f"x-{name}"}}])
    repo = out[REPOSITORY]["spec"]["forProvider"]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["forceDelete"] is True
    assert repo["region"] == "eu-west-1"
    assert out[LIFECYCLE]["spec"]["forProvider"]["repositorySelector"]["matchLabels"] == {
        "scia.io/component": REPOSITORY
    }


def test_lifecycle_keeps_the_newest_images_and_expires_untagged_ones() -> None:
    rules = json.loads(lifecycle_policy())["rules"]
    untagged, keep = sorted(rules, key=lambda r: r["rulePriority"])
    assert untagged["selection"] == {
        "tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1,
    }  # fmt: skip
    # ECR: a tagStatus "any" rule must have the highest rulePriority.
    assert keep["selection"]["tagStatus"] == "any"
    assert keep["rulePriority"] == max(r["rulePriority"] for r in rules)
    assert keep["selection"]["countNumber"] == KEEP_IMAGES
    assert {r["action"]["type"] for r in rules} == {"expire"}
    assert json.loads(lifecycle_policy(3))["rules"][1]["selection"]["countNumber"] == 3
    with pytest.raises(ValueError):
        lifecycle_policy(0)


@pytest.mark.parametrize(
    ("tenant", "deployment"),
    [("team-a", "flask-app"), ("1team", "App_With.Dots"), ("x" * 63, "y" * 63), ("---", "___")],
)
def test_repository_names_follow_ecr_rules_and_are_kept_once_observed(
    tenant: str, deployment: str
) -> None:
    c = ctx(Strategy.SERVERLESS, False)
    c = RenderContext(
        **{
            **c.__dict__,
            "identity": c.identity.model_copy(
                update={"tenant": tenant, "deployment_name": deployment}
            ),
        }
    )
    name = repository_name(c)
    assert ECR_NAME.match(name) and name.startswith("scia/")
    assert name == repository_name(c)  # deterministic
    annotated = registry_resources(c)[REPOSITORY]["metadata"]["annotations"][EXTERNAL_NAME]
    assert annotated == name
    assert repository_name(c, observed_repo(URL, "legacy/name")) == "legacy/name"


def test_two_deployments_never_share_a_repository() -> None:
    a = ctx(Strategy.SERVERLESS, False)
    b = RenderContext(**{**a.__dict__, "identity": a.identity.model_copy(update={"uid": "u-2"})})
    assert repository_name(a) != repository_name(b)


def test_image_uri_is_the_observed_url_tagged_with_the_full_commit() -> None:
    assert image_uri({}, SHA) is None  # not observed yet
    assert image_uri(observed_repo(None), SHA) is None  # created, URL not reported yet
    assert image_uri(observed_repo(URL), SHA) == f"{URL}:{SHA}"
    assert repository_url(observed_repo("not a url; rm -rf /")) is None
    with pytest.raises(ValueError):
        image_uri(observed_repo(URL), "main")
    with pytest.raises(ValueError):
        image_uri(observed_repo(URL), SHA[:12])


def test_vm_builds_a_dockerfile_in_a_subfolder_with_that_folder_as_context() -> None:
    """vm runs the repository's Dockerfile on the instance, built from the pinned commit."""
    import base64
    import subprocess

    from function.pinning import AnalysisSummary
    from function.render.aws.userdata import user_data

    summary = AnalysisSummary(language="go", port=9000, has_dockerfile=True)
    sub = base64.b64decode(
        user_data(
            "https://github.com/acme/mono",
            SHA,
            summary,
            9000,
            None,
            True,
            dockerfile="services/api/Dockerfile",
        )
    ).decode()
    assert "DOCKERFILE=services/api/Dockerfile\nCONTEXT=services/api\n" in sub
    assert 'docker build -f "/srv/app/$DOCKERFILE" -t app:"$COMMIT" "/srv/app/$CONTEXT"' in sub
    root = base64.b64decode(
        user_data(
            "https://github.com/acme/mono", SHA, summary, 9000, None, True, dockerfile="Dockerfile"
        )
    ).decode()
    assert 'docker build -t app:"$COMMIT" /srv/app' in root and "DOCKERFILE=" not in root
    hostile = base64.b64decode(
        user_data(
            "https://github.com/acme/mono", SHA, summary, 9000, None, True, dockerfile="../../etc/x"
        )
    ).decode()
    assert "DOCKERFILE=" not in hostile
    for script in (sub, root, hostile):
        subprocess.run(["bash", "-n"], input=script, text=True, check=True, timeout=60)
