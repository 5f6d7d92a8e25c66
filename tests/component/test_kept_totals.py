"""The national totals the indicator keeps (`totals`, `approved_totals`) stay equal to the
GROUP BY over cells joined to projects that the national reads ran before: through random
sequences of batches, through concurrent batches of a registration and its project's reports,
and from the migration's backfill."""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import astuple
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.events import ProjectEvent, ProjectRegistered
from contracts.reports import Cell, ReviewDecision
from services.indicator.domain import Reading
from services.indicator.handlers import make_handler
from services.indicator.queries import IndicatorQueries
from services.runtime.db import make_engine
from services.runtime.migrations import alembic_config, upgrade_async
from services.runtime.token_events import ApplyProjectEvents
from tests.support.clock import FakeClock
from tests.support.events import project_registered, report_reviewed, report_submitted

READINGS = {"totals": "cells", "approved_totals": "approved_cells"}
SHEETS = ("cloud", "quantique")
PERIODS = ("2024-S1", "2024-S2", "2025-S1")
COORDINATES = [
    (kind, level, region, sex)
    for kind in ("trained", "sensitised")
    for level in ("bac", "bac+5")
    for region in ("84", "11")
    for sex in ("F", "M", None)
]


def grouped(cells: str) -> str:
    """What `IndicatorQueries.tallies` ran over every cell before, with the cells counted."""
    return f"""
        select p.sheet, c.kind, c.level, c.region, c.sex, c.audience, c.period,
            sum(c.count), count(*)
        from indicator.{cells} c join indicator.projects p on p.project_id = c.project_id
        where p.active
        group by p.sheet, c.kind, c.level, c.region, c.sex, c.audience, c.period"""


async def assert_totals_are_the_group_by(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        for totals, cells in READINGS.items():
            kept = await conn.execute(
                text(
                    "select sheet, kind, level, region, sex, audience, period, count, cells"
                    f" from indicator.{totals}"
                )
            )
            expected = await conn.execute(text(grouped(cells)))
            assert sorted(map(tuple, kept)) == sorted(map(tuple, expected)), totals


def registration(project_id: uuid.UUID, sheet: str) -> ProjectRegistered:
    event = project_registered(project_id, token_sha256=project_id.hex * 2)
    return event.model_copy(update={"payload": event.payload.model_copy(update={"sheet": sheet})})


def random_cells(rng: random.Random) -> list[Cell]:
    """Zero to six cells, counts from 0 (a group of zero people must still be listed)."""
    chosen = rng.sample(COORDINATES, rng.randint(0, 6))
    return [
        Cell.model_validate(
            {"kind": k, "level": lv, "region": r, "sex": s, "count": rng.choice((0, 1, 7, 30))}
        )
        for k, lv, r, s in chosen
    ]


def random_batch(rng: random.Random, projects: list[uuid.UUID]) -> list[ProjectEvent]:
    """Registrations (first, again, or after their reports), revisions in any order (late
    older ones included) and reviews, approving or not; some with no cells at all."""
    events: list[ProjectEvent] = []
    for _ in range(rng.randint(1, 8)):
        project = rng.choice(projects)
        roll = rng.random()
        if roll < 0.2:
            events.append(registration(project, SHEETS[projects.index(project) % 2]))
            continue
        cells = random_cells(rng)
        common: dict[str, Any] = {"period": rng.choice(PERIODS), "revision": rng.randint(1, 4)}
        if roll < 0.75:
            report = report_submitted(project, **common)
            events.append(
                report.model_copy(
                    update={"payload": report.payload.model_copy(update={"cells": tuple(cells)})}
                )
            )
        else:
            decision = rng.choice((ReviewDecision.APPROVED, ReviewDecision.APPROVED, None))
            review = report_reviewed(
                project, decision=decision or ReviewDecision.RETURNED, **common
            )
            events.append(
                review.model_copy(
                    update={"payload": review.payload.model_copy(update={"cells": tuple(cells)})}
                )
            )
    return events


async def apply_alone(
    engine: AsyncEngine, apply: ApplyProjectEvents, batch: list[ProjectEvent]
) -> None:
    async with engine.begin() as conn:
        await apply(conn, batch)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_batches_keep_the_totals_equal_to_the_group_by_over_cells(
    clean_database: str, seed: int
) -> None:
    rng = random.Random(seed)
    projects = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(5)]
    apply = make_handler(FakeClock())
    engine = make_engine(clean_database)
    try:
        for _ in range(40):
            async with engine.begin() as conn:
                await apply(conn, random_batch(rng, projects))
            await assert_totals_are_the_group_by(engine)
        # And the national reads answer from them what they answered from the cells.
        queries = IndicatorQueries(engine)
        for reading, cells in (
            (Reading.AS_REPORTED, "cells"),
            (Reading.APPROVED, "approved_cells"),
        ):
            async with engine.connect() as conn:
                before = [tuple(r[:8]) for r in await conn.execute(text(grouped(cells)))]
            for sheet in (None, *SHEETS):
                national = await queries.tallies(sheet=sheet, reading=reading)
                expected = [r for r in before if sheet in (None, r[0])]
                assert sorted(astuple(t) for t in national) == sorted(expected)
    finally:
        await engine.dispose()


async def test_a_registration_and_its_projects_reports_in_concurrent_batches_count_once(
    clean_database: str,
) -> None:
    """Whichever of the two transactions locks the project first, the other waits for its
    commit, then counts the reports' cells exactly once."""
    apply = make_handler(FakeClock())
    engine = make_engine(clean_database)
    try:
        for first_registers in (True, False):
            project = uuid.uuid4()
            batches: list[list[ProjectEvent]] = [
                [registration(project, "cloud")],
                [report_submitted(project, trained=12), report_reviewed(project, trained=12)],
            ]
            if not first_registers:
                batches.reverse()
            async with engine.connect() as first:
                await first.begin()
                await apply(first, batches[0])

                waiting = asyncio.create_task(apply_alone(engine, apply, batches[1]))
                await asyncio.sleep(0.3)
                assert not waiting.done()  # on the project's lock
                await first.commit()
            await waiting
            await assert_totals_are_the_group_by(engine)
        async with engine.connect() as conn:
            counts = (await conn.execute(text("select count, cells from indicator.totals"))).all()
        assert [tuple(r) for r in counts] == [(24, 2)]  # two projects, 12 each
    finally:
        await engine.dispose()


async def test_the_migration_fills_the_totals_from_the_cells_already_kept(
    clean_database: str,
) -> None:
    config = alembic_config("indicator", clean_database)
    await asyncio.to_thread(command.downgrade, config, "0008_h13t")
    try:
        engine = make_engine(clean_database)
        project, unregistered = uuid.uuid4(), uuid.uuid4()
        async with engine.begin() as conn:
            for p in (project, unregistered):
                for cells in READINGS.values():
                    for i, (kind, level, region, sex) in enumerate(COORDINATES[:5]):
                        await conn.execute(
                            text(
                                f"insert into indicator.{cells} (project_id, period, kind, level,"
                                " region, sex, audience, count) values (:p, '2025-S1', :k, :l,"
                                " :r, :s, '', :n)"
                            ),
                            {"p": p, "k": kind, "l": level, "r": region, "s": sex or "", "n": i},
                        )
            await conn.execute(
                text(
                    "insert into indicator.projects (project_id, sheet, wave, name, lead, regions,"
                    " start_date, end_date, commitments, token_sha256) values (:p, 'cloud', 'w',"
                    " 'P', 'L', '{84}', '2024-01-01', '2027-12-31', '[]', :t)"
                ),
                {"p": project, "t": project.hex * 2},
            )
        await engine.dispose()
    finally:
        await upgrade_async(clean_database, "indicator")
    engine = make_engine(clean_database)
    try:
        await assert_totals_are_the_group_by(engine)
        async with engine.connect() as conn:
            rows = (await conn.execute(text("select count(*) from indicator.totals"))).scalar()
        assert rows == 5  # the unregistered project's cells are kept, not counted; 0 included
    finally:
        await engine.dispose()
