"""Through the reconcile: the decision carries the data stores (cost, budget, alternatives),
the render composes them, and what the team binds or configures reaches the launcher."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from function.reconcile import ReconcileResult
from tests.support.crdcheck import assert_all_valid
from tests.support.inproc import function_input, reconcile

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
LEGACY = yaml.safe_load((ROOT / "examples" / "legacy" / "xr.yaml").read_text())
NAMESPACED = yaml.safe_load((ROOT / "examples" / "namespaced" / "xr.yaml").read_text())


def xr_for(app: str, scope: str = "legacy", **spec: Any) -> dict[str, Any]:
    xr = copy.deepcopy(LEGACY if scope == "legacy" else NAMESPACED)
    xr["spec"]["repository"]["url"] = f"https://github.com/acme/{app}"
    xr["spec"].pop("image", None)
    xr["spec"].update(spec)
    return xr


def composed_input(repos: Path, scope: str = "legacy", **extra: Any) -> dict[str, Any]:
    return function_input(scope, repos, dataStores={"compose": True}, **extra)


def _valid(result: ReconcileResult) -> None:
    assert_all_valid(
        [{**b, "metadata": {**b["metadata"], "name": f"x-{n}"}} for n, b in result.desired.items()]
    )


def _messages(result: ReconcileResult) -> str:
    return "\n".join(m for _, m in result.results)


@pytest.mark.parametrize("scope", ["legacy", "namespaced"])
async def test_flask_app_gets_a_composed_postgres(repos: Path, scope: str) -> None:
    xr = xr_for(
        "flask-app",
        scope,
        prompt="the flask app, highly available",
        strategy="auto",
        region="eu-west-1",
    )
    got = await reconcile(xr, {}, composed_input(repos, scope))
    assert not got.fatal, got.results
    decision = got.status["decision"]
    assert decision["parameters"]["strategy"] == "vm"
    (store,) = decision["parameters"]["dataStores"]
    assert (store["kind"], store["size"], store["envName"]) == (
        "postgres",
        "db.t4g.micro",
        "DATABASE_URL",
    )
    assert store["multiAz"] is True  # "highly available" in the prompt
    lines = {i["resource"]: i["monthly"] for i in got.status["cost"]["breakdown"]}
    # Multi-AZ: 2 x 730 h x $0.016 in us-east-1, x 0.107/0.096 (EC2 m6i.large) in eu-west-1.
    assert lines["rds-postgres"] == pytest.approx(2 * 730 * 0.016 * 0.107 / 0.096, abs=0.01)
    assert got.status["cost"]["estimatedMonthly"] == pytest.approx(sum(lines.values()), abs=0.02)
    alternatives = {a["strategy"]: a["reason"] for a in got.status["alternativeStrategies"]}
    assert alternatives["serverless"].startswith("not possible")
    assert "wired for" not in alternatives["kubernetes"]
    assert {
        "db-postgres",
        "db-subnet-group",
        "db-postgres-security-group",
        "private-subnet-a",
    } <= set(got.desired)
    _valid(got)


@pytest.mark.parametrize("scope", ["legacy", "namespaced"])
async def test_kubernetes_gets_its_composed_store_in_the_cluster_vpc(
    repos: Path, scope: str
) -> None:
    xr = xr_for(
        "flask-app",
        scope,
        prompt="the flask app",
        strategy="kubernetes",
        budget={"maxMonthlyCost": 1000, "enforcementMode": "soft"},
    )
    got = await reconcile(xr, {}, composed_input(repos, scope))
    assert not got.fatal, got.results
    assert "decision" in got.status, got.status
    decision = got.status["decision"]["parameters"]
    assert decision["strategy"] == "kubernetes"
    (store,) = decision["dataStores"]
    assert store["kind"] == "postgres"
    assert "rds-postgres" in {i["resource"] for i in got.status["cost"]["breakdown"]}
    assert {"db-postgres", "db-postgres-security-group", "app-role", "app-config-policy"} <= set(
        got.desired
    )
    # The fence admits the cluster's nodes once the cluster's security group is observed.
    assert "db-postgres-ingress-from-app" not in got.desired
    assert "clusterSecurityGroupId" in _messages(got)
    policy = json.loads(got.desired["app-config-policy"]["spec"]["forProvider"]["policy"])
    assert "rds:DescribeDBInstances" in {a for st in policy["Statement"] for a in st["Action"]}
    _valid(got)


@pytest.mark.parametrize("scope", ["legacy", "namespaced"])
async def test_serverless_gets_its_composed_store_and_a_way_out(repos: Path, scope: str) -> None:
    xr = xr_for(
        "counter-app",
        scope,
        prompt="a hit counter",
        strategy="serverless",
        budget={"maxMonthlyCost": 1000, "enforcementMode": "soft"},
    )
    got = await reconcile(xr, {}, composed_input(repos, scope))
    assert not got.fatal, got.results
    assert "decision" in got.status, got.status
    (store,) = got.status["decision"]["parameters"]["dataStores"]
    assert store["kind"] == "redis"
    lines = {i["resource"] for i in got.status["cost"]["breakdown"]}
    assert {"redis", "nat-gateway", "nat-gateway-ip"} <= lines
    assert {"cache", "cache-auth", "nat-gateway", "lambda-security-group", "private-subnet-a"} <= (
        set(got.desired)
    )
    _valid(got)


async def test_counter_app_gets_a_composed_redis(repos: Path) -> None:
    got = await reconcile(
        xr_for("counter-app", "namespaced", prompt="a hit counter"),
        {},
        composed_input(repos, "namespaced"),
    )
    assert not got.fatal, got.results
    (store,) = got.status["decision"]["parameters"]["dataStores"]
    assert (store["kind"], store["envName"], store["multiAz"]) == ("redis", "REDIS_URL", False)
    assert "cache" in got.desired and "db-subnet-group" not in got.desired
    _valid(got)


async def test_bound_store_composes_nothing_and_reaches_the_launcher(repos: Path) -> None:
    xr = xr_for(
        "flask-app", services={"postgres": {"secretRef": {"name": "flask-db", "key": "url"}}}
    )
    got = await reconcile(xr, {}, composed_input(repos))
    assert not got.fatal, got.results
    assert "dataStores" not in got.status["decision"]["parameters"]
    assert not [n for n in got.desired if n.startswith("db-")]
    versions = [b for b in got.desired.values() if b["kind"] == "SecretVersion"]
    assert [v["spec"]["forProvider"]["secretStringSecretRef"] for v in versions] == [
        {"name": "flask-db", "key": "url", "namespace": "team-a"}
    ]
    _valid(got)


async def test_not_allowed_store_is_a_note_or_a_clear_failure(repos: Path) -> None:
    inp = function_input("legacy", repos)
    got = await reconcile(xr_for("flask-app"), {}, inp)
    assert not got.fatal
    assert "spec.services.postgres.secretRef" in _messages(got)
    asked = await reconcile(xr_for("flask-app", services={"postgres": {}}), {}, inp)
    assert asked.status["phase"] == "Failed"
    assert "invalid spec.services.postgres" in asked.status["message"]
    assert "dataStores.compose" in asked.status["message"]


async def test_hard_budget_counts_the_store(repos: Path) -> None:
    budget = {"maxMonthlyCost": 20, "enforcementMode": "hard"}
    got = await reconcile(
        xr_for("flask-app", budget=budget, prompt="an api"), {}, composed_input(repos)
    )
    # The database alone is ~$14/month: nothing with it fits $20 on vm; refused, clearly.
    assert got.status["phase"] == "Failed", got.status
    assert "20" in got.status["message"]


async def test_wrong_repository_path_lists_the_services(repos: Path) -> None:
    xr = xr_for(
        "shop",
        repository={"url": "https://github.com/acme/shop", "ref": "main", "path": "services/nope"},
    )
    got = await reconcile(xr, {}, function_input("legacy", repos))
    assert got.status["phase"] == "Failed"
    assert "services found: services/api, services/web" in got.status["message"]
    ok = await reconcile(
        xr_for(
            "shop",
            repository={
                "url": "https://github.com/acme/shop",
                "ref": "main",
                "path": "services/api",
            },
        ),
        {},
        function_input("legacy", repos),
    )
    assert not ok.fatal and ok.status["phase"] != "Failed", ok.status
    assert ok.status["decision"]["parameters"]["strategy"] == "vm"  # one service: a VM group fits


async def test_llm_keeps_the_stores_and_sees_their_cost(repos: Path) -> None:
    from tests.support.fake_ollama import Reply, fake_ollama

    good = {
        "strategy": "vm",
        "vm": {"instanceType": "t3.small", "minSize": 2, "maxSize": 3, "desiredCapacity": 2},
        "reason": "two small instances",
        "confidence": 0.8,
        "alternatives": [],
    }
    with fake_ollama(Reply.json(good)) as fake:
        inp = composed_input(repos, llm={"enabled": True, "host": fake.url, "timeoutSeconds": 30})
        got = await reconcile(xr_for("flask-app"), {}, inp)
        prompt = json.dumps(fake.chat_requests())
    assert got.status["decision"]["decidedBy"] == "llm", got.results
    assert got.status["decision"]["parameters"]["dataStores"][0]["kind"] == "postgres"
    assert "rds-postgres" in {i["resource"] for i in got.status["cost"]["breakdown"]}
    assert "dataStores" in prompt and "db.t4g.micro" in prompt and "allowedSizes" in prompt


@pytest.mark.parametrize(
    ("stores", "size", "revision_by"),
    [
        ([{"kind": "postgres", "size": "db.t4g.small", "multiAz": False}], "db.t4g.small", "llm"),
        # Outside the allowlist twice (the answer and its repair): the knowledge base decides.
        (
            [{"kind": "postgres", "size": "db.r7g.16xlarge", "multiAz": True}],
            "db.t4g.micro",
            "knowledge-base",
        ),
        # A store that is not composed here cannot be added by the model.
        (
            [{"kind": "redis", "size": "cache.t4g.micro", "multiAz": False}],
            "db.t4g.micro",
            "knowledge-base",
        ),
    ],
)
async def test_llm_sizes_stores_only_within_the_allowlist(
    repos: Path, stores: list[dict[str, Any]], size: str, revision_by: str
) -> None:
    from tests.support.fake_ollama import Reply, fake_ollama

    answer = {
        "strategy": "vm",
        "vm": {"instanceType": "t3.small", "minSize": 2, "maxSize": 3, "desiredCapacity": 2},
        "dataStores": stores,
        "reason": "sized",
        "confidence": 0.8,
        "alternatives": [],
    }
    with fake_ollama(Reply.json(answer), Reply.json(answer)) as fake:
        inp = composed_input(repos, llm={"enabled": True, "host": fake.url, "timeoutSeconds": 30})
        got = await reconcile(xr_for("flask-app"), {}, inp)
        schema = json.dumps([r["body"].get("format") for r in fake.chat_requests()])
    decision = got.status["decision"]
    assert decision["decidedBy"] == revision_by, got.results
    (store,) = decision["parameters"]["dataStores"]
    assert (store["kind"], store["size"]) == ("postgres", size)
    assert "db.t4g.large" in schema and "db.r7g.16xlarge" not in schema  # the enum guides


async def test_a_store_size_no_longer_allowed_is_decided_again(repos: Path) -> None:
    from tests.support.inproc import with_status

    inp = composed_input(repos)
    first = await reconcile(xr_for("flask-app"), {}, inp)
    assert first.status["decision"]["parameters"]["dataStores"][0]["size"] == "db.t4g.micro"
    narrowed = composed_input(repos)
    narrowed["dataStores"] = {
        "compose": True,
        "postgres": {"allowedInstanceClasses": ["db.t4g.small"]},
    }
    again = await reconcile(with_status(xr_for("flask-app"), first.status), {}, narrowed)
    assert again.status["decision"]["revision"] == 2, again.results
    assert again.status["decision"]["parameters"]["dataStores"][0]["size"] == "db.t4g.small"
    assert "dataStores[0].size" in _messages(again)


EXISTING_NETWORK = {
    "network": {
        "vpcId": "vpc-0123456789abcdef0",
        "subnetIds": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
    },
    "dataStores": {
        "compose": True,
        "subnetIds": ["subnet-0cccccccccccccccc", "subnet-0dddddddddddddddd"],
    },
}


@pytest.mark.parametrize("scope", ["legacy", "namespaced"])
async def test_in_the_platforms_network_no_nat_is_composed_or_priced(
    repos: Path, scope: str
) -> None:
    """The estimate prices what is composed: in the platform's network (network.vpcId) the
    function goes out by the platform's route, so neither a NAT gateway nor its address is
    composed, priced, or counted against the budget (it was priced at $36.50/month)."""
    xr = xr_for(
        "counter-app",
        scope,
        prompt="a hit counter",
        strategy="serverless",
        budget={"maxMonthlyCost": 1000, "enforcementMode": "soft"},
    )
    own = await reconcile(xr, {}, composed_input(repos, scope))
    got = await reconcile(xr, {}, function_input(scope, repos, **EXISTING_NETWORK))
    assert not got.fatal, got.results
    lines = {i["resource"] for i in got.status["cost"]["breakdown"]}
    assert "redis" in lines and not {"nat-gateway", "nat-gateway-ip"} & lines
    assert not {"nat-gateway", "nat-ip"} & set(got.desired)

    def monthly(result: ReconcileResult) -> dict[str, float]:
        return {i["resource"]: i["monthly"] for i in result.status["cost"]["breakdown"]}

    nat = {k: v for k, v in monthly(own).items() if k not in monthly(got)}
    assert set(nat) == {"nat-gateway", "nat-gateway-ip"} and min(nat.values()) > 0, nat
    assert own.status["cost"]["estimatedMonthly"] - got.status["cost"][
        "estimatedMonthly"
    ] == pytest.approx(sum(nat.values()), abs=0.02)
