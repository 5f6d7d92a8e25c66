"""The share of people approved, kept per sheet (`models.sheet_approvals`). A period of an
active project counts its people and cells (`periods.people`, `.cells`) for the project's sheet,
and its people among the approved when the approved reading holds its latest revision
(`approved_periods.revision = periods.revision`). A batch changes that only for the periods it
names, in either table, and for every period of a project it registers (reports may arrive
first). So the handler adds the periods of the projects it registers, takes away the named
periods' shares before it changes them and adds them back after, and applies the difference
with the totals' upsert (kept_totals.py), in the same transaction and under the same project
locks: the national read is then one row per sheet, whatever the number of projects
(docs/performance.md, B8).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any
from uuid import UUID

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.indicator import models as m
from services.indicator.kept_totals import Deltas

# By sheet: people as reported, those of them approved, cells.
Shares = dict[str, tuple[int, int, int]]


def _shares(periods: str) -> TextClause:
    """The shares of `periods` (a FROM item named `r`, rows of `periods`), by the sheet of
    their active project."""
    return text(f"""
        select p.sheet, sum(r.people),
            coalesce(sum(r.people) filter (where a.revision = r.revision), 0), sum(r.cells)
        from {periods}
        join {m.projects.fullname} p on p.project_id = r.project_id
        left join {m.approved_periods.fullname} a
            on a.project_id = r.project_id and a.period = r.period
        where p.active
        group by p.sheet""")


_OF_PROJECTS = _shares(f"""
    (select * from {m.periods.fullname} where project_id = any(cast(:ids as uuid[]))) r""")
_OF_PERIODS = _shares(f"""
    (select r.* from unnest(cast(:project_id as uuid[]), cast(:period as text[]))
        as k(project_id, period)
        join {m.periods.fullname} r on r.project_id = k.project_id and r.period = k.period) r""")


def _of(rows: Iterable[Any]) -> Shares:
    return {s: (int(n), int(yes), int(c)) for s, n, yes, c in rows}


async def of_projects(conn: AsyncConnection, project_ids: Collection[UUID]) -> Shares:
    """The shares of every period of `project_ids`."""
    if not project_ids:
        return {}
    return _of(await conn.execute(_OF_PROJECTS, {"ids": list(project_ids)}))


async def of_periods(conn: AsyncConnection, periods: Collection[tuple[UUID, str]]) -> Shares:
    """The shares of `periods` (project, period; each once)."""
    if not periods:
        return {}
    params = {"project_id": [p for p, _ in periods], "period": [p for _, p in periods]}
    return _of(await conn.execute(_OF_PERIODS, params))


def add_shares(deltas: Deltas, shares: Shares, sign: int) -> None:
    """Adds (`sign` 1) or takes away (-1) `shares` to what `sheet_approvals` keeps."""
    for sheet, amounts in shares.items():
        deltas.add((sheet,), *(sign * a for a in amounts))
