"""Names follow AWS's rules for every kind we name, whatever the XR is called."""

from __future__ import annotations

import dataclasses
import random
import string

import pytest

from function.model import Strategy
from function.render.dispatch import render
from function.render.names import (
    EXTERNAL_NAME,
    EXTERNAL_NAME_KINDS,
    FOR_PROVIDER_NAME_KINDS,
    MAX_DESCRIPTION,
    RULES,
    generate,
)
from function.xr import XrIdentity
from tests.render.test_render_aws import FULL_OBSERVED, ctx

DNS = string.ascii_lowercase + string.digits + "-."
HOSTILE = [
    ("internal", "internal-lb"),  # an ALB named internal-... is refused by AWS
    ("internal-team", "x"),
    ("a" * 63, "b" * 253),  # the longest namespace and object name Kubernetes allows
    ("t", "my.app.with.dots"),
    ("0", "9-starts-with-a-digit"),
    ("team-a", "--"),
    ("team-a", "...."),
    ("sg-team", "sg-app"),
    ("x", "UPPER.case_and_underscore"),
]


def _random_identity(rng: random.Random) -> tuple[str, str, str]:
    def word(n: int) -> str:
        return "".join(rng.choice(DNS) for _ in range(rng.randint(1, n)))

    return word(63), word(253), f"{rng.getrandbits(128):032x}"


@pytest.mark.parametrize("kind", sorted(RULES))
def test_generated_names_are_valid_for_hostile_and_random_identities(kind: str) -> None:
    rule = RULES[kind]
    rng = random.Random(20261129)
    cases = [(t, d, f"uid-{i}") for i, (t, d) in enumerate(HOSTILE)]
    cases += [_random_identity(rng) for _ in range(300)]
    seen: dict[str, tuple[str, str]] = {}
    for tenant, deployment, uid in cases:
        for component in ("target-group", "target-group-g1a2b3c", "lambda-role", "x"):
            name = generate(rule, tenant, deployment, uid, component, "tg")
            assert rule.valid(name), (kind, tenant, deployment, name)
            assert name == generate(rule, tenant, deployment, uid, component, "tg")  # stable
            key = name.lower() if rule.case_insensitive_unique else name
            assert seen.setdefault(key, (uid, component)) == (uid, component), name
    assert not any(n.lower().startswith("internal-") for n in seen) or kind != "LB"


def test_load_balancer_never_starts_with_internal() -> None:
    for tenant in ("internal", "internal-x", "INTERNAL"):
        name = generate(RULES["LB"], tenant.lower(), "app", "u", "load-balancer", "lb")
        assert not name.startswith("internal-") and RULES["LB"].valid(name)


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
@pytest.mark.parametrize("strategy", list(Strategy))
@pytest.mark.parametrize(("tenant", "deployment"), HOSTILE[:5])
def test_every_rendered_name_and_description_is_within_aws_limits(
    strategy: Strategy, namespaced: bool, tenant: str, deployment: str
) -> None:
    c = ctx(strategy, namespaced)
    ident = XrIdentity(
        name=f"{deployment[:240]}-x1z9q",
        uid="0d5c1f0e-0000-4000-8000-000000000001",
        tenant=tenant,
        namespaced=namespaced,
        deployment_name=deployment,
    )
    out = render(dataclasses.replace(c, identity=ident), FULL_OBSERVED)
    named = 0
    for comp, body in out.items():
        kind = body["kind"]
        fp = body["spec"].get("forProvider") or {}  # a ProviderConfig has none
        if kind in EXTERNAL_NAME_KINDS:
            name = body["metadata"]["annotations"][EXTERNAL_NAME]
            assert RULES[EXTERNAL_NAME_KINDS[kind]].valid(name), (comp, name)
            named += 1
        if kind in FOR_PROVIDER_NAME_KINDS:
            assert RULES[FOR_PROVIDER_NAME_KINDS[kind]].valid(fp["name"]), (comp, fp["name"])
            named += 1
        if kind in MAX_DESCRIPTION and "description" in fp:
            assert len(fp["description"]) <= MAX_DESCRIPTION[kind], comp
        if kind == "Permission":
            assert RULES["StatementId"].valid(fp["statementId"])
        for v in (fp.get("tags") or {}).values():
            assert len(v) <= 256
    assert named >= 2


def test_names_are_unique_across_resources_and_xrs() -> None:
    for strategy in Strategy:
        per_xr: list[set[tuple[str, str]]] = []
        for uid in ("u-1", "u-2"):
            c = ctx(strategy, False)
            c = dataclasses.replace(c, identity=c.identity.model_copy(update={"uid": uid}))
            names: list[tuple[str, str]] = []
            for body in render(c, FULL_OBSERVED).values():
                ann = body["metadata"].get("annotations", {}).get(EXTERNAL_NAME)
                if ann:
                    names.append((body["kind"], ann))
                elif body["kind"] in FOR_PROVIDER_NAME_KINDS:
                    names.append((body["kind"], body["spec"]["forProvider"]["name"]))
            assert len(names) == len(set(names)) > 0
            # An inline RolePolicy's name is scoped to its role (the provider's external name
            # is "<role>:<name>"): the same name on two XRs' roles is two policies.
            per_xr.append({n for n in names if n[0] != "RolePolicy"})
        assert not per_xr[0] & per_xr[1]


def test_docs_list_every_immutable_kind_and_name_rule() -> None:
    from pathlib import Path

    from function.render.immutable import IMMUTABLE

    docs = Path(__file__).resolve().parents[2] / "docs"
    doc = (docs / "aws-rendering.md").read_text()
    every = "".join(p.read_text() for p in sorted(docs.glob("*.md")))  # GCP: multicloud.md
    for svc, kind in IMMUTABLE:
        assert f"| {svc} {kind}" in every, (svc, kind)
    for rule in RULES.values():
        assert f"| {rule.what} | {rule.max_len} |" in doc, rule.what


def test_an_invalid_name_that_aws_refused_is_replaced_a_created_one_kept() -> None:
    c = ctx(Strategy.VM, False)
    bad = "internal-team-a-flask-1a2b3c-lb"  # what an earlier release could generate
    stuck = {"spec": {"forProvider": {"name": bad}}, "status": {"atProvider": {}}}
    out = render(c, FULL_OBSERVED | {"load-balancer": stuck})
    name = out["load-balancer"]["spec"]["forProvider"]["name"]
    assert name != bad and RULES["LB"].valid(name)
    created = {"spec": {"forProvider": {"name": bad}}, "status": {"atProvider": {"arn": "a:b:c"}}}
    out = render(c, FULL_OBSERVED | {"load-balancer": created})
    assert out["load-balancer"]["spec"]["forProvider"]["name"] == bad
    # Lambda: a metadata.name with dots was never a valid function name.
    s = ctx(Strategy.SERVERLESS, True)
    seen = {"lambda-function": {"metadata": {"name": "my.app-x1z9q"}, "status": {}}}
    fn = render(s, seen)["lambda-function"]["metadata"]["annotations"][EXTERNAL_NAME]
    assert RULES["Function"].valid(fn)
