"""Node.js and Bun: Express, Next.js, NestJS, Hono, ... and Vite / React single-page apps.

Package manager: `packageManager` in package.json, else the lockfile in the project or the
workspace root above it (pnpm-lock.yaml, yarn.lock, bun.lock(b), package-lock.json).
Start command, in order: Procfile `web:`; Next.js `output: 'standalone'`
(`node .next/standalone/server.js`; `output: 'export'` is a static site with no server); a
production script (`start:prod`, ...); `start` unless it runs a dev server (nodemon, ts-node,
`next dev`, `nx serve`, ... then the production form of the same entry file); `main` when
the file exists (or is build output); a conventional entry file that listens.
"""

from __future__ import annotations

import posixpath
from typing import Any

from function.analysis import rx
from function.analysis.detect.base import (
    Detection,
    PortRank,
    Project,
    command_ports,
    find_line,
    match_dependencies,
    procfile_web,
    scan_health,
    scan_ports,
    tool_version,
)
from function.analysis.detect.parse import load_json_object
from function.analysis.profile import DataStore

_STORES: dict[str, DataStore] = {
    "pg": "postgres", "postgres": "postgres", "pg-promise": "postgres", "mysql": "mysql",
    "@neondatabase/serverless": "postgres", "@vercel/postgres": "postgres",
    "@supabase/supabase-js": "postgres", "slonik": "postgres", "@planetscale/database": "mysql",
    "mysql2": "mysql", "mariadb": "mysql", "redis": "redis", "ioredis": "redis",
    "@upstash/redis": "redis", "@redis/client": "redis", "bullmq": "redis", "bull": "redis",
    "mongodb": "mongodb", "mongoose": "mongodb", "sqlite3": "sqlite", "better-sqlite3": "sqlite",
    "sqlite": "sqlite", "@libsql/client": "sqlite",
}  # fmt: skip
# ORMs whose data store is named in their config: package -> config files
_ORM_CONFIGS = {
    "drizzle-orm": ("drizzle.config.ts", "drizzle.config.js", "drizzle.config.mjs"),
    "typeorm": ("ormconfig.json", "ormconfig.js", "ormconfig.ts", "src/data-source.ts"),
    "knex": ("knexfile.js", "knexfile.ts"),
    "sequelize": ("config/config.json", ".sequelizerc"),
}
_DIALECTS: dict[str, DataStore] = {
    "postgresql": "postgres", "postgres": "postgres", "pg": "postgres", "mysql": "mysql",
    "mysql2": "mysql", "mariadb": "mysql", "sqlite": "sqlite", "sqlite3": "sqlite",
    "better-sqlite3": "sqlite", "turso": "sqlite", "mongodb": "mongodb",
}  # fmt: skip
# framework -> (package, default port); first match wins
_SERVERS = [
    ("nextjs", "next", 3000), ("nestjs", "@nestjs/core", 3000), ("nuxt", "nuxt", 3000),
    ("remix", "@remix-run/node", 3000), ("sveltekit", "@sveltejs/adapter-node", 3000),
    ("hono", "hono", 3000), ("elysia", "elysia", 3000), ("fastify", "fastify", 3000),
    ("koa", "koa", 3000), ("hapi", "@hapi/hapi", 3000), ("express", "express", 3000),
]  # fmt: skip
_SPA = [
    ("vite", "vite"),
    ("create-react-app", "react-scripts"),
    ("angular", "@angular/core"),
    ("vue-cli", "@vue/cli-service"),
    ("gatsby", "gatsby"),
    ("astro", "astro"),
]
_EXPLICIT = [
    rx.compile(r"""\.listen\(\s*["']?(?P<port>\d{2,5})\b"""),
    rx.compile(r"""\.listen\(\s*\{[^}]{0,200}?\bport\s*:\s*(?P<port>\d{2,5})"""),
    rx.compile(r"""\.listen\(\s*(?P<ident>[A-Za-z_$][\w$]*)\s*[,)]"""),
    rx.compile(r"""\.listen\(\s*\{[^}]{0,200}?\bport\s*:?\s*(?P<ident>[A-Za-z_$][\w$]*)\s*[,}]"""),
    rx.compile(r"""\bport\s*:\s*(?P<port>\d{2,5})\b"""),
]
# a start script that runs a development server, not the production app
_DEV_SERVER = rx.compile(
    r"(?:^|[\s;&|(])(?:nodemon|ts-node|ts-node-dev|tsx\s+watch|node\s+--watch|nx\s+serve|"
    r"next\s+dev|vite(?:\s|$)|nest\s+start\s+--watch|webpack\s+serve|webpack-dev-server|"
    r"react-scripts\s+start|ng\s+serve|nuxt\s+dev|remix\s+dev|bun\s+--watch|--watch)"
)
_ENTRY_ARG = rx.compile(
    r"(?:nodemon|node\s+--watch|bun\s+--watch|bun\s+run|node)\s+([\w./-]+\.[cm]?js)\b"
)
_PROD_SCRIPTS = ("start:prod", "start:production", "serve:prod", "start:server")
_ENTRY_FILES = (
    "server.js", "index.js", "app.js", "main.js", "server.mjs", "index.mjs",
    "src/server.js", "src/index.js", "src/app.js", "src/main.js",
)  # fmt: skip
_LISTENS = rx.compile(
    r"\.listen\(|createServer\(|Bun\.serve\(|export\s+default\s*\{[^}]{0,200}fetch"
)
_NEXT_OUTPUT = rx.compile(r"""\boutput\s*:\s*["'](?P<mode>export|standalone)["']""")
_LOCKFILES = (
    ("pnpm-lock.yaml", "pnpm"), ("bun.lock", "bun"), ("bun.lockb", "bun"),
    ("yarn.lock", "yarn"), ("package-lock.json", "npm"), ("npm-shrinkwrap.json", "npm"),
)  # fmt: skip


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class _Workspace:
    """Where the package manager runs: the project folder or a workspace root above it."""

    def __init__(self, project: Project, package: dict[str, Any]) -> None:
        self.root = project.root or "."
        self.manager = "npm"
        self.lockfile: str | None = None
        self.berry = False
        declared = package.get("packageManager")
        folder = project.root
        while True:
            prefix = f"{folder}/" if folder else ""
            lock = next(
                ((prefix + n, m) for n, m in _LOCKFILES if project.exists(prefix + n)), None
            )
            manifest = load_json_object(
                project.tree, prefix + "package.json", project.tree.read(prefix + "package.json")
            )
            marker = project.exists(prefix + "pnpm-workspace.yaml") or (
                folder != project.root and "workspaces" in manifest
            )
            if lock is not None or marker:
                self.root = folder or "."
                if lock is not None:
                    self.lockfile, self.manager = lock
                elif project.exists(prefix + "pnpm-workspace.yaml"):
                    self.manager = "pnpm"
                self.berry = project.exists(prefix + ".yarnrc.yml")
                declared = declared or manifest.get("packageManager")
                break
            if not folder:
                break
            folder = posixpath.dirname(folder)
        if isinstance(declared, str) and "@" in declared:
            name, _, version = declared.partition("@")
            if name in ("npm", "pnpm", "yarn", "bun"):
                self.manager = name
                if name == "yarn" and version[:1].isdigit() and int(version.split(".")[0]) >= 2:
                    self.berry = True
        self.member = self.root != (project.root or ".")

    def install(self) -> str:
        frozen = self.lockfile is not None
        if self.manager == "pnpm":
            return "pnpm install --frozen-lockfile" if frozen else "pnpm install"
        if self.manager == "yarn":
            if self.berry:
                return "yarn install --immutable" if frozen else "yarn install"
            return "yarn install --frozen-lockfile" if frozen else "yarn install"
        if self.manager == "bun":
            return "bun install --frozen-lockfile" if frozen else "bun install"
        return "npm ci" if frozen else "npm install"

    def run(self, script: str, name: str | None) -> str:
        """The command that runs `script` of the app (from the workspace root if a member)."""
        manager = self.manager
        if self.member and name:
            if manager == "pnpm":
                return f"pnpm --filter {name} {script}"
            if manager == "yarn":
                return f"yarn workspace {name} {script}"
            if manager == "bun":
                return f"bun run --filter {name} {script}"
            return f"npm run {script} --workspace {name}"
        if manager == "npm":
            return "npm start" if script == "start" else f"npm run {script}"
        if manager == "bun":
            return f"bun run {script}"
        if manager == "yarn":
            return f"yarn {script}"
        return "pnpm start" if script == "start" else f"pnpm run {script}"

    def at_root(self, command: str) -> str:
        return command if self.root == "." else f"cd {self.root} && {command}"


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


def _runtime_version(
    project: Project, detection: Detection, package: dict[str, Any], text: str
) -> None:
    for rel in (".nvmrc", ".node-version"):
        full = project.upward(rel)
        if full:
            found = rx.search(r"\d+(?:\.\d+)*", project.tree.read(full) or "")
            if found:
                detection.set_runtime(found.group(0), full, 1, 0.95)
                return
    tools = ("bun",) if detection.runtime == "bun" else ("nodejs", "node")
    if tool_version(project, detection, tools):
        return
    engines = _dict(package.get("engines"))
    wanted = engines.get("bun" if detection.runtime == "bun" else "node")
    if isinstance(wanted, str):
        found = rx.search(r"\d+(?:\.\d+)*", wanted)
        if found:
            detection.set_runtime(
                found.group(0), project.path("package.json"), find_line(text, '"engines"'), 0.8
            )


def _next_output(project: Project) -> tuple[str, str, int] | None:
    for rel in ("next.config.js", "next.config.mjs", "next.config.ts", "next.config.cjs"):
        text = project.text(rel)
        if text:
            found = _NEXT_OUTPUT.search(text)
            if found:
                return found.group("mode"), project.path(rel), find_line(text, "output") or 1
    return None


def _stores(
    project: Project,
    detection: Detection,
    package: dict[str, Any],
    deps: dict[str, Any],
    manifest: str,
    text: str,
) -> None:
    located = {name: (manifest, find_line(text, f'"{name}"')) for name in deps}
    match_dependencies(detection, located, _STORES)
    if "@prisma/client" in deps or "prisma" in deps:
        configured = _dict(package.get("prisma")).get("schema")
        candidates = [configured] if isinstance(configured, str) else []
        candidates += ["prisma/schema.prisma", "schema.prisma"]
        for rel in candidates:
            schema = project.text(posixpath.normpath(rel))
            if schema:
                found = rx.search(
                    r'provider\s*=\s*"(postgresql|postgres|mysql|sqlite|mongodb|cockroachdb)"',
                    schema,
                )
                if found:
                    store = _DIALECTS.get(found.group(1), "postgres")
                    line = find_line(schema, found.group(0))
                    detection.add_datastore(store, project.path(posixpath.normpath(rel)), line)
                break
    for orm, configs in _ORM_CONFIGS.items():
        if orm not in deps:
            continue
        for rel in configs:
            config = project.text(rel)
            if not config:
                continue
            found = rx.search(
                r"""(?:dialect|client|type|driver)["']?\s*:\s*["'](?P<d>[\w-]+)["']""", config
            )
            if found and found.group("d") in _DIALECTS:
                detection.add_datastore(
                    _DIALECTS[found.group("d")],
                    project.path(rel),
                    find_line(config, found.group(0)),
                    0.85,
                )
                break


def _dev_entry(script: str, project: Project) -> str | None:
    """`node <file>` for a dev-server script that names an existing JS entry file."""
    found = _ENTRY_ARG.search(script)
    if found and project.has(found.group(1).removeprefix("./")):
        return f"node {found.group(1)}"
    return None


def _start(
    project: Project,
    detection: Detection,
    package: dict[str, Any],
    text: str,
    ws: _Workspace,
    name: str | None,
) -> None:
    manifest = project.path("package.json")
    scripts = {k: v for k, v in _dict(package.get("scripts")).items() if isinstance(v, str)}
    web = procfile_web(project)
    if web:
        detection.set_command("start", web[0], web[1], web[2], 0.95)
    if detection.framework == "nextjs":
        output = _next_output(project)
        if output and output[0] == "export":
            detection.static_site = True
            detection.server = False
            detection.ports = []
            detection.fact("static_site", "output: export", output[1], output[2], 0.95)
            return
        if output and output[0] == "standalone":
            command = project.in_dir("node .next/standalone/server.js")
            detection.set_command("start", command, output[1], output[2], 0.9)
    if detection.static_site and not detection.server:
        return  # a single-page app is served as files: its start script is a dev server
    where = ws.at_root if ws.member else project.in_dir
    for key in _PROD_SCRIPTS:
        if key in scripts:
            command = where(ws.run(key, name))
            detection.set_command("start", command, manifest, find_line(text, f'"{key}"'), 0.9)
    start = scripts.get("start")
    if start is not None:
        line = find_line(text, '"start"')
        if _DEV_SERVER.search(start) is None:
            command = where(ws.run("start", name))
            detection.set_command("start", command, manifest, line, 0.85)
        else:
            entry = _dev_entry(start, project)
            if entry:
                detection.set_command(
                    "start", project.in_dir(entry), manifest, line, 0.75, "inferred"
                )
            detection.fact("start_script_is_dev_server", start, manifest, line, 0.9)
    main = package.get("main")
    if isinstance(main, str) and detection.server:
        rel = posixpath.normpath(main)
        built = "build" in scripts and rel.split("/")[0] in ("dist", "build", "out", "lib")
        if project.has(rel) or built:
            detection.set_command(
                "start",
                project.in_dir(f"node {rel}"),
                manifest,
                find_line(text, '"main"'),
                0.7,
                "inferred",
            )
    if detection.server or detection.framework is None:
        for rel in _ENTRY_FILES:
            source = project.text(rel)
            if source and _LISTENS.search(source):
                runner = "bun" if detection.runtime == "bun" else "node"
                detection.set_command(
                    "start",
                    project.in_dir(f"{runner} {rel}"),
                    project.path(rel),
                    None,
                    0.65,
                    "inferred",
                )
                detection.server = True
                break


def _build(
    project: Project,
    detection: Detection,
    package: dict[str, Any],
    text: str,
    ws: _Workspace,
    name: str | None,
) -> None:
    manifest = project.path("package.json")
    scripts = _dict(package.get("scripts"))
    install = ws.install()
    if isinstance(scripts.get("build"), str):
        command = f"{install} && {ws.run('build', name)}"
        command = ws.at_root(command) if ws.member else project.in_dir(command)
        detection.set_command("build", command, manifest, find_line(text, '"build"'), 0.85)
    elif detection.server or detection.static_site:
        command = ws.at_root(install) if ws.member else project.in_dir(install)
        detection.set_command("build", command, manifest, None, 0.7)


def detect(project: Project) -> Detection | None:
    text = project.text("package.json")
    if text is None:
        return None
    manifest = project.path("package.json")
    package = load_json_object(project.tree, manifest, text)
    detection = Detection(ecosystem="node", language="javascript")
    typed = [
        p
        for p in project.named(".ts", ".tsx", ".mts")
        if not rx.search(r"\.(?:config|d)\.[cm]?ts$", p)
    ]
    if project.has("tsconfig.json") or typed:
        detection.language = "typescript"
    runtime_deps = _dict(package.get("dependencies"))
    dev_deps = _dict(package.get("devDependencies"))
    deps = {**dev_deps, **runtime_deps}
    detection.dependencies = list(runtime_deps)[:30]
    ws = _Workspace(project, package)
    scripts = _dict(package.get("scripts"))
    uses_bun = any(
        isinstance(s, str) and rx.search(r"(?:^|\s)bun\s", s + " ") for s in scripts.values()
    )
    detection.runtime = "bun" if ws.manager == "bun" or uses_bun or "@types/bun" in deps else "node"
    detection.package_manager = ws.manager
    name = package.get("name") if isinstance(package.get("name"), str) else None
    _stores(project, detection, package, deps, manifest, text)
    _runtime_version(project, detection, package, text)
    _framework(detection, manifest, text, runtime_deps, deps)
    sources = [
        p
        for p in project.named(".js", ".mjs", ".cjs", ".ts", ".mts")
        if "/public/" not in p
        and not p.endswith((".d.ts", ".min.js"))
        and "/dist/" not in f"/{project.rel(p)}"
    ]
    start_script = str(scripts.get("start", ""))
    if detection.framework is None and rx.search(r"\b(?:node|ts-node|nodemon|bun)\b", start_script):
        detection.server = True
    if not detection.static_site:
        scan_ports(detection, project, sources, _EXPLICIT if detection.server else _EXPLICIT[:4])
        if detection.ports and detection.framework is None:
            detection.server = True
    for key in ("start", "serve", "preview", "start:prod"):
        script = scripts.get(key)
        if isinstance(script, str) and not detection.static_site:
            for port, rank in command_ports(script):
                detection.add_port(port, rank, manifest, find_line(text, f'"{key}"'))
    _start(project, detection, package, text, ws, name)
    _build(project, detection, package, text, ws, name)
    if detection.server:
        scan_health(detection, project, sources)
    return detection


# --- Deno ----------------------------------------------------------------------------------

_DENO_FRAMEWORKS = (("fresh", "$fresh"), ("hono", "hono"), ("oak", "oak"))
_DENO_ENTRIES = ("main.ts", "server.ts", "mod.ts", "main.js", "src/main.ts", "app.ts")
_DENO_EXPLICIT = [
    rx.compile(r"""Deno\.serve\(\s*\{[^}]{0,200}?\bport\s*:\s*(?P<port>\d{2,5})"""),
    rx.compile(r"""\.listen\(\s*\{[^}]{0,200}?\bport\s*:\s*(?P<port>\d{2,5})"""),
]


def _strip_jsonc(text: str) -> str:
    """JSON with comments (deno.jsonc) as JSON: // and /* */ outside strings dropped."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == '"':
            end = i + 1
            while end < n and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            out.append(text[i : end + 1])
            i = end + 1
        elif text.startswith("//", i):
            newline = text.find("\n", i)
            i = n if newline < 0 else newline
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            i = n if close < 0 else close + 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def detect_deno(project: Project) -> Detection | None:
    rel = project.first("deno.json", "deno.jsonc")
    if rel is None:
        return None
    manifest = project.path(rel)
    text = project.text(rel) or ""
    config = load_json_object(project.tree, manifest, _strip_jsonc(text))
    detection = Detection(
        ecosystem="deno", language="typescript", runtime="deno", package_manager="deno"
    )
    detection.fact("runtime", "deno", manifest, 1, 0.95)
    imports = {k: v for k, v in _dict(config.get("imports")).items() if isinstance(v, str)}
    detection.dependencies = list(imports)[:30]
    sources = project.named(".ts", ".tsx", ".js")
    joined = " ".join(imports.values()) + " " + " ".join(imports)
    for framework, needle in _DENO_FRAMEWORKS:
        if needle in joined:
            detection.set_framework(framework, manifest, find_line(text, needle), 0.9)
            detection.server = True
            break
    for hit in project.grep(
        rx.compile(r"Deno\.serve\(|\.listen\("), sources, ("Deno.serve", "listen")
    ):
        detection.server = True
        detection.fact("server", "Deno.serve", hit.file, hit.line, 0.85)
        break
    tool_version(project, detection, ("deno",))
    scan_ports(detection, project, sources, _DENO_EXPLICIT, ("port", "PORT"))
    if detection.server:
        detection.add_port(8000, PortRank.FRAMEWORK_DEFAULT, manifest, None)  # Deno.serve's default
        scan_health(detection, project, sources)
    tasks = {k: v for k, v in _dict(config.get("tasks")).items() if isinstance(v, str)}
    for key in ("start", "serve", "prod"):
        if key in tasks:
            detection.set_command(
                "start",
                project.in_dir(f"deno task {key}"),
                manifest,
                find_line(text, f'"{key}"'),
                0.9,
            )
            break
    entry = next((e for e in _DENO_ENTRIES if project.has(e)), None)
    if entry and detection.server:
        detection.set_command(
            "start",
            project.in_dir(f"deno run --allow-net --allow-env --allow-read {entry}"),
            project.path(entry),
            None,
            0.65,
            "inferred",
        )
        detection.set_command(
            "build",
            project.in_dir(f"deno cache {entry}"),
            project.path(entry),
            None,
            0.7,
            "inferred",
        )
    if "build" in tasks:
        detection.set_command(
            "build", project.in_dir("deno task build"), manifest, find_line(text, '"build"'), 0.85
        )
    return detection
