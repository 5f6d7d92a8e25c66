"""A report tripping each check on arrival is taken (201) with its warnings, stored with the
revision, and raised as a report_anomaly alert delivered to a real webhook; a revision that
no longer trips a rule resolves its alert."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from services.intake import models as m
from tests.integration.test_insight_alerts import statuses
from tests.support.data import cell, report_body
from tests.support.platform import STAFF, Platform
from tests.support.waiting import eventually
from tests.support.webhooks import subscribed_receiver

pytestmark = pytest.mark.integration


async def test_each_arrival_rule_warns_stores_and_alerts(platform: Platform) -> None:
    async with subscribed_receiver(
        platform, "Anomalies", {"kinds": ["report_anomaly"]}
    ) as receiver:
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


async def test_a_silenced_rule_resolves_its_alerts_and_stops_warning_until_restored(
    platform: Platform,
) -> None:
    async with subscribed_receiver(
        platform, "Anomalies", {"kinds": ["report_anomaly"]}
    ) as receiver:
        project = await platform.register()
        await platform.known_everywhere(project)
        reports = f"/v1/projects/{project.project_id}/reports"
        silenced = f"/v1/projects/{project.project_id}/silenced-checks"
        mostly_alternance = (cell(count=100), cell(kind="alternance", count=95))

        async def post(period: str, key: str | None = None) -> list[str]:
            headers = project.headers | ({"Idempotency-Key": key} if key else {})
            r = await platform.intake.post(
                reports, headers=headers, json=report_body(period, *mostly_alternance)
            )
            assert r.status_code == 201, r.text
            return [w["rule"] for w in r.json()["warnings"]]

        assert await post("2024-S2") == ["alternance_share"]
        assert await post("2025-S1", key="k-2025-S1") == ["alternance_share"]
        # A retry answers what the first request did, warnings included.
        assert await post("2025-S1", key="k-2025-S1") == ["alternance_share"]

        reason = {"reason": "Projet d'apprentissage : l'alternance y est la règle."}
        refused = await platform.intake.put(
            f"{silenced}/alternance_share", headers=project.headers, json=reason
        )
        assert refused.status_code == 403, refused.text
        r = await platform.intake.put(f"{silenced}/alternance_share", headers=STAFF, json=reason)
        assert r.status_code == 200, r.text
        assert r.json()["rule"] == "alternance_share"
        again = await platform.intake.put(
            f"{silenced}/alternance_share", headers=STAFF, json={"reason": "Apprentissage."}
        )
        assert again.json()["silenced_at"] == r.json()["silenced_at"]
        listed = (await platform.intake.get(silenced, headers=project.headers)).json()
        assert [(c["rule"], c["reason"]) for c in listed["checks"]] == [
            ("alternance_share", "Apprentissage.")
        ]

        async def seen() -> dict[tuple[str, str], list[str]]:
            """Each status told, once: two deliveries to one subscriber may arrive in either
            order (they are sent concurrently)."""
            return {alert: sorted(told) for alert, told in statuses(receiver).items()}

        resolved = {
            ("report_anomaly", "2024-S2/alternance_share"): ["firing", "resolved"],
            ("report_anomaly", "2025-S1/alternance_share"): ["firing", "resolved"],
        }
        await eventually(seen, resolved)
        assert await post("2025-S2") == []

        r = await platform.intake.delete(f"{silenced}/alternance_share", headers=STAFF)
        assert r.status_code == 200, r.text
        assert r.json()["checks"] == []
        gone = await platform.intake.delete(f"{silenced}/alternance_share", headers=STAFF)
        assert gone.status_code == 404, gone.text
        assert await post("2025-S2") == ["alternance_share"]
        await eventually(
            seen, resolved | {("report_anomaly", "2025-S2/alternance_share"): ["firing"]}
        )
