"""The national reads answer what they answered before B8's last steps: `approvals()` from the
share kept per sheet (`sheet_approvals`) and each period's kept sums (`periods.people`, `.cells`)
equals the join of every cell to `periods` and `approved_periods` it ran before, and the
tallies summed to the dimensions a read needs give the same figures and the same /metrics bytes
as the tallies by every dimension. Through random batches (revisions, approvals, returns,
amendments and closures in any order, registrations before or after their reports), through the
same history replayed in other batches, and from the migrations' backfills."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Collection
from datetime import date
from typing import Any

import pytest
from alembic import command
from prometheus_client.exposition import generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.catalog import load_catalog
from contracts.events import ProjectEvent, ProjectRegistered
from contracts.reports import Cell, ReviewDecision
from services.indicator import models as m
from services.indicator.domain import DIMENSIONS, Approval, Dimension, Reading, Tally
from services.indicator.figures import COVERAGE_BY, SHEET_BY, Figures
from services.indicator.handlers import make_handler
from services.indicator.metrics import Staleness, national_families
from services.indicator.queries import IndicatorQueries, kept_sums
from services.runtime.db import make_engine
from services.runtime.metrics import SnapshotCollector
from services.runtime.migrations import alembic_config, upgrade_async
from services.runtime.token_events import ApplyProjectEvents
from tests.support.clock import FakeClock
from tests.support.database import truncate_all
from tests.support.events import (
    project_amended,
    project_closed,
    project_registered,
    report_reviewed,
    report_submitted,
)

# Sheets with targets by level, and by audience (enseignement-numerique).
SHEETS = ("cloud", "quantique", "enseignement-numerique")
REGIONS = ("84", "11", "93")
PERIODS = ("2024-S1", "2024-S2", "2025-S1", "2025-S2")
COORDINATES = [
    (kind, level, region, sex, audience)
    for kind in ("trained", "sensitised")
    for level in ("infra-bac", "bac", "bac+3", "bac+5")
    for region in REGIONS
    for sex in ("F", None)
    for audience in ("pupils", "students", "staff", None)
]

# What `IndicatorQueries.approvals` ran before: every cell joined to its period's revisions.
CELLS_JOINED = """
    select p.sheet, coalesce(sum(c.count) filter (where a.revision = r.revision), 0),
        sum(c.count)
    from indicator.cells c join indicator.projects p on c.project_id = p.project_id
    join indicator.periods r on r.project_id = c.project_id and r.period = c.period
    left join indicator.approved_periods a
        on a.project_id = c.project_id and a.period = c.period
    where p.active and (cast(:project as uuid) is null or p.project_id = :project)
    group by p.sheet"""

# What the handlers keep per sheet, computed afresh from the periods (migration 0011's backfill).
SHEET_SHARES = """
    select p.sheet, sum(r.people),
        coalesce(sum(r.people) filter (where a.revision = r.revision), 0), sum(r.cells)
    from indicator.periods r join indicator.projects p on p.project_id = r.project_id
    left join indicator.approved_periods a on a.project_id = r.project_id and a.period = r.period
    where p.active
    group by p.sheet
    having sum(r.cells) > 0"""
KEPT = "select sheet, people, approved, cells from indicator.sheet_approvals"

# The kept totals summed further (models._rolled_up), each by its key: what the handlers keep
# there, computed afresh from the kept totals (migration 0012's backfill).
ROLLED_UP = {
    f"{prefix}{table}": (f"{prefix}totals", key)
    for table, key in (
        ("sheet_totals", "sheet, kind, level, audience, period"),
        ("region_totals", "sheet, region"),
    )
    for prefix in ("", "approved_")
}

PERIOD_SUMS = """
    select r.project_id, r.period, r.people, r.cells,
        (select coalesce(sum(c.count), 0) from indicator.cells c
            where c.project_id = r.project_id and c.period = r.period),
        (select count(*) from indicator.cells c
            where c.project_id = r.project_id and c.period = r.period)
    from indicator.periods r"""


class EveryDimension(IndicatorQueries):
    """Tallies by every dimension whatever a read asks: what the figures read before."""

    async def tallies(
        self,
        *,
        sheet: str | None = None,
        project_id: uuid.UUID | None = None,
        reading: Reading = Reading.AS_REPORTED,
        by: Collection[Dimension] = DIMENSIONS,
    ) -> list[Tally]:
        return await super().tallies(sheet=sheet, project_id=project_id, reading=reading)


def registration(project_id: uuid.UUID, sheet: str, regions: tuple[str, ...]) -> ProjectRegistered:
    event = project_registered(project_id, token_sha256=project_id.hex * 2, regions=regions)
    return event.model_copy(update={"payload": event.payload.model_copy(update={"sheet": sheet})})


def random_cells(rng: random.Random) -> tuple[Cell, ...]:
    """Zero to eight cells, counts from 0."""
    return tuple(
        Cell.model_validate(
            {
                "kind": k,
                "level": lv,
                "region": r,
                "sex": s,
                "audience": a,
                "count": rng.choice((0, 1, 7, 30)),
            }
        )
        for k, lv, r, s, a in rng.sample(COORDINATES, rng.randint(0, 8))
    )


def random_batch(rng: random.Random, projects: list[uuid.UUID]) -> list[ProjectEvent]:
    """Registrations (some never, some again), revisions in any order, reviews approving or
    returning any revision (the latest, an older or one not yet submitted), amendments and
    closures."""
    events: list[ProjectEvent] = []
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(projects))
        project, roll = projects[i], rng.random()
        if roll < 0.15 and i < len(projects) - 1:  # the last one is never registered
            events.append(registration(project, SHEETS[i % 3], REGIONS[: 1 + i % 3]))
            continue
        if roll < 0.2:
            amended = project_amended(project, regions=REGIONS[:2], amendment=rng.randint(1, 3))
            events.append(rng.choice((amended, project_closed(project, date(2025, 3, 1)))))
            continue
        common: dict[str, Any] = {"period": rng.choice(PERIODS), "revision": rng.randint(1, 4)}
        cells = random_cells(rng)
        if roll < 0.7:
            event: ProjectEvent = report_submitted(project, **common)
        else:
            decision = rng.choice((ReviewDecision.APPROVED, ReviewDecision.RETURNED))
            event = report_reviewed(project, decision=decision, **common)
        payload = event.payload.model_copy(update={"cells": cells})  # type: ignore[union-attr]
        events.append(event.model_copy(update={"payload": payload}))
    return events


async def cells_joined(engine: AsyncEngine, project: uuid.UUID | None) -> dict[str, Approval]:
    async with engine.connect() as conn:
        rows = await conn.execute(text(CELLS_JOINED), {"project": project})
        return {sheet: Approval(int(yes), int(every)) for sheet, yes, every in rows}


async def kept_shares(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return sorted(map(tuple, await conn.execute(text(KEPT))))


async def assert_kept_shares_are_the_periods(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        expected = sorted(map(tuple, await conn.execute(text(SHEET_SHARES))))
    assert await kept_shares(engine) == expected


async def assert_rolled_up_totals_are_the_totals_summed(engine: AsyncEngine) -> None:
    """Row for row, `cells` included: a row iff a cell contributes, as in the totals."""
    async with engine.connect() as conn:
        for table, (totals, key) in ROLLED_UP.items():
            kept = await conn.execute(text(f"select {key}, count, cells from indicator.{table}"))
            summed = await conn.execute(
                text(f"select {key}, sum(count), sum(cells) from indicator.{totals} group by {key}")
            )
            assert sorted(map(tuple, kept)) == sorted(map(tuple, summed)), table


async def assert_approvals_are_the_cells_joined(
    engine: AsyncEngine, queries: IndicatorQueries, projects: list[uuid.UUID]
) -> None:
    expected = await cells_joined(engine, None)
    assert await queries.approvals() == expected
    for sheet in SHEETS:
        mine = {s: a for s, a in expected.items() if s == sheet}
        assert await queries.approvals(sheet=sheet) == mine
    for project in projects:
        found = await queries.approvals(project_id=project)
        assert found == await cells_joined(engine, project)


async def apply_each(
    engine: AsyncEngine, apply: ApplyProjectEvents, batches: list[list[ProjectEvent]]
) -> None:
    for batch in batches:
        async with engine.begin() as conn:
            await apply(conn, batch)


async def assert_period_sums_are_their_cells(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        for row in await conn.execute(text(PERIOD_SUMS)):
            assert (row[2], row[3]) == (row[4], row[5]), row


async def metrics_text(figures: Figures) -> bytes:
    snapshot = SnapshotCollector()
    snapshot.families = await national_families(figures, [Staleness("cloud", "0")])
    return generate_latest(snapshot)  # type: ignore[arg-type]


async def assert_same_figures(reduced: Figures, full: Figures) -> None:
    for reading in Reading:
        assert await reduced.all_sheets(reading) == await full.all_sheets(reading)
        for sheet in SHEETS:
            assert await reduced.sheet(sheet, reading) == await full.sheet(sheet, reading)
        for one in (*SHEETS, None):
            assert await reduced.coverage(one, reading) == await full.coverage(one, reading)
    assert await metrics_text(reduced) == await metrics_text(full)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_reads_from_kept_sums_and_fewer_dimensions_answer_as_before(
    clean_database: str, seed: int
) -> None:
    rng = random.Random(seed)
    projects = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(7)]
    clock = FakeClock()
    apply = make_handler(clock)
    engine = make_engine(clean_database)
    queries, catalog = IndicatorQueries(engine), load_catalog()
    reduced = Figures(queries, catalog, clock, 0.1)
    full = Figures(EveryDimension(engine), catalog, clock, 0.1)
    # A sheet whose periods have no cell has no approval, as when the cells were joined.
    empty, report = uuid.UUID(int=seed), report_submitted(uuid.UUID(int=seed))
    payload = report.payload.model_copy(update={"cells": ()})
    try:
        async with engine.begin() as conn:
            await apply(
                conn,
                [
                    registration(empty, "ia", ("84",)),
                    report.model_copy(update={"payload": payload}),
                ],
            )
        for batch in range(30):
            async with engine.begin() as conn:
                await apply(conn, random_batch(rng, projects))
            await assert_period_sums_are_their_cells(engine)
            await assert_kept_shares_are_the_periods(engine)
            await assert_rolled_up_totals_are_the_totals_summed(engine)
            await assert_approvals_are_the_cells_joined(engine, queries, projects)
            if batch % 10 == 9:
                await assert_same_figures(reduced, full)
        approvals = await queries.approvals()
        assert "ia" not in approvals
        assert any(0 < a.approved < a.reported for a in approvals.values())
    finally:
        await engine.dispose()


@pytest.mark.parametrize("seed", [4, 5])
async def test_the_share_kept_per_sheet_is_the_same_whatever_the_batches_and_on_a_replay(
    clean_database: str, seed: int
) -> None:
    """The kept share is a function of the events, not of how they were batched: the history
    delivered again whole changes nothing, and replayed into empty tables one event per batch,
    all in one batch, or with every registration after its project's reports and reviews (as
    when the projects topic lags), it comes back the same."""
    rng = random.Random(seed)
    projects = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(7)]
    history = [event for _ in range(30) for event in random_batch(rng, projects)]
    apply = make_handler(FakeClock())
    engine = make_engine(clean_database)
    queries = IndicatorQueries(engine)
    registrations: list[ProjectEvent] = [e for e in history if isinstance(e, ProjectRegistered)]
    others = [e for e in history if not isinstance(e, ProjectRegistered)]
    replays = {
        "one event per batch": [[event] for event in history],
        "all in one batch": [history],
        "registrations last": [others[i : i + 5] for i in range(0, len(others), 5)]
        + [registrations],
    }
    try:
        await apply_each(engine, apply, [history[i : i + 6] for i in range(0, len(history), 6)])
        kept = await kept_shares(engine)
        assert {sheet for sheet, *_ in kept} == set(SHEETS)
        assert any(0 < approved < people for _, people, approved, _ in kept)
        await apply_each(engine, apply, [history])  # delivered again
        assert await kept_shares(engine) == kept
        for name, batches in replays.items():
            await truncate_all(clean_database)
            await apply_each(engine, apply, batches)
            assert await kept_shares(engine) == kept, name
            await assert_kept_shares_are_the_periods(engine)
            await assert_rolled_up_totals_are_the_totals_summed(engine)
            await assert_approvals_are_the_cells_joined(engine, queries, projects)
    finally:
        await engine.dispose()


async def test_the_migration_fills_the_share_kept_per_sheet_from_the_periods(
    clean_database: str,
) -> None:
    """Per sheet of registered projects, people of every period and of those whose latest
    revision is approved (not an older one); a sheet whose periods have no cell has no row."""
    config = alembic_config("indicator", clean_database)
    await asyncio.to_thread(command.downgrade, config, "0010_h18")
    cloud, cloud_too, quantum, unregistered = (uuid.uuid4() for _ in range(4))
    periods = [  # project, period, revision, people, cells, approved revision
        (cloud, "2024-S2", 2, 30, 3, 2),
        (cloud, "2025-S1", 1, 12, 2, None),
        (cloud_too, "2025-S1", 3, 5, 1, 2),  # an older revision approved: not counted
        (quantum, "2025-S1", 1, 0, 0, 1),  # no cell: no row for the sheet
        (unregistered, "2025-S1", 1, 40, 4, 1),
    ]
    try:
        engine = make_engine(clean_database)
        async with engine.begin() as conn:
            for project, sheet in ((cloud, "cloud"), (cloud_too, "cloud"), (quantum, "quantique")):
                await conn.execute(
                    text(
                        "insert into indicator.projects (project_id, sheet, wave, name, lead,"
                        " regions, start_date, end_date, commitments, token_sha256) values (:p,"
                        " :s, 'w', 'P', 'L', '{84}', '2024-01-01', '2027-12-31', '[]', :t)"
                    ),
                    {"p": project, "s": sheet, "t": project.hex * 2},
                )
            for project, period, revision, people, cells, approved in periods:
                values = {"p": project, "period": period, "r": uuid.uuid4()}
                await conn.execute(
                    text(
                        "insert into indicator.periods (project_id, period, revision, report_id,"
                        " submitted_at, people, cells) values (:p, :period, :rev, :r, now(),"
                        " :people, :cells)"
                    ),
                    values | {"rev": revision, "people": people, "cells": cells},
                )
                if approved is not None:
                    await conn.execute(
                        text(
                            "insert into indicator.approved_periods (project_id, period,"
                            " revision, report_id, reviewed_at) values (:p, :period, :rev, :r,"
                            " now())"
                        ),
                        values | {"rev": approved},
                    )
        await engine.dispose()
    finally:
        await upgrade_async(clean_database, "indicator")
    engine = make_engine(clean_database)
    try:
        assert await kept_shares(engine) == [("cloud", 47, 30, 6)]
        assert await IndicatorQueries(engine).approvals() == {"cloud": Approval(30, 47)}
    finally:
        await engine.dispose()


async def test_the_migration_fills_each_periods_sums_from_its_cells(clean_database: str) -> None:
    config = alembic_config("indicator", clean_database)
    await asyncio.to_thread(command.downgrade, config, "0009_h18")
    project = uuid.uuid4()
    try:
        engine = make_engine(clean_database)
        async with engine.begin() as conn:
            for period, counts in (("2024-S2", (3, 0, 5)), ("2025-S1", (0,)), ("2025-S2", ())):
                await conn.execute(
                    text(
                        "insert into indicator.periods (project_id, period, revision, report_id,"
                        " submitted_at) values (:p, :period, 1, :r, now())"
                    ),
                    {"p": project, "period": period, "r": uuid.uuid4()},
                )
                for n, (kind, level, region, sex, audience) in zip(
                    counts, COORDINATES, strict=False
                ):
                    await conn.execute(
                        text(
                            "insert into indicator.cells (project_id, period, kind, level,"
                            " region, sex, audience, count) values (:p, :period, :k, :l, :r,"
                            " :s, :a, :n)"
                        ),
                        {
                            "p": project,
                            "period": period,
                            "k": kind,
                            "l": level,
                            "r": region,
                            "s": sex or "",
                            "a": audience or "",
                            "n": n,
                        },
                    )
        await engine.dispose()
    finally:
        await upgrade_async(clean_database, "indicator")
    engine = make_engine(clean_database)
    try:
        await assert_period_sums_are_their_cells(engine)
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("select period, people, cells from indicator.periods order by period")
            )
            assert [tuple(r) for r in rows] == [
                ("2024-S2", 8, 3),
                ("2025-S1", 0, 1),
                ("2025-S2", 0, 0),
            ]
    finally:
        await engine.dispose()


def test_the_sheets_and_coverage_read_their_tallies_as_kept() -> None:
    """Each national read's dimensions are exactly a rolled-up table's key, so it reads its
    rows without grouping; any other dimensions are grouped from the coarsest that has them."""
    for reading, kept in (
        (Reading.AS_REPORTED, (m.sheet_totals, m.region_totals, m.totals)),
        (Reading.APPROVED, (m.approved_sheet_totals, m.approved_region_totals, m.approved_totals)),
    ):
        sheets, regions, totals = kept
        assert kept_sums(reading, [d for d in SHEET_BY if d != "sheet"]) == (sheets, True)
        assert kept_sums(reading, [d for d in COVERAGE_BY if d != "sheet"]) == (regions, True)
        assert kept_sums(reading, ["kind", "period"]) == (sheets, False)
        assert kept_sums(reading, []) == (regions, False)
        assert kept_sums(reading, ["kind", "region"]) == (totals, False)
        assert kept_sums(reading, [d for d in DIMENSIONS if d != "sheet"]) == (totals, True)


async def test_the_migration_sums_the_kept_totals_further(clean_database: str) -> None:
    """Each reading's kept totals, summed by the rolled-up tables' keys, counts and cells."""
    config = alembic_config("indicator", clean_database)
    await asyncio.to_thread(command.downgrade, config, "0011_h18")
    rows = [  # sheet, kind, level, region, sex, audience, period, count, cells
        ("cloud", "trained", "bac", "84", "F", "", "2024-S2", 3, 1),
        ("cloud", "trained", "bac", "84", "M", "", "2024-S2", 4, 2),
        ("cloud", "trained", "bac", "11", "", "", "2024-S2", 0, 1),
        ("cloud", "sensitised", "bac+5", "11", "F", "staff", "2025-S1", 9, 3),
        ("quantique", "trained", "bac", "84", "F", "", "2024-S2", 5, 1),
    ]
    try:
        engine = make_engine(clean_database)
        async with engine.begin() as conn:
            for table in ("totals", "approved_totals"):
                for row in rows if table == "totals" else rows[:2]:
                    await conn.execute(
                        text(
                            f"insert into indicator.{table} values (:s, :k, :l, :r, :x, :a, :p,"
                            " :n, :c)"
                        ),
                        dict(zip("sklrxapnc", row, strict=True)),
                    )
        await engine.dispose()
    finally:
        await upgrade_async(clean_database, "indicator")
    engine = make_engine(clean_database)
    try:
        await assert_rolled_up_totals_are_the_totals_summed(engine)
        async with engine.connect() as conn:
            found = await conn.execute(text("select * from indicator.region_totals"))
            assert sorted(map(tuple, found)) == [
                ("cloud", "11", 9, 4),
                ("cloud", "84", 7, 3),
                ("quantique", "84", 5, 1),
            ]
            found = await conn.execute(text("select * from indicator.approved_sheet_totals"))
            assert list(map(tuple, found)) == [("cloud", "trained", "bac", "", "2024-S2", 7, 3)]
    finally:
        await engine.dispose()
