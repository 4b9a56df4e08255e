"""Tenants see their own records and shared ones, never another tenant's private ones."""

from __future__ import annotations

import psycopg
import pytest

from function.memory.errors import MemoryTenantConflict
from function.memory.models import RetrievalQuery
from function.memory.store import MemoryStore
from tests.memory.helpers import record

ADVERSARIAL = [
    "team-b' OR '1'='1",
    "team-b'; DROP TABLE deployment_embeddings; --",
    "team-b\\' OR scope = 'private",
    "%",
    "team-%",
    "team-b\x00",
]


def _query(namespace: str) -> RetrievalQuery:
    return RetrievalQuery(namespace=namespace, framework="flask", language="python")


@pytest.fixture
async def two_tenants(store: MemoryStore) -> MemoryStore:
    await store.record(record("a-private", namespace="team-a"))
    await store.record(record("a-shared", namespace="team-a", scope="shared"))
    await store.record(record("b-private", namespace="team-b"))
    await store.record(record("b-failed", namespace="team-b", outcome="failed"))
    await store.record(
        record("b-shared-failed", namespace="team-b", outcome="failed", scope="shared")
    )
    return store


async def test_each_tenant_sees_its_own_and_shared_records(two_tenants: MemoryStore) -> None:
    a = await two_tenants.retrieve(_query("team-a"))
    b = await two_tenants.retrieve(_query("team-b"))
    c = await two_tenants.retrieve(_query("team-c"))
    assert {p.xr_uid for p in a.similar} == {"a-private", "a-shared"}
    assert {p.xr_uid for p in a.failures} == {"b-shared-failed"}
    assert {p.xr_uid for p in b.similar} == {"b-private", "a-shared"}
    assert {p.xr_uid for p in b.failures} == {"b-failed", "b-shared-failed"}
    assert {p.xr_uid for p in c.similar} == {"a-shared"}
    assert (await two_tenants.stats("team-a")).deployments == 2


@pytest.mark.parametrize("namespace", [n for n in ADVERSARIAL if "\x00" not in n])
async def test_adversarial_namespaces_see_only_shared_records(
    two_tenants: MemoryStore, namespace: str, fresh_dsn: str
) -> None:
    result = await two_tenants.retrieve(_query(namespace))
    assert {p.xr_uid for p in result.similar} == {"a-shared"}
    assert {p.xr_uid for p in result.failures} == {"b-shared-failed"}
    assert (await two_tenants.stats(namespace)).deployments == 0
    with psycopg.connect(fresh_dsn) as conn:
        count = conn.execute("SELECT count(*) FROM deployment_embeddings").fetchone()
    assert count == (5,)


async def test_nul_bytes_are_refused_by_the_database_not_interpreted(
    two_tenants: MemoryStore,
) -> None:
    with pytest.raises(psycopg.DataError):
        await two_tenants.retrieve(_query("team-b\x00"))


async def test_a_tenant_cannot_overwrite_another_tenants_record(
    two_tenants: MemoryStore,
) -> None:
    with pytest.raises(MemoryTenantConflict):
        await two_tenants.record(record("b-private", namespace="team-a", scope="shared"))
    b = await two_tenants.retrieve(_query("team-b"))
    stolen = [p for p in b.similar if p.xr_uid == "b-private"]
    assert stolen and stolen[0].scope == "private"
    a = await two_tenants.retrieve(_query("team-a"))
    assert "b-private" not in {p.xr_uid for p in a.similar}
