"""The environment variable an app reads a data store's URL from (DATABASE_URL, REDIS_URL,
POSTGRES_DSN, ...), so the platform injects the connection under the name the code uses.

Reads in source files (tests excluded): os.environ["X"] / .get("X") / getenv("X") (Python,
PHP, C), process.env.X / process.env["X"] (Node), ENV["X"] / ENV.fetch("X") (Ruby),
env("X") (Laravel), System.getenv("X") (Java), os.Getenv("X") (Go), env::var("X")
(Rust), where X ends in URL, URI or DSN. The name says the store: REDIS or CACHE -> redis,
MYSQL or MARIADB -> mysql, POSTGRES or PG -> postgres, DATABASE or DB -> the SQL store
the analysis found (postgres or mysql, when there is exactly one). First read wins.
"""

from __future__ import annotations

from collections.abc import Iterable

from function.analysis import rx
from function.analysis.detect.base import Project
from function.analysis.profile import DataStore, Evidence

ENV_URL_READ = rx.compile(
    r"""(?:environ(?:\.get)?\s*[\(\[]\s*|getenv\(\s*|process\.env\.|process\.env\[\s*"""
    r"""|ENV\[\s*|ENV\.fetch\(\s*|\benv\(\s*|System\.getenv\(\s*|Getenv\(\s*|env::var\(\s*)"""
    r"""["'`]?(?P<name>[A-Z][A-Z0-9_]{0,62}(?:URL|URI|DSN))\b"""
)
_KEYWORDS: tuple[tuple[str, DataStore | None], ...] = (
    ("REDIS", "redis"),
    ("CACHE", "redis"),
    ("MYSQL", "mysql"),
    ("MARIADB", "mysql"),
    ("POSTGRES", "postgres"),
    ("PG", "postgres"),
    ("DATABASE", None),
    ("DB", None),
)


def _store_of(name: str, sql: DataStore | None) -> DataStore | None:
    parts = name.split("_")
    for keyword, store in _KEYWORDS:
        if keyword in parts or name.startswith(keyword):
            return store or sql
    return None


def scan_datastore_env(
    project: Project, paths: Iterable[str], found: Iterable[DataStore]
) -> dict[DataStore, Evidence]:
    """store -> the evidence of the variable its URL is read from (`value` is the name)."""
    stores = set(found)
    sql_stores = stores & {"postgres", "mysql"}
    sql: DataStore | None = next(iter(sql_stores)) if len(sql_stores) == 1 else None
    out: dict[DataStore, Evidence] = {}
    for hit in project.grep(ENV_URL_READ, paths, ("URL", "URI", "DSN")):
        name = hit.match.group("name")
        store = _store_of(name, sql)
        if store is None or store not in stores or store in out:
            continue
        out[store] = Evidence(
            fact="datastore_env", value=name, file=hit.file, line=hit.line, confidence=0.8
        )
    return out
