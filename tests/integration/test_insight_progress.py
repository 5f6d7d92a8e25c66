"""Forecasts, freshness and shortfall attribution, read through the indicator's API and
/metrics after reports travelled intake → Kafka → indicator."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.data import cell, report_body
from tests.support.platform import Platform
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def test_progress_carries_forecasts_freshness_and_the_shortfalls_origin(
    platform: Platform,
) -> None:
    project = await platform.register()
    path = f"/v1/projects/{project.project_id}/reports"
    for period, count in (("2024-S2", 100), ("2025-S1", 200)):
        r = await platform.intake.post(
            path, headers=project.headers, json=report_body(period, cell(count=count))
        )
        assert r.status_code == 201, r.text

    async def progress() -> Any:
        r = await platform.indicator.get(
            f"/v1/projects/{project.project_id}/progress", headers=platform.staff
        )
        return r.json() if r.status_code == 200 else None

    answer = await eventually(progress, lambda a: a is not None and a["totals"]["trained"] == 300)
    assert answer["freshness"] == {  # the clock is at 2025-09-01: 2025-S1 is the last closed
        "latest_report_on": "2025-09-01",
        "latest_period": "2025-S1",
        "semesters_behind": 0,
    }
    # Points 0, 100, 300 → 160 a semester; 4,200 to go → 27 semesters → 2038-S2, 22 late.
    assert answer["commitments"][0]["forecast"] == {
        "status": "late",
        "reached_on": "2038-12-31",
        "pace_per_semester": 160.0,
        "semesters_late": 22,
    }

    r = await platform.indicator.get(
        "/v1/progress", params={"sheet": "cloud", "explain": "cloud-bac5"}, headers=platform.staff
    )
    assert r.status_code == 200, r.text
    explanation = r.json()["explanation"]
    assert explanation["actual"] == 300
    assert [c["key"] for c in explanation["by_region"]] == ["84"]
    assert explanation["by_level"][0]["key"] == "bac+5"
    assert explanation["by_region"][0]["gap"] == explanation["expected"] - 300

    refused = await platform.indicator.get(
        "/v1/progress", params={"sheet": "cloud", "explain": "nope"}, headers=platform.staff
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["query", "explain"]

    # /metrics is rebuilt in the background after the batches applied: polled until fresh.
    forecast = (
        'cma_indicator_target_forecast{reading="as_reported",sheet="cloud",status="late",'
        'target="cloud-bac5"} 1.0'
    )
    stale = 'cma_indicator_projects_by_staleness{semesters_behind="0",sheet="cloud"} 1.0'

    async def scraped() -> str:
        return (await platform.indicator.get("/metrics")).text

    await eventually(scraped, lambda text: forecast in text and stale in text)
