"""`scia import v1`, `scia memory stats` and `scia memory search` against the embedded
PostgreSQL + pgvector with the real MiniLM model; imported records reach the decision's
retrieval."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from function.cli.main import cli
from function.cli.memorydb import CliRuntime
from function.memory.embed import MiniLMEmbedder
from function.memory.embedded import start_embedded
from function.memory.models import DeploymentRecord, RetrievalQuery
from function.memory.store import MemoryStore
from function.v1import import V1Deployment, xr_uid_of
from tests.cli.record_claim import V1_FLASK
from tests.support.memory_settings import patient

pytestmark = pytest.mark.integration

GOOD = [
    V1_FLASK,
    {
        "name": "shop",
        "framework": "spring-boot",
        "language": "java",
        "dependencies": ["spring-web"],
        "strategy": "eks",
        "instance_type": "m5.large",
        "region": "us-east-1",
        "prompt": "our main shop, lots of traffic",
        "outcome": "failed",
        "cost": 410.0,
    },
    {
        "name": "thumbnailer",
        "framework": "express",
        "language": "javascript",
        "strategy": "lambda",
        "memoryMb": 1024,
        "region": "us-west-2",
        "outcome": "succeeded",
        "cost": 3.5,
        "deployedAt": "2024-05-01T10:00:00Z",
    },
]


def invoke(embedder: MiniLMEmbedder, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), obj=CliRuntime(embedder_factory=lambda: embedder))


def write(tmp_path: Path, data: Any, name: str = "export.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def rows(dsn: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT xr_uid, revision, namespace, deployment_name, strategy, outcome, monthly_cost,"
            " scope, metadata->'decision' FROM deployment_embeddings ORDER BY deployment_name"
        ).fetchall()


def test_import_then_again_updates_instead_of_duplicating(
    tmp_path: Path, fresh_dsn: str, embedder: MiniLMEmbedder
) -> None:
    file = write(tmp_path, GOOD)
    first = invoke(embedder, "import", "v1", file, "--dsn", fresh_dsn, "--no-progress")
    assert first.exit_code == 0, first.output
    assert first.output.startswith("3 records: 3 created, 0 updated, 0 skipped")
    stored = rows(fresh_dsn)
    assert [(r[3], r[4], r[5], r[6], r[7]) for r in stored] == [
        ("billing-api", "vm", "success", 61.2, "shared"),
        ("shop", "kubernetes", "failed", 410.0, "shared"),
        ("thumbnailer", "serverless", "success", 3.5, "shared"),
    ]
    assert {r[2] for r in stored} == {"imported"} and {r[1] for r in stored} == {1}
    assert stored[0][0] == xr_uid_of(V1Deployment.model_validate(GOOD[0]), "imported")
    assert stored[0][8] == {
        "strategy": "vm",
        "vm": {"instanceType": "t3.small", "desiredCapacity": 2},
    }

    changed = [dict(GOOD[0], outcome="degraded"), *GOOD[1:]]
    again = invoke(embedder, "import", "v1", write(tmp_path, changed), "--dsn", fresh_dsn,
                   "-o", "json")  # fmt: skip
    assert again.exit_code == 0, again.output
    summary = json.loads(again.output[again.output.index("{") :])
    assert (summary["created"], summary["updated"], summary["skipped"]) == (0, 3, 0)
    after = rows(fresh_dsn)
    assert len(after) == 3 and after[0][5] == "degraded"


def test_broken_records_are_reported_by_index_and_skipped(
    tmp_path: Path, fresh_dsn: str, embedder: MiniLMEmbedder
) -> None:
    broken = [
        GOOD[0],
        {"name": "x", "strategy": "mainframe"},
        "not an object",
        {"strategy": "vm"},
        {"name": "y", "strategy": "vm", "cost": -3},
        {"name": "z", "strategy": "vm", "colour": "blue"},
        dict(GOOD[0], cost=12.0),
        GOOD[2],
    ]
    result = invoke(embedder, "import", "v1", write(tmp_path, broken), "--dsn", fresh_dsn,
                    "--no-progress", "-o", "json")  # fmt: skip
    assert result.exit_code == 1, result.output
    summary = json.loads(result.output)
    assert (summary["total"], summary["created"], summary["skipped"]) == (8, 2, 6)
    problems = {p["index"]: p["message"] for p in summary["problems"]}
    assert sorted(problems) == [1, 2, 3, 4, 5, 6]
    assert "unknown strategy 'mainframe'" in problems[1]
    assert problems[2] == "a record must be a JSON object"
    assert problems[3].startswith("name: Field required")
    assert "cost: Input should be greater than or equal to 0" in problems[4]
    assert "colour: Extra inputs are not permitted" in problems[5]
    assert problems[6] == "duplicate of record 0 (same namespace and name)"
    assert [r[3] for r in rows(fresh_dsn)] == ["billing-api", "thumbnailer"]

    table = invoke(embedder, "import", "v1", write(tmp_path, broken), "--dsn", fresh_dsn,
                   "--no-progress")  # fmt: skip
    assert table.exit_code == 1
    assert "8 records: 0 created, 2 updated, 6 skipped" in table.output
    assert "INDEX  NAME" in table.output and "1      x" in table.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not JSON"),
        ('{"deployments": []}', "a v1 export is a JSON list of deployments"),
        (b"\xff\xfe\x00", "is not UTF-8 text"),
    ],
)
def test_unreadable_file_writes_nothing(
    tmp_path: Path, fresh_dsn: str, embedder: MiniLMEmbedder, content: Any, message: str
) -> None:
    path = tmp_path / "bad.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    result = invoke(embedder, "import", "v1", str(path), "--dsn", fresh_dsn)
    assert result.exit_code == 1
    assert message in result.output and "nothing imported" in result.output
    missing = invoke(embedder, "import", "v1", str(tmp_path / "none.json"), "--dsn", fresh_dsn)
    assert missing.exit_code == 3


def test_stats_and_search(tmp_path: Path, fresh_dsn: str, embedder: MiniLMEmbedder) -> None:
    assert (
        invoke(embedder, "import", "v1", write(tmp_path, GOOD), "--dsn", fresh_dsn).exit_code == 0
    )
    private = [{"name": "secret-app", "framework": "flask", "language": "python", "strategy": "vm",
                "instanceType": "t3.micro", "outcome": "success", "cost": 20.0}]  # fmt: skip
    got = invoke(embedder, "import", "v1", write(tmp_path, private, "p.json"), "--dsn", fresh_dsn,
                 "--namespace", "team-a", "--scope", "private")  # fmt: skip
    assert got.exit_code == 0, got.output

    stats = invoke(embedder, "memory", "stats", "--dsn", fresh_dsn, "-o", "json")
    assert stats.exit_code == 0, stats.output
    s = json.loads(stats.output)
    assert (s["deployments"], s["shared"]) == (4, 3)
    assert s["byOutcome"] == {"success": 3, "failed": 1}
    assert s["byStrategy"] == {"vm": 2, "kubernetes": 1, "serverless": 1}
    team = invoke(embedder, "memory", "stats", "--dsn", fresh_dsn, "--namespace", "team-a")
    assert "deployments        1" in team.output and "namespace          team-a" in team.output

    found = invoke(embedder, "memory", "search", "flask api with postgres", "--dsn", fresh_dsn,
                   "-o", "json")  # fmt: skip
    assert found.exit_code == 0, found.output
    names = [p["deploymentName"] for p in json.loads(found.output)]
    assert names[:2] in (["billing-api", "secret-app"], ["secret-app", "billing-api"])
    # As another tenant: the private record of team-a is not visible; shared ones are.
    other = invoke(embedder, "memory", "search", "flask api with postgres", "--dsn", fresh_dsn,
                   "--namespace", "team-b", "--top-k", "10")  # fmt: skip
    assert other.exit_code == 0, other.output
    assert "imported/billing-api" in other.output and "secret-app" not in other.output
    lines = other.output.splitlines()
    assert lines[0].split()[:3] == ["SIMILARITY", "DEPLOYMENT", "REV"] and len(lines) == 4
    only = invoke(embedder, "memory", "search", "an app", "--dsn", fresh_dsn,
                  "--framework", "express", "-o", "yaml")  # fmt: skip
    assert "deploymentName: thumbnailer" in only.output and "billing-api" not in only.output


async def _retrieve(dsn: str, embedder: MiniLMEmbedder) -> list[str]:
    store = await MemoryStore.connect(dsn, patient(), embedder)
    try:
        found = await store.retrieve(RetrievalQuery(
            namespace="team-z", framework="flask", language="python",
            dependencies=["flask", "gunicorn"], prompt="a flask api"))  # fmt: skip
        return [f"{p.namespace}/{p.deployment_name}" for p in found.similar]
    finally:
        await store.close()


def test_imported_shared_records_feed_decisions_of_every_tenant(
    tmp_path: Path, fresh_dsn: str, embedder: MiniLMEmbedder
) -> None:
    assert (
        invoke(embedder, "import", "v1", write(tmp_path, GOOD), "--dsn", fresh_dsn).exit_code == 0
    )
    assert asyncio.run(_retrieve(fresh_dsn, embedder)) == ["imported/billing-api"]


def test_unreachable_database_exits_4(embedder: MiniLMEmbedder, tmp_path: Path) -> None:
    dead = "postgresql://scia:pw@127.0.0.1:9/scia"
    stats = invoke(embedder, "memory", "stats", "--dsn", dead)
    assert stats.exit_code == 4 and "memory database unreachable" in stats.output
    assert "pw@" not in stats.output
    imp = invoke(embedder, "import", "v1", write(tmp_path, GOOD), "--dsn", dead)
    assert imp.exit_code == 4


def test_dsn_from_environment(fresh_dsn: str, embedder: MiniLMEmbedder) -> None:
    result = CliRunner(env={"SCIA_MEMORY_DSN": fresh_dsn}).invoke(
        cli, ["memory", "stats"], obj=CliRuntime(embedder_factory=lambda: embedder)
    )
    assert result.exit_code == 0, result.output
    assert "deployments        0" in result.output


def test_embedded_default_when_no_dsn(embedder: MiniLMEmbedder) -> None:
    root = Path(tempfile.mkdtemp(prefix="scia-cli-"))
    try:
        result = CliRunner(
            env={"SCIA_DATA_DIR": str(root / "pgdata"), "SCIA_MEMORY_DSN": None}
        ).invoke(
            cli,
            ["memory", "stats", "-o", "json"],
            obj=CliRuntime(embedder_factory=lambda: embedder),
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["deployments"] == 0
        assert (root / "pgdata" / "PG_VERSION").exists()
    finally:
        db = start_embedded(root / "pgdata")
        if db.is_running():
            db.stop()
        shutil.rmtree(root, ignore_errors=True)


async def _squat(dsn: str, embedder: MiniLMEmbedder, uid: str) -> None:
    store = await MemoryStore.connect(dsn, patient(), embedder)
    try:
        await store.record(DeploymentRecord(
            namespace="someone-else", deployment_name="billing-api", xr_uid=uid, revision=1,
            strategy="vm", outcome="success"))  # fmt: skip
    finally:
        await store.close()


def test_a_record_owned_by_another_namespace_is_skipped_alone(
    tmp_path: Path, fresh_dsn: str, embedder: MiniLMEmbedder
) -> None:
    uid = xr_uid_of(V1Deployment.model_validate(GOOD[0]), "imported")
    asyncio.run(_squat(fresh_dsn, embedder, uid))
    result = invoke(embedder, "import", "v1", write(tmp_path, GOOD), "--dsn", fresh_dsn,
                    "--no-progress", "-o", "json")  # fmt: skip
    assert result.exit_code == 1, result.output
    summary = json.loads(result.output)
    assert (summary["created"], summary["updated"], summary["skipped"]) == (2, 0, 1)
    assert summary["problems"] == [
        {"index": 0, "name": "billing-api", "message": "stored under another namespace"}
    ]
    owners = {(r[2], r[3]) for r in rows(fresh_dsn)}
    assert owners == {
        ("someone-else", "billing-api"),
        ("imported", "shop"),
        ("imported", "thumbnailer"),
    }
