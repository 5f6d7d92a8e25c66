"""The `project.totals_changed` event: a project's new totals, emitted through the outbox
once per batch that changed its cells, in the handlers' transaction (the milestone service
keeps them)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts import topics
from contracts.events import ProjectTotalsChanged, TotalsRow
from services.indicator import models as m
from services.runtime.outbox import derived_event_id, enqueue

CONSUMER = "indicator.reports"  # whose events cause them: ids are derived from it and the cause

_VERSIONS = text(f"""
    select project_id, sum(revision) from {m.periods.fullname}
    where project_id = any(cast(:ids as uuid[])) group by project_id""")
_TOTALS = text(f"""
    select project_id, kind, level, audience, sum(count) from {m.cells.fullname}
    where project_id = any(cast(:ids as uuid[]))
    group by project_id, kind, level, audience order by project_id, kind, level, audience""")


async def emit_totals(conn: AsyncConnection, changed: dict[UUID, UUID], now: datetime) -> None:
    """One `project.totals_changed` per changed project per batch, with an id derived from
    its cause (a replay emits the same event again, not a new one) and, as version, the sum of
    the project's current revision numbers: it grows with every change that is applied, and a
    rebuild by replay arrives at the same numbers, so consumers can keep the highest."""
    if not changed:
        return
    ids = {"ids": list(changed)}
    versions: dict[UUID, int] = {p: v for p, v in await conn.execute(_VERSIONS, ids)}
    totals: dict[UUID, list[TotalsRow]] = {p: [] for p in changed}
    for p, kind, level, audience, n in await conn.execute(_TOTALS, ids):
        totals[p].append(TotalsRow(kind=kind, level=level, audience=audience or None, count=int(n)))
    events = [
        ProjectTotalsChanged(
            event_id=derived_event_id(CONSUMER, cause),
            occurred_at=now,
            producer="indicator",
            project_id=project_id,
            payload={"version": versions[project_id], "totals": totals[project_id]},
        )
        for project_id, cause in changed.items()
    ]
    await enqueue(conn, m.outbox, topics.PROGRESS, events)
