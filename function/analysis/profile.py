"""The application profile: what the analyzer found in a repository, with evidence."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PROFILE_VERSION = 1

DataStore = Literal["postgres", "mysql", "redis", "mongodb", "sqlite"]
Source = Literal["repository", "default", "inferred"]


class Evidence(BaseModel):
    """Where a fact was seen: a file (relative to the repository root) and a line."""

    model_config = ConfigDict(frozen=True)

    fact: str = Field(description="the profile field this supports, e.g. 'port' or 'framework'")
    value: str
    file: str
    line: int | None = None
    confidence: float = Field(ge=0.0, le=1.0)
    source: Source = Field(
        default="repository",
        description="repository: read in the repository; default: the framework's or image's "
        "documented default; inferred: derived from what the repository holds (e.g. a start "
        "command built from the entry module)",
    )


class DockerfileFacts(BaseModel):
    present: bool = False
    path: str | None = None
    base_image: str | None = None
    exposed_ports: list[int] = Field(default_factory=list)
    cmd: str | None = None
    entrypoint: str | None = None
    # The final stage's CMD and ENTRYPOINT as the container runtime runs them (exec form as
    # written; shell form as ["/bin/sh", "-c", text]); None when the stage declares none.
    cmd_argv: list[str] | None = None
    entrypoint_argv: list[str] | None = None


class ServiceProfile(BaseModel):
    """One deployable unit. A single-app repository has one; a monorepo has several."""

    name: str
    path: str = "."
    languages: list[str] = Field(default_factory=list)
    language: str | None = None
    framework: str | None = None
    runtime_version: str | None = None
    runtime: str | None = Field(
        default=None, description="what runs the app: node, bun, deno, python, go, java, ..."
    )
    package_manager: str | None = Field(
        default=None, description="npm, pnpm, yarn, bun, pip, poetry, uv, maven, gradle, ..."
    )
    dependencies: list[str] = Field(default_factory=list)
    ports: list[int] = Field(default_factory=list)
    dockerfile: DockerfileFacts = Field(default_factory=DockerfileFacts)
    build_command: str | None = Field(
        default=None, description="shell command, run at the repository root"
    )
    start_command: str | None = Field(
        default=None, description="shell command, run at the repository root after the build"
    )
    health_check_path: str | None = None
    datastores: list[DataStore] = Field(default_factory=list)
    datastore_env: dict[str, str] = Field(
        default_factory=dict,
        description="store -> the environment variable the code reads its URL from",
    )
    static_site: bool = False
    deployable: bool = True
    not_deployable_reason: str | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    sources: dict[str, Source] = Field(
        default_factory=dict,
        description="where each decided fact came from (framework, port, start_command, ...)",
    )
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)

    @property
    def port(self) -> int | None:
        return self.ports[0] if self.ports else None


class AppProfile(ServiceProfile):
    """The profile of a repository at one commit.

    The top-level fields describe the primary service; `services` lists every
    deployable unit of a monorepo (each with its own profile).
    """

    version: int = PROFILE_VERSION
    url: str
    ref: str
    commit: str
    services: list[ServiceProfile] = Field(default_factory=list)
    monorepo: bool = Field(default=False, description="more than one deployable service")
    file_count: int = 0
    analyzed_bytes: int = 0
    warnings: list[str] = Field(
        default_factory=list,
        description="files the analysis ignored and why (e.g. a manifest that does not parse)",
    )
