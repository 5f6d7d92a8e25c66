"""Intake's migration 0008 gives the reports already kept the figures the checks on arrival
compare with: the same as `PeriodFigures.of` their cells."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime

from alembic import command

from contracts.reports import Cell
from services.intake.anomalies import PeriodFigures
from services.runtime.migrations import alembic_config, upgrade_async
from tests.support.database import fetch

CELLS = [
    {"kind": "trained", "level": "bac+5", "region": "84", "sex": "F", "count": 40},
    {"kind": "alternance", "level": "bac+5", "region": "84", "sex": "F", "count": 15},
    {"kind": "sensitised", "level": "bac+5", "region": "84", "sex": None, "count": 7},
]


async def test_reports_kept_before_the_figures_get_the_figures_of_their_cells(
    clean_database: str,
) -> None:
    config = alembic_config("intake", clean_database)
    await asyncio.to_thread(command.downgrade, config, "0007_h16b")
    try:
        project = uuid.uuid4()
        await fetch(
            clean_database,
            "insert into intake.projects (project_id, sheet, wave, name, lead, regions,"
            " start_date, end_date, commitments, token_sha256, created_at)"
            " values ($1, 'quantique', 'vague 1', 'P', 'L', '{84}', $2, $3, '[]', $4, $5)",
            project,
            date(2024, 1, 1),
            date(2027, 12, 31),
            uuid.uuid4().hex,
            datetime.now(UTC),
        )
        for revision, cells in ((1, CELLS), (2, [])):
            await fetch(
                clean_database,
                "insert into intake.reports (report_id, project_id, period, revision,"
                " request_sha256, submitted_by, submitted_at, cells)"
                " values ($1, $2, '2025-S1', $3, 'x', 'test', $4, $5::jsonb)",
                uuid.uuid4(),
                project,
                revision,
                datetime.now(UTC),
                json.dumps(cells),
            )
    finally:
        await upgrade_async(clean_database, "intake")
    rows = await fetch(
        clean_database,
        "select total_count, trained_count, sex_split from intake.reports order by revision",
    )
    expected = PeriodFigures.of([Cell.model_validate(c) for c in CELLS])
    assert [PeriodFigures(*row) for row in rows] == [expected, PeriodFigures(0, 0, False)]
    assert expected == PeriodFigures(47, 40, True)
