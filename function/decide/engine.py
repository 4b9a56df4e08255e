"""The decision engine: analysis, then a decision (knowledge base today), as one background job."""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass, field

from function.analysis.analyzer import Analyzer
from function.analysis.credentials import RepoCredentials
from function.analysis.profile import AppProfile
from function.analysis.settings import AnalysisSettings
from function.decide.rules import RulesEngine
from function.input import FunctionInput
from function.model import Decision
from function.pinning import AnalysisSummary
from function.pricing.catalog import PriceCatalog, load_catalog
from function.pricing.estimate import CostEstimate, UsageAssumptions
from function.xr import AppSpec


@dataclass(frozen=True)
class DecidedOutcome:
    decision: Decision
    cost: CostEstimate
    analysis: AnalysisSummary
    commit: str
    decided_at: str
    warnings: list[str] = field(default_factory=list)
    profile: AppProfile | None = None


def summarize(profile: AppProfile) -> AnalysisSummary:
    return AnalysisSummary(
        language=profile.language,
        framework=profile.framework,
        port=profile.port,
        start_command=profile.start_command,
        build_command=profile.build_command,
        runtime_version=profile.runtime_version,
        deployable=profile.deployable,
        has_dockerfile=profile.dockerfile.present,
    )


def _now() -> str:
    return (
        datetime.datetime.now(datetime.UTC)
        .replace(microsecond=0)
        .isoformat()
        .replace("+00:00", "Z")
    )


class DecisionEngine:
    """Analyzers per analysis settings (each with its own caches), the price catalog, the rules."""

    def __init__(self, catalog: PriceCatalog | None = None) -> None:
        self._catalog = catalog or load_catalog()
        self._analyzers: dict[str, Analyzer] = {}

    def analyzer(self, settings: AnalysisSettings) -> Analyzer:
        key = hashlib.sha256(
            json.dumps(settings.model_dump(mode="json"), sort_keys=True).encode()
        ).hexdigest()
        found = self._analyzers.get(key)
        if found is None:
            found = self._analyzers[key] = Analyzer(settings)
        return found

    async def resolve(
        self, settings: FunctionInput, url: str, ref: str, creds: RepoCredentials | None
    ) -> str:
        return await self.analyzer(settings.analysis).resolve(url, ref, creds)

    async def decide(
        self, settings: FunctionInput, spec: AppSpec, url: str, creds: RepoCredentials | None
    ) -> DecidedOutcome:
        analyzer = self.analyzer(settings.analysis)
        profile = await analyzer.analyze(url, spec.repository.ref, creds)
        rules = RulesEngine(settings, self._catalog, UsageAssumptions())
        out = rules.decide(profile, spec)
        return DecidedOutcome(
            decision=out.decision,
            cost=out.cost,
            analysis=summarize(profile),
            commit=profile.commit,
            decided_at=_now(),
            warnings=out.warnings,
            profile=profile,
        )
