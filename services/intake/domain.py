"""Intake's rules about a report against its project, and the events a use case emits."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from contracts.reports import ReportIn, period_bounds

PRODUCER = "intake"
CellLoc = Callable[[int], tuple[str | int, ...]]
"""Where cell `index` sits in the request: `("body", "cells", i)` for JSON, a row for CSV."""


def json_cell_loc(index: int) -> tuple[str | int, ...]:
    return ("body", "cells", index)


@dataclass(frozen=True)
class Problem:
    """One reason a request is refused, shaped like a pydantic error for the 422 body."""

    loc: tuple[str | int, ...]
    msg: str

    def as_dict(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "msg": self.msg, "type": "value_error"}


def report_problems(
    report: ReportIn,
    *,
    regions: list[str],
    start: date,
    end: date,
    today: date,
    cell_loc: CellLoc,
) -> list[Problem]:
    """A report may only cover a period that has begun and overlaps the project's run, and
    only in regions the project declared (a cell's region is where the training took place)."""
    problems: list[Problem] = []
    first, last = period_bounds(report.period)
    if first > today:
        problems.append(Problem(("body", "period"), f"period {report.period} has not begun"))
    if last < start or first > end:
        problems.append(
            Problem(
                ("body", "period"),
                f"period {report.period} is outside the project's run {start}..{end}",
            )
        )
    declared = set(regions)
    for index, cell in enumerate(report.cells):
        if cell.region not in declared:
            problems.append(
                Problem(
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
