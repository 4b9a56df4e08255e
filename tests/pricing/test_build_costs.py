"""Image builds, the registry, the load balancer and the logs are in the estimate."""

from __future__ import annotations

from pathlib import Path

import pytest

from function.model import Decision, KubernetesParams, ServerlessParams, Strategy, VmParams
from function.pricing.catalog import PriceKey, load_catalog
from function.pricing.estimate import (
    BUILD_JOB_MEMORY_GIB,
    BUILD_JOB_VCPU,
    UsageAssumptions,
    estimate,
)

DECISION = Decision(
    strategy=Strategy.SERVERLESS,
    port=3000,
    reason="r",
    confidence=0.6,
    serverless=ServerlessParams(memory_mb=1024, timeout_seconds=30),
)


def test_built_images_add_codebuild_minutes_and_ecr_storage_with_sources() -> None:
    catalog = load_catalog()
    plain = estimate(DECISION, "us-east-1", catalog)
    built = estimate(DECISION, "us-east-1", catalog, built_image=True)
    extra = {i.resource: i for i in built.breakdown}.keys() - {i.resource for i in plain.breakdown}
    assert extra == {"codebuild-minutes", "ecr-storage"}
    items = {i.resource: i for i in built.breakdown}
    # 30 builds x 6 min x $0.005; 10 images x 0.5 GB x $0.10 (AWS CodeBuild and ECR pricing).
    assert items["codebuild-minutes"].monthly == 0.9
    assert items["ecr-storage"].monthly == 0.5
    assert round(built.monthly_total - plain.monthly_total, 2) == 1.4
    arm = DECISION.model_copy(
        update={
            "serverless": ServerlessParams(memory_mb=1024, timeout_seconds=30, architecture="arm64")
        }
    )
    arm_items = {
        i.resource: i for i in estimate(arm, "us-east-1", catalog, built_image=True).breakdown
    }
    assert arm_items["codebuild-minutes"].unit_price == 0.0034
    usage = UsageAssumptions(builds_per_month=100, minutes_per_build=10)
    busy = {
        i.resource: i
        for i in estimate(DECISION, "us-east-1", catalog, usage, built_image=True).breakdown
    }
    assert busy["codebuild-minutes"].monthly == 5.0


def test_every_region_prices_builds_and_storage() -> None:
    catalog = load_catalog()
    for region in (
        "us-east-1",
        "us-west-2",
        "eu-west-1",
        "eu-west-3",
        "eu-central-1",
        "ap-southeast-1",
    ):
        built = estimate(DECISION, region, catalog, built_image=True)
        assert {"codebuild-minutes", "ecr-storage"} <= {i.resource for i in built.breakdown}


K8S = Decision(
    strategy=Strategy.KUBERNETES,
    reason="r",
    confidence=0.7,
    kubernetes=KubernetesParams(
        node_instance_type="t3.medium", min_nodes=2, max_nodes=4, desired_nodes=2
    ),
)
VM = Decision(
    strategy=Strategy.VM,
    reason="r",
    confidence=0.8,
    vm=VmParams(instance_type="t3.small", min_size=2, max_size=4, desired_capacity=2),
)


def test_kubernetes_builds_cost_their_share_of_node_time_and_the_registry() -> None:
    catalog = load_catalog()
    plain = estimate(K8S, "us-east-1", catalog)
    built = estimate(K8S, "us-east-1", catalog, built_image=True)
    items = {i.resource: i for i in built.breakdown}
    assert items.keys() - {i.resource for i in plain.breakdown} == {
        "build-job-node-time",
        "ecr-storage",
    }
    # 30 builds x 6 min = 3 h; a t3.medium has 2 vCPU / 4 GiB: 0.5 vCPU is 25 %, 1 GiB 25 %:
    # 0.75 node-hours x $0.0416 = 0.0312 -> 0.03; ECR 10 x 0.5 GB x $0.10 = 0.50
    assert items["build-job-node-time"].quantity == 0.75
    assert items["build-job-node-time"].monthly == 0.03
    assert items["ecr-storage"].monthly == 0.5
    small = K8S.model_copy(
        update={
            "kubernetes": KubernetesParams(
                node_instance_type="t3.small", min_nodes=2, max_nodes=4, desired_nodes=2
            )
        }
    )
    # t3.small: 2 GiB, so the 1 GiB request is half a node (memory decides).
    share = {
        i.resource: i for i in estimate(small, "us-east-1", catalog, built_image=True).breakdown
    }
    assert share["build-job-node-time"].quantity == 1.5


def test_the_build_jobs_requests_are_what_is_priced() -> None:
    from function.render.kube import build as kbuild

    text = Path(kbuild.__file__).read_text()
    assert f'"cpu": "{int(BUILD_JOB_VCPU * 1000)}m"' in text
    assert f'"memory": "{BUILD_JOB_MEMORY_GIB:g}Gi"' in text


def test_vm_builds_on_its_instances_and_pays_no_registry() -> None:
    catalog = load_catalog()
    plain = {i.resource for i in estimate(VM, "us-east-1", catalog).breakdown}
    built = {i.resource for i in estimate(VM, "us-east-1", catalog, built_image=True).breakdown}
    assert plain == built
    assert not {"ecr-storage", "codebuild-minutes", "build-job-node-time"} & built


@pytest.mark.parametrize("decision", [VM, K8S, DECISION], ids=["vm", "kubernetes", "serverless"])
def test_every_strategy_pays_for_its_logs(decision: Decision) -> None:
    catalog = load_catalog()
    items = {i.resource: i for i in estimate(decision, "us-east-1", catalog).breakdown}
    assert items["cloudwatch-logs-ingestion"].monthly == 0.5  # 1 GB x $0.50
    assert items["cloudwatch-logs-storage"].monthly == 0.03  # 1 GB-month x $0.03
    usage = UsageAssumptions(log_gb_per_month=10, log_retention_days=90)
    more = {i.resource: i for i in estimate(decision, "us-east-1", catalog, usage).breakdown}
    assert more["cloudwatch-logs-ingestion"].monthly == 5.0
    assert more["cloudwatch-logs-storage"].quantity == 30  # 10 GB a month, 3 months kept


def test_the_kubernetes_service_is_priced_as_an_nlb() -> None:
    items = {i.resource for i in estimate(K8S, "us-east-1", load_catalog()).breakdown}
    assert {"nlb", "nlb-lcu"} <= items
    assert not {"alb", "alb-lcu"} & items


def test_new_unit_prices_have_sources_and_a_date() -> None:
    catalog = load_catalog()
    for region in catalog.regions():
        if catalog.cloud_of(region) != "aws":
            continue
        for key in (
            PriceKey.NLB_HOUR,
            PriceKey.NLB_LCU_HOUR,
            PriceKey.CLOUDWATCH_LOGS_INGESTED_GB,
            PriceKey.CLOUDWATCH_LOGS_STORED_GB_MONTH,
        ):
            u = catalog.unit(region, key)
            assert u.price > 0
            assert u.provenance.source.startswith("https://aws.amazon.com/"), (region, key)
            assert u.provenance.offer_file and u.provenance.offer_file.startswith("https://")
            assert u.provenance.as_of is not None and u.provenance.as_of.isoformat() == "2025-01-01"
