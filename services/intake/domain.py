"""Intake's rules about a report against its project, and the events a use case emits."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from contracts.reports import ReportIn, period_bounds
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


@dataclass(frozen=True, slots=True)
class StaffToken:
    """A named staff token as intake records it (never the token itself)."""

    token_id: uuid.UUID
    name: str
    email: str
    admin: bool
    issued_at: datetime
    issued_by: str
    revoked_at: datetime | None
    revoked_by: str | None


def staff_envelope(token_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4(),
        "occurred_at": now,
        "producer": PRODUCER,
        "token_id": token_id,
    }
