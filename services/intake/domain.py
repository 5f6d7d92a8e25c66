"""Intake's rules about a report against its project, and the events a use case emits."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from contracts.reports import ReportIn, period_bounds
from services.runtime.errors import FieldError

PRODUCER = "intake"
CellLoc = Callable[[int], tuple[str | int, ...]]
"""Where cell `index` sits in the request: `("body", "cells", i)` for JSON, a row for CSV."""


def json_cell_loc(index: int) -> tuple[str | int, ...]:
    return ("body", "cells", index)


def report_problems(
    report: ReportIn,
    *,
    regions: list[str],
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
