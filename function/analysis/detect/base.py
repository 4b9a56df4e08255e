"""What every detector shares: a view of one project folder, and the facts it collects."""

from __future__ import annotations

import posixpath
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from itertools import accumulate, islice

from function.analysis import rx
from function.analysis.profile import DataStore, Evidence, Source
from function.analysis.tree import SourceTree


class PortRank(IntEnum):
    """How far a port's evidence is trusted; lower wins (the order a human would use)."""

    DOCKERFILE_EXPOSE = 0
    EXPLICIT = 1
    ENV_DEFAULT = 2
    CONFIG = 3
    FRAMEWORK_DEFAULT = 4


PORT_CONFIDENCE: dict[PortRank, float] = {
    PortRank.DOCKERFILE_EXPOSE: 0.95,
    PortRank.EXPLICIT: 0.9,
    PortRank.ENV_DEFAULT: 0.8,
    PortRank.CONFIG: 0.7,
    PortRank.FRAMEWORK_DEFAULT: 0.4,
}

_TEST_PATH = rx.compile(
    r"(^|/)(tests?|__tests__|spec|specs|testdata|fixtures|e2e)/|(_test\.go|\.test\.[jt]sx?|"
    r"\.spec\.[jt]sx?|(^|/)test_[^/]*\.py|_test\.py|Tests?\.cs|Test\.java|_spec\.rb)$"
)


def is_test_path(path: str) -> bool:
    return bool(_TEST_PATH.search(path))


MAX_HITS_PER_FILE = 20  # matches of one pattern in one file that a detector looks at

_LINE_STARTS: OrderedDict[int, tuple[str, list[int]]] = OrderedDict()


def line_of(text: str, offset: int) -> int:
    """1-based line of `offset`: a bisect in the text's line starts (computed once per text,
    so many hits in one large file stay linear)."""
    key = id(text)
    cached = _LINE_STARTS.get(key)
    if cached is None or cached[0] is not text:
        starts = [0, *accumulate(len(line) + 1 for line in text.split("\n"))]
        cached = (text, starts)
        _LINE_STARTS[key] = cached
        while len(_LINE_STARTS) > 16:
            _LINE_STARTS.popitem(last=False)
    return bisect_right(cached[1], offset)


def hits(pattern: rx.Pattern, text: str, limit: int = MAX_HITS_PER_FILE) -> Iterator[rx.Match]:
    """The first `limit` matches of `pattern` in `text`."""
    return islice(pattern.finditer(text), limit)


@dataclass(frozen=True)
class PortClaim:
    port: int
    rank: PortRank
    evidence: Evidence


@dataclass
class Detection:
    """What one ecosystem detector found in one project folder."""

    ecosystem: str
    language: str
    framework: str | None = None
    framework_confidence: float = 0.0
    server: bool = False
    static_site: bool = False
    runtime_version: str | None = None
    runtime: str | None = None
    package_manager: str | None = None
    dependencies: list[str] = field(default_factory=list)
    ports: list[PortClaim] = field(default_factory=list)
    build_command: str | None = None
    start_command: str | None = None
    health_check_path: str | None = None
    datastores: dict[DataStore, Evidence] = field(default_factory=dict)
    evidence: list[Evidence] = field(default_factory=list)
    sources: dict[str, Source] = field(default_factory=dict)
    start_confidence: float = 0.0

    def fact(
        self,
        fact: str,
        value: str,
        file: str,
        line: int | None,
        confidence: float,
        source: Source = "repository",
    ) -> None:
        self.evidence.append(
            Evidence(
                fact=fact, value=value, file=file, line=line, confidence=confidence, source=source
            )
        )

    def set_framework(self, name: str, file: str, line: int | None, confidence: float) -> None:
        if confidence > self.framework_confidence:
            self.framework = name
            self.framework_confidence = confidence
        self.fact("framework", name, file, line, confidence)

    def set_runtime(self, version: str, file: str, line: int | None, confidence: float) -> None:
        if self.runtime_version is None:
            self.runtime_version = version
            self.fact("runtime_version", version, file, line, confidence)

    def add_port(self, port: int, rank: PortRank, file: str, line: int | None) -> None:
        if not 1 <= port <= 65535 or len(self.ports) >= 64:
            return
        if any(c.port == port and c.rank <= rank for c in self.ports):
            return
        source: Source = "default" if rank == PortRank.FRAMEWORK_DEFAULT else "repository"
        evidence = Evidence(
            fact="port",
            value=str(port),
            file=file,
            line=line,
            confidence=PORT_CONFIDENCE[rank],
            source=source,
        )
        self.ports.append(PortClaim(port, rank, evidence))

    def add_default_port(self, port: int) -> None:
        """The framework's own default, evidenced by where the framework was seen."""
        seen = [e for e in self.evidence if e.fact == "framework" and e.value == self.framework]
        if seen:
            self.add_port(port, PortRank.FRAMEWORK_DEFAULT, seen[0].file, seen[0].line)

    def best_port(self) -> int | None:
        if not self.ports:
            return None
        return min(self.ports, key=lambda claim: claim.rank).port

    def add_datastore(
        self, store: DataStore, file: str, line: int | None, confidence: float = 0.85
    ) -> None:
        if store not in self.datastores:
            evidence = Evidence(
                fact="datastore", value=store, file=file, line=line, confidence=confidence
            )
            self.datastores[store] = evidence

    def set_health(self, path: str, file: str, line: int | None, confidence: float) -> None:
        if self.health_check_path is None:
            self.health_check_path = path
            self.fact("health_check_path", path, file, line, confidence)

    def set_command(
        self,
        kind: str,
        command: str,
        file: str,
        line: int | None,
        confidence: float,
        source: Source = "repository",
    ) -> None:
        """The first build/start command set wins (call in order of preference)."""
        if kind == "build" and self.build_command is None:
            self.build_command = command
        elif kind == "start" and self.start_command is None:
            self.start_command = command
            self.start_confidence = confidence
        else:
            return
        self.sources[f"{kind}_command"] = source
        self.fact(f"{kind}_command", command, file, line, confidence, source)


class Project:
    """The files of one project folder (nested project folders excluded)."""

    def __init__(self, tree: SourceTree, root: str, files: Iterable[str]) -> None:
        self.tree = tree
        self.root = root
        self.files = sorted(files)
        self._set = set(self.files)

    def path(self, rel: str) -> str:
        """Repository-relative path of a project-relative one."""
        return rel if self.root in ("", ".") else posixpath.join(self.root, rel)

    def has(self, rel: str) -> bool:
        return self.path(rel) in self._set

    def text(self, rel: str) -> str | None:
        full = self.path(rel)
        return self.tree.read(full) if full in self._set else None

    def first(self, *rels: str) -> str | None:
        for rel in rels:
            if self.has(rel):
                return rel
        return None

    def named(self, *suffixes: str, tests: bool = False) -> list[str]:
        """Repository-relative paths ending with one of `suffixes` (tests excluded)."""
        return [
            p
            for p in self.files
            if p.endswith(suffixes) and (tests or not is_test_path(self._rel(p)))
        ]

    def _rel(self, full: str) -> str:
        return full if self.root in ("", ".") else full[len(self.root) + 1 :]

    def rel(self, full: str) -> str:
        """Project-relative path of a repository-relative one inside the project."""
        return self._rel(full)

    @property
    def at_root(self) -> bool:
        return self.root in ("", ".")

    def exists(self, full: str) -> bool:
        """Whether the repository (any folder) has the file `full`."""
        return self.tree.has(full)

    def upward(self, *names: str) -> str | None:
        """The repository path of the first of `names` found in the project folder or the
        nearest folder above it (a workspace root, a parent POM, a .tool-versions)."""
        folder = self.root if not self.at_root else ""
        while True:
            for name in names:
                full = posixpath.join(folder, name) if folder else name
                if self.tree.has(full):
                    return full
            if not folder:
                return None
            folder = posixpath.dirname(folder)

    def in_dir(self, command: str) -> str:
        """`command` as run from the repository root (commands are root-relative)."""
        return command if self.at_root else f"cd {self.root} && {command}"

    def grep(
        self, pattern: rx.Pattern, paths: Iterable[str], needles: tuple[str, ...] = ()
    ) -> Iterator[GrepHit]:
        """Matches of `pattern`; files containing none of `needles` are skipped unscanned."""
        for path in paths:
            text = self.tree.read(path)
            if not text or (needles and not any(n in text for n in needles)):
                continue
            for match in hits(pattern, text):
                yield GrepHit(path, line_of(text, match.start()), match, text)


@dataclass(frozen=True)
class GrepHit:
    file: str
    line: int
    match: rx.Match
    text: str


# --- ports shared by every ecosystem -------------------------------------------------------

ENV_DEFAULT_PATTERNS = [
    rx.compile(p)
    for p in (
        # Python: os.environ.get("PORT", 5000), os.getenv("PORT", "8000"), ... or 5000
        r"""(?:environ\.get|getenv)\(\s*["'][A-Z_]*PORT["']\s*,\s*["']?(?P<port>\d{2,5})""",
        r"""(?:environ\.get|getenv)\(\s*["'][A-Z_]*PORT["']\s*\)\s*\)?\s*or\s*["']?(?P<port>\d{2,5})""",
        # Node: process.env.PORT || 3000, Number(process.env.PORT) ?? 3000, parseInt(.., 10) || 3000
        r"""process\.env(?:\.|\[["'])[A-Z_]*PORT(?:["']\])?(?:\s*,\s*10)?\s*\)?\s*(?:\|\||\?\?)\s*["']?(?P<port>\d{2,5})""",
        # shell ${PORT:-8080} ${PORT-8080}, Spring ${PORT:8080}
        r"""\$\{[A-Z_]*PORT:?-?(?P<port>\d{2,5})\}""",
        # Ruby: ENV.fetch("PORT") { 3000 }, ENV.fetch("PORT", 3000), ENV["PORT"] || 3000
        r"""ENV\.fetch\(\s*["'][A-Z_]*PORT["']\s*(?:,\s*|\)\s*\{\s*)["']?(?P<port>\d{2,5})""",
        r"""ENV\[["'][A-Z_]*PORT["']\]\s*\|\|\s*["']?(?P<port>\d{2,5})""",
        # Go: cmp.Or(os.Getenv("PORT"), "8080")
        # and port := os.Getenv("PORT") / if port == "" { port = "8080" }
        r"""Getenv\(\s*"[A-Z_]*PORT"\s*\)\s*,\s*":?(?P<port>\d{2,5})""",
        r"""Getenv\(\s*"[A-Z_]*PORT"\s*\)\s*\n\s*if\s+\w+\s*==\s*""\s*\{\s*\w+\s*=\s*":?(?P<port>\d{2,5})""",
        # Rust: env::var("PORT").unwrap_or_else(|_| "8080".to_string())
        r"""var\(\s*"[A-Z_]*PORT"\s*\)[^;]{0,80}?unwrap_or(?:_else)?\([^"\d;]{0,20}"?(?P<port>\d{2,5})""",
        # .NET: Environment.GetEnvironmentVariable("PORT") ?? "8080"
        r"""GetEnvironmentVariable\(\s*"[A-Z_]*PORT"\s*\)\s*\?\?\s*"?(?P<port>\d{2,5})""",
        # PHP: getenv('PORT') ?: 8000 ; env('PORT', 8000)
        r"""(?:getenv|env)\(\s*['"][A-Z_]*PORT['"]\s*(?:\)\s*\?:|,)\s*['"]?(?P<port>\d{2,5})""",
    )
]

COMMAND_PORT_PATTERNS = [
    rx.compile(p)
    for p in (
        r"""(?:--port|--http-port|--server\.port|-p)(?:=|\s+)["']?(?P<port>\d{2,5})\b""",
        r"""(?:--bind|-b|--listen|--host-port)(?:=|\s+)["']?[\w.\[\]:*-]*:(?P<port>\d{2,5})\b""",
        r"""runserver\s+(?:[\w.\[\]:]+:)?(?P<port>\d{2,5})\b""",
        r"""--urls(?:=|\s+)["']?https?://[^\s:"']+:(?P<port>\d{2,5})""",
        r"""\b(?:0\.0\.0\.0|127\.0\.0\.1|localhost|\[::\]):(?P<port>\d{2,5})\b""",
        r"""\bphp\s+-S\s+[\w.]+:(?P<port>\d{2,5})""",
    )
]


def env_default_ports(text: str) -> Iterator[tuple[int, int]]:
    """(port, offset) of every `PORT` env-var read with a literal fallback."""
    if "PORT" not in text:
        return
    seen: set[int] = set()
    for pattern in ENV_DEFAULT_PATTERNS:
        for match in hits(pattern, text):
            if match.start("port") not in seen:
                seen.add(match.start("port"))
                yield int(match.group("port")), match.start()


def command_ports(command: str) -> Iterator[tuple[int, PortRank]]:
    """Ports a start command names: literal flags, or env defaults such as ${PORT:-8080}."""
    seen: set[int] = set()
    for port, _ in env_default_ports(command):
        if port not in seen:
            seen.add(port)
            yield port, PortRank.ENV_DEFAULT
    for pattern in COMMAND_PORT_PATTERNS:
        for match in hits(pattern, command):
            port = int(match.group("port"))
            if port not in seen:
                seen.add(port)
                yield port, PortRank.EXPLICIT


def scan_ports(
    detection: Detection,
    project: Project,
    paths: Iterable[str],
    explicit: Iterable[rx.Pattern],
    needles: tuple[str, ...] = (
        "port",
        "listen",
        "Listen",
        "bind",
        "Addr",
        "Run(",
        "run(",
        "Start(",
        "Urls",
    ),
) -> None:
    """Explicit listen/run calls (group 'port'; a group 'ident' is looked up as a constant
    or env read in the same file) and env-var fallbacks in source files. Files containing
    none of `needles` skip the explicit patterns."""
    explicit = list(explicit)
    for path in paths:
        text = project.tree.read(path)
        if not text:
            continue
        for port, offset in env_default_ports(text):
            detection.add_port(port, PortRank.ENV_DEFAULT, path, line_of(text, offset))
        if not any(needle in text for needle in needles):
            continue
        for pattern in explicit:
            for match in hits(pattern, text):
                groups = match.groupdict()
                line = line_of(text, match.start())
                if groups.get("port"):
                    detection.add_port(int(groups["port"]), PortRank.EXPLICIT, path, line)
                elif groups.get("ident"):
                    _resolve_identifier(detection, path, text, groups["ident"], line)


def _resolve_identifier(detection: Detection, path: str, text: str, ident: str, line: int) -> None:
    name = rx.escape(ident)
    literal = rx.search(
        rf"""\b{name}\s*(?::\s*\w+\s*)?:?=\s*["']?:?(?P<port>\d{{2,5}})["']?\s*[;\n)]""", text
    )
    if literal:
        detection.add_port(
            int(literal.group("port")), PortRank.EXPLICIT, path, line_of(text, literal.start())
        )


# --- health checks and data stores shared by every ecosystem ---------------------------------

HEALTH_ROUTE = rx.compile(
    r"""["'](?P<path>/(?:api/)?(?:health|healthz|healthcheck|health-check|_health|ready|readyz|"""
    r"""livez|ping|status|up)/?)["']"""
)


def scan_health(detection: Detection, project: Project, paths: Iterable[str]) -> None:
    needles = ("health", "ready", "live", "ping", "status", "/up")
    for hit in project.grep(HEALTH_ROUTE, paths, needles):
        detection.set_health(hit.match.group("path"), hit.file, hit.line, 0.7)
        return


DATASTORE_URL = rx.compile(
    r"""(?P<scheme>postgres(?:ql)?|mysql|mariadb|rediss?|mongodb(?:\+srv)?|sqlite)(?:\+\w+)?:///?"""
    r"""|jdbc:(?P<jdbc>postgresql|mysql|mariadb|sqlite)"""
    r"""|image:\s*["']?(?:[\w.-]+/)?(?P<image>postgres|postgis|mysql|mariadb|redis|mongo)\b"""
)
_STORE_NAMES: dict[str, DataStore] = {
    "postgres": "postgres", "postgresql": "postgres", "postgis": "postgres", "mysql": "mysql",
    "mariadb": "mysql", "redis": "redis", "rediss": "redis", "mongodb": "mongodb",
    "mongodb+srv": "mongodb", "mongo": "mongodb", "sqlite": "sqlite",
}  # fmt: skip


def scan_datastore_urls(detection: Detection, project: Project, paths: Iterable[str]) -> None:
    for hit in project.grep(DATASTORE_URL, paths):
        raw = hit.match.group("scheme") or hit.match.group("jdbc") or hit.match.group("image")
        store = _STORE_NAMES.get(raw.lower())
        if store:
            detection.add_datastore(store, hit.file, hit.line, 0.75)


def match_dependencies(
    detection: Detection,
    deps: dict[str, tuple[str, int | None]],
    stores: dict[str, DataStore],
) -> None:
    """Data stores from dependency names (deps: name -> (file, line))."""
    for name, (file, line) in deps.items():
        store = stores.get(name.lower())
        if store:
            detection.add_datastore(store, file, line, 0.9)


def find_line(text: str, needle: str) -> int | None:
    index = text.find(needle)
    return None if index < 0 else line_of(text, index)


# --- files every ecosystem reads ------------------------------------------------------------


def procfile_web(project: Project) -> tuple[str, str, int] | None:
    """(command, file, line) of the Procfile's `web:` process (the project's, else the
    repository root's when the project has none), as run from the repository root."""
    for full in (project.path("Procfile"), "Procfile"):
        text = project.tree.read(full) if project.exists(full) else None
        if not text:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if line.startswith("web:") and line[4:].strip():
                command = line[4:].strip()
                inside = posixpath.dirname(full)
                return (f"cd {inside} && {command}" if inside else command), full, number
        return None
    return None


_TOOL_VERSION_LINE = rx.compile(r"(?m)^\s*(?P<tool>[\w-]+)\s+(?P<version>[\w.+-]+)")
_MISE_TOOL = rx.compile(
    r"""(?m)^\s*["']?(?P<tool>[\w-]+)["']?\s*=\s*(?:["'](?P<version>[\w.+-]+)["']|\[\s*["'](?P<first>[\w.+-]+)["'])"""
)


def tool_version(project: Project, detection: Detection, tools: tuple[str, ...]) -> bool:
    """Runtime version from asdf's .tool-versions or mise.toml (project folder, then the
    folders above it). True when one was found."""
    for name in (".tool-versions", "mise.toml", ".mise.toml", ".config/mise.toml"):
        full = project.upward(name)
        text = project.tree.read(full) if full else None
        if not full or not text:
            continue
        pattern = _TOOL_VERSION_LINE if name == ".tool-versions" else _MISE_TOOL
        for match in hits(pattern, text, 200):
            if match.group("tool") in tools:
                version = match.group("version") or match.groupdict().get("first")
                if version and version[:1].isdigit():
                    detection.set_runtime(version, full, line_of(text, match.start()), 0.95)
                    return True
    return False
