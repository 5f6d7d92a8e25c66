"""Where the portal and `cma bilan` reach each service: one rule, in the settings."""

from __future__ import annotations

import pytest

from services.runtime.registry import SERVICES
from services.runtime.settings import Settings


def test_each_service_defaults_to_its_port_on_this_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for spec in SERVICES:
        monkeypatch.delenv(f"CMA_{spec.name.upper()}_URL", raising=False)
        monkeypatch.delenv(spec.port_variable, raising=False)
    monkeypatch.setenv("CMA_INDICATOR_PORT", "9102")
    urls = Settings().service_urls
    assert set(urls) == {spec.name for spec in SERVICES}
    assert urls["indicator"] == "http://127.0.0.1:9102"
    assert urls["intake"] == "http://127.0.0.1:8001"


def test_a_service_url_variable_wins_without_its_trailing_slash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CMA_ALERTING_URL", "http://alerting.cma.svc:8004/")
    assert Settings().service_urls["alerting"] == "http://alerting.cma.svc:8004"
