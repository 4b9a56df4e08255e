"""Go: net/http, gin, echo, fiber, chi. Builds the main package where it is: the root, or
cmd/<name> (the one that serves HTTP)."""

from __future__ import annotations

import posixpath

from function.analysis import rx
from function.analysis.detect.base import (
    Detection,
    Project,
    line_of,
    match_dependencies,
    scan_health,
    scan_ports,
    tool_version,
)
from function.analysis.profile import DataStore

_STORES: dict[str, DataStore] = {
    "github.com/lib/pq": "postgres", "github.com/jackc/pgx": "postgres",
    "github.com/jackc/pgx/v4": "postgres", "github.com/jackc/pgx/v5": "postgres",
    "gorm.io/driver/postgres": "postgres", "github.com/go-sql-driver/mysql": "mysql",
    "gorm.io/driver/mysql": "mysql", "github.com/go-redis/redis": "redis",
    "github.com/go-redis/redis/v8": "redis", "github.com/redis/go-redis/v9": "redis",
    "github.com/gomodule/redigo": "redis", "go.mongodb.org/mongo-driver": "mongodb",
    "go.mongodb.org/mongo-driver/v2": "mongodb", "github.com/mattn/go-sqlite3": "sqlite",
    "gorm.io/driver/sqlite": "sqlite", "modernc.org/sqlite": "sqlite",
    "github.com/glebarez/sqlite": "sqlite", "github.com/uptrace/bun/driver/pgdriver": "postgres",
    "github.com/go-pg/pg": "postgres", "github.com/redis/rueidis": "redis",
    "github.com/valkey-io/valkey-go": "redis",
}  # fmt: skip
# framework -> (module prefix, default port or None)
_FRAMEWORKS = [
    ("gin", "github.com/gin-gonic/gin", 8080), ("echo", "github.com/labstack/echo", None),
    ("fiber", "github.com/gofiber/fiber", 3000), ("chi", "github.com/go-chi/chi", None),
    ("gorilla-mux", "github.com/gorilla/mux", None),
]  # fmt: skip
_REQUIRE = rx.compile(
    r"^\s*(?:require\s+)?([a-z0-9.-]+\.[a-z]{2,}/[^\s]+)\s+v[\w.+-]+", rx.MULTILINE
)
_EXPLICIT = [
    rx.compile(
        r"""(?:ListenAndServe(?:TLS)?|\.Run|\.Start|\.Listen|net\.Listen)\(\s*(?:"tcp\d?",\s*)?"[\w.\[\]-]*:(?P<port>\d{2,5})\""""
    ),
    rx.compile(r"""\bAddr\s*:\s*"[\w.\[\]-]*:(?P<port>\d{2,5})\""""),
    rx.compile(
        r"""(?:ListenAndServe(?:TLS)?|\.Run|\.Start|\.Listen)\(\s*(?P<ident>[a-zA-Z_]\w*)\s*[,)]"""
    ),
]
_PACKAGE_MAIN = rx.compile(r"(?m)^package\s+main\b")
_FUNC_MAIN = rx.compile(r"(?m)^func\s+main\(\)")
_IMPORT_PATH = rx.compile(
    r"""(?m)^\s*(?:import\s+)?(?:[\w.]+\s+)?"([a-z0-9.-]+\.[a-z]{2,}/[^"\s]+)"$"""
)
_NET_HTTP = rx.compile(r"\bhttp\.(?:ListenAndServe|Server\{)|\bhttp\.HandleFunc\(")


def detect(project: Project) -> Detection | None:
    text = project.text("go.mod")
    sources = project.named(".go")
    if text is None and not sources:
        return None
    detection = Detection(ecosystem="go", language="go", runtime="go", package_manager="go")
    manifest = project.path("go.mod")
    modules: dict[str, tuple[str, int | None]] = {}
    if text:
        version = rx.search(r"^go\s+(\d+\.\d+(?:\.\d+)?)", text, rx.MULTILINE)
        if version:
            detection.set_runtime(version.group(1), manifest, line_of(text, version.start()), 0.9)
        for match in _REQUIRE.finditer(text):
            if "// indirect" in text[match.end() : text.find("\n", match.end())]:
                continue
            modules.setdefault(match.group(1), (manifest, line_of(text, match.start())))
    if detection.runtime_version is None:
        tool_version(project, detection, ("golang", "go"))
    detection.dependencies = list(modules)[:15]
    match_dependencies(detection, modules, _STORES)
    for framework, prefix, default in _FRAMEWORKS:
        module = next((m for m in modules if m.startswith(prefix)), None)
        if module:
            file, line = modules[module]
            detection.set_framework(framework, file, line, 0.9)
            detection.server = True
            if default:
                detection.add_default_port(default)
            break
    if detection.framework is None:
        for hit in project.grep(_NET_HTTP, sources, ("http.",)):
            detection.set_framework("net/http", hit.file, hit.line, 0.8)
            detection.server = True
            break
    scan_ports(detection, project, sources, _EXPLICIT)
    _imported_stores(project, detection, sources)
    if detection.server:
        scan_health(detection, project, sources)
        declared = rx.search(r"^module\s+(\S+)", text or "", rx.MULTILINE)
        module_name = declared.group(1).rstrip("/").split("/")[-1] if declared else "app"
        package, main_file = _main_package(project, sources, module_name)
        name = module_name if package == "." else posixpath.basename(package)
        build = f"CGO_ENABLED=0 go build -o bin/{name} {package}"
        detection.set_command(
            "build", project.in_dir(build), main_file or manifest, None, 0.8, "inferred"
        )
        detection.set_command(
            "start", project.in_dir(f"./bin/{name}"), main_file or manifest, None, 0.75, "inferred"
        )
    return detection


def _main_package(project: Project, sources: list[str], module_name: str) -> tuple[str, str | None]:
    """The Go package to build ('.' or './cmd/<name>') and its main file: the root's
    `package main`, else the cmd/<name> (or other folder) whose main package serves HTTP."""
    mains: dict[str, str] = {}
    for full in sources:
        text = project.tree.read(full) or ""
        if _PACKAGE_MAIN.search(text) and _FUNC_MAIN.search(text):
            folder = posixpath.dirname(project.rel(full))
            mains.setdefault(folder, full)
    if "" in mains:
        return ".", mains[""]
    if not mains:
        return ".", None

    def rank(folder: str) -> tuple[bool, bool, bool, int, str]:
        text = project.tree.read(mains[folder]) or ""
        serves = any(
            n in text for n in ("ListenAndServe", ".Run(", ".Start(", ".Listen(", "http.Server")
        )
        name = posixpath.basename(folder)
        return (
            not serves,
            name not in (module_name, "server", "api", "web", "app"),
            not folder.startswith("cmd/"),
            folder.count("/"),
            folder,
        )

    best = min(mains, key=rank)
    return f"./{best}", mains[best]


def _imported_stores(project: Project, detection: Detection, sources: list[str]) -> None:
    """Data stores from the drivers the code imports (go.mod may list them only indirectly)."""
    for hit in project.grep(_IMPORT_PATH, sources, ('"',)):
        path = hit.match.group(1)
        for prefix, store in _STORES.items():
            if path == prefix or path.startswith(prefix + "/"):
                detection.add_datastore(store, hit.file, hit.line, 0.85)
                break
