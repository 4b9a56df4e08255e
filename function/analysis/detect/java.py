"""Java: Spring Boot with Maven or Gradle."""

from __future__ import annotations

import posixpath
from typing import Any

from function.analysis import rx
from function.analysis.detect.base import (
    Detection,
    PortRank,
    Project,
    env_default_ports,
    find_line,
    line_of,
    match_dependencies,
    scan_datastore_urls,
    scan_health,
    scan_ports,
    tool_version,
)
from function.analysis.detect.parse import load_yaml_documents
from function.analysis.profile import DataStore

_STORES: dict[str, DataStore] = {
    "postgresql": "postgres", "mysql-connector-java": "mysql", "mysql-connector-j": "mysql",
    "mariadb-java-client": "mysql", "spring-boot-starter-data-redis": "redis", "jedis": "redis",
    "lettuce-core": "redis", "spring-boot-starter-data-mongodb": "mongodb",
    "mongodb-driver-sync": "mongodb", "sqlite-jdbc": "sqlite",
}  # fmt: skip
_MAVEN_ARTIFACT = rx.compile(r"<artifactId>\s*([\w.-]+)\s*</artifactId>")
_GRADLE_DEP = rx.compile(
    r"""(?:implementation|api|runtimeOnly|compileOnly)\s*\(?\s*["'][\w.-]+:([\w.-]+)(?::[^"']*)?["']"""
)
_JAVA_VERSION = [
    rx.compile(r"<java\.version>\s*(\d+)"),
    rx.compile(r"<maven\.compiler\.(?:release|target)>\s*(?:1\.)?(\d+)"),
    rx.compile(r"JavaLanguageVersion\.of\(\s*(\d+)"),
    rx.compile(r"sourceCompatibility\s*=\s*['\"]?(?:JavaVersion\.VERSION_)?(?:1[._])?(\d+)"),
]


def detect(project: Project) -> Detection | None:
    build_file = project.first("pom.xml", "build.gradle", "build.gradle.kts")
    if build_file is None:
        return None
    text = project.text(build_file) or ""
    manifest = project.path(build_file)
    maven = build_file == "pom.xml"
    detection = Detection(ecosystem="java", language="java")
    if build_file.endswith(".kts") or project.named(".kt"):
        detection.language = "kotlin" if not project.named(".java") else "java"
    pattern = _MAVEN_ARTIFACT if maven else _GRADLE_DEP
    deps: dict[str, tuple[str, int | None]] = {}
    for match in pattern.finditer(text):
        deps.setdefault(match.group(1), (manifest, line_of(text, match.start())))
    detection.dependencies = [d for d in deps if d != "spring-boot-starter-parent"][:15]
    match_dependencies(detection, deps, _STORES)
    build_root = _build_root(project, build_file)
    detection.package_manager = "maven" if maven else "gradle"
    detection.runtime = "java"
    for full in [manifest, *_parent_builds(project, build_file)]:
        parent_text = project.tree.read(full) or ""
        found = next((f for v in _JAVA_VERSION if (f := v.search(parent_text))), None)
        if found:
            detection.set_runtime(found.group(1), full, line_of(parent_text, found.start()), 0.9)
            break
    if detection.runtime_version is None:
        tool_version(project, detection, ("java",))
    web = next(
        (d for d in ("spring-boot-starter-web", "spring-boot-starter-webflux") if d in deps), None
    )
    if web is None and "org.springframework.boot" in text and "starter-web" in text:
        web = "spring-boot-starter-web"
    if web:
        detection.set_framework("spring-boot", manifest, find_line(text, web), 0.9)
        detection.server = True
        detection.add_default_port(8080)
    else:
        _other_framework(project, detection, deps, text, manifest)
    configs = [
        p
        for p in project.files
        if rx.search(r"(^|/)src/main/resources/application[\w-]*\.(properties|ya?ml)$", p)
    ]
    configs.sort(key=lambda p: (("-" in p.rsplit("/", 1)[-1]), p))  # base profile first
    for path in configs:
        _spring_config(detection, project, path)
    scan_datastore_urls(detection, project, configs)
    if "spring-boot-starter-actuator" in deps:
        detection.set_health("/actuator/health", manifest, find_line(text, "actuator"), 0.8)
    scan_health(detection, project, project.named(".java", ".kt"))
    if detection.server:
        _commands(project, detection, maven, manifest, build_root)
    return detection


_OTHER_FRAMEWORKS = (
    ("quarkus", ("quarkus-rest", "quarkus-resteasy", "quarkus-vertx-http"), 8080),
    ("micronaut", ("micronaut-http-server-netty", "micronaut-http-server"), 8080),
    ("ktor", ("ktor-server-netty", "ktor-server-core", "ktor-server-cio"), 8080),
    ("javalin", ("javalin",), 8080),
    ("dropwizard", ("dropwizard-core",), 8080),
)
_JAVA_EXPLICIT = [
    rx.compile(r"embeddedServer\([^)\n]{0,200}?\bport\s*=\s*(?P<port>\d{2,5})"),
    rx.compile(r"Javalin\.create\([^\n]{0,200}?\.start\(\s*(?P<port>\d{2,5})\s*\)"),
    rx.compile(r"new\s+InetSocketAddress\(\s*(?:\"[^\"]*\"\s*,\s*)?(?P<port>\d{2,5})\s*\)"),
]
_CONFIG_PORT = rx.compile(
    r"(?m)^\s*(?:quarkus\.http\.port|micronaut\.server\.port|ktor\.deployment\.port)\s*[=:]\s*(\S+)"
)


def _other_framework(
    project: Project,
    detection: Detection,
    deps: dict[str, tuple[str, int | None]],
    text: str,
    manifest: str,
) -> None:
    for framework, artifacts, default in _OTHER_FRAMEWORKS:
        artifact = next((a for a in artifacts if any(d.startswith(a) for d in deps)), None)
        if artifact is None and not any(f":{a}" in text for a in artifacts):
            continue
        detection.set_framework(framework, manifest, find_line(text, artifact or artifacts[0]), 0.9)
        detection.server = True
        detection.add_default_port(default)
        break
    if not detection.server:
        return
    sources = project.named(".java", ".kt")
    scan_ports(detection, project, sources, _JAVA_EXPLICIT, ("port", "start(", "InetSocketAddress"))
    for full in project.files:
        if rx.search(r"(^|/)src/main/resources/application[\w-]*\.(properties|ya?ml|conf)$", full):
            config = project.tree.read(full) or ""
            found = _CONFIG_PORT.search(config)
            if found:
                value = found.group(1)
                if value.isdigit():
                    detection.add_port(
                        int(value), PortRank.CONFIG, full, line_of(config, found.start())
                    )
                for port, _ in env_default_ports(value):
                    detection.add_port(
                        port, PortRank.ENV_DEFAULT, full, line_of(config, found.start())
                    )


def _parent_builds(project: Project, build_file: str) -> list[str]:
    """Build files of the folders above the project, nearest first."""
    out: list[str] = []
    folder = project.root
    names = (
        ("pom.xml",)
        if build_file == "pom.xml"
        else ("settings.gradle", "settings.gradle.kts", "build.gradle", "build.gradle.kts")
    )
    while folder:
        folder = posixpath.dirname(folder)
        for name in names:
            full = posixpath.join(folder, name) if folder else name
            if project.exists(full):
                out.append(full)
    return out


def _build_root(project: Project, build_file: str) -> str | None:
    """The folder of the multi-module build that lists this project as a module (Maven
    <module>, Gradle include), or None when the project builds on its own."""
    if project.at_root:
        return None
    for full in _parent_builds(project, build_file):
        folder = posixpath.dirname(full)
        module = project.root[len(folder) + 1 :] if folder else project.root
        text = project.tree.read(full) or ""
        if build_file == "pom.xml":
            listed = rx.search(rf"<module>\s*(?:\./)?{rx.escape(module)}/?\s*</module>", text)
        else:
            gradle = module.replace("/", ":")
            listed = rx.search(rf"""include\b[^\n]{{0,400}}["']:?{rx.escape(gradle)}["']""", text)
        if listed:
            return folder
    return None


def _commands(
    project: Project, detection: Detection, maven: bool, manifest: str, build_root: str | None
) -> None:
    module = project.root
    if build_root is None:
        base = project.root
        wrapper_dir = base
    else:
        base = build_root
        wrapper_dir = build_root

    def at(name: str) -> str:
        return posixpath.join(wrapper_dir, name) if wrapper_dir else name

    def in_base(command: str) -> str:
        return f"cd {base} && {command}" if base else command

    spring = detection.framework == "spring-boot"
    if maven:
        wrapper = "./mvnw" if project.exists(at("mvnw")) else "mvn"
        if build_root is None:
            build = f"{wrapper} -B package -DskipTests"
        else:
            inner = module[len(build_root) + 1 :] if build_root else module
            build = f"{wrapper} -B -pl {inner} -am package -DskipTests"
        target = (
            "target/quarkus-app/quarkus-run.jar"
            if detection.framework == "quarkus"
            else ("target/*.jar")
        )
        jar = posixpath.join(module, target) if module else target
    else:
        wrapper = "./gradlew" if project.exists(at("gradlew")) else "gradle"
        task = "bootJar" if spring else "build -x test"
        if build_root is None:
            build = f"{wrapper} {task}"
        else:
            inner = module[len(build_root) + 1 :] if build_root else module
            build = f"{wrapper} :{inner.replace('/', ':')}:{task}"
        jar = posixpath.join(module, "build/libs/*.jar") if module else "build/libs/*.jar"
    detection.set_command("build", in_base(build), manifest, None, 0.8, "inferred")
    detection.set_command("start", f"java -jar {jar}", manifest, None, 0.75, "inferred")


def _spring_config(detection: Detection, project: Project, path: str) -> None:
    text = project.tree.read(path)
    if not text:
        return
    value: str | None = None
    line: int | None = None
    if path.endswith(".properties"):
        found = rx.search(r"^\s*server\.port\s*[=:]\s*(\S+)", text, rx.MULTILINE)
        if found:
            value, line = found.group(1), line_of(text, found.start())
    else:
        docs = [d for d in load_yaml_documents(project.tree, path, text) if isinstance(d, dict)]
        for doc in docs:
            server: Any = doc.get("server")
            if isinstance(server, dict) and "port" in server:
                value = str(server["port"])
                line = find_line(text, "port:")
                break
    if value is None:
        return
    if value.isdigit():
        detection.add_port(int(value), PortRank.CONFIG, path, line)
        return
    for port, _ in env_default_ports(value):
        detection.add_port(port, PortRank.ENV_DEFAULT, path, line)
