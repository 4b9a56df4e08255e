"""Ruby: Rails (and Sinatra / Rack as plain servers)."""

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
    tool_version,
)
from function.analysis.profile import DataStore

_GEM = rx.compile(r"""^\s*gem\s+["']([\w.-]+)["']""", rx.MULTILINE)
_STORES: dict[str, DataStore] = {
    "pg": "postgres", "mysql2": "mysql", "trilogy": "mysql", "redis": "redis",
    "mongoid": "mongodb", "mongo": "mongodb", "sqlite3": "sqlite",
}  # fmt: skip
_ADAPTERS: dict[str, DataStore] = {
    "postgresql": "postgres", "postgis": "postgres", "mysql2": "mysql", "trilogy": "mysql",
    "sqlite3": "sqlite",
}  # fmt: skip
_EXPLICIT = [
    rx.compile(r"""^\s*port\s+(?P<port>\d{2,5})\b""", rx.MULTILINE),
    rx.compile(r"""set\s+:port,\s*(?P<port>\d{2,5})"""),
]


def detect(project: Project) -> Detection | None:
    text = project.text("Gemfile")
    if text is None:
        return None
    manifest = project.path("Gemfile")
    detection = Detection(
        ecosystem="ruby", language="ruby", runtime="ruby", package_manager="bundler"
    )
    gems: dict[str, tuple[str, int | None]] = {}
    for match in _GEM.finditer(text):
        gems.setdefault(match.group(1), (manifest, line_of(text, match.start())))
    detection.dependencies = list(gems)[:15]
    match_dependencies(detection, gems, _STORES)
    version = rx.search(r"""^\s*ruby\s+["'][^\d"']*(\d+\.\d+(?:\.\d+)?)""", text, rx.MULTILINE)
    version_file = project.text(".ruby-version")
    if version_file and rx.search(r"\d+\.\d+(?:\.\d+)?", version_file):
        found = rx.search(r"\d+\.\d+(?:\.\d+)?", version_file)
        assert found is not None
        detection.set_runtime(found.group(0), project.path(".ruby-version"), 1, 0.95)
    elif version:
        detection.set_runtime(version.group(1), manifest, line_of(text, version.start()), 0.9)
    if "rails" in gems or project.has("config/application.rb"):
        file, line = gems.get("rails", (project.path("config/application.rb"), None))
        detection.set_framework("rails", file, line, 0.9)
        detection.server = True
        detection.add_default_port(3000)
    elif "sinatra" in gems:
        file, line = gems["sinatra"]
        detection.set_framework("sinatra", file, line, 0.85)
        detection.server = True
        detection.add_default_port(4567)
    database = project.text("config/database.yml") or ""
    for adapter in rx.finditer(r"adapter:\s*(\w+)", database):
        store = _ADAPTERS.get(adapter.group(1))
        if store:
            detection.add_datastore(
                store, project.path("config/database.yml"), line_of(database, adapter.start()), 0.9
            )
    scan_ports(detection, project, project.named("config/puma.rb", ".rb"), _EXPLICIT)
    procfile = project.text("Procfile") or ""
    for number, entry in enumerate(procfile.splitlines(), 1):
        if entry.startswith("web:"):
            detection.set_command("start", entry[4:].strip(), project.path("Procfile"), number, 0.9)
            for port, rank in command_ports(entry):
                detection.add_port(port, rank, project.path("Procfile"), number)
    routes = project.text("config/routes.rb") or ""
    up = rx.search(r"""get\s+["']up["']\s*=>\s*["']rails/health#show""", routes)
    if up:
        detection.set_health(
            "/up", project.path("config/routes.rb"), line_of(routes, up.start()), 0.9
        )
    scan_health(detection, project, project.named(".rb"))
    if detection.runtime_version is None:
        tool_version(project, detection, ("ruby",))
    if detection.server:
        _commands(project, detection, manifest, text)
    return detection


def _commands(project: Project, detection: Detection, manifest: str, text: str) -> None:
    detection.set_command("build", project.in_dir("bundle install"), manifest, None, 0.8)
    port = detection.best_port() or (3000 if detection.framework == "rails" else 4567)
    if detection.framework == "rails":
        command = f"bundle exec rails server -b 0.0.0.0 -p {port}"
        detection.set_command(
            "start", project.in_dir(command), manifest, find_line(text, "rails"), 0.7, "inferred"
        )
    elif project.has("config.ru"):
        command = f"bundle exec rackup -o 0.0.0.0 -p {port}"
        detection.set_command(
            "start", project.in_dir(command), project.path("config.ru"), None, 0.7, "inferred"
        )
    else:
        script = next((r for r in ("app.rb", "server.rb", "main.rb") if project.has(r)), None)
        if script:
            detection.set_command(
                "start",
                project.in_dir(f"bundle exec ruby {script}"),
                project.path(script),
                None,
                0.65,
                "inferred",
            )
