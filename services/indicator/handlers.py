"""The indicator's event handlers, run inside the consumer's transaction: registrations, and
report revisions that replace a period's cells whole, in the reading as reported (every
revision) and in the approved one (approved revisions, from `report.reviewed`). Every change to
a project's cells as reported emits its new totals.

A batch is applied set-wise, with a fixed number of statements whatever its size (arrays
bound through `unnest`, so no statement outgrows PostgreSQL's 32,767 parameters, and cells
by COPY): one statement per event was the bound of the indicator's throughput
(docs/performance.md, B3).
The outcome is the one of applying the events one by one, in order. The national totals
(services/indicator/kept_totals.py) follow the cells, and the share approved per sheet
(kept_approvals.py) the periods, in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import Table, TextClause, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events import (
    IndicatorReportSubmitted,
    ProjectAmended,
    ProjectClosed,
    ProjectEvent,
    ProjectRegistered,
    ReportReviewed,
)
from contracts.reports import Cell, ReviewDecision
from services.indicator import models as m
from services.indicator.kept_approvals import add_shares, of_periods, of_projects
from services.indicator.kept_totals import (
    CellRow,
    Deltas,
    add_stored_cells,
    apply_deltas,
    lock_projects,
    registered_sheets,
    rolled_up,
)
from services.indicator.totals_changed import emit_totals
from services.runtime.clock import Clock
from services.runtime.db import copy_rows
from services.runtime.token_events import ApplyProjectEvents


@dataclass(frozen=True)
class _Revision:
    """A period's revision as either reading stores it: submitted, or approved."""

    event_id: UUID
    project_id: UUID
    period: str
    revision: int
    report_id: UUID
    at: datetime  # submitted (as reported) or reviewed (approved)
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class _Store:
    """A reading's tables: `periods` holds the revision whose cells are in `cells`."""

    periods: Table
    cells: Table
    totals: Table  # the national sums of `cells` (kept_totals.py)
    rolled_up: tuple[Table, ...]  # `totals` summed further (models._rolled_up), in lock order
    at: str  # the time column of `periods`
    sums: bool  # whether `periods` keeps its cells' people and number (models.py)

    @property
    def upsert_periods(self) -> TextClause:
        """Only a revision above the one held replaces it; returns the periods replaced. With
        `sums`, binds `people` and `cells` too: the period's row and its sums change together."""
        p = self.periods.fullname
        names, arrays, sets = "", "", ""
        if self.sums:
            names = ", people, cells"
            arrays = ", cast(:people as bigint[]), cast(:cells as int[])"
            sets = ", people = excluded.people, cells = excluded.cells"
        return text(f"""
            insert into {p} (project_id, period, revision, report_id, {self.at}{names})
            select * from unnest(cast(:project_id as uuid[]), cast(:period as text[]),
                cast(:revision as int[]), cast(:report_id as uuid[]),
                cast(:at as timestamptz[]){arrays})
            on conflict (project_id, period) do update
                set revision = excluded.revision, report_id = excluded.report_id,
                    {self.at} = excluded.{self.at}{sets}
                where {p}.revision < excluded.revision
            returning project_id, period""")

    @property
    def delete_cells(self) -> TextClause:
        """Returns the cells deleted, for the totals."""
        return text(f"""
            delete from {self.cells.fullname} c
            using unnest(cast(:project_id as uuid[]), cast(:period as text[]))
                as t(project_id, period)
            where c.project_id = t.project_id and c.period = t.period
            returning c.project_id, c.period, c.kind, c.level, c.region, c.sex, c.audience,
                c.count""")


AS_REPORTED = _Store(
    m.periods,
    m.cells,
    m.totals,
    (m.sheet_totals, m.region_totals),
    "submitted_at",
    sums=True,
)
APPROVED = _Store(
    m.approved_periods,
    m.approved_cells,
    m.approved_totals,
    (m.approved_sheet_totals, m.approved_region_totals),
    "reviewed_at",
    sums=False,
)
_CELL_COLUMNS = ["project_id", "period", "kind", "level", "region", "sex", "audience", "count"]


def make_handler(clock: Clock) -> ApplyProjectEvents:
    """What both consumer groups (projects, reports) run on each batch."""

    async def handle_events(conn: AsyncConnection, events: list[ProjectEvent]) -> None:
        registrations = [e for e in events if isinstance(e, ProjectRegistered)]
        submitted = [
            _Revision(
                e.event_id,
                e.project_id,
                e.payload.period,
                e.payload.revision,
                e.payload.report_id,
                e.payload.submitted_at,
                e.payload.cells,
            )
            for e in events
            if isinstance(e, IndicatorReportSubmitted)
        ]
        approved = [
            _Revision(
                e.event_id,
                e.project_id,
                e.payload.period,
                e.payload.revision,
                e.payload.report_id,
                e.payload.reviewed_at,
                e.payload.cells,
            )
            for e in events
            if isinstance(e, ReportReviewed) and e.payload.decision is ReviewDecision.APPROVED
        ]
        # Before anything is read or written: a registration and reports of the same project
        # in concurrent batches take turns (kept_totals.py).
        named = [e.project_id for e in registrations] + [r.project_id for r in submitted + approved]
        await lock_projects(conn, named)
        registered = await _register(conn, registrations)
        await _amend_or_close(
            conn, [e for e in events if isinstance(e, ProjectAmended | ProjectClosed)]
        )
        reported, reviewed, shares = Deltas(), Deltas(), Deltas()
        await add_stored_cells(conn, AS_REPORTED.cells, registered, reported)
        await add_stored_cells(conn, APPROVED.cells, registered, reviewed)
        add_shares(shares, await of_projects(conn, registered), 1)
        # The periods whose share may change: taken away as they stand, added back as changed.
        named_periods = {(r.project_id, r.period) for r in submitted + approved}
        add_shares(shares, await of_periods(conn, named_periods), -1)
        changed = await _replace_periods(conn, AS_REPORTED, submitted, reported)
        await _replace_periods(conn, APPROVED, approved, reviewed)
        add_shares(shares, await of_periods(conn, named_periods), 1)
        # Last, and always in this order: the kept rows stay locked until the commit.
        for store, deltas in ((AS_REPORTED, reported), (APPROVED, reviewed)):
            await apply_deltas(conn, store.totals, deltas)
            for kept in store.rolled_up:
                await apply_deltas(conn, kept, rolled_up(deltas, store.totals, kept))
        await apply_deltas(conn, m.sheet_approvals, shares)
        await emit_totals(conn, changed, clock())

    return handle_events


async def _register(conn: AsyncConnection, events: list[ProjectRegistered]) -> set[UUID]:
    """Returns the projects registered now (not before)."""
    if not events:
        return set()
    rows = [
        {
            "project_id": e.project_id,
            "sheet": e.payload.sheet,
            "wave": e.payload.wave,
            "name": e.payload.name,
            "lead": e.payload.lead,
            "regions": list(e.payload.regions),
            "start_date": e.payload.start_date,
            "end_date": e.payload.end_date,
            "funding_eur": e.payload.funding_eur,
            "token_sha256": e.payload.api_token_sha256,
            "commitments": [c.model_dump(mode="json") for c in e.payload.commitments],
        }
        for e in events
    ]
    inserted = await conn.execute(
        insert(m.projects).on_conflict_do_nothing().returning(m.projects.c.project_id), rows
    )
    return set(inserted.scalars())


async def _amend_or_close(
    conn: AsyncConnection, events: list[ProjectAmended | ProjectClosed]
) -> None:
    """In order, after the registrations of the batch (a project's events share a partition).
    Cells are left alone: what was reported in a region removed, or before a closure, stays
    counted."""
    p = m.projects.c
    for e in events:
        values: dict[str, object]
        if isinstance(e, ProjectClosed):
            values = {"closed_on": e.payload.on}
        else:
            values = {
                "name": e.payload.name,
                "lead": e.payload.lead,
                "end_date": e.payload.end_date,
                "funding_eur": e.payload.funding_eur,
                "regions": list(e.payload.regions),
                "commitments": [c.model_dump(mode="json") for c in e.payload.commitments],
            }
        await conn.execute(update(m.projects).where(p.project_id == e.project_id).values(values))


async def _replace_periods(
    conn: AsyncConnection, store: _Store, reports: list[_Revision], deltas: Deltas
) -> dict[UUID, UUID]:
    """In `store`'s reading, the newer revision of a period replaces its cells as a whole; an
    older one arriving late changes nothing. Works whether or not the project's registration
    arrived first; the change of registered projects' cells is added to `deltas`. Returns, for
    each project whose cells changed, the last event (in batch order) that changed them: the
    cause its totals event is derived from."""
    # One after the other, only a period's highest revision in the batch would last (the
    # first of equals, as a later equal one would not be above it): keep only those.
    best: dict[tuple[UUID, str], tuple[int, _Revision]] = {}
    for position, event in enumerate(reports):
        key = (event.project_id, event.period)
        if key not in best or best[key][1].revision < event.revision:
            best[key] = (position, event)
    if not best:
        return {}
    winners = [e for _, e in best.values()]
    params: dict[str, list[object]] = {
        "project_id": [e.project_id for e in winners],
        "period": [e.period for e in winners],
        "revision": [e.revision for e in winners],
        "report_id": [e.report_id for e in winners],
        "at": [e.at for e in winners],
    }
    if store.sums:
        # A report's cells have distinct keys (their table's primary key): one row each.
        params["people"] = [sum(c.count for c in e.cells) for e in winners]
        params["cells"] = [len(e.cells) for e in winners]
    replaced = await conn.execute(store.upsert_periods, params)
    applied = sorted((best[(p, period)] for p, period in replaced), key=lambda pe: pe[0])
    if not applied:
        return {}
    old: list[CellRow] = [
        tuple(row)  # the eight columns `delete_cells` returns
        for row in await conn.execute(
            store.delete_cells,
            {
                "project_id": [e.project_id for _, e in applied],
                "period": [e.period for _, e in applied],
            },
        )
    ]
    new: list[CellRow] = [
        (
            e.project_id,
            e.period,
            c.kind.value,
            c.level,
            c.region,
            c.sex.value if c.sex else "",
            c.audience or "",
            c.count,
        )
        for _, e in applied
        for c in e.cells
    ]
    # COPY, not INSERT … unnest: it halves PostgreSQL's time per cell, the larger part of a
    # batch's (B3).
    await copy_rows(conn, store.cells, _CELL_COLUMNS, new)
    sheets = await registered_sheets(conn, {e.project_id for _, e in applied})
    deltas.add_cells(old, sheets, -1)
    deltas.add_cells(new, sheets, 1)
    # In batch order, so a project's last entry is its last change.
    return {e.project_id: e.event_id for _, e in applied}
