"""Python: Flask, FastAPI, Django."""

from __future__ import annotations

from function.analysis import rx
from function.analysis.detect.base import (
    Detection,
    Project,
    command_ports,
    find_line,
    line_of,
    match_dependencies,
    scan_health,
    scan_ports,
)
from function.analysis.detect.parse import load_toml
from function.analysis.profile import DataStore

_REQUIREMENT = rx.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", rx.MULTILINE)
_STORES: dict[str, DataStore] = {
    "psycopg2": "postgres", "psycopg2-binary": "postgres", "psycopg": "postgres",
    "asyncpg": "postgres", "pg8000": "postgres", "pymysql": "mysql", "mysqlclient": "mysql",
    "mysql-connector-python": "mysql", "aiomysql": "mysql", "redis": "redis",
    "aioredis": "redis", "pymongo": "mongodb", "motor": "mongodb", "mongoengine": "mongodb",
    "aiosqlite": "sqlite",
}  # fmt: skip
_FRAMEWORKS = {"fastapi": "fastapi", "flask": "flask", "django": "django"}
_DEFAULT_PORTS = {"flask": 5000, "fastapi": 8000, "django": 8000}
_IMPORTS = {
    "fastapi": rx.compile(r"^\s*(?:from fastapi import|import fastapi)", rx.MULTILINE),
    "flask": rx.compile(r"^\s*(?:from flask import|import flask)", rx.MULTILINE),
    "django": rx.compile(r"^\s*(?:from django|import django)", rx.MULTILINE),
}
_EXPLICIT = [
    rx.compile(r"\b(?:run|serve|run_app|run_simple)\([^)\n]*?\bport\s*=\s*(?P<port>\d{2,5})\b"),
    rx.compile(r"\b(?:run|serve|run_app)\([^)\n]*?\bport\s*=\s*(?P<ident>[A-Za-z_]\w*)\s*[,)]"),
    rx.compile(r"""\bbind\s*=\s*["'][\w.\[\]:]*:(?P<port>\d{2,5})["']"""),
]
_ENTRYPOINT = rx.compile(r"^\s*(\w+)\s*=\s*(FastAPI|Flask)\(", rx.MULTILINE)
_DJANGO_SETTINGS = rx.compile(r"""DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)\.settings["']""")


def _dependencies(project: Project) -> dict[str, tuple[str, int | None]]:
    deps: dict[str, tuple[str, int | None]] = {}
    for rel in ("requirements.txt", "requirements/base.txt", "requirements/prod.txt"):
        text = project.text(rel)
        if text is None:
            continue
        for match in _REQUIREMENT.finditer(text):
            name = match.group(1).lower()
            if not name.startswith(("-", "#")):
                deps.setdefault(name, (project.path(rel), line_of(text, match.start())))
    text = project.text("pyproject.toml")
    if text:
        data = load_toml(project.tree, project.path("pyproject.toml"), text)
        names: list[str] = []
        project_table = data.get("project", {})
        for spec in (
            project_table.get("dependencies", []) if isinstance(project_table, dict) else []
        ):
            found = _REQUIREMENT.match(str(spec))
            if found:
                names.append(found.group(1))
        poetry = data.get("tool", {}).get("poetry", {}).get("dependencies", {})
        names += [n for n in poetry if isinstance(poetry, dict) and n.lower() != "python"]
        for name in names:
            deps.setdefault(name.lower(), (project.path("pyproject.toml"), find_line(text, name)))
    for rel in ("Pipfile", "setup.py"):
        text = project.text(rel)
        if not text:
            continue
        for name in rx.findall(r"""^\s*["']?([A-Za-z][\w.-]*)["']?\s*=""", text, rx.MULTILINE):
            if rel == "Pipfile" and name.lower() not in ("python_version", "url", "name"):
                deps.setdefault(name.lower(), (project.path(rel), find_line(text, name)))
        if rel == "setup.py":
            for name in rx.findall(r"""["']([A-Za-z][\w.-]*)\s*(?:[<>=~!][^"']*)?["']""", text):
                if name.lower() in _FRAMEWORKS or name.lower() in _STORES:
                    deps.setdefault(name.lower(), (project.path(rel), find_line(text, name)))
    return deps


def _runtime(project: Project, detection: Detection) -> None:
    for rel in (".python-version", "runtime.txt"):
        text = project.text(rel)
        version = rx.search(r"(\d+\.\d+(?:\.\d+)?)", text or "")
        if version:
            detection.set_runtime(version.group(1), project.path(rel), 1, 0.95)
            return
    text = project.text("pyproject.toml") or ""
    version = rx.search(r"""(?:requires-python|python)\s*=\s*["'][^\d"']*(\d+\.\d+)""", text)
    if version:
        detection.set_runtime(
            version.group(1), project.path("pyproject.toml"), line_of(text, version.start()), 0.7
        )


def detect(project: Project) -> Detection | None:
    sources = project.named(".py")
    manifests = [
        r for r in ("requirements.txt", "pyproject.toml", "Pipfile", "setup.py") if project.has(r)
    ]
    if not manifests and not sources:
        return None
    detection = Detection(ecosystem="python", language="python")
    deps = _dependencies(project)
    detection.dependencies = list(deps)[:15]
    for name, framework in _FRAMEWORKS.items():
        if name in deps:
            file, line = deps[name]
            detection.set_framework(framework, file, line, 0.9)
    for framework, pattern in _IMPORTS.items():
        for hit in project.grep(pattern, sources, (framework,)):
            detection.set_framework(framework, hit.file, hit.line, 0.85)
            break
    if project.has("manage.py"):
        detection.set_framework("django", project.path("manage.py"), None, 0.95)
    match_dependencies(detection, deps, _STORES)
    for hit in project.grep(
        rx.compile(r"^\s*import sqlite3|sqlite3\.connect", rx.MULTILINE), sources, ("sqlite3",)
    ):
        detection.add_datastore("sqlite", hit.file, hit.line, 0.8)
        break
    if detection.framework == "django":
        for rel in project.named("settings.py"):
            text = project.tree.read(rel) or ""
            if "django.db.backends.sqlite3" in text:
                detection.add_datastore("sqlite", rel, find_line(text, "sqlite3"), 0.7)
            if "django.db.backends.postgresql" in text:
                detection.add_datastore("postgres", rel, find_line(text, "postgresql"), 0.9)
            if "django.db.backends.mysql" in text:
                detection.add_datastore("mysql", rel, find_line(text, "backends.mysql"), 0.9)
    _runtime(project, detection)
    scan_ports(detection, project, sources, _EXPLICIT, ("port=", "port =", "bind"))
    _procfile(project, detection)
    scan_health(detection, project, sources)
    chosen = detection.framework
    if chosen is None:
        return detection
    detection.server = True
    if chosen in _DEFAULT_PORTS:
        detection.add_default_port(_DEFAULT_PORTS[chosen])
    if project.has("requirements.txt"):
        detection.set_command(
            "build", "pip install -r requirements.txt", project.path("requirements.txt"), None, 0.8
        )
    elif project.has("pyproject.toml"):
        detection.set_command("build", "pip install .", project.path("pyproject.toml"), None, 0.6)
    _infer_start(project, detection, sources)
    return detection


def _procfile(project: Project, detection: Detection) -> None:
    text = project.text("Procfile")
    if not text:
        return
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("web:"):
            command = line[4:].strip()
            detection.set_command("start", command, project.path("Procfile"), number, 0.9)
            for port, rank in command_ports(command):
                detection.add_port(port, rank, project.path("Procfile"), number)


def _infer_start(project: Project, detection: Detection, sources: list[str]) -> None:
    port = detection.best_port() or 8000
    if detection.framework == "django":
        settings: str | None = None
        for hit in project.grep(_DJANGO_SETTINGS, project.named("manage.py", "wsgi.py")):
            settings = hit.match.group(1)
            break
        if settings:
            command = f"gunicorn {settings}.wsgi --bind 0.0.0.0:{port}"
            detection.set_command("start", command, project.path("manage.py"), None, 0.6)
        return
    for hit in project.grep(_ENTRYPOINT, sources, ("FastAPI(", "Flask(")):
        rel = hit.file[len(project.root) + 1 :] if project.root not in ("", ".") else hit.file
        module = rel[:-3].replace("/", ".")
        variable = hit.match.group(1)
        if detection.framework == "fastapi":
            command = f"uvicorn {module}:{variable} --host 0.0.0.0 --port {port}"
        else:
            command = f"gunicorn {module}:{variable} --bind 0.0.0.0:{port}"
        detection.set_command("start", command, hit.file, hit.line, 0.6)
        return
