"""Data stores: planned from the analysis and spec.services, priced with sources, composed
private to the app (both scopes, validated against the provider CRDs), reached by URL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from function.config.datastores import DataStoreRefused, plan_stores
from function.input import DataStoreSettings, FunctionInput
from function.model import DataStoreParams, Strategy
from function.pricing.catalog import load_catalog
from function.pricing.datastores import prices, store_items
from function.pricing.estimate import estimate
from function.render.dispatch import render
from function.xr import AppSpec
from tests.render.test_render_aws import DECISIONS, FULL_OBSERVED, ctx
from tests.support.crdcheck import assert_all_valid

URL = {"repository": {"url": "https://github.com/acme/flask-app"}}
ON = DataStoreSettings(compose=True)


def spec(**extra: Any) -> AppSpec:
    return AppSpec.model_validate(URL | extra)


def test_bound_stores_compose_nothing() -> None:
    s = spec(services={"postgres": {"secretRef": {"name": "db"}}})
    assert plan_stores(["postgres"], s, ON, False).composed == []


def test_unbound_store_without_permission_is_a_note_or_a_named_refusal() -> None:
    plan = plan_stores(["postgres"], spec(), DataStoreSettings(), False)
    assert plan.composed == [] and "spec.services.postgres.secretRef" in plan.notes[0]
    with pytest.raises(
        DataStoreRefused, match=r"invalid spec\.services\.redis: .*dataStores\.compose"
    ):
        plan_stores([], spec(services={"redis": {}}), DataStoreSettings(), False)


def test_composed_stores_from_the_allowlist_and_the_intent() -> None:
    settings = DataStoreSettings.model_validate(
        {"compose": True, "postgres": {"allowedInstanceClasses": ["db.t4g.small"]}}
    )
    plan = plan_stores(["postgres", "redis", "mongodb"], spec(), settings, True)
    pg, redis = plan.composed
    assert (pg.kind, pg.size, pg.multi_az, pg.env_name) == (
        "postgres",
        "db.t4g.small",
        True,
        "DATABASE_URL",
    )
    assert (redis.kind, redis.size, redis.multi_az, redis.env_name) == (
        "redis",
        "cache.t4g.micro",
        True,
        "REDIS_URL",
    )
    assert any("mongodb" in n and "neither binds nor composes" in n for n in plan.notes)
    dev = plan_stores(
        [], spec(services={"mysql": {"production": False, "envName": "DB_URL"}}), ON, False
    )
    assert (dev.composed[0].kind, dev.composed[0].production, dev.composed[0].env_name) == (
        "mysql",
        False,
        "DB_URL",
    )


DEFAULTS = {
    "postgres": DataStoreParams(
        kind="postgres",
        size="db.t4g.micro",
        storage_gb=20,
        max_storage_gb=100,
        engine_version="17",
        env_name="DATABASE_URL",
    ),
    "mysql": DataStoreParams(
        kind="mysql",
        size="db.t4g.micro",
        storage_gb=20,
        max_storage_gb=100,
        engine_version="8.4",
        env_name="DATABASE_URL",
    ),
    "redis": DataStoreParams(
        kind="redis", size="cache.t4g.micro", engine_version="7.1", env_name="REDIS_URL"
    ),
}


def _monthly(store: DataStoreParams, region: str = "us-east-1") -> float:
    return round(sum(q * p for _, _, _, q, p in store_items(store, region, load_catalog())), 2)


def test_default_sizes_cost_with_sources() -> None:
    # us-east-1 list prices (datastores.yaml): 0.016/h x 730 h + 20 GB x $0.115.
    assert _monthly(DEFAULTS["postgres"]) == pytest.approx(11.68 + 2.30)
    assert _monthly(DEFAULTS["mysql"]) == pytest.approx(11.68 + 2.30)
    assert _monthly(DEFAULTS["redis"]) == pytest.approx(11.68)
    ha = DEFAULTS["postgres"].model_copy(update={"multi_az": True})
    assert _monthly(ha) == pytest.approx(2 * (11.68 + 2.30))
    assert all(s.page.startswith("https://aws.amazon.com/") for s in prices().services.values())
    # Another region: derived from the EC2 catalog's ratio, and it says so.
    lines = store_items(DEFAULTS["redis"], "eu-central-1", load_catalog())
    assert "derived" in lines[0][1] and lines[0][4] > 0.016


def test_unknown_size_is_a_pricing_error() -> None:
    from function.pricing.catalog import PricingError

    with pytest.raises(PricingError, match=r"db\.x9\.huge"):
        store_items(
            DEFAULTS["postgres"].model_copy(update={"size": "db.x9.huge"}),
            "us-east-1",
            load_catalog(),
        )


def test_estimate_counts_the_stores() -> None:
    d = DECISIONS[Strategy.VM]
    base = estimate(d, "eu-west-1", load_catalog())
    with_stores = estimate(
        d.model_copy(update={"data_stores": [DEFAULTS["postgres"], DEFAULTS["redis"]]}),
        "eu-west-1",
        load_catalog(),
    )
    extra = {i.resource: i.monthly for i in with_stores.breakdown}.keys() - {
        i.resource for i in base.breakdown
    }
    assert extra == {"rds-postgres", "rds-postgres-storage", "redis"}
    assert with_stores.monthly_total > base.monthly_total + 20


def _stored(
    namespaced: bool,
    *stores: DataStoreParams,
    settings: dict[str, Any] | None = None,
    strategy: Strategy = Strategy.VM,
    observed: dict[str, Any] | None = None,
) -> dict[str, Any]:
    c = ctx(strategy, namespaced, settings)
    d = c.decision.model_copy(update={"data_stores": list(stores)})
    seen = FULL_OBSERVED if observed is None else observed
    return render(c.__class__(**{**c.__dict__, "decision": d}), observed=seen)


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
def test_composed_stores_are_private_encrypted_and_valid(namespaced: bool) -> None:
    out = _stored(
        namespaced,
        DEFAULTS["postgres"],
        DEFAULTS["redis"].model_copy(update={"production": False, "multi_az": True}),
    )
    for name, body in out.items():
        assert_all_valid([{**body, "metadata": {**body["metadata"], "name": f"x-{name}"}}])
    db = out["db-postgres"]["spec"]["forProvider"]
    assert db["storageEncrypted"] is True and db["manageMasterUserPassword"] is True
    assert db["publiclyAccessible"] is False and db["backupRetentionPeriod"] >= 1
    assert db["deletionProtection"] is True and db["skipFinalSnapshot"] is False
    assert db["finalSnapshotIdentifier"].endswith("-final")
    assert not {"password", "passwordSecretRef", "passwordWoSecretRef"} & set(db)
    cache = out["cache"]["spec"]["forProvider"]
    assert cache["transitEncryptionEnabled"] is True and cache["atRestEncryptionEnabled"] == "true"
    assert (cache["numCacheClusters"], cache["automaticFailoverEnabled"]) == (2, True)
    assert "finalSnapshotIdentifier" not in cache and cache["snapshotRetentionLimit"] == 0
    # Redis AUTH: generated by the provider into a Secret of the tenant's namespace, copied
    # to Secrets Manager by reference; no token in any manifest.
    assert cache["autoGenerateAuthToken"] is True
    token = cache["authTokenSecretRef"]
    assert token["key"] == "token" and token["name"].endswith("-auth")
    assert token.get("namespace") == (None if namespaced else "team-a")
    assert not {"authToken", "authTokenWo"} & set(cache)
    copy = out["cache-auth-version"]["spec"]["forProvider"]["secretStringSecretRef"]
    assert copy == token
    assert out["cache-auth"]["spec"]["forProvider"]["name"].endswith("/redis-auth")
    # Admitted from the app's security group only, on the store's port.
    for name, port in (("db-postgres", 5432), ("cache", 6379)):
        rules = [
            b["spec"]["forProvider"]
            for b in out.values()
            if b["kind"] == "SecurityGroupIngressRule"
            and b["spec"]["forProvider"]["securityGroupIdSelector"]["matchLabels"][
                "scia.io/component"
            ]
            == f"{name}-security-group"
        ]
        assert rules == [rules[0]] and "cidrIpv4" not in rules[0]
        assert rules[0]["referencedSecurityGroupIdSelector"]["matchLabels"] == {
            "scia.io/component": "app-security-group"
        }
        assert (rules[0]["fromPort"], rules[0]["toPort"]) == (port, port)
    # Private subnets: no public addresses, no route to the internet gateway.
    private = [n for n in out if n.startswith("private-subnet-")]
    assert len(private) == 2
    assert all(out[n]["spec"]["forProvider"]["mapPublicIpOnLaunch"] is False for n in private)
    routed = {
        b["spec"]["forProvider"]["subnetIdSelector"]["matchLabels"]["scia.io/component"]
        for b in out.values()
        if b["kind"] == "RouteTableAssociation"
    }
    assert not routed & set(private)
    group = out["db-subnet-group"]["spec"]["forProvider"]["subnetIdSelector"]["matchLabels"]
    assert group == {"scia.io/network": "private"}


def test_non_production_database_has_no_final_snapshot() -> None:
    out = _stored(False, DEFAULTS["mysql"].model_copy(update={"production": False}))
    db = out["db-mysql"]["spec"]["forProvider"]
    assert (db["deletionProtection"], db["skipFinalSnapshot"]) == (False, True)
    assert "finalSnapshotIdentifier" not in db and db["port"] == 3306 and db["engine"] == "mysql"


def test_existing_network_uses_the_platform_subnets() -> None:
    settings = {
        "network": {
            "vpcId": "vpc-0123456789abcdef0",
            "subnetIds": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
        },
        "dataStores": {
            "compose": True,
            "subnetIds": ["subnet-0cccccccccccccccc", "subnet-0dddddddddddddddd"],
        },
    }
    out = _stored(False, DEFAULTS["postgres"], settings=settings)
    assert not [n for n in out if n.startswith("private-subnet-")]
    assert out["db-subnet-group"]["spec"]["forProvider"]["subnetIds"] == [
        "subnet-0cccccccccccccccc",
        "subnet-0dddddddddddddddd",
    ]


def test_the_launcher_assembles_the_urls_and_may_read_only_these() -> None:
    import base64

    out = _stored(False, DEFAULTS["postgres"], DEFAULTS["redis"])
    script = base64.b64decode(out["launch-template"]["spec"]["forProvider"]["userData"]).decode()
    launch = json.loads(script.split("<<'SCIA_LAUNCH_CONFIG_EOF'\n", 1)[1].split("\n", 1)[0])
    ident = out["db-postgres"]["spec"]["forProvider"]["identifier"]
    group = out["cache"]["metadata"]["annotations"]["crossplane.io/external-name"]
    assert launch["sources"] == [
        {
            "from": "rds",
            "name": "DATABASE_URL",
            "id": ident,
            "engine": "postgres",
            "database": "app",
        },
        {
            "from": "redis",
            "name": "REDIS_URL",
            "id": group,
            "auth": "scia/team-a/flask-app-a24a7f55/redis-auth",
        },
    ]
    doc = json.loads(out["instance-config-policy"]["spec"]["forProvider"]["policy"])
    resources = sorted(r for s in doc["Statement"] for r in s["Resource"])
    assert f"arn:aws:rds:eu-west-1:*:db:{ident}" in resources
    assert f"arn:aws:elasticache:eu-west-1:*:replicationgroup:{group}" in resources
    secret = next(s for s in doc["Statement"] if s["Action"] == ["secretsmanager:GetSecretValue"])
    assert secret["Condition"]["StringLike"] == {
        "secretsmanager:ResourceTag/aws:rds:primaryDBInstanceArn": f"arn:aws:rds:eu-west-1:*:db:{ident}"
    }
    assert 1 <= len(ident) <= 63 and ident[0].isalpha() and "--" not in ident
    assert 1 <= len(group) <= 40 and group[0].isalpha() and "--" not in group


def test_input_crd_and_fingerprint() -> None:
    # The data store settings enter the inputs hash only when set: existing pins keep theirs.
    assert "dataStores" not in FunctionInput().decision_fingerprint()
    assert (
        "dataStores"
        in FunctionInput.model_validate({"dataStores": {"compose": True}}).decision_fingerprint()
    )


CLUSTER_SG = "sg-0cluster0123456789"


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
def test_kubernetes_stores_admit_the_cluster_nodes_only(namespaced: bool) -> None:
    cluster = {"eks-cluster": {"status": {"atProvider": {"vpcConfig": {
        "clusterSecurityGroupId": CLUSTER_SG, "vpcId": "vpc-1"}}}}}  # fmt: skip
    out = _stored(
        namespaced,
        DEFAULTS["postgres"],
        DEFAULTS["redis"],
        strategy=Strategy.KUBERNETES,
        observed=FULL_OBSERVED | cluster,
    )
    for name, body in out.items():
        assert_all_valid([{**body, "metadata": {**body["metadata"], "name": f"x-{name}"}}])
    for name, port in (("db-postgres", 5432), ("cache", 6379)):
        rule = out[f"{name}-ingress-from-app"]["spec"]["forProvider"]
        assert rule["referencedSecurityGroupId"] == CLUSTER_SG
        assert "referencedSecurityGroupIdSelector" not in rule and "cidrIpv4" not in rule
        assert (rule["fromPort"], rule["toPort"]) == (port, port)
        sg = out[f"{name}-security-group"]["spec"]["forProvider"]
        # In the cluster's VPC (the product's network, the cluster's subnets are in it).
        assert sg["vpcIdSelector"]["matchLabels"] == {"scia.io/component": "vpc"}
    # The pods' role may describe exactly these stores and read their secrets.
    policy = json.loads(out["app-config-policy"]["spec"]["forProvider"]["policy"])
    actions = {a for st in policy["Statement"] for a in st["Action"]}
    assert {"rds:DescribeDBInstances", "elasticache:DescribeReplicationGroups"} <= actions
    dep = next(
        b["spec"]["forProvider"]["manifest"]
        for b in out.values()
        if b["kind"] == "Object" and b["spec"]["forProvider"]["manifest"]["kind"] == "Deployment"
    )
    env = {
        e["name"]: e.get("value") for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    sources = json.loads(env["SCIA_LAUNCH_CONFIG"])["sources"]
    assert [(s["from"], s["name"]) for s in sources] == [
        ("rds", "DATABASE_URL"),
        ("redis", "REDIS_URL"),
    ]
    # The cluster's status lost for a moment: the rule is kept, never dropped.
    kept = {f"{n}-ingress-from-app": out[f"{n}-ingress-from-app"] for n in ("db-postgres", "cache")}
    again = _stored(
        namespaced, DEFAULTS["postgres"], DEFAULTS["redis"], strategy=Strategy.KUBERNETES,
        observed=FULL_OBSERVED | kept,
    )  # fmt: skip
    assert again["cache-ingress-from-app"]["spec"]["forProvider"]["referencedSecurityGroupId"] == (
        CLUSTER_SG
    )


def test_serverless_with_stores_pays_for_its_nat_gateway() -> None:
    d = DECISIONS[Strategy.SERVERLESS].model_copy(update={"data_stores": [DEFAULTS["redis"]]})
    lines = {i.resource: i for i in estimate(d, "us-east-1", load_catalog()).breakdown}
    # us-east-1 list prices (aws.amazon.com/vpc/pricing/): $0.045 per NAT gateway-hour and
    # $0.005 per public IPv4 address-hour, 730 h.
    assert lines["nat-gateway"].monthly == pytest.approx(32.85)
    assert lines["nat-gateway-ip"].monthly == pytest.approx(3.65)
    plain = estimate(DECISIONS[Strategy.SERVERLESS], "us-east-1", load_catalog())
    assert "nat-gateway" not in {i.resource for i in plain.breakdown}
    vm = DECISIONS[Strategy.VM].model_copy(update={"data_stores": [DEFAULTS["redis"]]})
    assert "nat-gateway" not in {
        i.resource for i in estimate(vm, "us-east-1", load_catalog()).breakdown
    }


def _sg_of_rule(body: dict[str, Any]) -> str:
    return str(
        body["spec"]["forProvider"]["securityGroupIdSelector"]["matchLabels"]["scia.io/component"]
    )


@pytest.mark.parametrize("namespaced", [False, True], ids=["legacy", "namespaced"])
def test_serverless_runs_in_the_stores_vpc_behind_a_nat_gateway(namespaced: bool) -> None:
    out = _stored(namespaced, DEFAULTS["postgres"], DEFAULTS["redis"], strategy=Strategy.SERVERLESS)
    for name, body in out.items():
        assert_all_valid([{**body, "metadata": {**body["metadata"], "name": f"x-{name}"}}])
    fn = out["lambda-function"]["spec"]["forProvider"]
    assert fn["vpcConfig"] == {
        "subnetIdSelector": {"matchControllerRef": True, "matchLabels": {"scia.io/network": "private"}},
        "securityGroupIdSelector": {"matchControllerRef": True, "matchLabels": {
            "scia.io/component": "lambda-security-group"}},
    }  # fmt: skip
    assert "lambda-role-awslambdavpcaccessexecutionrole" in out
    # The stores admit the function's security group only.
    for name in ("db-postgres", "cache"):
        rule = out[f"{name}-ingress-from-app"]["spec"]["forProvider"]
        assert rule["referencedSecurityGroupIdSelector"]["matchLabels"] == {
            "scia.io/component": "lambda-security-group"
        }
    # The private subnets go out through one NAT gateway in a public subnet.
    nat = out["nat-gateway"]["spec"]["forProvider"]
    assert nat["subnetIdSelector"]["matchLabels"] == {"scia.io/component": "subnet-a"}
    assert nat["allocationIdSelector"]["matchLabels"] == {"scia.io/component": "nat-ip"}
    route = out["private-route-default"]["spec"]["forProvider"]
    assert route["natGatewayIdSelector"]["matchLabels"] == {"scia.io/component": "nat-gateway"}
    assert route["destinationCidrBlock"] == "0.0.0.0/0" and "gatewayIdSelector" not in route
    private = sorted(n for n in out if n.startswith("private-subnet-"))
    associated = sorted(
        out[n]["spec"]["forProvider"]["subnetIdSelector"]["matchLabels"]["scia.io/component"]
        for n in out
        if n.startswith("private-route-table-association-")
    )
    assert associated == private and len(private) == 2
    egress = out["lambda-egress-all"]
    assert _sg_of_rule(egress) == "lambda-security-group"
    # The launch configuration names the stores; the role may read exactly them.
    env = fn["environment"]["variables"]
    sources = json.loads(env["SCIA_LAUNCH_CONFIG"])["sources"]
    assert [(s["from"], s["name"]) for s in sources] == [
        ("rds", "DATABASE_URL"),
        ("redis", "REDIS_URL"),
    ]
    policy = json.loads(out["lambda-config-policy"]["spec"]["forProvider"]["policy"])
    assert "elasticache:DescribeReplicationGroups" in {
        a for s in policy["Statement"] for a in s["Action"]
    }


def test_serverless_in_an_existing_network_composes_no_nat() -> None:
    settings = {
        "network": {
            "vpcId": "vpc-0123456789abcdef0",
            "subnetIds": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
        },
        "dataStores": {
            "compose": True,
            "subnetIds": ["subnet-0cccccccccccccccc", "subnet-0dddddddddddddddd"],
        },
    }
    c = ctx(Strategy.SERVERLESS, False, settings)
    d = c.decision.model_copy(update={"data_stores": [DEFAULTS["postgres"]]})
    c2 = c.__class__(**{**c.__dict__, "decision": d})
    out = render(c2, observed=FULL_OBSERVED)
    assert not {"nat-gateway", "nat-ip", "private-route-table", "vpc"} & set(out)
    fn = out["lambda-function"]["spec"]["forProvider"]
    assert fn["vpcConfig"]["subnetIds"] == ["subnet-0cccccccccccccccc", "subnet-0dddddddddddddddd"]
    assert out["lambda-security-group"]["spec"]["forProvider"]["vpcId"] == "vpc-0123456789abcdef0"
    assert any("route to AWS APIs" in n for n in c2.notes)
