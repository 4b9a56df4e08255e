"""examples/tenancy/admission-policy.yaml: its CEL evaluated with cel-python on claims.

The ValidatingAdmissionPolicy runs at `kubectl apply`; here each expression is evaluated
the way the API server does: variables in order (each sees the earlier ones), then every
validation, with `object`, `params` (the ConfigMap) and `request` bound. Objects are
converted by the XRD's schema (so maxMonthlyCost is a double, as it is in the cluster).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import celpy
import pytest
import yaml
from celpy import celtypes

from function.policy.admission import admit
from function.policy.settings import PolicySettings
from function.xr import KNOWN_POLICIES, AppSpec, XrIdentity
from tests.support.cel_rules import K8S_FUNCTIONS, to_cel
from tests.support.crdcheck import REPO_ROOT

POLICY_FILE = REPO_ROOT / "examples" / "tenancy" / "admission-policy.yaml"
DOCS = list(yaml.safe_load_all(POLICY_FILE.read_text()))
CONFIG_MAP = next(d for d in DOCS if d["kind"] == "ConfigMap")
POLICY = next(d for d in DOCS if d["kind"] == "ValidatingAdmissionPolicy")
BINDING = next(d for d in DOCS if d["kind"] == "ValidatingAdmissionPolicyBinding")
XRD = yaml.safe_load((REPO_ROOT / "xrds" / "legacy" / "definition.yaml").read_text())
CLAIM_SCHEMA = XRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
CLAIM: dict[str, Any] = yaml.safe_load((REPO_ROOT / "examples/legacy/claim.yaml").read_text())
_ENV = celpy.Environment()
TENANT = {"username": "alice", "groups": ["team-a-developers"]}
CROSSPLANE = {"username": "system:serviceaccount:crossplane-system:crossplane"}


def _eval(expr: str, activation: dict[str, Any]) -> Any:
    prog = _ENV.program(_ENV.compile(expr), functions=K8S_FUNCTIONS)
    return prog.evaluate(activation)


def review(
    obj: dict[str, Any], data: dict[str, str] | None = None, user: dict[str, Any] | None = None
) -> list[str]:
    """The messages of the failed validations; [] when the claim is admitted."""
    params = to_cel({"data": CONFIG_MAP["data"] if data is None else data}, {})
    request = to_cel({"operation": "CREATE", "userInfo": user or TENANT}, {})
    activation: dict[str, Any] = {
        "object": to_cel(obj, CLAIM_SCHEMA),
        "params": params,
        "request": request,
    }
    spec = POLICY["spec"]
    for cond in spec.get("matchConditions", []):
        if not bool(_eval(cond["expression"], activation)):
            return []
    variables: dict[Any, Any] = {}
    for var in spec["variables"]:
        activation["variables"] = celtypes.MapType(variables)
        variables[celtypes.StringType(var["name"])] = _eval(var["expression"], activation)
    activation["variables"] = celtypes.MapType(variables)
    failed = []
    for v in spec["validations"]:
        result = _eval(v["expression"], activation)
        assert isinstance(result, celtypes.BoolType), (v["expression"], result)
        if not result:
            msg = v.get("message")
            if "messageExpression" in v:
                msg = str(_eval(v["messageExpression"], activation))
            failed.append(str(msg))
    return failed


def claim(**spec: Any) -> dict[str, Any]:
    out = copy.deepcopy(CLAIM)
    out["spec"].update(spec)
    return out


def test_policy_shape_and_binding() -> None:
    assert POLICY["apiVersion"] == "admissionregistration.k8s.io/v1"
    assert POLICY["spec"]["failurePolicy"] == "Fail"
    rules = POLICY["spec"]["matchConstraints"]["resourceRules"]
    assert rules[0]["apiGroups"] == ["scia.io"] and rules[0]["resources"] == ["appdeployments"]
    assert BINDING["spec"]["policyName"] == POLICY["metadata"]["name"]
    assert BINDING["spec"]["validationActions"] == ["Deny"]
    ref = BINDING["spec"]["paramRef"]
    assert (ref["name"], ref["namespace"]) == (
        CONFIG_MAP["metadata"]["name"],
        CONFIG_MAP["metadata"]["namespace"],
    )
    # The known names in the CEL are the function's.
    for v in POLICY["spec"]["validations"]:
        if "require-https" in v["expression"]:
            for name in KNOWN_POLICIES:
                assert f"'{name}'" in v["expression"]


def test_good_claim_with_required_policy_is_admitted() -> None:
    assert review(claim(policies=["enable-monitoring"])) == []
    assert review(claim(policies=["enable-monitoring", "require-https"])) == []


def test_missing_required_policy_is_refused_naming_it() -> None:
    [msg] = review(claim())
    assert msg.startswith("spec.policies: the platform requires enable-monitoring")
    # Nothing required: the same claim passes.
    assert review(claim(), data={"minMonthlyBudget": "10", "requiredPolicies": ""}) == []
    assert review(claim(), data={}) == []


def test_unknown_policy_is_refused() -> None:
    msgs = review(claim(policies=["enable-monitoring", "encrypt-everything"]))
    assert msgs == [
        "spec.policies: unknown policy encrypt-everything; known: require-https, enable-monitoring"
    ]


@pytest.mark.parametrize(("budget", "ok"), [(9.99, False), (10, True), (10.5, True)])
def test_minimum_budget(budget: float, ok: bool) -> None:
    c = claim(policies=["enable-monitoring"], budget={"maxMonthlyCost": budget})
    msgs = review(c)
    assert (msgs == []) is ok
    if not ok:
        assert msgs[0].startswith("spec.budget.maxMonthlyCost: the platform minimum is $10")
    # The platform can raise the floor.
    raised = review(c, data={"minMonthlyBudget": "50", "requiredPolicies": "enable-monitoring"})
    assert raised and "minimum is $50" in raised[0]


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://github.com/acme/app", True),
        ("ssh://git@github.com/acme/app.git", True),
        ("git@github.com:acme/app.git", True),
        ("http://github.com/acme/app", False),
        ("file:///etc/passwd", False),
        ("git://github.com/acme/app", False),
        ("https://github.com/acme/app with space", False),
    ],
)
def test_repository_url_scheme(url: str, ok: bool) -> None:
    msgs = review(claim(policies=["enable-monitoring"], repository={"url": url}))
    assert (msgs == []) is ok, msgs
    if not ok:
        assert msgs == ["spec.repository.url: must be an https://, ssh:// or git@host:path URL"]


def test_prompt_length() -> None:
    assert review(claim(policies=["enable-monitoring"], prompt="x" * 4000)) == []
    assert review(claim(policies=["enable-monitoring"], prompt="x" * 4001)) == [
        "spec.prompt: at most 4000 characters"
    ]


def test_crossplane_itself_is_exempt() -> None:
    assert review(claim(), user=CROSSPLANE) == []


def test_several_violations_are_all_reported() -> None:
    bad = claim(budget={"maxMonthlyCost": 1}, repository={"url": "ftp://x/y"}, prompt="p" * 5000)
    assert len(review(bad)) == 4


def test_cluster_and_function_agree_on_the_same_claims() -> None:
    """The function-side rules refuse what the cluster-side policy refuses (and vice versa)."""
    data = CONFIG_MAP["data"]
    settings = PolicySettings(
        min_monthly_budget=float(data["minMonthlyBudget"]),
        required_policies=[p for p in data["requiredPolicies"].split(",") if p],
    )
    identity = XrIdentity(
        name="flask-app", uid="u", tenant="team-a", namespaced=False, deployment_name="flask-app"
    )
    cases = [
        claim(policies=["enable-monitoring"]),
        claim(),
        claim(policies=["enable-monitoring"], budget={"maxMonthlyCost": 10}),
        claim(policies=["enable-monitoring", "require-https"]),
    ]
    for c in cases:
        spec = AppSpec.model_validate(c["spec"])
        function_side = [
            v for v in admit(spec, identity, settings) if not v.field.startswith("input.")
        ]
        assert bool(function_side) == bool(review(c)), c["spec"]


def test_policy_file_has_no_stray_documents() -> None:
    assert [d["kind"] for d in DOCS] == [
        "ConfigMap",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    ]
    assert Path(POLICY_FILE).read_text().count("requiredPolicies") >= 2
