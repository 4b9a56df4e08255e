"""spec.repository.path selects the service of a monorepo; a wrong path lists the services."""

from __future__ import annotations

from pathlib import Path

import pytest

from function.analysis.analyzer import analyze_path
from function.config.monorepo import select_service
from function.decide.rules import DecisionError

SHOP = Path(__file__).resolve().parents[2] / "examples" / "apps" / "shop"


@pytest.fixture(scope="module")
def shop() -> object:
    return analyze_path(SHOP)


def test_default_is_the_primary_service(shop: object) -> None:
    assert select_service(shop, None) is shop  # type: ignore[arg-type]


def test_path_selects_each_service(shop: object) -> None:
    profile = shop
    paths = sorted(s.path for s in profile.services)  # type: ignore[attr-defined]
    assert paths == ["services/api", "services/web"]
    for path in paths:
        got = select_service(profile, path + "/")  # type: ignore[arg-type]
        service = next(s for s in profile.services if s.path == path)  # type: ignore[attr-defined]
        assert got.path == path
        assert (got.framework, got.ports, got.start_command) == (
            service.framework,
            service.ports,
            service.start_command,
        )
        assert got.services == [service] and not got.monorepo  # deployed alone
    frameworks = {select_service(profile, p).framework for p in paths}  # type: ignore[arg-type]
    assert len(frameworks) == 2  # two different services, not the primary twice


def test_wrong_path_lists_the_services(shop: object) -> None:
    with pytest.raises(DecisionError) as e:
        select_service(shop, "services/nope")  # type: ignore[arg-type]
    msg = str(e.value)
    assert "spec.repository.path" in msg and "'services/nope'" in msg
    assert "services/api, services/web" in msg
