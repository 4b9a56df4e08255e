"""The decision engine: analysis, retrieval, then the LLM or the knowledge base.

It runs as one background job per distinct input (see jobs.py).
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from function.analysis.analyzer import Analyzer
from function.analysis.cache import ProfileCache
from function.analysis.credentials import RepoCredentials
from function.analysis.profile import AppProfile, DockerfileFacts
from function.analysis.settings import AnalysisSettings
from function.config.monorepo import select_service
from function.decide.allowlists import unusable_entries
from function.decide.cloudwatch import AwsCredentials
from function.decide.learning import Learned, learn, observation_of
from function.decide.lease import confirm_lease
from function.decide.llm import (
    LlmDecider,
    LlmError,
    LlmInvalid,
    LlmResult,
    import_clients,
    make_backend,
)
from function.decide.llm_settings import LlmSettings
from function.decide.rules import DecisionError, RulesEngine, RulesOutcome
from function.decide.validate import Bounds, viable_options
from function.input import FunctionInput
from function.memory.errors import MemoryUnavailable
from function.memory.models import PastDeployment, RetrievalQuery
from function.memory.store import MemoryStore
from function.memory.text import repository_key
from function.memorylink import MemoryLink, SharedProfileCache
from function.metrics import (
    count_llm_fallback,
    observe_retrieval,
    observe_stage,
    stage_timer,
)
from function.model import Decision
from function.pinning import AnalysisSummary, ServiceSummary
from function.pricing.catalog import PriceCatalog, load_catalog
from function.pricing.estimate import CostEstimate, UsageAssumptions
from function.xr import AppSpec, ParsedXr

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Secrets:
    """Function credentials a decision may use; never logged, never in status or prompts."""

    repository: RepoCredentials | None = None
    memory_dsn: str | None = None
    llm_api_key: str | None = None
    cloudwatch: AwsCredentials | None = None  # metricsSource.cloudwatch (read-only)


@dataclass(frozen=True)
class SimilarUsed:
    """A past deployment the decision saw (for status and `scia explain`)."""

    deployment: str
    strategy: str
    outcome: str
    similarity: float
    monthly_cost: float | None


@dataclass(frozen=True)
class DecidedOutcome:
    decision: Decision
    cost: CostEstimate
    analysis: AnalysisSummary
    commit: str
    decided_at: str
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    llm_fallback: str | None = None
    similar: list[SimilarUsed] = field(default_factory=list)
    profile: AppProfile | None = None


def capacity_facts(kb: RulesOutcome) -> dict[str, object]:
    """The intent and capacity figures the knowledge base used, as facts for the LLM."""
    facts: dict[str, object] = {}
    if kb.intent is not None:
        facts["intent"] = kb.intent.model_dump(mode="json", by_alias=True, exclude_none=True)
    if kb.need is not None:
        n = kb.need
        facts["capacity"] = {
            "cpuMsPerRequest": n.cpu_ms,
            "avgRps": n.avg_rps,
            "peakRps": n.peak_rps,
            "avgVcpu": round(n.avg_vcpu, 3),
            "peakVcpu": round(n.peak_vcpu, 3),
            "memoryGiBPerInstance": n.memory_gib,
            "targetUtilisation": n.utilisation,
            "trafficStated": n.stated,
            "notes": n.why,
        }
    return facts


def with_figures(decision: Decision, kb: RulesOutcome) -> Decision:
    """The decision with the intent and capacity figures it was checked against in its reason."""
    if kb.intent is None or kb.need is None:
        return decision
    figures = f"; intent: {kb.intent.summary()}; capacity: {kb.need.summary()}"
    return decision.model_copy(update={"reason": (decision.reason + figures)[:2000]})


MAX_QUERY_DEPENDENCIES = 30


def _docker_start(facts: DockerfileFacts) -> dict[str, Any]:
    """The repository Dockerfile's final stage as the pin keeps it (launcher wrapping)."""
    if not facts.present:
        return {}
    return {
        "dockerfile_base": facts.base_image,
        "dockerfile_entrypoint": facts.entrypoint_argv,
        "dockerfile_cmd": facts.cmd_argv,
    }


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
        datastore_env=dict(profile.datastore_env) or None,
        runtime=profile.runtime,
        package_manager=profile.package_manager,
        service_path=profile.path,
        static_site=profile.static_site,
        monorepo=profile.monorepo,
        dockerfile_path=profile.dockerfile.path if profile.dockerfile.present else None,
        **_docker_start(profile.dockerfile),
        services=[
            ServiceSummary(
                name=s.name,
                path=s.path,
                port=s.port,
                health_check_path=s.health_check_path,
                has_dockerfile=s.dockerfile.present,
                dockerfile_path=s.dockerfile.path if s.dockerfile.present else None,
                **_docker_start(s.dockerfile),
                language=s.language,
                framework=s.framework,
                runtime=s.runtime,
                runtime_version=s.runtime_version,
                package_manager=s.package_manager,
                build_command=s.build_command,
                start_command=s.start_command,
                static_site=s.static_site,
            )
            for s in profile.services
            if s.deployable
        ]
        if profile.monorepo
        else [],
        dependencies=[d[:100] for d in profile.dependencies[:MAX_QUERY_DEPENDENCIES]] or None,
    )


def retrieval_query(xr: ParsedXr, spec: AppSpec, profile: AppProfile) -> RetrievalQuery:
    """What a decision asks the memory: the same facts a stored record is embedded from
    (outcomes.record_of, memory/text.py), with the tenant and the budget as filters."""
    return RetrievalQuery(
        namespace=xr.identity.tenant,
        repository=repository_key(spec.repository.url),
        framework=profile.framework,
        language=profile.language,
        dependencies=[d[:100] for d in profile.dependencies[:MAX_QUERY_DEPENDENCIES]],
        region=spec.region,
        prompt=spec.prompt or None,
        max_monthly_cost=spec.budget.max_monthly_cost if spec.budget else None,
        exclude_xr_uid=xr.identity.uid,
    )


def _now() -> str:
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    return now.isoformat().replace("+00:00", "Z")


def _key(*parts: object) -> str:
    raw = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def _used(items: list[PastDeployment]) -> list[SimilarUsed]:
    return [
        SimilarUsed(
            deployment=f"{d.namespace}/{d.deployment_name}",
            strategy=d.strategy,
            outcome=d.outcome,
            similarity=round(d.similarity, 3),
            monthly_cost=d.monthly_cost,
        )
        for d in items
    ]


def _check_port(profile: AppProfile, settings: FunctionInput) -> None:
    """The app's port comes from its repository: refuse one the platform never exposes."""
    port = profile.port
    if port is None or port not in settings.blocked_ports:
        return
    where = next(
        (
            f" ({e.file}:{e.line})"
            for e in profile.evidence
            if e.fact == "port" and e.value == str(port)
        ),
        "",
    )
    raise DecisionError(
        f"the application listens on port {port}{where}, which the platform does not expose "
        "(function input blockedPorts)"
    )


class DecisionEngine:
    """Analyzers per settings (each with its caches), the memory link, the LLM clients, prices."""

    def __init__(
        self, catalog: PriceCatalog | None = None, memory: MemoryLink | None = None
    ) -> None:
        self._catalog = catalog or load_catalog()
        self.memory = memory or MemoryLink(None)
        self._analyzers: dict[str, Analyzer] = {}
        self._llms: dict[str, LlmDecider] = {}
        self._caches: dict[int, SharedProfileCache] = {}
        self.llm_calls = 0

    @property
    def catalog(self) -> PriceCatalog:
        """The prices decisions are made with (pinned decisions are re-checked with them)."""
        return self._catalog

    async def close(self) -> None:
        """Close what holds connections: the LLM clients and the memory pools (at shutdown)."""
        llms, self._llms = list(self._llms.values()), {}
        for llm in llms:
            await llm.aclose()
        await self.memory.close()

    def analyzer(self, settings: AnalysisSettings, cache: ProfileCache | None = None) -> Analyzer:
        key = _key(settings.model_dump(mode="json"), id(cache))
        found = self._analyzers.get(key)
        if found is None:
            found = self._analyzers[key] = Analyzer(settings, cache)
        return found

    async def llm(self, settings: LlmSettings, api_key: str | None) -> LlmDecider:
        """The decider for these settings (one client each); its HTTP clients are imported
        and made off the event loop the first time (llm.import_clients; an httpx client
        loads the CA bundle into a TLS context, tens of milliseconds of CPU)."""
        key = _key(settings.model_dump(mode="json"), api_key)
        found = self._llms.get(key)
        if found is None:
            await import_clients()
            backend = await asyncio.to_thread(make_backend, settings, api_key)
            found = self._llms.get(key)  # another reconcile may have made it meanwhile
            if found is None:
                found = self._llms[key] = LlmDecider(settings, backend)
            else:
                await LlmDecider(settings, backend).aclose()
        return found

    def _profile_cache(self, store: MemoryStore | None) -> SharedProfileCache | None:
        if store is None:
            return None
        found = self._caches.get(id(store))
        if found is None:
            found = self._caches[id(store)] = SharedProfileCache(store)
        return found

    async def resolve(
        self, settings: FunctionInput, url: str, ref: str, creds: RepoCredentials | None
    ) -> str:
        return await self.analyzer(settings.analysis).resolve(url, ref, creds)

    async def memory_store(self, settings: FunctionInput, secrets: Secrets) -> MemoryStore | None:
        return await self.memory.store(secrets.memory_dsn, settings.memory)

    async def _learned(
        self, store: MemoryStore, xr: ParsedXr, profile: AppProfile
    ) -> tuple[Learned | None, str | None]:
        """What observed deployments of this app, framework and language teach the capacity
        model (learning.py); an outage only costs the learning, with a warning."""
        try:
            with stage_timer("retrieval"):
                rows = await store.observations(
                    xr.identity.tenant, profile.framework, profile.language
                )
        except MemoryUnavailable as e:
            return None, f"observations unavailable ({e}); sizing from the priors"
        observations = [o for r in rows if (o := observation_of(r, self._catalog)) is not None]
        if not observations:
            return None, None
        return learn(observations, profile, repository_key(xr.spec.repository.url)), None

    async def _ask_llm(
        self,
        settings: FunctionInput,
        secrets: Secrets,
        bounds: Bounds,
        similar: list[PastDeployment],
        failures: list[PastDeployment],
        kb: RulesOutcome,
    ) -> LlmResult:
        """One LLM decision (LlmError when none is usable). In a shared decision job it is
        made only while this replica still holds the job (lease.LeaseLost otherwise)."""
        await confirm_lease()
        self.llm_calls += 1
        with stage_timer("llm"):
            return await (await self.llm(settings.llm, secrets.llm_api_key)).decide(
                bounds, similar, failures, kb.decision, capacity_facts(kb)
            )

    def _knowledge_base(
        self,
        settings: FunctionInput,
        assumptions: UsageAssumptions,
        learned: Learned | None,
        profile: AppProfile,
        spec: AppSpec,
    ) -> tuple[RulesOutcome, list[str]]:
        """The knowledge base's decision, and the allowlist entries it could never choose
        (allowlists.py). Raises DecisionError when nothing fits, naming those entries too
        (a typo in every entry would otherwise read as 'no allowed size carries ...')."""
        unusable = unusable_entries(settings, self._catalog, spec.region)
        try:
            kb = RulesEngine(settings, self._catalog, assumptions, learned).decide(profile, spec)
        except DecisionError as e:
            if not unusable:
                raise
            raise DecisionError(f"{e}; {'; '.join(unusable)}") from None
        return kb, unusable

    async def decide(
        self, settings: FunctionInput, xr: ParsedXr, url: str, secrets: Secrets
    ) -> DecidedOutcome:
        spec = xr.spec
        warnings: list[str] = []
        notes: list[str] = []
        store: MemoryStore | None = None
        try:
            store = await self.memory_store(settings, secrets)
        except MemoryUnavailable as e:
            warnings.append(f"deployment memory unavailable ({e}); deciding without it")

        analyzer = self.analyzer(settings.analysis, self._profile_cache(store))
        with stage_timer("analysis"):
            profile = await analyzer.analyze(url, spec.repository.ref, secrets.repository)
        profile = select_service(profile, spec.repository.path)
        _check_port(profile, settings)
        # The AKS control plane is billed only on the Standard tier (input.azure).
        assumptions = UsageAssumptions(
            aks_standard_tier=settings.cloud == "azure"
            and settings.azure.kubernetes_sku_tier == "Standard"
        )
        learned = None
        if store is not None:
            learned, problem = await self._learned(store, xr, profile)
            if problem:
                warnings.append(problem)
        kb, unusable = self._knowledge_base(settings, assumptions, learned, profile, spec)
        warnings += unusable
        warnings += kb.warnings
        notes += kb.notes
        assumptions = kb.assumptions or assumptions  # priced with the stated traffic

        similar: list[PastDeployment] = []
        failures: list[PastDeployment] = []
        if store is not None:
            started = time.perf_counter()
            try:
                found = await store.retrieve(retrieval_query(xr, spec, profile))
                similar, failures = found.similar, found.failures
                observe_retrieval(time.perf_counter() - started)
                observe_stage("retrieval", time.perf_counter() - started)
            except MemoryUnavailable as e:
                warnings.append(f"deployment memory unavailable ({e}); deciding without it")

        decision, cost, fallback = kb.decision, kb.cost, None
        if settings.llm.enabled:
            bounds = Bounds(
                settings, spec, self._catalog, assumptions, profile, kb.decision, viable_options(kb)
            )
            try:
                got = await self._ask_llm(settings, secrets, bounds, similar, failures, kb)
            except LlmError as e:
                fallback = str(e)
                count_llm_fallback("invalid" if isinstance(e, LlmInvalid) else "unavailable")
                warnings.append(f"LLM gave no usable decision ({e}); the knowledge base decided")
            else:
                decision, cost = with_figures(got.decision, kb), got.cost
                warnings += got.warnings
        else:
            notes.append("no LLM is configured (input llm.enabled); the knowledge base decided")

        return DecidedOutcome(
            decision=decision,
            cost=cost,
            analysis=summarize(profile),
            commit=profile.commit,
            decided_at=_now(),
            warnings=warnings,
            notes=notes,
            llm_fallback=fallback,
            similar=_used(similar),
            profile=profile,
        )
