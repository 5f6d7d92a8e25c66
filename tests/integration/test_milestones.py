"""Milestones and report deadlines over the real broker and database, with a fake clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from contracts.events import (
    MilestoneStatusChanged,
    ReportOverdue,
    ReportOverdueCleared,
    parse_event,
)
from contracts.topics import MILESTONES, STATUS
from services.milestone.app import create_app as milestone_app
from tests.support.data import cell, project_body, report_body
from tests.support.database import fetch
from tests.support.kafka import publish, read_all
from tests.support.platform import EmbeddedKafka, Platform
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

HALF = {
    "id": "moitie",
    "label": "100 formés",
    "selector": {"kind": "trained"},
    "value": 100,
    "start": "2025-09-01",
    "horizon": "2026-03-01",
}


async def register(
    platform: Platform, milestones: list[dict[str, Any]], **extra: Any
) -> tuple[str, dict[str, str]]:
    r = await platform.intake.post(
        "/v1/projects", headers=platform.staff, json=project_body(milestones=milestones, **extra)
    )
    assert r.status_code == 201, r.text
    project_id = r.json()["project_id"]

    async def known() -> int:
        r = await platform.milestone.get(
            "/v1/milestones", params={"project_id": project_id}, headers=platform.staff
        )
        return len(r.json()["milestones"])

    await eventually(known, len(milestones))
    return project_id, {"Authorization": f"Bearer {r.json()['api_token']}"}


def of_kind(values: list[bytes], kind: type) -> list[Any]:
    events = [parse_event(value) for value in values]
    return sorted((e for e in events if isinstance(e, kind)), key=lambda e: e.occurred_at)


async def status_events(kafka: EmbeddedKafka, kind: type = MilestoneStatusChanged) -> list[Any]:
    """What the broker holds so far (the outbox relay publishes shortly): poll it."""
    return of_kind([r.value for r in await read_all(kafka.bootstrap, STATUS)], kind)


async def emitted(platform: Platform, kind: type = MilestoneStatusChanged) -> list[Any]:
    """Every status event the milestone service committed to its outbox, sent or not: what
    proves that nothing (more) happened."""
    rows = await fetch(
        platform.database_url,
        "select value from milestone.outbox where topic = $1 order by seq",
        STATUS.name,
    )
    return of_kind([row["value"] for row in rows], kind)


async def duplicates_dropped(platform: Platform, consumer: str) -> float:
    """How many events `consumer` has taken and dropped as already applied."""
    text = (await platform.milestone.get("/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "cma_milestone_events_total"
        and sample.labels == {"consumer": consumer, "outcome": "duplicate"}
    )


def moves(events: list[MilestoneStatusChanged]) -> list[tuple[str, str]]:
    return [(e.payload.previous.value, e.payload.status.value) for e in events]


async def test_a_quantitative_milestone_goes_at_risk_overdue_then_met_late_in_three_events(
    platform: Platform, kafka: EmbeddedKafka
) -> None:
    project_id, token = await register(
        platform,
        [
            {
                "milestone_id": "moitie",
                "title": "100 formés",
                "due_date": "2026-03-01",
                "criterion": HALF,
            }
        ],
    )
    await platform.ticker.tick()  # six months ahead: still pending (unreported semesters flagged)
    assert await emitted(platform) == []

    platform.clock.now = datetime(2026, 2, 10, tzinfo=UTC)  # due in 19 days, nobody trained
    await platform.ticker.tick()
    platform.clock.now = datetime(2026, 3, 2, tzinfo=UTC)
    await platform.ticker.tick()
    r = await platform.intake.post(
        f"/v1/projects/{project_id}/reports",
        headers=token,
        json=report_body("2026-S1", cell(count=100)),
    )
    assert r.status_code == 201, r.text

    async def met() -> list[tuple[str, str]]:
        return moves(await status_events(kafka))

    assert await eventually(met, lambda m: len(m) >= 3) == [
        ("pending", "at_risk"),
        ("at_risk", "overdue"),
        ("overdue", "met_late"),
    ]
    timeline = (
        await platform.milestone.get(f"/v1/projects/{project_id}/milestones", headers=token)
    ).json()
    assert [t["status"] for t in timeline["transitions"]] == ["at_risk", "overdue", "met_late"]
    assert timeline["milestones"][0]["status"] == "met_late"
    assert timeline["milestones"][0]["quantitative"] is True


async def test_a_deliverable_completed_on_time_emits_one_met(
    platform: Platform, kafka: EmbeddedKafka
) -> None:
    project_id, token = await register(
        platform, [{"milestone_id": "ouverture", "title": "Ouverture", "due_date": "2025-12-01"}]
    )
    r = await platform.intake.post(
        f"/v1/projects/{project_id}/milestones/ouverture/complete",
        headers=token,
        json={"completed_on": "2025-08-30"},
    )
    assert r.status_code == 200, r.text

    async def met() -> list[tuple[str, str]]:
        return moves(await status_events(kafka))

    assert await eventually(met, lambda m: len(m) >= 1) == [("pending", "met")]
    await platform.ticker.tick()
    assert moves(await emitted(platform)) == [("pending", "met")]
    r = await platform.milestone.get(f"/v1/projects/{project_id}/milestones", headers=token)
    [listed] = r.json()["milestones"]
    assert listed["quantitative"] is False  # a deliverable: no criterion


async def test_restarts_duplicates_and_concurrent_ticks_emit_each_transition_once(
    platform: Platform, kafka: EmbeddedKafka
) -> None:
    await register(
        platform,
        [
            {"milestone_id": f"m{i}", "title": f"Livrable {i}", "due_date": "2025-10-15"}
            for i in range(5)
        ],
    )
    platform.clock.now = datetime(2025, 10, 1, tzinfo=UTC)
    await platform.ticker.tick()  # all five at risk
    at_risk = await eventually(lambda: status_events(kafka), lambda e: len(e) >= 5)
    assert len(at_risk) == 5

    # A restarted service (a new instance on the same database) ticks at the same time.
    restarted = milestone_app(platform.settings, platform.clock).state.ticker
    assert await restarted.tick() == 0
    # The same upstream events delivered again change nothing.
    again = [r.value for r in await read_all(kafka.bootstrap, MILESTONES)]
    await publish(kafka.bootstrap, MILESTONES, again)
    await eventually(
        lambda: duplicates_dropped(platform, "milestone.milestones"), lambda n: n >= len(again)
    )
    assert len(await emitted(platform)) == 5
    # Two evaluators ticking at once after the due date: each transition happens once.
    platform.clock.now = datetime(2025, 10, 16, tzinfo=UTC)
    changed = await asyncio.gather(platform.ticker.tick(), restarted.tick())
    assert sum(changed) == 5
    events = await eventually(lambda: status_events(kafka), lambda e: len(e) >= 10)
    assert sorted(moves(events)) == [("at_risk", "overdue")] * 5 + [("pending", "at_risk")] * 5
    assert len({e.event_id for e in events}) == 10
    assert len(await emitted(platform)) == 10
    await restarted.engine.dispose()


async def test_a_missed_semester_raises_one_overdue_report_cleared_by_its_arrival(
    platform: Platform, kafka: EmbeddedKafka
) -> None:
    project_id, token = await register(platform, [], start_date="2025-01-01")
    # 1 September 2025: 2025-S1 closed on 30 June, its 60-day grace ended on 29 August.
    # (Tick until the milestone service has learnt of the project: then exactly one flag.)
    await eventually(platform.ticker.tick, 1)
    assert await platform.ticker.tick() == 0
    overdue = await eventually(  # the outbox relay publishes it shortly
        lambda: status_events(kafka, ReportOverdue), lambda found: len(found) >= 1
    )
    assert [(e.payload.period, str(e.payload.deadline)) for e in overdue] == [
        ("2025-S1", "2025-08-29")
    ]
    listed = await platform.milestone.get("/v1/overdue-reports", headers=token)
    assert [o["period"] for o in listed.json()["overdue_reports"]] == ["2025-S1"]

    r = await platform.intake.post(
        f"/v1/projects/{project_id}/reports",
        headers=token,
        json=report_body("2025-S1", cell(count=3)),
    )
    assert r.status_code == 201

    async def cleared() -> list[str]:
        return [e.payload.period for e in await status_events(kafka, ReportOverdueCleared)]

    assert await eventually(cleared, ["2025-S1"]) == ["2025-S1"]
    assert await platform.ticker.tick() == 0
    assert len(await emitted(platform, ReportOverdue)) == 1
    listed = await platform.milestone.get("/v1/overdue-reports", headers=token)
    assert listed.json()["overdue_reports"] == []
