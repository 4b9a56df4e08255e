"""Settings of the repository analyzer (embedded in the function input as `analysis:`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

MIB = 1024 * 1024


class AnalysisSettings(BaseModel):
    """Limits and permissions of one analyzer. Keys accept snake_case or camelCase."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    allow_file_urls: bool = Field(
        default=False, description="accept file:// URLs and local paths (local use, tests)"
    )
    allow_private_addresses: bool = Field(
        default=False,
        description="accept hosts on loopback, private, link-local and other non-global ranges",
    )
    max_clone_bytes: int = Field(default=200 * MIB, ge=1, description="size of fetched objects")
    max_files: int = Field(default=20_000, ge=1, description="files in the commit's tree")
    max_file_bytes: int = Field(default=1 * MIB, ge=1, description="larger files are not read")
    max_read_bytes: int = Field(
        default=32 * MIB, ge=1, description="total bytes of files read for analysis"
    )
    timeout_seconds: float = Field(default=60.0, gt=0, le=600, description="one analysis")
    resolve_timeout_seconds: float = Field(default=10.0, gt=0, le=120, description="ref -> SHA")
    cache_size: int = Field(default=256, ge=0, description="profiles kept in memory (LRU)")
    ref_cache_seconds: float = Field(
        default=30.0, ge=0, description="how long a resolved ref -> SHA is reused"
    )
    max_concurrent_fetches: int = Field(default=2, ge=1, le=32)
    cpu_seconds: float = Field(
        default=20.0,
        gt=0,
        le=600,
        description="CPU time (user + system) the detectors may spend on one repository, in "
        "the analysis worker process; over it the analysis fails with the reason",
    )
    memory_mib: int = Field(
        default=1024,
        ge=256,
        le=16384,
        description="address space of the analysis worker process for one repository (MiB)",
    )
    ssh_known_hosts: str | None = Field(
        default=None,
        description="known_hosts lines for SSH remotes; without them the first key is accepted",
    )
    work_dir: str | None = Field(default=None, description="parent folder of temporary clones")
    ca_bundle: str | None = Field(
        default=None,
        max_length=200_000,
        description="PEM certificates trusted for https remotes instead of the system's "
        "(an internal git server with its own CA)",
    )
