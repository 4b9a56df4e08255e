"""similarDeployments: stored past deployments from the memory, within the caller's tenant.

PostgreSQL is not fenced by RBAC, so the schema asks the API server first (a
SubjectAccessReview for `list appdeployments` in the namespace, auth.py); the search
itself keeps to that namespace's own and shared records (`memory_cmds.nearest`, as the
function's retrieval does).
"""

from __future__ import annotations

from dataclasses import dataclass

from function.api.errors import ApiFailure, ErrorCode
from function.api.types import PastDeployment
from function.cli.memory_cmds import nearest
from function.cli.memorydb import LazyEmbedder
from function.memory.embed import Embedder
from function.memory.errors import MemoryUnavailable
from function.memory.models import RetrievalQuery
from function.memory.settings import MemorySettings
from function.memory.text import text_of


@dataclass
class Memory:
    dsn: str
    embedder: Embedder | LazyEmbedder
    settings: MemorySettings

    async def similar(
        self,
        namespace: str,
        *,
        text: str | None = None,
        query: RetrievalQuery | None = None,
        limit: int = 5,
        framework: str | None = None,
    ) -> list[PastDeployment]:
        """Nearest stored deployments to free `text` or to a deployment's facts (`query`)."""
        words = text if text is not None else (text_of(query) if query else "")
        if not words.strip():
            raise ApiFailure.one(ErrorCode.INVALID, "nothing to search for", "text")
        try:
            [vector] = await self.embedder.embed([words])
            found = await nearest(self.dsn, self.settings, vector, namespace, limit, framework)
        except MemoryUnavailable as e:
            raise ApiFailure.one(ErrorCode.UNAVAILABLE, f"memory unavailable: {e}") from None
        except ImportError:  # an image built without the `memory` extra
            raise ApiFailure.one(
                ErrorCode.UNAVAILABLE,
                "the embedding model is not installed here (the package's `memory` extra)",
            ) from None
        return [
            PastDeployment(
                namespace=p.namespace,
                deployment_name=p.deployment_name,
                revision=p.revision,
                framework=p.framework,
                strategy=p.strategy,
                region=p.region,
                outcome=p.outcome,
                monthly_cost=p.monthly_cost,
                feedback=p.feedback,
                feedback_comment=p.feedback_comment,
                scope=p.scope,
                similarity=round(p.similarity, 4),
                updated_at=p.updated_at.isoformat(),
            )
            for p in found
            if p.namespace == namespace or p.scope == "shared"
        ]
