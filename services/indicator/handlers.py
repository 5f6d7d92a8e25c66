"""The indicator's event handlers, run inside the consumer's transaction: registrations, and
report revisions that replace a period's cells whole. Every change to a project's cells emits
its new totals.

A batch is applied set-wise, with a fixed number of statements whatever its size (arrays
bound through `unnest`, so no statement outgrows PostgreSQL's 32,767 parameters, and cells
by COPY): one statement per event was the bound of the indicator's throughput
(docs/performance.md, B3).
The outcome is the one of applying the events one by one, in order.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg
from sqlalchemy import text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events import (
    Event,
    IndicatorReportSubmitted,
    ProjectAmended,
    ProjectClosed,
    ProjectRegistered,
)
from services.indicator import models as m
from services.indicator.totals_changed import emit_totals
from services.runtime.clock import Clock
from services.runtime.consumer import Apply

# Only a revision above the one held replaces it; the rows returned are the periods replaced.
_UPSERT_PERIODS = text(f"""
    insert into {m.periods.fullname} (project_id, period, revision, report_id, submitted_at)
    select * from unnest(cast(:project_id as uuid[]), cast(:period as text[]),
        cast(:revision as int[]), cast(:report_id as uuid[]), cast(:submitted_at as timestamptz[]))
    on conflict (project_id, period) do update
        set revision = excluded.revision, report_id = excluded.report_id,
            submitted_at = excluded.submitted_at
        where {m.periods.fullname}.revision < excluded.revision
    returning project_id, period""")
_DELETE_CELLS = text(f"""
    delete from {m.cells.fullname} c
    using unnest(cast(:project_id as uuid[]), cast(:period as text[])) as t(project_id, period)
    where c.project_id = t.project_id and c.period = t.period""")
_CELL_COLUMNS = ["project_id", "period", "kind", "level", "region", "sex", "audience", "count"]


def make_handler(clock: Clock) -> Apply:
    """What both consumer groups (projects, reports) run on each batch."""

    async def handle_events(conn: AsyncConnection, events: list[Event]) -> None:
        await _register(conn, [e for e in events if isinstance(e, ProjectRegistered)])
        await _amend_or_close(
            conn, [e for e in events if isinstance(e, ProjectAmended | ProjectClosed)]
        )
        reports = [e for e in events if isinstance(e, IndicatorReportSubmitted)]
        changed = await _replace_periods(conn, reports)
        await emit_totals(conn, changed, clock())

    return handle_events


async def _register(conn: AsyncConnection, events: list[ProjectRegistered]) -> None:
    if not events:
        return
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
    await conn.execute(insert(m.projects).on_conflict_do_nothing(), rows)


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
    conn: AsyncConnection, reports: list[IndicatorReportSubmitted]
) -> dict[UUID, UUID]:
    """The newer revision of a period replaces its cells as a whole; an older one arriving
    late changes nothing. Works whether or not the project's registration arrived first.
    Returns, for each project whose cells changed, the last event (in batch order) that
    changed them: the cause its totals event is derived from."""
    # One after the other, only a period's highest revision in the batch would last (the
    # first of equals, as a later equal one would not be above it): keep only those.
    best: dict[tuple[UUID, str], tuple[int, IndicatorReportSubmitted]] = {}
    for position, event in enumerate(reports):
        key = (event.project_id, event.payload.period)
        if key not in best or best[key][1].payload.revision < event.payload.revision:
            best[key] = (position, event)
    if not best:
        return {}
    winners = [e for _, e in best.values()]
    replaced = await conn.execute(
        _UPSERT_PERIODS,
        {
            "project_id": [e.project_id for e in winners],
            "period": [e.payload.period for e in winners],
            "revision": [e.payload.revision for e in winners],
            "report_id": [e.payload.report_id for e in winners],
            "submitted_at": [e.payload.submitted_at for e in winners],
        },
    )
    applied = sorted((best[(p, period)] for p, period in replaced), key=lambda pe: pe[0])
    if not applied:
        return {}
    await conn.execute(
        _DELETE_CELLS,
        {
            "project_id": [e.project_id for _, e in applied],
            "period": [e.payload.period for _, e in applied],
        },
    )
    await _copy_cells(
        conn,
        [
            (
                e.project_id,
                e.payload.period,
                c.kind.value,
                c.level,
                c.region,
                c.sex.value if c.sex else "",
                c.audience or "",
                c.count,
            )
            for _, e in applied
            for c in e.payload.cells
        ],
    )
    # In batch order, so a project's last entry is its last change.
    return {e.project_id: e.event_id for _, e in applied}


async def _copy_cells(conn: AsyncConnection, rows: list[tuple[object, ...]]) -> None:
    """COPY, not INSERT … unnest: it halves PostgreSQL's time per cell, the larger part of a
    batch's (B3). COPY is asyncpg's own, in the same transaction; its errors are wrapped as
    SQLAlchemy wraps the others, so the consumer still tells transient faults apart."""
    raw = await conn.get_raw_connection()
    try:
        # The ignore: `driver_connection` is typed Optional; under asyncpg it is always set.
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            m.cells.name, schema_name=m.cells.schema, columns=_CELL_COLUMNS, records=rows
        )
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        lost = isinstance(exc, asyncpg.PostgresConnectionError | asyncpg.InterfaceError)
        raise DBAPIError(
            f"COPY {m.cells.fullname}", None, exc, connection_invalidated=lost
        ) from exc
