"""The analysis finds the variable an app reads its data store URL from, and the platform
injects the connection under that name."""

from __future__ import annotations

from pathlib import Path

import pytest

from function.analysis.analyzer import analyze_path
from function.config.datastores import plan_stores
from function.input import DataStoreSettings
from function.xr import AppSpec


def _app(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


FLASK = "from flask import Flask\napp = Flask(__name__)\n"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {
                "requirements.txt": "flask\npsycopg[binary]\nredis\n",
                "app.py": FLASK + "import os\nDB = os.environ['POSTGRES_DSN']\n"
                "CACHE = os.getenv('CACHE_URL')\n",
            },
            {"postgres": "POSTGRES_DSN", "redis": "CACHE_URL"},
        ),
        (
            {
                "package.json": '{"dependencies": {"express": "4", "mysql2": "3"}}',
                "index.js": "const app = require('express')();\n"
                "const db = process.env.DATABASE_URL;\napp.listen(3000);\n",
            },
            {"mysql": "DATABASE_URL"},
        ),
        (
            # A URL for a store the app does not use is not taken.
            {
                "requirements.txt": "flask\npsycopg\n",
                "app.py": FLASK + "import os\nos.environ.get('REDIS_URL')\n",
                "tests/test_app.py": "import os\nos.environ['PG_URL']\n",
            },
            {},
        ),
    ],
)
def test_env_names_from_the_code(
    tmp_path: Path, files: dict[str, str], expected: dict[str, str]
) -> None:
    profile = analyze_path(_app(tmp_path, files))
    assert profile.datastore_env == expected
    assert all(
        any(e.fact == "datastore_env" and e.value == name for e in profile.evidence)
        for name in expected.values()
    )


def test_the_found_name_is_injected_unless_the_team_names_one() -> None:
    spec = AppSpec.model_validate({"repository": {"url": "https://x.io/a"}})
    on = DataStoreSettings(compose=True)
    (store,) = plan_stores(["postgres"], spec, on, False, {"postgres": "POSTGRES_DSN"}).composed
    assert store.env_name == "POSTGRES_DSN"
    named = AppSpec.model_validate(
        {"repository": {"url": "https://x.io/a"}, "services": {"postgres": {"envName": "PGURL"}}}
    )
    (store,) = plan_stores(["postgres"], named, on, False, {"postgres": "POSTGRES_DSN"}).composed
    assert store.env_name == "PGURL"


def test_a_bound_store_reaches_the_app_under_the_found_name() -> None:
    from function.model import Strategy
    from function.render.dispatch import render
    from tests.render.test_render_aws import FULL_OBSERVED, ctx

    c = ctx(Strategy.VM, True)
    spec = AppSpec.model_validate(
        {
            "repository": {"url": "https://x.io/a"},
            "region": "eu-west-1",
            "services": {"postgres": {"secretRef": {"name": "db"}}},
        }
    )
    analysis = c.analysis.model_copy(update={"datastore_env": {"postgres": "POSTGRES_DSN"}})
    out = render(c.__class__(**{**c.__dict__, "spec": spec, "analysis": analysis}), FULL_OBSERVED)
    secrets = [b["spec"]["forProvider"]["name"] for b in out.values() if b["kind"] == "Secret"]
    assert [s.rsplit("/", 1)[-1] for s in secrets] == ["POSTGRES_DSN"]
