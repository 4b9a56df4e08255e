"""Node.js: Express, Next.js, NestJS, and Vite / React single-page apps (static)."""

from __future__ import annotations

from typing import Any

from function.analysis import rx
from function.analysis.detect.base import (
    Detection,
    Project,
    command_ports,
    find_line,
    match_dependencies,
    scan_health,
    scan_ports,
)
from function.analysis.detect.parse import load_json_object
from function.analysis.profile import DataStore

_STORES: dict[str, DataStore] = {
    "pg": "postgres", "postgres": "postgres", "pg-promise": "postgres", "mysql": "mysql",
    "mysql2": "mysql", "redis": "redis", "ioredis": "redis", "mongodb": "mongodb",
    "mongoose": "mongodb", "sqlite3": "sqlite", "better-sqlite3": "sqlite", "sqlite": "sqlite",
}  # fmt: skip
# framework -> (package, default port); first match wins
_SERVERS = [
    ("nextjs", "next", 3000), ("nestjs", "@nestjs/core", 3000), ("nuxt", "nuxt", 3000),
    ("remix", "@remix-run/node", 3000), ("fastify", "fastify", 3000), ("koa", "koa", 3000),
    ("hapi", "@hapi/hapi", 3000), ("express", "express", 3000),
]  # fmt: skip
_SPA = [
    ("vite", "vite"),
    ("create-react-app", "react-scripts"),
    ("angular", "@angular/core"),
    ("vue-cli", "@vue/cli-service"),
    ("gatsby", "gatsby"),
]
_EXPLICIT = [
    rx.compile(r"""\.listen\(\s*["']?(?P<port>\d{2,5})\b"""),
    rx.compile(r"""\.listen\(\s*\{[^}]*?\bport\s*:\s*(?P<port>\d{2,5})"""),
    rx.compile(r"""\.listen\(\s*(?P<ident>[A-Za-z_$][\w$]*)\s*[,)]"""),
    rx.compile(r"""\.listen\(\s*\{[^}]*?\bport\s*:?\s*(?P<ident>[A-Za-z_$][\w$]*)\s*[,}]"""),
    rx.compile(r"""\bport\s*:\s*(?P<port>\d{2,5})\b"""),
]


def _package_manager(project: Project) -> str:
    if project.has("pnpm-lock.yaml"):
        return "pnpm"
    if project.has("yarn.lock"):
        return "yarn"
    return "npm"


_PRISMA_STORES: dict[str, DataStore] = {
    "postgresql": "postgres",
    "mysql": "mysql",
    "sqlite": "sqlite",
    "mongodb": "mongodb",
}
_INSTALL = {
    "npm": "npm ci",
    "yarn": "yarn install --frozen-lockfile",
    "pnpm": "pnpm install --frozen-lockfile",
}


def _prisma(project: Project, detection: Detection) -> None:
    schema = project.first("prisma/schema.prisma", "schema.prisma")
    schema_text = project.text(schema) if schema else None
    if not schema or not schema_text:
        return
    provider = rx.search(r'provider\s*=\s*"(postgresql|mysql|sqlite|mongodb)"', schema_text)
    if provider:
        detection.add_datastore(
            _PRISMA_STORES[provider.group(1)],
            project.path(schema),
            find_line(schema_text, "provider"),
            0.9,
        )


def _runtime(project: Project, detection: Detection, package: dict[str, Any], text: str) -> None:
    version_file = project.first(".nvmrc", ".node-version")
    if version_file:
        found = rx.search(r"\d+(?:\.\d+)*", project.text(version_file) or "")
        if found:
            detection.set_runtime(found.group(0), project.path(version_file), 1, 0.95)
    engines = package.get("engines") or {}
    node_version = engines.get("node") if isinstance(engines, dict) else None
    if isinstance(node_version, str):
        found = rx.search(r"\d+(?:\.\d+)*", node_version)
        if found:
            detection.set_runtime(
                found.group(0), project.path("package.json"), find_line(text, '"engines"'), 0.8
            )


def _framework(
    detection: Detection,
    manifest: str,
    text: str,
    runtime_deps: dict[str, Any],
    deps: dict[str, Any],
) -> None:
    for framework, name, default in _SERVERS:
        if name in runtime_deps or (framework == "nextjs" and name in deps):
            detection.set_framework(framework, manifest, find_line(text, f'"{name}"'), 0.9)
            detection.server = True
            detection.add_default_port(default)
            return
    for framework, name in _SPA:
        if name in deps:
            detection.set_framework(framework, manifest, find_line(text, f'"{name}"'), 0.85)
            detection.static_site = True
            return


def _scripts(project: Project, detection: Detection, package: dict[str, Any], text: str) -> None:
    manifest = project.path("package.json")
    scripts = package.get("scripts") or {}
    scripts = scripts if isinstance(scripts, dict) else {}
    pm = _package_manager(project)
    for key in ("start", "serve", "preview"):
        script = scripts.get(key)
        if not isinstance(script, str) or detection.static_site:
            continue
        line = find_line(text, f'"{key}"')
        for port, rank in command_ports(script):
            detection.add_port(port, rank, manifest, line)
        if key == "start":
            command = "npm start" if pm == "npm" else f"{pm} start"
            detection.set_command("start", command, manifest, line, 0.85)
    if "build" in scripts:
        run = "npm run" if pm == "npm" else pm
        command = f"{_INSTALL[pm]} && {run} build"
        detection.set_command("build", command, manifest, find_line(text, '"build"'), 0.85)
    elif detection.server:
        detection.set_command("build", _INSTALL[pm], manifest, None, 0.6)
    main = package.get("main")
    if detection.server and detection.start_command is None and isinstance(main, str):
        detection.set_command("start", f"node {main}", manifest, find_line(text, '"main"'), 0.6)


def detect(project: Project) -> Detection | None:
    text = project.text("package.json")
    if text is None:
        return None
    package = load_json_object(project.tree, project.path("package.json"), text)
    manifest = project.path("package.json")
    detection = Detection(ecosystem="node", language="javascript")
    if project.has("tsconfig.json") or project.named(".ts", ".tsx"):
        detection.language = "typescript"
    runtime_deps = package.get("dependencies") or {}
    runtime_deps = runtime_deps if isinstance(runtime_deps, dict) else {}
    dev_deps = package.get("devDependencies") or {}
    deps = {**(dev_deps if isinstance(dev_deps, dict) else {}), **runtime_deps}
    detection.dependencies = list(runtime_deps)[:15]
    located = {name: (manifest, find_line(text, f'"{name}"')) for name in deps}
    match_dependencies(detection, located, _STORES)
    if "@prisma/client" in deps:
        _prisma(project, detection)
    _runtime(project, detection, package, text)
    _framework(detection, manifest, text, runtime_deps, deps)
    sources = [
        p
        for p in project.named(".js", ".mjs", ".cjs", ".ts", ".mts")
        if "/public/" not in p and not p.endswith(".d.ts")
    ]
    scripts = package.get("scripts") if isinstance(package.get("scripts"), dict) else {}
    start_script = str((scripts or {}).get("start", ""))
    if detection.framework is None and rx.search(r"\bnode\b|\bts-node\b|\bnodemon\b", start_script):
        detection.server = True
    if not detection.static_site:
        scan_ports(detection, project, sources, _EXPLICIT if detection.server else _EXPLICIT[:4])
        if detection.ports and detection.framework is None:
            detection.server = True
    _scripts(project, detection, package, text)
    if detection.server:
        scan_health(detection, project, sources)
    return detection
