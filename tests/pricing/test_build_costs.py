"""Image builds and the registry are in the estimate (serverless without spec.image)."""

from __future__ import annotations

from function.model import Decision, ServerlessParams, Strategy
from function.pricing.catalog import load_catalog
from function.pricing.estimate import UsageAssumptions, estimate

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
