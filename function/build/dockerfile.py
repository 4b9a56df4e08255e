"""A Dockerfile for an analysed service: the repository's own, or one generated from the profile.

Pure: the output depends only on the profile (runtime and its version, package manager,
build and start commands run from the repository root, port, the repository's Dockerfile).

`build_recipe(profile)` says how to build the image of a service:

- the repository has a Dockerfile (`profile.dockerfile.present`): build that file, with the
  folder that holds it as the build context (what `docker build <folder>` does);
- otherwise: the generated Dockerfile (`recipe.dockerfile`) and `.dockerignore`
  (`recipe.dockerignore`), built with the repository root as the context, since the
  analysed build and start commands run from the root. The builder writes both next to
  each other outside the checkout, e.g. `<tmp>/Dockerfile` and
  `<tmp>/Dockerfile.dockerignore` (BuildKit reads `<Dockerfile>.dockerignore` first),
  and runs `docker build -f <tmp>/Dockerfile <repository root>`.

A generated Dockerfile:

- starts from official images pinned to a version line and a distribution release
  (`BASE_IMAGES`): the runtime's version from the repository when it names one, else the
  default in the table. Tags, not digests: a digest cannot be checked offline here, and the
  version line keeps security patches flowing; see docs/build.md;
- installs dependencies in a layer of their own, from the manifests alone, before the
  sources are copied, when the install step can run from them (pip -r, npm, yarn classic,
  pnpm, bun, bundler, go modules), so an edit to the sources reuses the dependency layer;
- builds compiled runtimes (go, rust, java, dotnet) in a build stage and runs them on a
  slim runtime image;
- runs as an unprivileged user (`runner`, uid 10001) that owns /app;
- sets PORT and EXPOSEs the port; starts the analysed start command with `exec`, so the
  app is PID 1's child-free successor and gets SIGTERM;
- serves a static site with nginx (unprivileged image, port 8080), built first when the
  site has a build command.

Commands come from the repository (untrusted) and run only inside the build: every one is
written in JSON (exec) form, so nothing in a command can add a Dockerfile instruction; a
command with a control character is refused.

Errors: DockerfileError (a ValueError) names the profile field and the reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from function.analysis.profile import AppProfile, DockerfileFacts, ServiceProfile
from function.build import launcher
from function.pinning import AnalysisSummary

USER = "runner"
UID = 10001
APP_DIR = "/app"
STATIC_PORT = 8080  # nginx-unprivileged listens on 8080

# Official images, pinned to a version line and a distribution release. The value is a
# format string over the runtime version ({v}); DEFAULT_VERSIONS fill it when the
# repository names none. Sources: the images' pages on Docker Hub (hub.docker.com/_/python,
# /_/node, /_/golang, /_/rust, /_/eclipse-temurin, /_/maven, /_/gradle, /_/ruby, /_/php,
# /_/composer, /_/debian, /r/oven/bun, /r/denoland/deno, /r/nginxinc/nginx-unprivileged)
# and mcr.microsoft.com/dotnet.
BASE_IMAGES: dict[str, str] = {
    "python": "python:{v}-slim-bookworm",
    "node": "node:{v}-bookworm-slim",
    "bun": "oven/bun:{v}-debian",
    "deno": "denoland/deno:debian-{v}",
    "go": "golang:{v}-bookworm",
    "rust": "rust:{v}-bookworm",
    "maven": "maven:3.9-eclipse-temurin-{v}",
    "gradle": "gradle:8.10-jdk{v}",
    "jdk": "eclipse-temurin:{v}-jdk",
    "jre": "eclipse-temurin:{v}-jre",
    "dotnet-sdk": "mcr.microsoft.com/dotnet/sdk:{v}",
    "dotnet-runtime": "mcr.microsoft.com/dotnet/aspnet:{v}",
    "ruby": "ruby:{v}-bookworm",
    "php": "php:{v}-cli-bookworm",
    "composer": "composer:2.8",
    "debian": "debian:12-slim",
    "nginx": "nginxinc/nginx-unprivileged:1.27",
}
DEFAULT_VERSIONS: dict[str, str] = {
    "python": "3.12",
    "node": "22",
    "bun": "1.1",
    "deno": "2.1.4",
    "go": "1.23",
    "rust": "1.83",
    "java": "21",
    "dotnet": "8.0",
    "ruby": "3.3",
    "php": "8.3",
}
# How much of a version the tag keeps, and what a valid one looks like.
_VERSION_SHAPES: dict[str, re.Pattern[str]] = {
    "python": re.compile(r"^(3\.\d{1,2})(?:\.\d+)?$"),
    "node": re.compile(r"^v?(\d{1,2})(?:\.\d+){0,2}$"),
    "bun": re.compile(r"^(1\.\d{1,2})(?:\.\d+)?$"),
    "deno": re.compile(r"^(2\.\d{1,2}\.\d{1,3})$"),
    "go": re.compile(r"^(1\.\d{1,2})(?:\.\d+)?$"),
    "rust": re.compile(r"^(1\.\d{1,3})(?:\.\d+)?$"),
    "java": re.compile(r"^(?:1\.)?(8|11|17|21|25)(?:\.\d+)*$"),
    "dotnet": re.compile(r"^(\d{1,2}\.\d)(?:\.\d+)?$"),
    "ruby": re.compile(r"^(3\.\d)(?:\.\d+)?$"),
    "php": re.compile(r"^(8\.\d)(?:\.\d+)?$"),
}

DOCKERIGNORE = "\n".join(
    [".git", "**/node_modules", "**/.venv", "**/__pycache__", "**/*.pyc", ".DS_Store", ""]
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CD_PREFIX = re.compile(r"^cd ([A-Za-z0-9._/-]+) && (.+)$")
_SHELL_OPERATORS = re.compile(r"&&|\|\||[;|&]")
_PIP_REQUIREMENTS = re.compile(r"^pip install -r ([A-Za-z0-9._/-]+)$")

# Install steps that need only the package manager's manifests, and those manifests (a
# trailing * lets a file be absent: COPY needs at least one source to match).
_NODE_INSTALLS: dict[str, tuple[re.Pattern[str], tuple[str, ...]]] = {
    "npm": (re.compile(r"^npm (?:ci|install)$"), ("package.json", "package-lock.json*")),
    "yarn": (re.compile(r"^yarn install(?: --frozen-lockfile)?$"), ("package.json", "yarn.lock*")),
    "pnpm": (
        re.compile(r"^pnpm install(?: --frozen-lockfile)?$"),
        ("package.json", "pnpm-lock.yaml*"),
    ),
    "bun": (
        re.compile(r"^bun install(?: --frozen-lockfile)?$"),
        ("package.json", "bun.lockb*", "bun.lock*"),
    ),
}
_BUNDLE_INSTALL = re.compile(r"^bundle install$")


class DockerfileError(ValueError):
    """The profile cannot be turned into an image build; the message names the field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class BuildRecipe:
    """How to build one service's image from the repository at the pinned commit.

    origin: "repository" (the repository's Dockerfile) or "generated".
    dockerfile_path: the repository's Dockerfile, relative to the repository root (None
      when generated: the builder writes `dockerfile` where it likes).
    context: the build context, relative to the repository root ("." is the root).
    dockerfile, dockerignore: the generated texts (None for origin "repository").
    port: the port the image serves on (None when the repository's Dockerfile names none
      and the analysis found none).
    base_images: the FROM images of a generated Dockerfile, in order.
    wrapper: for origin "repository", the Dockerfile that adds the launcher to the built
      image (function/build/launcher.py; build argument SCIA_APP_IMAGE), or None when the
      image cannot be wrapped (`wrap_problem` says why). A generated Dockerfile carries
      the launcher itself (static sites excepted: nginx reads no environment).
    wrap_problem: why a repository Dockerfile's image is not wrapped, or None.
    """

    origin: Literal["repository", "generated"]
    context: str
    port: int | None
    dockerfile_path: str | None = None
    dockerfile: str | None = None
    dockerignore: str | None = None
    base_images: tuple[str, ...] = ()
    wrapper: str | None = None
    wrap_problem: str | None = None


def build_recipe(profile: ServiceProfile, *, monorepo: bool | None = None) -> BuildRecipe:
    """The recipe for `profile` (an AppProfile's primary service, or one of its services).

    `monorepo` (default: the AppProfile's own flag, False for a bare ServiceProfile) turns
    the manifest-only dependency layer off: a workspace install needs every member.
    Raises DockerfileError when the service cannot be built.
    """
    if not profile.deployable:
        raise DockerfileError(
            "deployable", profile.not_deployable_reason or "the analysis found nothing to run"
        )
    df = profile.dockerfile
    if df.present:
        path = df.path or "Dockerfile"
        _check_path("dockerfile.path", path)
        folder = path.rsplit("/", 1)[0] if "/" in path else "."
        problem = launcher.wrap_problem(df.base_image, df.entrypoint_argv, df.cmd_argv)
        return BuildRecipe(
            origin="repository",
            context=folder,
            port=profile.port,
            dockerfile_path=path,
            wrapper=None
            if problem
            else launcher.wrapper_dockerfile(df.entrypoint_argv, df.cmd_argv),
            wrap_problem=problem,
        )
    if monorepo is None:
        monorepo = isinstance(profile, AppProfile) and profile.monorepo
    text, images, port = _generate(profile, monorepo=monorepo)
    return BuildRecipe(
        origin="generated",
        context=".",
        port=port,
        dockerfile=text,
        dockerignore=DOCKERIGNORE,
        base_images=tuple(images),
    )


# What a team can do when its repository's image cannot be built: bring its own image
# (per strategy: where it must live), or give the build a Dockerfile (built as it is).
ADD_DOCKERFILE = "add a Dockerfile to the repository (it is built as it is)"
_OWN_IMAGE = {
    None: "set spec.image to an image you build",
    "kubernetes": (
        "set spec.image to an image you build (in a registry the cluster's nodes can pull from)"
    ),
    "serverless": (
        "set spec.image to an image you build, in Amazon ECR in spec.region, with the AWS "
        "Lambda Web Adapter"
    ),
}


def unbuildable(error: DockerfileError, where: str = "", strategy: str | None = None) -> str:
    """The result text for an image that cannot be built: the field (`where` + the error's
    field, e.g. "status.decision.analysis."), the reason, and what the team can do (for
    `strategy`, "kubernetes" or "serverless"; None: any)."""
    field = where + error.field
    if error.field == "deployable":
        fix = (
            "add a Dockerfile that EXPOSEs the port the app listens on, or a start command "
            "the analyzer recognises (a Procfile `web:` line, package.json scripts.start)"
        )
    else:
        fix = f"{ADD_DOCKERFILE}, or {_OWN_IMAGE.get(strategy, _OWN_IMAGE[None])}"
    return f"the image cannot be built from the repository ({field}: {error.reason}); {fix}"


def image_build_problem(profile: ServiceProfile, strategy: str | None = None) -> str | None:
    """Why the repository's image cannot be built and what the team can do on `strategy`
    (`unbuildable`), or None."""
    try:
        build_recipe(profile)
    except DockerfileError as e:
        return unbuildable(e, "analysis.", strategy)
    return None


def recipe_for_pin(summary: AnalysisSummary) -> BuildRecipe:
    """The recipe for a pinned decision's analysis (`status.decision.analysis`): pure, no
    clone. A pin made before the build facts were recorded (no `runtime`) and without a
    Dockerfile is refused with DockerfileError naming `runtime`; deciding again records them.
    """
    return build_recipe(profile_for_pin(summary), monorepo=bool(summary.monorepo))


def profile_for_pin(summary: AnalysisSummary) -> ServiceProfile:
    """The service profile a pinned analysis (`status.decision.analysis`) records: what a
    build recipe, and a decision made again without a clone (right-sizing), read."""
    facts = DockerfileFacts()
    if summary.has_dockerfile:
        facts = DockerfileFacts(
            present=True,
            path=summary.dockerfile_path or "Dockerfile",
            base_image=summary.dockerfile_base,
            entrypoint_argv=summary.dockerfile_entrypoint,
            cmd_argv=summary.dockerfile_cmd,
        )
    return ServiceProfile(
        name="app",
        path=summary.service_path or ".",
        language=summary.language,
        framework=summary.framework,
        runtime=summary.runtime,
        runtime_version=summary.runtime_version,
        package_manager=summary.package_manager,
        ports=[summary.port] if summary.port else [],
        dockerfile=facts,
        build_command=summary.build_command,
        start_command=summary.start_command,
        static_site=bool(summary.static_site),
        deployable=summary.deployable,
    )


def generate_dockerfile(profile: ServiceProfile, *, monorepo: bool = False) -> str:
    """The generated Dockerfile for `profile` (ignores a Dockerfile the repository has)."""
    return _generate(profile, monorepo=monorepo)[0]


def base_image(kind: str, version: str | None) -> str:
    """The pinned image `kind` (a BASE_IMAGES key) for a runtime `version` (or the default).

    A version the table cannot express (e.g. "^18 || ^20", "latest") falls back to the
    default line: a tag is never built from free text.
    """
    runtime = {
        "maven": "java",
        "gradle": "java",
        "jdk": "java",
        "jre": "java",
        "dotnet-sdk": "dotnet",
        "dotnet-runtime": "dotnet",
    }.get(kind, kind)
    pattern = BASE_IMAGES[kind]
    if "{v}" not in pattern:
        return pattern
    shape = _VERSION_SHAPES[runtime]
    m = shape.match((version or "").strip())
    return pattern.format(v=m.group(1) if m else DEFAULT_VERSIONS[runtime])


# --- generation ---------------------------------------------------------------------------


@dataclass
class _Lines:
    lines: list[str]
    images: list[str]

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def from_(self, image: str, stage: str | None = None) -> None:
        self.images.append(image)
        if self.lines:
            self.lines.append("")
        self.lines.append(f"FROM {image}" + (f" AS {stage}" if stage else ""))


def _check_command(field: str, command: str | None) -> str | None:
    if command is None:
        return None
    command = command.strip()
    if _CONTROL.search(command):
        raise DockerfileError(field, "contains a control character (a line break?)")
    return command or None


def _check_path(field: str, path: str) -> None:
    if _CONTROL.search(path) or path.startswith("/") or ".." in path.split("/"):
        raise DockerfileError(field, f"{path!r} is not a path inside the repository")


def _run(command: str) -> str:
    return "RUN " + json.dumps(["/bin/sh", "-c", command])


def _cmd(command: str) -> str:
    """CMD in exec form; `exec` replaces the shell so the app receives SIGTERM."""
    m = _CD_PREFIX.match(command)
    prefix, rest = (f"cd {m.group(1)} && ", m.group(2)) if m else ("", command)
    if not _SHELL_OPERATORS.search(rest):
        rest = f"exec {rest}"
    return "CMD " + json.dumps(["/bin/sh", "-c", prefix + rest])


def _user(out: _Lines) -> None:
    """Create the unprivileged user (Debian and Ubuntu based images all have useradd)."""
    out.add(
        _run(f"useradd --create-home --uid {UID} --user-group --shell /bin/sh {USER}"),
        f"WORKDIR {APP_DIR}",
        _run(f"chown {USER}:{USER} {APP_DIR}"),
    )


def _deps_layer(profile: ServiceProfile, build: str | None, monorepo: bool) -> list[str]:
    """COPY the manifests and RUN the install step before the sources, when that is safe.

    Safe means: the build starts with an install step we know needs only the manifests, and
    it runs in the service's own folder (a workspace install at the root needs every
    member, so monorepos get no such layer).
    """
    if monorepo:
        return []
    pm = profile.package_manager
    folder = "."
    rest = build or ""
    m = _CD_PREFIX.match(rest)
    if m:
        folder, rest = m.group(1), m.group(2)
    if folder != profile.path and not (folder == "." and profile.path in ("", ".")):
        return []
    first = rest.split(" && ", 1)[0].strip()
    dest = "./" if folder == "." else f"./{folder.rstrip('/')}/"
    inside = "" if folder == "." else f"cd {folder} && "
    manifests: tuple[str, ...] = ()
    install = first
    if pm in _NODE_INSTALLS and _NODE_INSTALLS[pm][0].match(first):
        manifests = _NODE_INSTALLS[pm][1]
    elif pm == "pip" and (req := _PIP_REQUIREMENTS.match(first)):
        manifests = (req.group(1),)
    elif pm == "bundler" and _BUNDLE_INSTALL.match(first):
        manifests = ("Gemfile", "Gemfile.lock*")
    elif pm == "go":
        manifests, install = ("go.mod", "go.sum*"), "go mod download"
    if not manifests:
        return []
    prefix = "" if folder == "." else f"{folder.rstrip('/')}/"
    sources = " ".join(prefix + f for f in manifests)
    return [
        f"COPY --chown={USER}:{USER} {sources} {dest}",
        _run(inside + install),
    ]


def _generate(profile: ServiceProfile, *, monorepo: bool) -> tuple[str, list[str], int]:
    build = _check_command("build_command", profile.build_command)
    start = _check_command("start_command", profile.start_command)
    _check_path("path", profile.path or ".")
    out = _Lines([], [])
    out.add("# syntax=docker/dockerfile:1", "# Generated by function-scia from the analysis.")
    if profile.static_site and not start:
        return _static(out, profile, build)
    runtime = profile.runtime
    if not start:
        raise DockerfileError(
            "start_command",
            "the analysis found no start command (a Procfile `web:` line, "
            "package.json scripts.start, ...)",
        )
    port = profile.port
    if port is None:
        raise DockerfileError(
            "ports", "the analysis found no port (the app's PORT default, or EXPOSE)"
        )
    version = profile.runtime_version
    deps = _deps_layer(profile, build, monorepo)
    if runtime in ("python", "node", "bun", "deno", "ruby", "php"):
        _interpreted(out, profile, runtime, version, deps, build)
    elif runtime in ("go", "rust", "java", "dotnet"):
        _compiled(out, profile, runtime, version, deps, build)
    else:
        raise DockerfileError("runtime", f"no image recipe for runtime {runtime!r}")
    out.add(f"ENV PORT={port}")
    if runtime == "dotnet":
        out.add(f"ENV ASPNETCORE_HTTP_PORTS={port}")
    if runtime in ("go", "rust", "java", "dotnet"):
        out.add(f"USER {USER}")
    out.add(f"EXPOSE {port}", launcher.entrypoint_line(), _cmd(start))
    return "\n".join(out.lines) + "\n", out.images, port


def _interpreted(
    out: _Lines,
    profile: ServiceProfile,
    runtime: str,
    version: str | None,
    deps: list[str],
    build: str | None,
) -> None:
    out.from_(base_image(runtime, version))
    if runtime == "python":
        out.add("ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1")
    else:
        out.add(launcher.python_install_line())
    out.add(*launcher.install_lines())
    _user(out)
    if runtime == "python":
        # A virtualenv the user owns: pip installs without root, outside the sources.
        out.add(
            _run(f"python -m venv /opt/venv && chown -R {USER}:{USER} /opt/venv"),
            "ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH",
        )
    elif runtime == "node" and profile.package_manager in ("yarn", "pnpm"):
        out.add(_run("corepack enable"))
    elif runtime == "php":
        out.add(
            f"COPY --from={base_image('composer', None)} /usr/bin/composer /usr/bin/composer",
            _run(
                "apt-get update && apt-get install -y --no-install-recommends git unzip "
                "&& rm -rf /var/lib/apt/lists/*"
            ),
        )
    out.add(f"USER {USER}", *deps, f"COPY --chown={USER}:{USER} . .")
    if build:
        out.add(_run(build))
    if runtime in ("node", "bun"):
        out.add("ENV NODE_ENV=production")


def _compiled(
    out: _Lines,
    profile: ServiceProfile,
    runtime: str,
    version: str | None,
    deps: list[str],
    build: str | None,
) -> None:
    if not build:
        raise DockerfileError("build_command", f"a {runtime} service needs a build command")
    if runtime == "go":
        builder, final = base_image("go", version), base_image("debian", None)
    elif runtime == "rust":
        builder, final = base_image("rust", version), base_image("debian", None)
    elif runtime == "java":
        wrapper = re.search(r"(^|&& )\./(mvnw|gradlew)\b", build)
        kind = "jdk" if wrapper else ("gradle" if profile.package_manager == "gradle" else "maven")
        builder, final = base_image(kind, version), base_image("jre", version)
    else:
        builder, final = base_image("dotnet-sdk", version), base_image("dotnet-runtime", version)
    out.from_(builder, "build")
    out.add(f"WORKDIR {APP_DIR}")
    # The build stage runs as root: nothing of it runs in the final image but its output.
    out.add(*(d.replace(f"--chown={USER}:{USER} ", "") for d in deps), "COPY . .", _run(build))
    if runtime == "rust":
        # Keep the binaries, drop the intermediate objects (often gigabytes).
        out.add(
            _run(
                "rm -rf target/release/deps target/release/build target/release/incremental "
                "target/release/.fingerprint target/debug"
            )
        )
    out.from_(final)
    if runtime in ("go", "rust"):
        out.add(
            _run(
                "apt-get update && apt-get install -y --no-install-recommends ca-certificates "
                "libssl3 && rm -rf /var/lib/apt/lists/*"
            )
        )
    out.add(launcher.python_install_line(), *launcher.install_lines())
    _user(out)
    out.add(f"COPY --from=build --chown={USER}:{USER} {APP_DIR} {APP_DIR}")


_STATIC_OUTPUT = {"vite": "dist", "nextjs": "out", "create-react-app": "build", "astro": "dist"}


def _static(out: _Lines, profile: ServiceProfile, build: str | None) -> tuple[str, list[str], int]:
    site = "/usr/share/nginx/html"
    folder = "." if profile.path in ("", ".") else profile.path.rstrip("/")
    if build:
        out.from_(base_image("node", profile.runtime_version), "build")
        out.add(f"WORKDIR {APP_DIR}")
        if profile.package_manager in ("yarn", "pnpm"):
            out.add(_run("corepack enable"))
        out.add("COPY . .", _run(build))
        output = _STATIC_OUTPUT.get(profile.framework or "", "dist")
        source = output if folder == "." else f"{folder}/{output}"
        out.from_(base_image("nginx", None))
        out.add(f"COPY --from=build {APP_DIR}/{source}/ {site}/")
    else:
        out.from_(base_image("nginx", None))
        out.add(f"COPY {folder}/ {site}/")
    # The unprivileged nginx image already runs as a non-root user (uid 101) on 8080.
    out.add(f"EXPOSE {STATIC_PORT}")
    return "\n".join(out.lines) + "\n", out.images, STATIC_PORT
