"""A service connects with its own role's URL where one is given, else the owner's."""

from __future__ import annotations

import pytest

from services.runtime.registry import SERVICES
from services.runtime.settings import Settings

OWNER = "postgresql+asyncpg://cma:pw@db:5432/cma"


def test_a_service_with_its_own_url_connects_as_its_role_the_others_as_the_owner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = SERVICES[0].name, SERVICES[1].name
    own = f"postgresql+asyncpg://cma_{first}:pw@db:5432/cma"
    monkeypatch.setenv(f"CMA_{first.upper()}_DATABASE_URL", own)
    monkeypatch.delenv(f"CMA_{second.upper()}_DATABASE_URL", raising=False)
    settings = Settings(database_url=OWNER)
    assert settings.service_database_url(first) == own
    assert settings.service_database_url(second) == OWNER
    assert settings.database_urls == {first: own}


def test_an_empty_service_url_falls_back_to_the_owner(monkeypatch: pytest.MonkeyPatch) -> None:
    name = SERVICES[0].name
    monkeypatch.setenv(f"CMA_{name.upper()}_DATABASE_URL", "")
    assert Settings(database_url=OWNER).service_database_url(name) == OWNER
