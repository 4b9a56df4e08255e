"""Rust: actix-web, axum (also rocket, warp as plain servers)."""

from __future__ import annotations

from typing import Any

from function.analysis import rx
from function.analysis.detect.base import (
    Detection,
    Project,
    find_line,
    scan_health,
    scan_ports,
)
from function.analysis.detect.parse import load_toml
from function.analysis.profile import DataStore

_FRAMEWORKS = [
    ("actix-web", "actix-web", 8080),
    ("axum", "axum", 3000),
    ("rocket", "rocket", 8000),
    ("warp", "warp", 3030),
]
_STORES: dict[str, DataStore] = {
    "tokio-postgres": "postgres", "postgres": "postgres", "redis": "redis",
    "mongodb": "mongodb", "rusqlite": "sqlite", "mysql": "mysql", "mysql_async": "mysql",
}  # fmt: skip
_FEATURE_STORES: dict[str, DataStore] = {
    "postgres": "postgres",
    "mysql": "mysql",
    "sqlite": "sqlite",
}
_EXPLICIT = [
    rx.compile(r"""\.bind\(\s*\(\s*"[^"]*"\s*,\s*(?P<port>\d{2,5})\s*\)"""),
    rx.compile(r"""bind\(\s*&?\s*"[^"]*:(?P<port>\d{2,5})\""""),
    rx.compile(r""""(?:[\d.]+|\[::\]|localhost|\[::1\]):(?P<port>\d{2,5})"\s*\.parse"""),
    rx.compile(r"""SocketAddr::from\(\s*\(\s*\[[\d,\s]+\]\s*,\s*(?P<port>\d{2,5})\s*\)"""),
    rx.compile(r"""\.run\(\s*\(\s*\[[\d,\s]+\]\s*,\s*(?P<port>\d{2,5})\s*\)"""),
]


def detect(project: Project) -> Detection | None:
    text = project.text("Cargo.toml")
    if text is None:
        return None
    manifest = project.path("Cargo.toml")
    detection = Detection(
        ecosystem="rust", language="rust", runtime="rust", package_manager="cargo"
    )
    data: dict[str, Any] = load_toml(project.tree, manifest, text)
    deps = data.get("dependencies", {})
    deps = deps if isinstance(deps, dict) else {}
    detection.dependencies = list(deps)[:15]
    for name, spec in deps.items():
        line = find_line(text, name)
        store = _STORES.get(name)
        if store:
            detection.add_datastore(store, manifest, line, 0.9)
        if name in ("sqlx", "diesel", "sea-orm") and isinstance(spec, dict):
            for feature in spec.get("features", []):
                for key, value in _FEATURE_STORES.items():
                    if key in str(feature):
                        detection.add_datastore(value, manifest, line, 0.9)
    package = data.get("package", {})
    version = package.get("rust-version") if isinstance(package, dict) else None
    toolchain = project.text("rust-toolchain.toml") or project.text("rust-toolchain") or ""
    found = rx.search(r"\d+\.\d+(?:\.\d+)?", toolchain)
    if found:
        rel = "rust-toolchain.toml" if project.has("rust-toolchain.toml") else "rust-toolchain"
        detection.set_runtime(found.group(0), project.path(rel), None, 0.9)
    elif isinstance(version, str):
        detection.set_runtime(version, manifest, find_line(text, "rust-version"), 0.8)
    for framework, crate, default in _FRAMEWORKS:
        if crate in deps:
            detection.set_framework(framework, manifest, find_line(text, crate), 0.9)
            detection.server = True
            detection.add_default_port(default)
            break
    sources = project.named(".rs")
    scan_ports(detection, project, sources, _EXPLICIT)
    if detection.server:
        scan_health(detection, project, sources)
        name = package.get("name", "app") if isinstance(package, dict) else "app"
        detection.set_command("build", "cargo build --release --locked", manifest, None, 0.8)
        detection.set_command("start", f"./target/release/{name}", manifest, None, 0.7)
    return detection
