"""Go: net/http, gin, echo, fiber."""

from __future__ import annotations

from function.analysis import rx
from function.analysis.detect.base import (
    Detection,
    Project,
    find_line,
    line_of,
    match_dependencies,
    scan_health,
    scan_ports,
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
_NET_HTTP = rx.compile(r"\bhttp\.(?:ListenAndServe|Server\{)|\bhttp\.HandleFunc\(")


def detect(project: Project) -> Detection | None:
    text = project.text("go.mod")
    sources = project.named(".go")
    if text is None and not sources:
        return None
    detection = Detection(ecosystem="go", language="go")
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
    if detection.server:
        scan_health(detection, project, sources)
        name = "app"
        declared = rx.search(r"^module\s+(\S+)", text or "", rx.MULTILINE)
        if declared:
            name = declared.group(1).rstrip("/").split("/")[-1]
        target = "./cmd/" + name if any(p.endswith(f"cmd/{name}/main.go") for p in sources) else "."
        detection.set_command(
            "build",
            f"CGO_ENABLED=0 go build -o bin/{name} {target}",
            manifest,
            find_line(text or "", "module"),
            0.7,
        )
        detection.set_command("start", f"./bin/{name}", manifest, None, 0.6)
    return detection
