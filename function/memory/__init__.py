"""Deployment memory: past deployments in PostgreSQL + pgvector, retrieved by meaning.

The function calls `MemoryStore` (store.py); everything else here serves it.
"""

from function.memory.db import dsn_from_credentials, redact_dsn
from function.memory.embed import Embedder, MiniLMEmbedder, OllamaEmbedder
from function.memory.embedded import EmbeddedDatabase, default_data_dir, start_embedded
from function.memory.errors import MemoryRecordNotFound, MemoryTenantConflict, MemoryUnavailable
from function.memory.models import (
    DeploymentRecord,
    MemoryStats,
    PastDeployment,
    RetrievalQuery,
    RetrievalResult,
)
from function.memory.profile_cache import PgProfileCache
from function.memory.settings import MemorySettings, RetrievalWeights
from function.memory.store import MemoryStore
from function.memory.text import deployment_text

__all__ = [
    "DeploymentRecord",
    "EmbeddedDatabase",
    "Embedder",
    "MemoryRecordNotFound",
    "MemorySettings",
    "MemoryStats",
    "MemoryStore",
    "MemoryTenantConflict",
    "MemoryUnavailable",
    "MiniLMEmbedder",
    "OllamaEmbedder",
    "PastDeployment",
    "PgProfileCache",
    "RetrievalQuery",
    "RetrievalResult",
    "RetrievalWeights",
    "default_data_dir",
    "deployment_text",
    "dsn_from_credentials",
    "redact_dsn",
    "start_embedded",
]
