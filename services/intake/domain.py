"""Intake's rules about a report against its project, and the events a use case emits."""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from contracts.indicators import CellKind
from contracts.reports import Cell, ReportIn, period_bounds
from services.runtime.errors import FieldError

PRODUCER = "intake"
CellLoc = Callable[[int], tuple[str | int, ...]]
"""Where cell `index` sits in the request: `("body", "cells", i)` for JSON, a row for CSV."""


@dataclass(frozen=True, slots=True)
class ProjectRun:
    """What a report is checked against: the regions a project declared and its run."""

    regions: tuple[str, ...]
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class ReportRevision:
    """One revision of a period's report without its cells: who sent it, when, why, how many
    cells. What the sender is answered (first time and replay alike) and the history lists."""

    report_id: uuid.UUID
    period: str
    revision: int
    submitted_by: str
    submitted_at: datetime
    reason: str | None
    cells: int


@dataclass(frozen=True, slots=True)
class ReportTemplate:
    """What a project's report template for a period holds: the project as it is stated, its
    declared regions, and the period's current revision (None and no cells: none yet)."""

    project_id: uuid.UUID
    name: str
    sheet: str
    regions: tuple[str, ...]
    period: str
    revision: int | None
    cells: tuple[Cell, ...]


def json_cell_loc(index: int) -> tuple[str | int, ...]:
    return ("body", "cells", index)


def report_problems(
    report: ReportIn,
    *,
    regions: Collection[str],
    start: date,
    end: date,
    today: date,
    cell_loc: CellLoc,
) -> list[FieldError]:
    """A report may only cover a period that has begun and overlaps the project's run, and
    only in regions the project declared (a cell's region is where the training took place)."""
    problems: list[FieldError] = []
    first, last = period_bounds(report.period)
    if first > today:
        problems.append(FieldError(("body", "period"), f"period {report.period} has not begun"))
    if last < start or first > end:
        problems.append(
            FieldError(
                ("body", "period"),
                f"period {report.period} is outside the project's run {start}..{end}",
            )
        )
    declared = set(regions)
    for index, cell in enumerate(report.cells):
        if cell.region not in declared:
            problems.append(
                FieldError(
                    (*cell_loc(index), "region"),
                    f"region {cell.region} is not one of the project's regions {sorted(declared)}",
                )
            )
    return problems


@dataclass(frozen=True, slots=True)
class CountChange:
    """A total before and after a report: of a kind (`level` and `region` None), or of a kind
    at one level and region (sex and audience summed)."""

    kind: CellKind
    level: str | None
    region: str | None
    current: int
    proposed: int


@dataclass(frozen=True, slots=True)
class ReportCheck:
    """A dry run's outcome: the report as it would be stored, the revision it would replace
    (None: the period's first), and what it would change."""

    report: ReportIn
    current_revision: int | None
    by_kind: tuple[CountChange, ...]
    by_level_and_region: tuple[CountChange, ...]


def report_check(
    report: ReportIn, current_revision: int | None, current: Iterable[Cell]
) -> ReportCheck:
    """Every kind's total before and after, and each (kind, level, region) whose count moves,
    in that order; cells the new revision drops count as moving to 0."""
    before: Counter[tuple[CellKind, str, str]] = Counter()
    after: Counter[tuple[CellKind, str, str]] = Counter()
    for cells, totals in ((current, before), (report.cells, after)):
        for cell in cells:
            totals[(cell.kind, cell.level, cell.region)] += cell.count
    by_kind = tuple(
        CountChange(
            kind,
            None,
            None,
            sum(n for key, n in before.items() if key[0] is kind),
            sum(n for key, n in after.items() if key[0] is kind),
        )
        for kind in CellKind
    )
    moved = sorted(key for key in before.keys() | after.keys() if before[key] != after[key])
    by_place = tuple(CountChange(*key, before[key], after[key]) for key in moved)
    return ReportCheck(report, current_revision, by_kind, by_place)


def request_fingerprint(report: ReportIn) -> str:
    """Same content, same fingerprint, whether it came as JSON or CSV."""
    return hashlib.sha256(report.model_dump_json().encode()).hexdigest()


def envelope(project_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4(),
        "occurred_at": now,
        "producer": PRODUCER,
        "project_id": project_id,
    }
