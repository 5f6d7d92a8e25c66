"""A report tripping each check on arrival is taken (201) with its warnings, stored with the
revision, and raised as a report_anomaly alert delivered to a real webhook; a revision that
no longer trips a rule resolves its alert."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from services.intake import models as m
from tests.integration.test_alerting_delivery import Receiver, receiving
from tests.integration.test_insight_alerts import statuses
from tests.support.data import cell, report_body
from tests.support.platform import STAFF, Platform, settings_for_tests
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def test_each_arrival_rule_warns_stores_and_alerts(platform: Platform) -> None:
    settings = settings_for_tests(
        platform.database_url,
        platform.bootstrap,
        alert_group_wait_seconds=0,
        webhook_allow_private=True,
    )
    alerting = await platform.start("alerting", settings)
    receiver = Receiver()
    async with receiving(receiver) as hook:
        body = {
            "name": "Anomalies",
            "channel": {"type": "webhook", "url": hook, "secret": "receiver-secret-0123456789"},
            "filters": {"kinds": ["report_anomaly"]},
        }
        assert (await alerting.post("/v1/subscriptions", headers=STAFF, json=body)).is_success
        project = await platform.register()
        await platform.known_everywhere(project)
        path = f"/v1/projects/{project.project_id}/reports"

        async def post(period: str, *cells: dict[str, object]) -> list[str]:
            r = await platform.intake.post(
                path, headers=project.headers, json=report_body(period, *cells)
            )
            assert r.status_code == 201, r.text
            return [w["rule"] for w in r.json()["warnings"]]

        split = (cell(count=100, sex="F"), cell(count=100, sex="M"))
        assert await post("2024-S1", *split) == []
        assert await post("2024-S2", *split) == []
        assert await post("2025-S1", cell(count=2_000), cell(kind="alternance", count=1_900)) == [
            "semester_spike",
            "sex_split_dropped",
            "alternance_share",
        ]
        assert await post("2025-S1", cell(count=0)) == ["revision_swing", "zero_after_nonzero"]

        engine = create_async_engine(platform.database_url)
        async with engine.connect() as conn:
            r = m.reports.c
            stored = (
                await conn.execute(
                    select(r.revision, r.warnings)
                    .where(r.project_id == project.project_id, r.period == "2025-S1")
                    .order_by(r.revision)
                )
            ).all()
        await engine.dispose()
        assert [len(w) for _, w in stored] == [3, 2]

        expected = {
            ("report_anomaly", "2025-S1/semester_spike"): ["firing", "resolved"],
            ("report_anomaly", "2025-S1/sex_split_dropped"): ["firing", "resolved"],
            ("report_anomaly", "2025-S1/alternance_share"): ["firing", "resolved"],
            ("report_anomaly", "2025-S1/revision_swing"): ["firing"],
            ("report_anomaly", "2025-S1/zero_after_nonzero"): ["firing"],
        }

        async def seen() -> dict[tuple[str, str], list[str]]:
            return statuses(receiver)

        await eventually(seen, expected)
