"""spec.repository.path: which service of a monorepo is deployed."""

from __future__ import annotations

from function.analysis.profile import AppProfile, ServiceProfile
from function.decide.rules import DecisionError

_SERVICE_FIELDS = tuple(ServiceProfile.model_fields)


def select_service(profile: AppProfile, path: str | None) -> AppProfile:
    """The profile with the service at `path` as its top-level (deployed) and only service.

    None keeps the analyser's primary service. Raises DecisionError naming
    spec.repository.path and listing the services found when `path` is none of them.
    """
    if path is None:
        return profile
    wanted = path.strip("/") or "."
    services = profile.services or [profile]
    for service in services:
        if (service.path.strip("/") or ".") == wanted:
            return profile.model_copy(
                update={f: getattr(service, f) for f in _SERVICE_FIELDS if f != "evidence"}
                | {"evidence": list(service.evidence), "services": [service], "monorepo": False}
            )
    found = ", ".join(sorted({s.path for s in services})[:20]) or "none"
    raise DecisionError(
        f"invalid spec.repository.path: {path!r} is not a deployable service of the "
        f"repository at {profile.commit[:12]}; services found: {found}"
    )
