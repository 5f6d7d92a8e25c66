"""The national totals kept per reading (`models.totals`, `models.approved_totals`): a batch's
changes to the cells of registered projects, summed by key in Python, applied with one upsert
per reading in the batch's transaction. The national reads then read a few thousand rows
instead of grouping every cell at each request (docs/performance.md, B8).

Concurrency: several replicas, and the two consumer groups (projects: registrations; reports:
cells), apply batches at the same time, and a project's reports may be applied before its
registration (another topic): their cells are kept, but count only once the project is
registered, as the GROUP BY over cells joined to projects did. So a batch that registers a
project adds the cells already stored for it, and a batch of reports adds its changes only for
projects registered. Each batch first locks every project it names (`lock_projects`), so a
registration and a batch of the same project's reports take turns: under READ COMMITTED every
statement after the lock sees what the other committed, and the project's cells are counted
exactly once. The upserts take their rows in key order, so concurrent batches touching the same
totals wait for each other instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from uuid import UUID

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.indicator import models as m

# sheet, kind, level, region, sex, audience, period: the totals' primary key
Key = tuple[str, str, str, str, str, str, str]
# project_id, period, kind, level, region, sex, audience, count: a row of `cells`
CellRow = tuple[UUID, str, str, str, str, str, str, int]

_KEY = ("sheet", "kind", "level", "region", "sex", "audience", "period")
_UNNEST_KEYS = ", ".join(f"cast(:{k} as text[])" for k in _KEY)


class Deltas:
    """Per key, what a batch adds to a reading's totals: people and cells (negative when
    cells are replaced or removed)."""

    def __init__(self) -> None:
        self.by_key: dict[Key, tuple[int, int]] = {}

    def add(self, key: Key, count: int, cells: int) -> None:
        was_count, was_cells = self.by_key.get(key, (0, 0))
        self.by_key[key] = (was_count + count, was_cells + cells)

    def add_cells(self, rows: Iterable[CellRow], sheets: dict[UUID, str], sign: int) -> None:
        """Adds (`sign` 1) or takes away (-1) the cells of registered projects (`sheets`)."""
        for project_id, period, kind, level, region, sex, audience, count in rows:
            sheet = sheets.get(project_id)
            if sheet is not None:
                self.add((sheet, kind, level, region, sex, audience, period), sign * count, sign)

    def changes(self) -> list[tuple[Key, int, int]]:
        """The keys that change, in key order: the order every batch locks their rows in."""
        return [(k, n, c) for k, (n, c) in sorted(self.by_key.items()) if n or c]


def lock_key(project_id: UUID) -> int:
    """The advisory lock of a project: the UUID's first 8 bytes as a signed bigint (a
    collision only makes two projects take turns)."""
    return int.from_bytes(project_id.bytes[:8], "big", signed=True)


_LOCK = text("""
    select pg_advisory_xact_lock(k) from unnest(cast(:keys as bigint[])) with ordinality
        as t(k, n) order by n""")


async def lock_projects(conn: AsyncConnection, project_ids: Iterable[UUID]) -> None:
    """Until the transaction ends, and in ascending order, so no two batches wait on each
    other's locks."""
    keys = sorted({lock_key(p) for p in project_ids})
    if keys:
        await conn.execute(_LOCK, {"keys": keys})


_SHEETS = text(f"""
    select project_id, sheet from {m.projects.fullname}
    where project_id = any(cast(:ids as uuid[])) and active""")


async def registered_sheets(
    conn: AsyncConnection, project_ids: Collection[UUID]
) -> dict[UUID, str]:
    """The sheet of each of `project_ids` registered (and active, as the reads count only
    those: every project is), locked by the caller (see the module's docstring)."""
    if not project_ids:
        return {}
    return {p: s for p, s in await conn.execute(_SHEETS, {"ids": list(project_ids)})}


def _stored(cells: Table) -> str:
    return f"""
        select p.sheet, c.kind, c.level, c.region, c.sex, c.audience, c.period,
            sum(c.count), count(*)
        from {cells.fullname} c join {m.projects.fullname} p on p.project_id = c.project_id
        where c.project_id = any(cast(:ids as uuid[])) and p.active
        group by p.sheet, c.kind, c.level, c.region, c.sex, c.audience, c.period"""


async def add_stored_cells(
    conn: AsyncConnection, cells: Table, project_ids: Collection[UUID], deltas: Deltas
) -> None:
    """The cells already stored for projects just registered (reports applied first)."""
    if project_ids:
        for *key, count, n in await conn.execute(text(_stored(cells)), {"ids": list(project_ids)}):
            deltas.add((key[0], key[1], key[2], key[3], key[4], key[5], key[6]), int(count), n)


def _upsert(totals: Table) -> str:
    """Returns the keys left without cells, to delete."""
    keys = ", ".join(_KEY)
    return f"""
        with kept as (
            insert into {totals.fullname} as t ({keys}, count, cells)
            select * from unnest({_UNNEST_KEYS}, cast(:count as bigint[]), cast(:cells as int[]))
            on conflict ({keys}) do update
                set count = t.count + excluded.count, cells = t.cells + excluded.cells
            returning {keys}, cells)
        select {keys} from kept where cells = 0"""


def _delete_empty(totals: Table) -> str:
    match = " and ".join(f"t.{k} = e.{k}" for k in _KEY)
    return f"""
        delete from {totals.fullname} t using unnest({_UNNEST_KEYS}) as e({", ".join(_KEY)})
        where {match} and t.cells = 0"""


def _columns(keys: Sequence[Sequence[str]]) -> dict[str, list[str]]:
    return {name: [k[i] for k in keys] for i, name in enumerate(_KEY)}


async def apply_deltas(conn: AsyncConnection, totals: Table, deltas: Deltas) -> None:
    """One upsert of every change, then the rows no cell contributes to any more deleted."""
    changes = deltas.changes()
    if not changes:
        return
    params: dict[str, list[str] | list[int]] = {
        **_columns([k for k, _, _ in changes]),
        "count": [n for _, n, _ in changes],
        "cells": [c for _, _, c in changes],
    }
    empty = (await conn.execute(text(_upsert(totals)), params)).all()
    if empty:
        await conn.execute(text(_delete_empty(totals)), _columns([tuple(r) for r in empty]))
