"""The set-wise tick (docs/performance.md, B6): its read skips in SQL only what `status_at`
would leave unchanged, and what it writes per change is what the rule says, once."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, select

from contracts.events import MilestoneStatus, MilestoneStatusChanged, ReportOverdue, parse_event
from services.milestone import models as m
from services.milestone.domain import OPEN, Rules, status_at
from services.milestone.overdue_reports import evaluate_reports
from services.milestone.transitions import evaluate_milestones, read_open
from services.runtime.db import make_engine

NOW = datetime(2026, 1, 15, 9, tzinfo=UTC)
RULES = Rules(at_risk_days=30, tolerance=0.1, report_grace_days=60)
DAYS = range(-35, 36)


async def seed(url: str) -> uuid.UUID:
    """One project with a deliverable per (due date around today, open status), and one
    completed and one quantitative milestone the read must always return."""
    project = uuid.uuid4()
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(
            insert(m.projects),
            {
                "project_id": project,
                "name": "Projet",
                "sheet": "cloud",
                "regions": ["84"],
                "start_date": date(2024, 1, 1),
                "end_date": date(2026, 12, 31),
                "token_sha256": uuid.uuid4().hex * 2,
            },
        )
        rows = [
            {
                "project_id": project,
                "milestone_id": f"d{day}-{status.value}",
                "title": "Livrable",
                "due_date": NOW.date() + timedelta(days=day),
                "status": status.value,
                "completed_on": None,
                "criterion": None,
            }
            for day in DAYS
            for status in OPEN
        ]
        rows.append({**rows[0], "milestone_id": "done", "completed_on": date(2025, 1, 1)})
        rows.append(
            {
                **rows[0],
                "milestone_id": "quantitative",
                "criterion": {
                    "id": "c",
                    "label": "c",
                    "selector": {"kind": "trained"},
                    "value": 10,
                    "start": "2025-01-01",
                    "horizon": "2026-06-30",
                },
            }
        )
        await conn.execute(insert(m.milestones), rows)
    await engine.dispose()
    return project


async def test_the_read_skips_exactly_the_deliverables_the_date_leaves_unchanged(
    clean_database: str,
) -> None:
    project = await seed(clean_database)
    engine = make_engine(clean_database)
    async with engine.connect() as conn:
        read = await read_open(conn, NOW.date(), RULES, projects=[project])
        returned = {row["milestone_id"] for row in read}
    await engine.dispose()
    expected = {
        f"d{day}-{status.value}"
        for day in DAYS
        for status in OPEN
        if status_at(
            NOW.date(),
            due=NOW.date() + timedelta(days=day),
            completed_on=None,
            criterion=None,
            progress=None,
            rules=RULES,
        )
        != status
    }
    assert returned == expected | {"done", "quantitative"}


async def test_a_tick_writes_one_transition_and_one_event_per_change_and_nothing_the_next_time(
    clean_database: str,
) -> None:
    project = await seed(clean_database)
    engine = make_engine(clean_database)
    async with engine.begin() as conn:
        moved = await evaluate_milestones(conn, NOW, RULES, projects=[project])
        raised = await evaluate_reports(conn, NOW, RULES)
    async with engine.begin() as conn:
        assert await evaluate_milestones(conn, NOW, RULES, projects=[project]) == 0
        assert await evaluate_reports(conn, NOW, RULES) == 0
        transitions = (await conn.execute(select(m.transitions))).all()
        outbox = (await conn.execute(select(m.outbox.c.value).order_by(m.outbox.c.seq))).all()
        statuses = dict(
            (await conn.execute(select(m.milestones.c.milestone_id, m.milestones.c.status))).all()
        )
    await engine.dispose()

    events = [parse_event(row.value) for row in outbox]
    changed = [e for e in events if isinstance(e, MilestoneStatusChanged)]
    assert moved == len(changed) == len(transitions) > 0
    for event in changed:
        assert statuses[event.payload.milestone_id] == event.payload.status.value
        assert event.payload.project.name == "Projet"
    assert {t.seq for t in transitions} == {1}
    assert statuses["done"] == MilestoneStatus.MET.value
    # 2024-S1 … 2025-S1 closed past their grace by 2026-01-15 (2025-S2's deadline is in March).
    overdue = sorted(e.payload.period for e in events if isinstance(e, ReportOverdue))
    assert raised == len(overdue) and overdue == ["2024-S1", "2024-S2", "2025-S1"]
