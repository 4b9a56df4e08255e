"""Dockerfile facts: base image, EXPOSE, CMD/ENTRYPOINT, ENV PORT, HEALTHCHECK."""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from typing import Any

from function.analysis import rx
from function.analysis.detect.base import Detection, PortRank, Project, command_ports, find_line
from function.analysis.detect.parse import load_yaml_object
from function.analysis.profile import DataStore, DockerfileFacts

DOCKERFILE_NAMES = (
    "Dockerfile", "dockerfile", "Containerfile", "Dockerfile.prod", "Dockerfile.production",
    "prod.Dockerfile", "docker/Dockerfile", "deploy/Dockerfile", ".docker/Dockerfile",
    "docker/Dockerfile.prod", "build/Dockerfile",
)  # fmt: skip
# documented default ports of well-known server images (used when nothing is EXPOSEd)
_IMAGE_PORTS = (
    ("nginxinc/nginx-unprivileged", 8080), ("nginx", 80), ("httpd", 80), ("caddy", 80),
    ("tomcat", 8080), ("jetty", 8080), ("openresty/openresty", 80), ("traefik/whoami", 80),
)  # fmt: skip
_WRAPPERS = ("tini", "/sbin/tini", "dumb-init", "/usr/bin/dumb-init", "/tini")
_EXEC_ARGS = rx.compile(r"""exec\s+(?:"\$@"|\$@|"\$\{@\}")""")
_VAR = rx.compile(r"\$\{?(\w+)\}?")
_RUNTIME_IMAGES = {
    "python": "python", "node": "node", "golang": "go", "eclipse-temurin": "java",
    "openjdk": "java", "amazoncorretto": "java", "maven": "java", "gradle": "java",
    "ruby": "ruby", "php": "php", "rust": "rust", "dotnet/aspnet": "dotnet",
    "dotnet/sdk": "dotnet", "dotnet/runtime": "dotnet",
}  # fmt: skip


@dataclass(frozen=True)
class Instruction:
    keyword: str
    argument: str
    line: int


def instructions(text: str) -> list[Instruction]:
    """Logical instructions (continuations joined, comments dropped) with first line."""
    out: list[Instruction] = []
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
            continue
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer.append(stripped[:-1])
            continue
        buffer.append(stripped)
        joined = " ".join(part.strip() for part in buffer)
        buffer = []
        keyword, _, argument = joined.partition(" ")
        out.append(Instruction(keyword.upper(), argument.strip(), start))
    return out


def _command_text(argument: str) -> str:
    if argument.startswith("["):
        try:
            parts = json.loads(argument)
        except (ValueError, RecursionError):
            return argument
        if isinstance(parts, list):
            return " ".join(str(p) for p in parts)
    return argument


def command_argv(argument: str) -> list[str]:
    """CMD / ENTRYPOINT as the runtime runs it: the exec form's JSON array of strings, else
    the shell form run by /bin/sh -c (the Dockerfile reference's default SHELL)."""
    if argument.startswith("["):
        try:
            parts = json.loads(argument)
        except (ValueError, RecursionError):
            parts = None
        if isinstance(parts, list) and all(isinstance(p, str) for p in parts):
            return parts
    return ["/bin/sh", "-c", argument]


def runtime_from_image(image: str) -> tuple[str, str] | None:
    """(ecosystem, version) for images like python:3.12-slim or .../dotnet/aspnet:8.0."""
    name, _, tag = image.partition(":")
    name = name.split("@")[0]
    for prefix, ecosystem in _RUNTIME_IMAGES.items():
        if name == prefix or name.endswith("/" + prefix) or name.endswith("/library/" + prefix):
            version = rx.match(r"\d+(?:\.\d+)*", tag)
            if version:
                return ecosystem, version.group(0)
    return None


def detect_dockerfile(  # noqa: PLR0915 - one pass over the instructions
    project: Project,
) -> tuple[DockerfileFacts, Detection, dict[str, str]]:
    """Facts of the project's Dockerfile, port/health claims, and runtime versions by
    ecosystem seen in its FROM lines."""
    detection = Detection(ecosystem="docker", language="")
    rel = project.first(*DOCKERFILE_NAMES)
    if rel is None:
        return DockerfileFacts(), detection, {}
    path = project.path(rel)
    text = project.text(rel) or ""
    facts = DockerfileFacts(present=True, path=path)
    variables: dict[str, str] = {}
    runtimes: dict[str, str] = {}
    exposed: list[int] = []
    from_line: int | None = None
    claims: list[tuple[int, PortRank, int]] = []
    for item in instructions(text):
        argument = _VAR.sub(lambda m: variables.get(m.group(1), m.group(0)), item.argument)
        if item.keyword == "FROM":
            image = argument.split()[0] if argument.split() else ""
            facts = facts.model_copy(
                update={
                    "base_image": image,
                    "cmd": None,
                    "entrypoint": None,
                    "cmd_argv": None,
                    "entrypoint_argv": None,
                }
            )
            exposed = []
            claims = []
            from_line = item.line
            found = runtime_from_image(image)
            if found:
                runtimes[found[0]] = found[1]
        elif item.keyword in ("ARG", "ENV"):
            for name, value in _assignments(item.argument, item.keyword):
                variables[name] = value
                if item.keyword == "ENV" and name.endswith("PORT") and value.isdigit():
                    claims.append((int(value), PortRank.EXPLICIT, item.line))
                if item.keyword == "ENV" and name == "ASPNETCORE_URLS":
                    for port, _ in command_ports(value):
                        claims.append((port, PortRank.EXPLICIT, item.line))
        elif item.keyword == "EXPOSE":
            for token in argument.split():
                number = token.split("/")[0]
                if number.isdigit():
                    exposed.append(int(number))
                    claims.append((int(number), PortRank.DOCKERFILE_EXPOSE, item.line))
        elif item.keyword in ("CMD", "ENTRYPOINT"):
            command = _command_text(argument)
            key = "cmd" if item.keyword == "CMD" else "entrypoint"
            argv = command_argv(item.argument)  # as written: the runtime expands nothing
            facts = facts.model_copy(update={key: command, f"{key}_argv": argv})
            for port, rank in command_ports(command):
                claims.append((port, rank, item.line))
            detection.fact(key, command, path, item.line, 0.95)
        elif item.keyword == "HEALTHCHECK":
            url = rx.search(r"https?://[^/\s\"']+(?P<path>/[^\s\"']*)", argument)
            if url:
                detection.set_health(url.group("path"), path, item.line, 0.9)
    if not exposed and facts.base_image:
        default = image_default_port(facts.base_image)
        if default:
            claims.append((default, PortRank.FRAMEWORK_DEFAULT, from_line or 1))
    for port, rank, line in claims:
        detection.add_port(port, rank, path, line)
    facts = facts.model_copy(update={"exposed_ports": exposed})
    if facts.base_image:
        detection.fact("dockerfile.base_image", facts.base_image, path, from_line, 0.95)
    return facts, detection, runtimes


def _assignments(argument: str, keyword: str) -> list[tuple[str, str]]:
    if "=" not in argument.split(maxsplit=1)[0] if argument.split() else True:
        name, _, value = argument.partition(" ")
        return [(name, value.strip().strip("\"'"))] if keyword == "ENV" else [(name, "")]
    pairs = rx.findall(r"""(\w+)=("[^"]*"|'[^']*'|\S*)""", argument)
    return [(name, value.strip("\"'")) for name, value in pairs]


def image_default_port(image: str) -> int | None:
    """The documented listening port of a well-known server image (nginx: 80, ...)."""
    name = image.partition("@")[0].partition(":")[0]
    name = name.removeprefix("docker.io/").removeprefix("library/")
    tag = image.partition(":")[2]
    for known, port in _IMAGE_PORTS:
        if name == known:
            return port
    return 80 if name == "php" and "apache" in tag else None


def _exec_wrapper(entrypoint: str, project: Project) -> bool:
    """An ENTRYPOINT that only runs its arguments: tini/dumb-init, or a repository script
    that ends in `exec "$@"`."""
    first = entrypoint.split(maxsplit=1)[0] if entrypoint.split() else ""
    if first in _WRAPPERS:
        return True
    name = posixpath.basename(first)
    if not name:
        return False
    for full in project.files:
        if posixpath.basename(full) == name:
            text = project.tree.read(full) or ""
            return _EXEC_ARGS.search(text) is not None
    return False


def docker_start(facts: DockerfileFacts, project: Project) -> str | None:
    """The command the container runs, or None when it would not start the app: no CMD
    and an ENTRYPOINT that only `exec "$@"`s its (absent) arguments."""
    entry, cmd = facts.entrypoint, facts.cmd
    if entry and _exec_wrapper(entry, project):
        entry = None
    command = " ".join(x for x in (entry, cmd) if x)
    return command or None


_OTHER_COMPOSE = rx.compile(r"(?:^|/)(?:docker-)?compose\.[\w-]{1,30}\.ya?ml$")
COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
_STORE_IMAGES: dict[str, DataStore] = {
    "postgres": "postgres", "postgis/postgis": "postgres", "pgvector/pgvector": "postgres",
    "timescale/timescaledb": "postgres", "mysql": "mysql", "mariadb": "mysql",
    "redis": "redis", "valkey/valkey": "redis", "bitnami/redis": "redis", "mongo": "mongodb",
    "bitnami/postgresql": "postgres", "bitnami/mysql": "mysql", "bitnami/mongodb": "mongodb",
}  # fmt: skip


def _container_port(entry: Any) -> int | None:
    if isinstance(entry, dict):
        target = str(entry.get("target"))
        return int(target) if target.isdigit() else None
    text = str(entry).split("/")[0]
    last = text.rsplit(":", 1)[-1].split("-")[0]
    return int(last) if last.isdigit() else None


def detect_compose(project: Project) -> Detection:
    """Evidence from a compose file (the project's, else the repository root's): the port
    and environment of the service built from the project folder, and data stores run as
    services next to it."""
    detection = Detection(ecosystem="compose", language="")
    candidates = [project.path(n) for n in COMPOSE_NAMES] + list(COMPOSE_NAMES)
    full = next((c for c in candidates if project.exists(c)), None)
    if full is None:  # docker-compose.prod.yml, compose.production.yaml, ...
        full = next((p for p in project.files if _OTHER_COMPOSE.search(p)), None)
    if full is None:
        return detection
    text = project.tree.read(full)
    data = load_yaml_object(project.tree, full, text)
    services = data.get("services")
    if not isinstance(services, dict) or text is None:
        return detection
    base = posixpath.dirname(full)
    own = project.root or "."
    for name, service in list(services.items())[:100]:
        if not isinstance(service, dict):
            continue
        image = str(service.get("image") or "").partition(":")[0].removeprefix("docker.io/")
        image = image.removeprefix("library/")
        line = find_line(text, f"{name}:")
        if image in _STORE_IMAGES:
            detection.add_datastore(_STORE_IMAGES[image], full, line, 0.85)
            continue
        build = service.get("build")
        context = build.get("context") if isinstance(build, dict) else build
        if not isinstance(context, str):
            continue
        folder = (
            posixpath.normpath(posixpath.join(base, context))
            if base
            else posixpath.normpath(context)
        )
        if folder != own:
            continue
        for entry in (
            (service.get("ports") or [])[:20] if isinstance(service.get("ports"), list) else []
        ):
            port = _container_port(entry)
            if port:
                detection.add_port(
                    port, PortRank.EXPLICIT, full, find_line(text, str(entry)) or line
                )
        environment = service.get("environment")
        if isinstance(environment, dict):
            value = environment.get("PORT")
            if value is not None and str(value).isdigit():
                detection.add_port(
                    int(value), PortRank.EXPLICIT, full, find_line(text, "PORT") or line
                )
        command = service.get("command")
        if isinstance(command, str | list):
            shown = command if isinstance(command, str) else " ".join(str(c) for c in command)
            detection.fact("compose.command", shown, full, line, 0.8)
    return detection
