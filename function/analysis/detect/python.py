"""Python: Django, Flask, FastAPI (and Starlette, Litestar, aiohttp, Sanic as servers).

Start command, in order: Procfile `web:`; a WSGI/ASGI server on the app the code defines:
Django's `wsgi.py` of the settings package, wherever manage.py sits (`--chdir` when it is
below the root); Flask / FastAPI app objects (`module:app`) or application factories
(`'module:create_app()'`, `--factory`). The server program must be a dependency: when it is
not, the build command installs it and the evidence says so.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from function.analysis import rx
from function.analysis.detect.base import (
    Detection,
    Project,
    command_ports,
    find_line,
    line_of,
    match_dependencies,
    procfile_web,
    scan_datastore_urls,
    scan_health,
    scan_ports,
    tool_version,
)
from function.analysis.detect.parse import load_toml
from function.analysis.profile import DataStore

_REQUIREMENT = rx.compile(r"(?m)^[ \t]*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]\n]{0,200}\])?")
_STORES: dict[str, DataStore] = {
    "psycopg2": "postgres", "psycopg2-binary": "postgres", "psycopg": "postgres",
    "psycopg-binary": "postgres", "asyncpg": "postgres", "pg8000": "postgres",
    "django-postgres-extra": "postgres", "pymysql": "mysql", "mysqlclient": "mysql",
    "mysql-connector-python": "mysql", "aiomysql": "mysql", "asyncmy": "mysql",
    "redis": "redis", "aioredis": "redis", "django-redis": "redis", "rq": "redis",
    "pymongo": "mongodb", "motor": "mongodb", "mongoengine": "mongodb", "beanie": "mongodb",
    "odmantic": "mongodb", "aiosqlite": "sqlite",
}  # fmt: skip
_FRAMEWORKS = {
    "django": "django", "fastapi": "fastapi", "flask": "flask", "starlette": "starlette",
    "litestar": "litestar", "sanic": "sanic", "aiohttp": "aiohttp",
}  # fmt: skip
_ASGI = ("fastapi", "starlette", "litestar")
_DEFAULT_PORTS = {
    "flask": 5000,
    "fastapi": 8000,
    "django": 8000,
    "starlette": 8000,
    "litestar": 8000,
    "sanic": 8000,
    "aiohttp": 8080,
}
_IMPORTS = {
    "fastapi": rx.compile(r"(?m)^\s*(?:from fastapi import|import fastapi)"),
    "flask": rx.compile(r"(?m)^\s*(?:from flask import|import flask)\b"),
    "django": rx.compile(r"(?m)^\s*(?:from django|import django)"),
    "starlette": rx.compile(r"(?m)^\s*from starlette\.applications import"),
    "litestar": rx.compile(r"(?m)^\s*from litestar import"),
}
_EXPLICIT = [
    rx.compile(
        r"\b(?:run|serve|run_app|run_simple)\([^)\n]{0,200}?\bport\s*=\s*(?P<port>\d{2,5})\b"
    ),
    rx.compile(
        r"\b(?:run|serve|run_app)\([^)\n]{0,200}?\bport\s*=\s*(?P<ident>[A-Za-z_]\w*)\s*[,)]"
    ),
    rx.compile(r"""\bbind\s*=\s*["'][\w.\[\]:]*:(?P<port>\d{2,5})["']"""),
]
# module-level `app = Flask(__name__)` (no indentation) and factories
_APP_OBJECT = rx.compile(r"(?m)^(\w+)\s*(?::\s*\w+\s*)?=\s*(FastAPI|Flask|Starlette|Litestar)\(")
_FACTORY = rx.compile(r"(?m)^(?:async\s+)?def\s+(create_app|make_app|app_factory|get_app)\s*\(")
_SETTINGS_MODULE = rx.compile(r"""DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)["']""")
_WSGI_SETTING = rx.compile(r"""(?m)^WSGI_APPLICATION\s*=\s*["']([\w.]+)\.application["']""")
_SETUP_REQUIREMENT = rx.compile(
    r"""["'\n]\s*([A-Za-z][\w.-]*)\s*(?:\[[^\]]{0,100}\])?\s*(?:[<>=~!][^"'\n]{0,50})?["'\n]"""
)
_CONFIG_MODULE = rx.compile(
    r"(?:^|/)(?:config|settings|conf|database|db|env|environment|core/config)(?:/[\w]+)?\.py$"
)


@dataclass
class _Deps:
    """Dependency name -> (file, line), plus the raw specs (for extras like fastapi[standard])."""

    names: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    extras: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, file: str, line: int | None, extras: str = "") -> None:
        key = name.lower().replace("_", "-")
        self.names.setdefault(key, (file, line))
        if extras:
            self.extras[key] = extras.lower()


def _requirements(deps: _Deps, project: Project, full: str, depth: int = 0) -> None:
    text = project.tree.read(full)
    if text is None or depth > 3:
        return
    for line_no, line in enumerate(text.splitlines()[:5000], 1):
        stripped = line.strip()
        if stripped.startswith(("-r ", "--requirement ")):
            included = posixpath.normpath(
                posixpath.join(posixpath.dirname(full), stripped.split(None, 1)[1].strip())
            )
            _requirements(deps, project, included, depth + 1)
            continue
        if not stripped or stripped.startswith(("#", "-")):
            continue
        found = _REQUIREMENT.match(line)
        if found:
            deps.add(found.group(1), full, line_no, found.group(2) or "")


def _dependencies(project: Project) -> _Deps:
    deps = _Deps()
    for rel in (
        "requirements.txt",
        "requirements/base.txt",
        "requirements/prod.txt",
        "requirements/production.txt",
        "requirements-prod.txt",
    ):
        if project.has(rel):
            _requirements(deps, project, project.path(rel), 0)
    text = project.text("pyproject.toml")
    if text:
        manifest = project.path("pyproject.toml")
        data = load_toml(project.tree, manifest, text)
        table = data.get("project")
        specs = table.get("dependencies") if isinstance(table, dict) else None
        for spec in specs if isinstance(specs, list) else []:
            found = _REQUIREMENT.match(str(spec))
            if found:
                deps.add(
                    found.group(1), manifest, find_line(text, found.group(1)), found.group(2) or ""
                )
        tool = data.get("tool")
        poetry = tool.get("poetry") if isinstance(tool, dict) else None
        poetry_deps = poetry.get("dependencies") if isinstance(poetry, dict) else None
        for name, spec in poetry_deps.items() if isinstance(poetry_deps, dict) else []:
            if name.lower() != "python":
                extras = spec.get("extras") if isinstance(spec, dict) else None
                deps.add(name, manifest, find_line(text, name), str(extras) if extras else "")
    text = project.text("Pipfile")
    if text:
        section = ""
        for line_no, line in enumerate(text.splitlines()[:5000], 1):
            stripped = line.strip()
            if stripped.startswith("["):
                section = stripped
                continue
            found = rx.match(r"""["']?([A-Za-z][\w.-]*)["']?\s*=""", stripped)
            if section == "[packages]" and found:
                deps.add(found.group(1), project.path("Pipfile"), line_no)
    for rel in ("setup.py", "setup.cfg"):
        text = project.text(rel)
        if not text:
            continue
        for found in rx.finditer(
            r"""["'\n]\s*([A-Za-z][\w.-]*)\s*(?:\[[^\]]{0,100}\])?\s*(?:[<>=~!][^"'\n]{0,50})?["'\n]""",
            text,
        ):
            name = found.group(1).lower()
            if name in _FRAMEWORKS or name in _STORES or name in ("gunicorn", "uvicorn"):
                deps.add(name, project.path(rel), line_of(text, found.start()))
    return deps


def _runtime(project: Project, detection: Detection) -> None:
    for name in (".python-version", "runtime.txt"):
        full = project.upward(name)
        text = project.tree.read(full) if full else None
        version = rx.search(r"(\d+\.\d+(?:\.\d+)?)", text or "")
        if full and version:
            detection.set_runtime(version.group(1), full, 1, 0.95)
            return
    if tool_version(project, detection, ("python",)):
        return
    text = project.text("pyproject.toml") or ""
    version = rx.search(r"""(?:requires-python|python)\s*=\s*["'][^\d"']{0,10}(\d+\.\d+)""", text)
    if version:
        detection.set_runtime(
            version.group(1), project.path("pyproject.toml"), line_of(text, version.start()), 0.7
        )
        return
    text = project.text("Pipfile") or ""
    version = rx.search(r"""python_version\s*=\s*["'](\d+\.\d+)""", text)
    if version:
        detection.set_runtime(
            version.group(1), project.path("Pipfile"), line_of(text, version.start()), 0.85
        )


def _manager(project: Project) -> str:
    for lock, manager in (
        ("uv.lock", "uv"),
        ("poetry.lock", "poetry"),
        ("pdm.lock", "pdm"),
        ("Pipfile.lock", "pipenv"),
        ("Pipfile", "pipenv"),
    ):
        if project.upward(lock):
            return manager
    return "pip"


def _install(project: Project, manager: str) -> str | None:
    if manager == "uv":
        return "pip install uv && uv sync --frozen --no-dev"
    if manager == "poetry":
        return "pip install poetry && poetry install --only main --no-root"
    if manager == "pdm":
        return "pip install pdm && pdm install --prod"
    if manager == "pipenv":
        return "pip install pipenv && pipenv install --deploy --system"
    requirements = next(
        (
            r
            for r in (
                "requirements.txt",
                "requirements/prod.txt",
                "requirements/production.txt",
                "requirements/base.txt",
            )
            if project.has(r)
        ),
        None,
    )
    if requirements:
        return f"pip install -r {requirements}"
    if project.has("pyproject.toml") or project.has("setup.py"):
        return "pip install ."
    return None


def _module(rel: str) -> str:
    """Dotted module of a project-relative .py path (a package's __init__ is the package)."""
    module = rel.removesuffix(".py").replace("/", ".")
    return module.removesuffix(".__init__")


@dataclass(frozen=True)
class _Entry:
    target: str  # what the server is given: module:attr or 'module:factory()'
    chdir: str  # folder the module is imported from, relative to the project ('' = project)
    file: str
    line: int
    factory: bool = False


def _split_src(rel: str) -> tuple[str, str]:
    """('src', 'pkg/app.py') for a src layout, ('', rel) otherwise."""
    if rel.startswith("src/") and rel.count("/") >= 1:
        return "src", rel[4:]
    return "", rel


def _app_entry(project: Project, sources: list[str], framework: str) -> _Entry | None:
    kinds = {
        "fastapi": "FastAPI",
        "flask": "Flask",
        "starlette": "Starlette",
        "litestar": "Litestar",
    }
    wanted = kinds.get(framework)
    if wanted is None:
        return None
    ranked = sorted(sources, key=lambda p: (p.count("/"), "__init__" not in p, p))
    factory: _Entry | None = None
    for full in ranked:
        text = project.tree.read(full) or ""
        if f"{wanted}(" not in text:
            continue
        chdir, rel = _split_src(project.rel(full))
        for found in _APP_OBJECT.finditer(text):
            if found.group(2) == wanted:
                target = f"{_module(rel)}:{found.group(1)}"
                return _Entry(target, chdir, full, line_of(text, found.start()))
        made = _FACTORY.search(text)
        if made and factory is None:
            target = f"{_module(rel)}:{made.group(1)}"
            factory = _Entry(target, chdir, full, line_of(text, made.start()), factory=True)
    return factory


def _django_entry(project: Project) -> _Entry | None:
    manages = sorted((p for p in project.named("manage.py")), key=lambda p: p.count("/"))
    if not manages:
        return None
    manage = manages[0]
    base = posixpath.dirname(project.rel(manage))  # folder manage.py runs in
    text = project.tree.read(manage) or ""
    settings = _SETTINGS_MODULE.search(text)
    package = settings.group(1).split(".")[0] if settings else None
    candidates: list[str] = []
    for full in project.named("wsgi.py"):
        rel = project.rel(full)
        if base and not rel.startswith(base + "/"):
            continue
        inner = rel[len(base) + 1 :] if base else rel
        candidates.append(inner)
    for full in project.files:
        if full.endswith(".py") and "/settings" in f"/{project.rel(full)}":
            found = _WSGI_SETTING.search(project.tree.read(full) or "")
            if found:
                wanted = found.group(1).replace(".", "/") + ".py"
                if wanted in candidates:
                    candidates.insert(0, wanted)
    if package:
        candidates.sort(key=lambda c: (not c.startswith(package + "/"), c.count("/")))
    if not candidates:
        return None
    return _Entry(_module(candidates[0]), base, manage, 1)


def _is_django_manage(project: Project) -> str | None:
    for full in project.named("manage.py"):
        text = project.tree.read(full) or ""
        if "django" in text.lower() or "DJANGO_SETTINGS_MODULE" in text:
            return full
    return None


def _start(
    project: Project, detection: Detection, deps: _Deps, sources: list[str], manager: str
) -> str:
    """Sets the start command; returns an extra install step ('' when none is needed)."""
    web = procfile_web(project)
    if web:
        detection.set_command("start", web[0], web[1], web[2], 0.95)
        for port, rank in command_ports(web[0]):
            detection.add_port(port, rank, web[1], web[2])
        return ""
    framework = detection.framework or ""
    port = detection.best_port() or _DEFAULT_PORTS.get(framework, 8000)
    entry = (
        _django_entry(project) if framework == "django" else _app_entry(project, sources, framework)
    )
    if entry is None:
        return ""
    folder = posixpath.join(project.root, entry.chdir).strip("/")
    chdir = f"--chdir {folder} " if folder else ""
    if framework in _ASGI:
        server = "uvicorn"
        target = f"{entry.target} --factory" if entry.factory else entry.target
        where = f"--app-dir {folder} " if folder else ""
        command = f"uvicorn {where}{target} --host 0.0.0.0 --port {port}"
        have = "uvicorn" in deps.names or "standard" in deps.extras.get("fastapi", "")
    else:
        server = "gunicorn"
        target = f"'{entry.target}()'" if entry.factory else entry.target
        command = f"gunicorn {chdir}{target} --bind 0.0.0.0:{port}"
        have = "gunicorn" in deps.names
    prefix = {"uv": "uv run ", "poetry": "poetry run ", "pdm": "pdm run ", "pipenv": ""}.get(
        manager, ""
    )
    detection.set_command("start", prefix + command, entry.file, entry.line, 0.75, "inferred")
    if have:
        return ""
    detection.fact(
        "build_command",
        f"{server} is not a dependency: the build installs it",
        entry.file,
        entry.line,
        0.9,
        "inferred",
    )
    return {
        "uv": f"uv pip install {server}",
        "poetry": f"poetry run pip install {server}",
        "pdm": f"pdm run pip install {server}",
    }.get(manager, f"pip install {server}")


def _stores(project: Project, detection: Detection, deps: _Deps, sources: list[str]) -> None:
    match_dependencies(detection, deps.names, _STORES)
    for name, extras in deps.extras.items():
        if "redis" in extras:  # celery[redis], ...
            detection.add_datastore("redis", *deps.names[name], 0.85)
    for hit in project.grep(
        rx.compile(r"(?m)^\s*import sqlite3|sqlite3\.connect"), sources, ("sqlite3",)
    ):
        detection.add_datastore("sqlite", hit.file, hit.line, 0.8)
        break
    engines = {
        "sqlite3": "sqlite",
        "postgresql": "postgres",
        "postgis": "postgres",
        "mysql": "mysql",
    }
    for full in sources:
        rel = project.rel(full)
        if not (rel.endswith("settings.py") or "/settings/" in f"/{rel}"):
            continue
        text = project.tree.read(full) or ""
        for found in rx.finditer(r"django\.db\.backends\.(sqlite3|postgresql|postgis|mysql)", text):
            store: DataStore = engines[found.group(1)]  # type: ignore[assignment]
            detection.add_datastore(store, full, line_of(text, found.start()), 0.85)
    configs = [p for p in sources if _CONFIG_MODULE.search(project.rel(p))]
    scan_datastore_urls(detection, project, configs)


def detect(project: Project) -> Detection | None:
    sources = project.named(".py")
    manifests = [
        r for r in ("requirements.txt", "pyproject.toml", "Pipfile", "setup.py") if project.has(r)
    ]
    if not manifests and not sources:
        return None
    detection = Detection(ecosystem="python", language="python", runtime="python")
    deps = _dependencies(project)
    detection.dependencies = list(deps.names)[:30]
    manager = _manager(project)
    detection.package_manager = manager
    for name, framework in _FRAMEWORKS.items():
        if name in deps.names:
            file, line = deps.names[name]
            detection.set_framework(framework, file, line, 0.9)
    for framework, pattern in _IMPORTS.items():
        for hit in project.grep(pattern, sources, (framework,)):
            detection.set_framework(framework, hit.file, hit.line, 0.85)
            break
    manage = _is_django_manage(project)
    if manage:
        detection.set_framework("django", manage, None, 0.95)
    _stores(project, detection, deps, sources)
    _runtime(project, detection)
    scan_ports(detection, project, sources, _EXPLICIT, ("port=", "port =", "bind"))
    scan_health(detection, project, sources)
    if detection.framework is None:
        return detection
    detection.server = True
    if detection.framework in _DEFAULT_PORTS:
        detection.add_default_port(_DEFAULT_PORTS[detection.framework])
    extra = _start(project, detection, deps, sources, manager)
    install = _install(project, manager)
    steps = [s for s in (install, extra) if s]
    if steps:
        manifest = project.path(manifests[0]) if manifests else project.path(".")
        detection.set_command("build", project.in_dir(" && ".join(steps)), manifest, None, 0.8)
    return detection
