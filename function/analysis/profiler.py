"""Turn a source tree into an AppProfile: find project folders, run detectors, merge facts."""

from __future__ import annotations

import posixpath
from collections import Counter

from function.analysis.detect import DETECTORS, Detection, Project
from function.analysis.detect.base import PortClaim, is_test_path, scan_datastore_urls
from function.analysis.detect.docker import detect_compose, detect_dockerfile, docker_start
from function.analysis.detect.envnames import scan_datastore_env
from function.analysis.profile import AppProfile, DataStore, Evidence, ServiceProfile, Source
from function.analysis.tree import SourceTree

STRONG_MARKERS = frozenset(
    {
        "package.json", "requirements.txt", "pyproject.toml", "Pipfile", "setup.py", "manage.py",
        "go.mod", "pom.xml", "build.gradle", "build.gradle.kts", "Gemfile", "composer.json",
        "Cargo.toml", "deno.json", "deno.jsonc",
    }
)  # fmt: skip
# a folder whose only marker is Python code (manage.py) belongs to the nearest folder above
# it with a Python manifest (requirements at the root, code in src/)
PYTHON_MANIFESTS = frozenset({"requirements.txt", "pyproject.toml", "Pipfile", "setup.py"})
STRONG_SUFFIXES = (".csproj", ".fsproj")
WEAK_MARKERS = frozenset({"Dockerfile", "Containerfile", "index.html"})
IGNORED_DIRS = frozenset(
    {"examples", "example", "docs", "doc", "test", "tests", "fixtures", "testdata", "samples",
     "sample", "__tests__", "e2e", "benchmarks", "bench"}
)  # fmt: skip
LANGUAGES = {
    ".py": "python", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".jsx": "javascript", ".ts": "typescript", ".tsx": "typescript", ".go": "go",
    ".java": "java", ".kt": "kotlin", ".rb": "ruby", ".php": "php", ".cs": "csharp",
    ".fs": "fsharp", ".rs": "rust", ".html": "html", ".css": "css", ".scss": "css",
    ".vue": "vue", ".svelte": "svelte",
}  # fmt: skip
CONFIG_FILES = (
    ".env.example",
    ".env.sample",
    ".env",
    "docker-compose.yml",
    "docker-compose.yaml",
    "compose.yaml",
    "compose.yml",
    "config.yml",
    "config.yaml",
    "settings.py",
    "database.yml",
    "appsettings.json",
    "config.json",
)


# the app's own config modules: defaults such as DATABASE_URL ?? "postgres://..." count
CONFIG_STEMS = frozenset(
    {"config", "configuration", "settings", "database", "db", "env", "environment",
     "datasource", "knexfile", "default", "production"}
)  # fmt: skip
CONFIG_SOURCE_SUFFIXES = (
    ".js",
    ".mjs",
    ".cjs",
    ".ts",
    ".mts",
    ".go",
    ".rb",
    ".php",
    ".java",
    ".kt",
    ".cs",
    ".rs",
    ".json",
    ".yml",
    ".yaml",
    ".toml",
)


# where an app reads its configuration from the environment (detect/envnames.py)
_CODE_SUFFIXES = (
    *(".py", ".js", ".mjs", ".cjs", ".ts", ".mts", ".go", ".rb", ".php", ".java"),
    *(".kt", ".cs", ".rs", ".ex", ".exs"),
)


def _is_config(project: Project, path: str) -> bool:
    if path.endswith(CONFIG_FILES):
        return True
    name = posixpath.basename(path)
    stem, suffix = posixpath.splitext(name)
    if suffix not in CONFIG_SOURCE_SUFFIXES or is_test_path(project.rel(path)):
        return False
    return stem.lower() in CONFIG_STEMS or "/config/" in f"/{project.rel(path)}"


def _directory(path: str) -> str:
    return posixpath.dirname(path) or "."


def _ancestors(directory: str) -> list[str]:
    """directory, its parent, ..., '.'"""
    out = [directory]
    while directory != ".":
        directory = _directory(directory)
        out.append(directory)
    return out


def find_project_roots(paths: list[str]) -> list[str]:
    markers: dict[str, set[str]] = {}
    weak: set[str] = set()
    for path in paths:
        directory = _directory(path)
        if any(part in IGNORED_DIRS for part in directory.split("/")):
            continue
        name = posixpath.basename(path)
        if name in STRONG_MARKERS or name.endswith(STRONG_SUFFIXES):
            markers.setdefault(directory, set()).add(name)
        elif name in WEAK_MARKERS:
            weak.add(directory)
    python_roots = {d for d, names in markers.items() if names & PYTHON_MANIFESTS}
    strong = {
        directory
        for directory, names in markers.items()
        if names != {"manage.py"} or not any(a in python_roots for a in _ancestors(directory)[1:])
    }
    roots = set(strong)
    for directory in sorted(weak, key=lambda d: d.count("/")):
        if not any(a in roots for a in _ancestors(directory)[1:]):
            roots.add(directory)
    return sorted(roots, key=lambda d: (d != ".", d.count("/"), d))


def split_projects(tree: SourceTree) -> list[Project]:
    roots = find_project_roots(tree.paths)
    members: dict[str, list[str]] = {root: [] for root in roots}
    for path in tree.paths:
        for ancestor in _ancestors(_directory(path)):
            if ancestor in members:
                members[ancestor].append(path)
                break
    return [Project(tree, "" if root == "." else root, members[root]) for root in roots]


def _score(detection: Detection) -> tuple[bool, bool, bool, float, int]:
    return (
        detection.server,
        detection.static_site,
        detection.framework is not None,
        detection.framework_confidence,
        len(detection.ports),
    )


def _languages(project: Project) -> list[str]:
    counts = Counter(
        LANGUAGES[ext] for ext in (posixpath.splitext(p)[1] for p in project.files)
        if ext in LANGUAGES
    )  # fmt: skip
    return [language for language, _ in counts.most_common(6)]


def _datastores(
    project: Project, detections: list[Detection]
) -> tuple[dict[DataStore, Evidence], dict[DataStore, Evidence]]:
    """The stores the project uses, and the variables their URLs are read from."""
    stores: dict[DataStore, Evidence] = {}
    extra = Detection(ecosystem="config", language="")
    scan_datastore_urls(extra, project, [p for p in project.files if _is_config(project, p)])
    for found in [*detections, extra]:
        for store, seen in found.datastores.items():
            stores.setdefault(store, seen)
    return stores, scan_datastore_env(project, project.named(*_CODE_SUFFIXES), stores)


def profile_project(project: Project) -> ServiceProfile:
    detections = [found for detect in DETECTORS if (found := detect(project)) is not None]
    dockerfile, docker, image_runtimes = detect_dockerfile(project)
    compose = detect_compose(project)
    primary = max(detections, key=_score) if detections else None
    claims: list[PortClaim] = [*docker.ports, *compose.ports, *(primary.ports if primary else [])]
    claims.sort(key=lambda c: (c.rank, c.evidence.file, c.evidence.line or 0))
    best_rank = claims[0].rank if claims else None
    ports: list[int] = []
    for claim in claims:
        if claim.rank == best_rank and claim.port not in ports:
            ports.append(claim.port)
    stores, env_names = _datastores(project, [*detections, compose])
    evidence: list[Evidence] = list(primary.evidence) if primary else []
    evidence += docker.evidence + compose.evidence
    evidence += [c.evidence for c in claims]
    evidence += [*stores.values(), *env_names.values()]
    languages = _languages(project)
    name = posixpath.basename(project.root) if project.root else "app"
    path = project.root or "."
    server = primary is not None and primary.server
    static = primary is not None and primary.static_site and not server
    runtime = primary.runtime_version if primary else None
    if runtime is None and primary and primary.ecosystem in image_runtimes:
        runtime = image_runtimes[primary.ecosystem]
        evidence.append(
            Evidence(
                fact="runtime_version",
                value=runtime,
                file=dockerfile.path or "",
                line=None,
                confidence=0.8,
            )
        )
    start = primary.start_command if primary else None
    sources: dict[str, Source] = dict(primary.sources) if primary else {}
    start_conf = primary.start_confidence if primary and start else 0.3
    inferred = start is None or sources.get("start_command") == "inferred"
    container_command = docker_start(dockerfile, project)
    if container_command and (inferred or not (server or static)):
        start = container_command
        sources["start_command"] = "repository"
        start_conf = 0.9
    health = docker.health_check_path or (primary.health_check_path if primary else None)
    deployable = server or static or (dockerfile.present and bool(ports))
    reason = None if deployable else _not_deployable_reason(project, detections, dockerfile.present)
    if primary and primary.framework:
        sources["framework"] = "repository"
    if claims:
        sources["port"] = claims[0].evidence.source
    if runtime:
        sources.setdefault("runtime_version", "repository")
    framework_conf = primary.framework_confidence if primary and primary.framework else 0.5
    port_conf = claims[0].evidence.confidence if claims else (0.9 if static else 0.3)
    if static:
        start_conf = 0.9
    confidence = round((framework_conf + port_conf + start_conf) / 3, 2) if deployable else 0.8
    return ServiceProfile(
        name=name,
        path=path,
        languages=languages,
        language=(primary.language if primary and primary.language else None)
        or (languages[0] if languages else None),
        framework=primary.framework if primary else None,
        runtime_version=runtime,
        runtime=primary.runtime if primary else None,
        package_manager=primary.package_manager if primary else None,
        dependencies=primary.dependencies if primary else [],
        ports=ports,
        dockerfile=dockerfile,
        build_command=primary.build_command if primary else None,
        start_command=start,
        health_check_path=health,
        datastores=sorted(stores),
        datastore_env={store: seen.value for store, seen in sorted(env_names.items())},
        static_site=static,
        deployable=deployable,
        not_deployable_reason=reason,
        evidence=evidence,
        sources=sources,
        confidence=confidence,
    )


def _not_deployable_reason(
    project: Project, detections: list[Detection], has_dockerfile: bool
) -> str:
    if has_dockerfile:
        return "the Dockerfile exposes no port and no web framework or server code was found"
    if detections:
        kinds = ", ".join(sorted({d.ecosystem for d in detections}))
        return f"no web framework, server entrypoint or static site found ({kinds} code only)"
    return "no application code the analyzer recognises"


def _primary_key(service: ServiceProfile) -> tuple[bool, bool, float]:
    """Which service of a monorepo the top-level fields describe: a framework over none, a
    server over a static site, then the evidence for its framework and port."""

    def best(fact: str, value: str | None) -> float:
        found = [e.confidence for e in service.evidence if e.fact == fact and e.value == value]
        return max(found, default=0.5 if fact == "framework" else 0.3)

    port = str(service.ports[0]) if service.ports else None
    score = (best("framework", service.framework) + best("port", port)) / 2
    return service.framework is not None, not service.static_site, score


def _docker_only(service: ServiceProfile) -> bool:
    """A folder known only from its Dockerfile (no language, no framework)."""
    return service.language is None and service.framework is None and service.dockerfile.present


def build_profile(tree: SourceTree, *, url: str, ref: str, commit: str) -> AppProfile:
    """The profile of a whole repository; a monorepo lists each deployable service."""
    projects = split_projects(tree)
    services = [profile_project(project) for project in projects]
    deployable = [s for s in services if s.deployable]
    found = [s for s in deployable if not _docker_only(s)]
    if found and len(found) < len(deployable):
        # a folder that only holds a Dockerfile does not outrank a real project below it
        deployable = [s for s in deployable if s in found]
    if deployable:
        root = next((s for s in deployable if s.path == "." and s.framework), None)
        primary = root or max(deployable, key=_primary_key)
    elif services:
        primary = services[0]
    else:
        primary = ServiceProfile(
            name="app", deployable=False, confidence=0.9,
            not_deployable_reason="the repository has no application code the analyzer recognises",
        )  # fmt: skip
    if not deployable and len(services) > 1:
        primary = primary.model_copy(
            update={
                "not_deployable_reason": "none of the project folders ("
                + ", ".join(s.path for s in services[:8])
                + ") is a web application or static site"
            }
        )
    data = primary.model_dump()
    data.update(
        url=url,
        ref=ref,
        commit=commit,
        services=deployable,
        monorepo=len(deployable) > 1,
        file_count=len(tree.paths),
        analyzed_bytes=tree.read_bytes,
        warnings=list(tree.warnings),
    )
    return AppProfile.model_validate(data)
