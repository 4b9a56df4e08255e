""".NET: ASP.NET Core."""

from __future__ import annotations

from function.analysis import rx
from function.analysis.detect.base import (
    Detection,
    PortRank,
    Project,
    command_ports,
    line_of,
    match_dependencies,
    scan_health,
    scan_ports,
)
from function.analysis.detect.parse import load_json
from function.analysis.profile import DataStore

_STORES: dict[str, DataStore] = {
    "npgsql": "postgres", "npgsql.entityframeworkcore.postgresql": "postgres",
    "pomelo.entityframeworkcore.mysql": "mysql", "mysql.data": "mysql",
    "mysqlconnector": "mysql", "stackexchange.redis": "redis",
    "microsoft.extensions.caching.stackexchangeredis": "redis", "mongodb.driver": "mongodb",
    "microsoft.data.sqlite": "sqlite", "microsoft.entityframeworkcore.sqlite": "sqlite",
}  # fmt: skip
_PACKAGE = rx.compile(r"""<PackageReference\s+Include="([\w.-]+)\"""")
_EXPLICIT = [
    rx.compile(r"""(?:UseUrls|\.Run|\.Urls\.Add)\(\s*"https?://[^"]*:(?P<port>\d{2,5})"""),
    rx.compile(r"""Listen(?:Any|Local)?IP?\((?:[^,)]*,\s*)?(?P<port>\d{2,5})\)"""),
]


def detect(project: Project) -> Detection | None:
    projects = [
        p
        for p in project.named(".csproj", ".fsproj")
        if p.count("/") == project.path("x").count("/")
    ]
    if not projects:
        return None
    path = projects[0]
    text = project.tree.read(path) or ""
    detection = Detection(
        ecosystem="dotnet",
        language="csharp" if path.endswith(".csproj") else "fsharp",
        runtime="dotnet",
        package_manager="dotnet",
    )
    packages: dict[str, tuple[str, int | None]] = {}
    for match in _PACKAGE.finditer(text):
        packages.setdefault(match.group(1), (path, line_of(text, match.start())))
    detection.dependencies = list(packages)[:15]
    match_dependencies(detection, packages, _STORES)
    target = rx.search(r"<TargetFramework>\s*net(?:coreapp)?(\d+\.\d+)", text)
    major = 0
    if target:
        detection.set_runtime(target.group(1), path, line_of(text, target.start()), 0.95)
        major = int(target.group(1).split(".")[0])
    sdk = rx.search(r"""<Project\s+Sdk="Microsoft\.NET\.Sdk\.Web\"""", text)
    if sdk:
        detection.set_framework("aspnetcore", path, line_of(text, sdk.start()), 0.95)
        detection.server = True
    sources = project.named(".cs", ".fs")
    scan_ports(detection, project, sources, _EXPLICIT)
    settings = project.first("Properties/launchSettings.json")
    if settings:
        _launch_settings(detection, project, settings)
    if detection.server:
        # ASP.NET Core 8+ container images listen on 8080; older ones and `dotnet run` on 5000/80
        detection.add_default_port(8080 if major >= 8 else 5000)
        scan_health(detection, project, sources)
        health = rx.compile(r"""MapHealthChecks\(\s*"(?P<path>/[^"]*)\"""")
        for hit in project.grep(health, sources):
            detection.set_health(hit.match.group("path"), hit.file, hit.line, 0.9)
            break
        name = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        detection.set_command("build", "dotnet publish -c Release -o out", path, None, 0.8)
        detection.set_command("start", f"dotnet out/{name}.dll", path, None, 0.7)
    return detection


def _launch_settings(detection: Detection, project: Project, rel: str) -> None:
    text = project.text(rel) or ""
    data = load_json(project.tree, project.path(rel), text)
    profiles = data.get("profiles", {}) if isinstance(data, dict) else {}
    for profile in profiles.values() if isinstance(profiles, dict) else []:
        urls = profile.get("applicationUrl") if isinstance(profile, dict) else None
        if isinstance(urls, str):
            for url in urls.split(";"):
                if url.startswith("http://"):
                    for port, _ in command_ports("--urls " + url):
                        line = line_of(text, text.find(url))
                        detection.add_port(port, PortRank.CONFIG, project.path(rel), line)
            return
