"""Monthly cost estimates per strategy, checked against figures computed by hand."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from function.model import Decision, KubernetesParams, ServerlessParams, Strategy, VmParams
from function.pricing import (
    CostEstimate,
    PriceKey,
    PricingError,
    PricingOverrides,
    UsageAssumptions,
    estimate,
    load_catalog,
)


def vm_decision(instance_type: str = "t3.small", desired: int = 2, volume_gb: int = 20) -> Decision:
    return Decision(
        strategy=Strategy.VM,
        vm=VmParams(
            instance_type=instance_type,
            min_size=1,
            max_size=4,
            desired_capacity=desired,
            volume_gb=volume_gb,
        ),
        reason="a stateless web service",
        confidence=0.8,
    )


def k8s_decision(node_type: str = "t3.medium", desired: int = 2, disk_gb: int = 20) -> Decision:
    return Decision(
        strategy=Strategy.KUBERNETES,
        kubernetes=KubernetesParams(
            node_instance_type=node_type,
            min_nodes=1,
            max_nodes=4,
            desired_nodes=desired,
            disk_gb=disk_gb,
        ),
        reason="several services",
        confidence=0.7,
    )


def lambda_decision(memory_mb: int = 512, architecture: str = "x86_64") -> Decision:
    return Decision(
        strategy=Strategy.SERVERLESS,
        serverless=ServerlessParams.model_validate(
            {"memory_mb": memory_mb, "timeout_seconds": 30, "architecture": architecture}
        ),
        reason="event driven",
        confidence=0.9,
    )


def by_resource(result: CostEstimate) -> dict[str, float]:
    return {item.resource: item.monthly for item in result.breakdown}


def assert_adds_up(result: CostEstimate) -> None:
    for item in result.breakdown:
        assert item.monthly == pytest.approx(item.quantity * item.unit_price, abs=0.005)
    assert result.monthly_total == pytest.approx(sum(i.monthly for i in result.breakdown), abs=1e-9)


def test_vm_us_east_1() -> None:
    result = estimate(vm_decision(), "us-east-1", load_catalog())
    # 2 x t3.small 0.0208/h x 730 = 30.368; 2 x 20 GB x 0.08 = 3.20;
    # ALB 0.0225 x 730 = 16.425; 1 LCU x 0.008 x 730 = 5.84;
    # logs 1 GB x 0.50 ingested, 1 GB-month (30 days) x 0.03 stored
    assert by_resource(result) == {
        "ec2-instances": 30.37,
        "ebs-volumes": 3.20,
        "alb": 16.43,
        "alb-lcu": 5.84,
        "cloudwatch-logs-ingestion": 0.50,
        "cloudwatch-logs-storage": 0.03,
    }
    assert result.monthly_total == 56.37
    assert (result.strategy, result.region, result.currency) == ("vm", "us-east-1", "USD")
    assert "t3.small" in result.breakdown[0].description
    assert_adds_up(result)


def test_vm_with_nat_gateway_in_eu_central_1() -> None:
    assumptions = UsageAssumptions(nat_gateways=1, nat_data_gb_per_month=100, alb_lcus=2)
    result = estimate(vm_decision("m6i.large", 3, 50), "eu-central-1", load_catalog(), assumptions)
    # 3 x 0.115 x 730 = 251.85; 150 GB x 0.0952 = 14.28; ALB derived 0.0225 x 1.1979 x 730
    # = 19.6755 -> 19.68; LCU 2 x 730 x 0.008 x 1.1979 = 13.9911 -> 13.99;
    # NAT 0.052 x 730 = 37.96; 100 GB x 0.052 = 5.20; logs derived: 0.50 x 1.1979 =
    # 0.59895 -> 0.60, 0.03 x 1.1979 = 0.035937 -> 0.04
    assert by_resource(result) == {
        "ec2-instances": 251.85,
        "ebs-volumes": 14.28,
        "alb": 19.68,
        "alb-lcu": 13.99,
        "nat-gateway": 37.96,
        "nat-gateway-data": 5.20,
        "cloudwatch-logs-ingestion": 0.60,
        "cloudwatch-logs-storage": 0.04,
    }
    assert result.monthly_total == 343.60
    assert_adds_up(result)


def test_no_nat_gateway_by_default() -> None:
    result = estimate(vm_decision(), "eu-west-1", load_catalog())
    assert not any(i.resource.startswith("nat") for i in result.breakdown)


def test_kubernetes_us_east_1() -> None:
    result = estimate(k8s_decision(), "us-east-1", load_catalog())
    # EKS 0.10 x 730 = 73.00; 2 x t3.medium 0.0416 x 730 = 60.736; 2 x 20 GB x 0.08 = 3.20;
    # the Service's NLB 0.0225 x 730 = 16.425 + 1 NLCU x 0.006 x 730 = 4.38; logs 0.53
    assert by_resource(result) == {
        "eks-control-plane": 73.00,
        "eks-nodes": 60.74,
        "eks-node-volumes": 3.20,
        "nlb": 16.43,
        "nlb-lcu": 4.38,
        "cloudwatch-logs-ingestion": 0.50,
        "cloudwatch-logs-storage": 0.03,
    }
    assert result.monthly_total == 158.28
    assert_adds_up(result)


def test_kubernetes_without_load_balancer_on_arm_nodes() -> None:
    assumptions = UsageAssumptions.model_validate({"kubernetesLoadBalancer": False})
    result = estimate(k8s_decision("t4g.large", 3, 40), "eu-west-1", load_catalog(), assumptions)
    # EKS 73.00; 3 x t4g.large 0.0736 x 730 = 161.184; 120 GB x 0.088 = 10.56;
    # logs 1 GB x 0.57 + 1 GB-month x 0.03 (eu-west-1)
    assert by_resource(result) == {
        "eks-control-plane": 73.00,
        "eks-nodes": 161.18,
        "eks-node-volumes": 10.56,
        "cloudwatch-logs-ingestion": 0.57,
        "cloudwatch-logs-storage": 0.03,
    }
    assert result.monthly_total == 245.34
    assert "arm64" in result.breakdown[1].description


def test_serverless_x86_64_defaults() -> None:
    result = estimate(lambda_decision(512), "us-east-1", load_catalog())
    # 1M requests x 0.20 = 0.20; 0.5 GB x 0.2 s x 1M = 100,000 GB-s x 0.0000166667 = 1.66667
    assert by_resource(result) == {
        "lambda-requests": 0.20,
        "lambda-compute": 1.67,
        "cloudwatch-logs-ingestion": 0.50,
        "cloudwatch-logs-storage": 0.03,
    }
    assert result.monthly_total == 2.40
    assert result.breakdown[1].quantity == pytest.approx(100_000)
    assert all("free tier not applied" in i.description for i in result.breakdown[:2])
    assert_adds_up(result)


def test_serverless_arm64_with_assumed_traffic() -> None:
    assumptions = UsageAssumptions.model_validate(
        {"requestsPerMonth": 10_000_000, "avgDurationMs": 120}
    )
    result = estimate(lambda_decision(1024, "arm64"), "ap-southeast-1", load_catalog(), assumptions)
    # 10M x 0.20 = 2.00; 1 GB x 0.12 s x 10M = 1,200,000 GB-s x 0.0000133334 = 16.00008;
    # logs derived: 0.50 x 1.25 = 0.625 -> 0.63, 0.03 x 1.25 = 0.0375 -> 0.04
    assert by_resource(result) == {
        "lambda-requests": 2.00,
        "lambda-compute": 16.00,
        "cloudwatch-logs-ingestion": 0.63,
        "cloudwatch-logs-storage": 0.04,
    }
    assert result.monthly_total == 18.67
    assert "arm64" in result.breakdown[1].description


def test_serverless_duration_is_capped_by_the_timeout() -> None:
    assumptions = UsageAssumptions(avg_duration_ms=60_000)
    result = estimate(lambda_decision(1024), "us-east-1", load_catalog(), assumptions)
    # timeout 30 s: 1 GB x 30 s x 1M = 30,000,000 GB-s x 0.0000166667 = 500.001
    assert result.breakdown[1].quantity == pytest.approx(30_000_000)
    assert result.monthly_total == 500.73  # with logs 0.53


def test_overrides_change_the_estimate() -> None:
    overrides = PricingOverrides.model_validate(
        {
            "instanceHourly": {"us-east-1": {"t3.small": 0.01}},
            "unitPrices": {"us-east-1": {"albHour": 0.0, "albLcuHour": 0.0}},
        }
    )
    result = estimate(vm_decision(), "us-east-1", load_catalog(overrides))
    # 2 x 0.01 x 730 = 14.60; EBS 3.20; ALB free under the override; logs 0.53
    assert by_resource(result) == {
        "ec2-instances": 14.60,
        "ebs-volumes": 3.20,
        "alb": 0.0,
        "alb-lcu": 0.0,
        "cloudwatch-logs-ingestion": 0.50,
        "cloudwatch-logs-storage": 0.03,
    }
    assert result.monthly_total == 18.33


def test_regional_prices_change_the_estimate() -> None:
    catalog = load_catalog()
    east = estimate(k8s_decision(), "us-east-1", catalog).monthly_total
    frankfurt = estimate(k8s_decision(), "eu-central-1", catalog).monthly_total
    assert east < frankfurt


def test_unknown_type_or_region_is_an_error_not_zero() -> None:
    catalog = load_catalog()
    with pytest.raises(PricingError, match=r"'t9\.mega'"):
        estimate(vm_decision("t9.mega"), "us-east-1", catalog)
    with pytest.raises(PricingError, match="'sa-east-1'"):
        estimate(lambda_decision(), "sa-east-1", catalog)


def test_decision_without_its_parameters_is_an_error() -> None:
    decision = Decision(strategy=Strategy.KUBERNETES, reason="x", confidence=0.5)
    with pytest.raises(PricingError, match="no kubernetes parameters"):
        estimate(decision, "us-east-1", load_catalog())


def test_assumptions_use_camel_case_and_reject_unknown_fields() -> None:
    a = UsageAssumptions.model_validate(
        {"requestsPerMonth": 5, "avgDurationMs": 50, "albLcus": 0.5, "natGateways": 2}
    )
    assert (a.requests_per_month, a.avg_duration_ms, a.alb_lcus, a.nat_gateways) == (5, 50, 0.5, 2)
    assert UsageAssumptions().model_dump(by_alias=True) == {
        "requestsPerMonth": 1_000_000,
        "avgDurationMs": 200.0,
        "albLcus": 1.0,
        "nlbLcus": 1.0,
        "kubernetesLoadBalancer": True,
        "natGateways": 0,
        "natDataGbPerMonth": 0.0,
        "lbDataGbPerMonth": 10.0,
        "buildsPerMonth": 30,
        "minutesPerBuild": 6.0,
        "imageGb": 0.5,
        "imagesKept": 10,
        "aksStandardTier": False,
        "appStartsPerMonth": 100,
        "logGbPerMonth": 1.0,
        "logRetentionDays": 30,
    }
    with pytest.raises(ValidationError):
        UsageAssumptions.model_validate({"requestPerMonth": 5})
    with pytest.raises(ValidationError):
        UsageAssumptions.model_validate({"natGateways": -1})


def test_estimate_serializes_in_camel_case() -> None:
    dumped = estimate(lambda_decision(), "us-east-1", load_catalog()).model_dump(mode="json")
    assert dumped["monthlyTotal"] == 2.40
    assert set(dumped["breakdown"][0]) == {
        "resource",
        "description",
        "unit",
        "quantity",
        "unitPrice",
        "monthly",
    }


def test_aws_secrets_manager_is_in_the_estimate_with_its_source() -> None:
    """$0.40 per secret-month and $0.05 per 10,000 API calls
    (https://aws.amazon.com/secrets-manager/pricing/): 3 secrets read at 100 starts a month
    are 1.20 + 0.0015 USD."""
    catalog = load_catalog()
    plain = estimate(k8s_decision(), "us-east-1", catalog)
    got = estimate(k8s_decision(), "us-east-1", catalog, secrets=3)
    items = by_resource(got)
    assert items["secrets-manager-secrets"] == 1.2
    assert items["secrets-manager-calls"] == 0.0  # 300 calls: 0.0015 USD
    assert round(got.monthly_total - plain.monthly_total, 2) == 1.2
    assert_adds_up(got)
    unit = catalog.unit("us-east-1", PriceKey.SECRETS_MANAGER_SECRET_MONTH)
    assert unit.provenance.source == "https://aws.amazon.com/secrets-manager/pricing/"
    assert unit.provenance.as_of is not None
    assert "secrets-manager-secrets" not in by_resource(plain)
