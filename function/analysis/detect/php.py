"""PHP: Laravel (and plain PHP served by the built-in server)."""

from __future__ import annotations

from function.analysis import rx
from function.analysis.detect.base import (
    Detection,
    Project,
    find_line,
    line_of,
    scan_health,
)
from function.analysis.detect.parse import load_json_object
from function.analysis.profile import DataStore

_CONNECTIONS: dict[str, DataStore] = {
    "pgsql": "postgres", "mysql": "mysql", "mariadb": "mysql", "sqlite": "sqlite",
    "mongodb": "mongodb",
}  # fmt: skip


def detect(project: Project) -> Detection | None:
    text = project.text("composer.json")
    if text is None:
        return None
    manifest = project.path("composer.json")
    detection = Detection(
        ecosystem="php", language="php", runtime="php", package_manager="composer"
    )
    data = load_json_object(project.tree, manifest, text)
    require = data.get("require", {}) if isinstance(data, dict) else {}
    require = require if isinstance(require, dict) else {}
    detection.dependencies = [n for n in require if n != "php" and not n.startswith("ext-")][:15]
    php = require.get("php")
    if isinstance(php, str):
        found = rx.search(r"\d+\.\d+", php)
        if found:
            detection.set_runtime(found.group(0), manifest, find_line(text, '"php"'), 0.8)
    if "laravel/framework" in require:
        detection.set_framework("laravel", manifest, find_line(text, "laravel/framework"), 0.95)
        detection.server = True
        detection.add_default_port(8000)
        detection.set_command(
            "build", "composer install --no-dev --optimize-autoloader", manifest, None, 0.8
        )
        detection.set_command(
            "start",
            "php artisan serve --host=0.0.0.0 --port=8000",
            project.path("artisan"),
            None,
            0.5,
        )
    for name in ("predis/predis", "mongodb/laravel-mongodb", "jenssegers/mongodb"):
        if name in require:
            store: DataStore = "redis" if "predis" in name else "mongodb"
            detection.add_datastore(store, manifest, find_line(text, name), 0.9)
    env_file = project.first(".env.example", ".env.sample", ".env")
    env = project.text(env_file) if env_file else None
    if env and env_file:
        connection = rx.search(r"^DB_CONNECTION=(\w+)", env, rx.MULTILINE)
        if connection and connection.group(1) in _CONNECTIONS:
            detection.add_datastore(
                _CONNECTIONS[connection.group(1)],
                project.path(env_file),
                line_of(env, connection.start()),
                0.85,
            )
        redis = rx.search(
            r"^(?:CACHE_STORE|CACHE_DRIVER|SESSION_DRIVER|QUEUE_CONNECTION)=redis",
            env,
            rx.MULTILINE,
        )
        if redis:
            detection.add_datastore(
                "redis", project.path(env_file), line_of(env, redis.start()), 0.8
            )
    bootstrap = project.text("bootstrap/app.php") or ""
    health = rx.search(r"""health:\s*['"](/[\w/-]*)['"]""", bootstrap)
    if health:
        detection.set_health(
            health.group(1),
            project.path("bootstrap/app.php"),
            line_of(bootstrap, health.start()),
            0.9,
        )
    scan_health(detection, project, project.named("routes/web.php", "routes/api.php"))
    return detection
