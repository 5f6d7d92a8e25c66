"""The national totals kept per reading (`models.totals`, `models.approved_totals`): a batch's
changes to the cells of registered projects, summed by key in Python, applied with one upsert
per reading in the batch's transaction. The national reads then read a few thousand rows
instead of grouping every cell at each request (docs/performance.md, B8). The approved share
kept per sheet (`models.sheet_approvals`, kept_approvals.py) is applied the same way.

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

from sqlalchemy import Column, Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.indicator import models as m

# project_id, period, kind, level, region, sex, audience, count: a row of `cells`
CellRow = tuple[UUID, str, str, str, str, str, str, int]


class Deltas:
    """Per key (a kept table's primary key), what a batch adds to the table's other columns,
    in their order: for the totals, people and cells (negative when cells are replaced or
    removed)."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, ...], tuple[int, ...]] = {}

    def add(self, key: tuple[str, ...], *amounts: int) -> None:
        was = self.by_key.get(key)
        if was is not None:
            amounts = tuple(a + b for a, b in zip(was, amounts, strict=True))
        self.by_key[key] = amounts

    def add_cells(self, rows: Iterable[CellRow], sheets: dict[UUID, str], sign: int) -> None:
        """Adds (`sign` 1) or takes away (-1) the cells of registered projects (`sheets`)."""
        for project_id, period, kind, level, region, sex, audience, count in rows:
            sheet = sheets.get(project_id)
            if sheet is not None:
                self.add((sheet, kind, level, region, sex, audience, period), sign * count, sign)

    def changes(self) -> list[tuple[tuple[str, ...], tuple[int, ...]]]:
        """The keys that change, in key order: the order every batch locks their rows in."""
        return [(k, a) for k, a in sorted(self.by_key.items()) if any(a)]


def rolled_up(deltas: Deltas, totals: Table, kept: Table) -> Deltas:
    """`deltas` of `totals` summed to the key of `kept` (its dimensions, a subset of the
    totals' key): the sums are linear, so a row of `kept` changes by the sum of the changes of
    the totals' rows it sums, its `cells` included (`models._rolled_up`)."""
    names = [c.name for c in totals.primary_key.columns]
    at = [names.index(c.name) for c in kept.primary_key.columns]
    summed = Deltas()
    for key, amounts in deltas.by_key.items():
        summed.add(tuple(key[i] for i in at), *amounts)
    return summed


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
            deltas.add(tuple(key), int(count), n)


def _array(column: Column[object]) -> str:
    """The bound array of `column`'s values, typed as the column."""
    return f"cast(:{column.name} as {column.type.compile()}[])"


def _upsert(kept: Table) -> str:
    """Adds each row's amounts; returns the keys left without cells, to delete."""
    keys = [c for c in kept.columns if c.primary_key]
    amounts = [c for c in kept.columns if not c.primary_key]
    names = ", ".join(c.name for c in kept.columns)
    key_names = ", ".join(c.name for c in keys)
    added = ", ".join(f"{c.name} = t.{c.name} + excluded.{c.name}" for c in amounts)
    return f"""
        with kept as (
            insert into {kept.fullname} as t ({names})
            select * from unnest({", ".join(_array(c) for c in kept.columns)})
            on conflict ({key_names}) do update set {added}
            returning {key_names}, cells)
        select {key_names} from kept where cells = 0"""


def _delete_empty(kept: Table) -> str:
    keys = [c for c in kept.columns if c.primary_key]
    match = " and ".join(f"t.{c.name} = e.{c.name}" for c in keys)
    return f"""
        delete from {kept.fullname} t
        using unnest({", ".join(_array(c) for c in keys)}) as e({", ".join(c.name for c in keys)})
        where {match} and t.cells = 0"""


def _columns(
    columns: Sequence[Column[object]], rows: Sequence[Sequence[object]]
) -> dict[str, list[object]]:
    return {c.name: [r[i] for r in rows] for i, c in enumerate(columns)}


async def apply_deltas(conn: AsyncConnection, kept: Table, deltas: Deltas) -> None:
    """One upsert of every change, then the rows no cell contributes to any more deleted (every
    kept table has `cells`: how many cells its row sums)."""
    changes = deltas.changes()
    if not changes:
        return
    rows = [(*key, *amounts) for key, amounts in changes]
    empty = (await conn.execute(text(_upsert(kept)), _columns(list(kept.columns), rows))).all()
    if empty:
        keys = [c for c in kept.columns if c.primary_key]
        await conn.execute(text(_delete_empty(kept)), _columns(keys, empty))
