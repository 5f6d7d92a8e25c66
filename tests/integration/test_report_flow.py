"""A report travels intake → outbox → Kafka → indicator and is counted exactly once."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.data import cell, project_body, report_body
from tests.support.platform import Platform

pytestmark = pytest.mark.integration


async def register(platform: Platform, **overrides: Any) -> tuple[str, dict[str, str]]:
    r = await platform.intake.post(
        "/v1/projects", json=project_body(**overrides), headers=platform.staff
    )
    assert r.status_code == 201, r.text
    body = r.json()
    return body["project_id"], {"Authorization": f"Bearer {body['api_token']}"}


async def cloud_bac5(platform: Platform) -> int:
    r = await platform.indicator.get(
        "/v1/progress", params={"sheet": "cloud"}, headers=platform.staff
    )
    assert r.status_code == 200, r.text
    return next(t["actual"] for t in r.json()["targets"] if t["target_id"] == "cloud-bac5")


async def test_a_posted_report_appears_in_the_read_api_and_in_metrics(platform: Platform) -> None:
    project_id, token = await register(platform)
    r = await platform.intake.post(
        f"/v1/projects/{project_id}/reports",
        headers=token,
        json=report_body("2025-S1", cell(count=120), cell(level="bac+2", count=30)),
    )
    assert r.status_code == 201, r.text
    assert r.json()["revision"] == 1

    await platform.eventually(lambda: cloud_bac5(platform), 120)
    metrics = (await platform.indicator.get("/metrics")).text
    assert 'cma_indicator_target_actual{sheet="cloud",target="cloud-bac5"} 120.0' in metrics
    assert 'cma_indicator_people{kind="trained",sheet="cloud"} 150.0' in metrics
