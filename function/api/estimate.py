"""costEstimate: the knowledge base's decision for a spec, without creating anything.

The same steps a reconcile takes before the LLM: the repository is analysed at the ref
(with the platform's analysis settings and URL rewrites from the function input the
API is given), then the knowledge-base engine decides and prices it. Nothing is stored.
"""

from __future__ import annotations

import asyncio

from function.analysis.errors import AnalysisError
from function.api.errors import ApiFailure, ErrorCode
from function.api.types import Alternative, CostItem, Estimate
from function.decide.engine import DecisionEngine, _check_port
from function.decide.rules import DecisionError, RulesEngine
from function.errors import InputError
from function.input import FunctionInput
from function.pricing.catalog import PriceCatalog, load_catalog
from function.pricing.estimate import UsageAssumptions
from function.xr import AppSpec


class Estimator:
    def __init__(self, settings: FunctionInput, catalog: PriceCatalog | None = None) -> None:
        self.settings = settings
        self.catalog = catalog or load_catalog()
        self.engine = DecisionEngine(catalog=self.catalog)  # its analyzers keep their caches

    async def estimate(self, spec: AppSpec) -> Estimate:
        try:
            s = self.settings.for_cloud(spec.cloud_provider)
        except ValueError as e:
            raise ApiFailure.one(ErrorCode.INVALID, str(e), "spec.cloudProvider") from None
        url = s.rewrite_url(spec.repository.url)
        try:
            profile = await self.engine.analyzer(s.analysis).analyze(url, spec.repository.ref, None)
            _check_port(profile, s)
            rules = RulesEngine(s, self.catalog, UsageAssumptions())
            out = await asyncio.to_thread(rules.decide, profile, spec)
        except AnalysisError as e:
            raise ApiFailure.one(ErrorCode.INVALID, str(e), "spec.repository.url") from None
        except InputError as e:
            raise ApiFailure.one(ErrorCode.INVALID, e.reason, e.field) from None
        except DecisionError as e:
            raise ApiFailure.one(ErrorCode.INVALID, str(e), "spec") from None
        d = out.decision
        return Estimate(
            strategy=d.strategy.value,
            reason=d.reason,
            confidence=d.confidence,
            monthly=out.cost.monthly_total,
            currency=out.cost.currency,
            region=out.cost.region,
            breakdown=[
                CostItem(resource=b.resource, description=b.description, monthly=b.monthly)
                for b in out.cost.breakdown
            ],
            alternatives=[
                Alternative(
                    strategy=a.strategy.value,
                    reason=a.reason,
                    estimated_monthly_cost=a.estimated_monthly_cost,
                )
                for a in d.alternatives
            ],
            framework=profile.framework,
            language=profile.language,
            commit=profile.commit,
            warnings=out.warnings,
        )
