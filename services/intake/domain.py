"""Intake's rules about a report against its project, and the events a use case emits."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from contracts.indicators import CellKind
from contracts.reports import Cell, ReportIn, ReviewDecision, period_bounds
from services.runtime.errors import Conflict, FieldError

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


class ReviewStatus(StrEnum):
    """A revision's review state: `submitted` on arrival, then a programme officer's decision."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"


@dataclass(frozen=True, slots=True)
class Review:
    """A revision's review state; who decided it, when and why (None while `submitted`)."""

    status: ReviewStatus
    reviewed_by: str | None
    reviewed_at: datetime | None
    comment: str | None


@dataclass(frozen=True, slots=True)
class QueuedRevision:
    """A period's latest revision as the review queue shows it: its totals, the difference
    from the revision it superseded (None for a first revision), its warnings on arrival."""

    project_id: uuid.UUID
    project_name: str
    sheet: str
    revision: ReportRevision
    review: Review
    totals: dict[CellKind, int]
    difference: dict[CellKind, int] | None
    warnings: list[tuple[str, str]]  # (rule, message)


def review_changes(
    *, status: ReviewStatus, revision: int, current: int, decision: ReviewDecision
) -> bool:
    """Whether `decision` on `revision` (its period's latest is `current`) changes its state:
    False when it repeats the decision taken (idempotent). A superseded revision, or one
    already decided otherwise, is a Conflict: a decision is final, a new revision reopens."""
    if revision < current:
        raise Conflict(
            f"revision {revision} is superseded by revision {current}: review the latest"
        )
    if status is ReviewStatus.SUBMITTED:
        return True
    if status.value != decision.value:
        raise Conflict(f"revision {revision} is already {status.value}")
    return False


def kind_totals(cells: list[Cell]) -> dict[CellKind, int]:
    """People by kind in a revision, every kind named."""
    totals = dict.fromkeys(CellKind, 0)
    for cell in cells:
        totals[cell.kind] += cell.count
    return totals


def difference(
    totals: dict[CellKind, int], previous: dict[CellKind, int] | None
) -> dict[CellKind, int] | None:
    """This revision's totals minus the previous revision's, by kind; None without one."""
    if previous is None:
        return None
    return {kind: totals[kind] - previous[kind] for kind in CellKind}
