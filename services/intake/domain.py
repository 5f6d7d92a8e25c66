"""Intake's rules about a report against its project, and the events a use case emits."""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from contracts.events import AmendmentChanges, CommitmentChange
from contracts.indicators import CellKind, Target
from contracts.projects import ProjectAmendmentIn, ProjectClosureIn
from contracts.reports import FIRST_DAY, Cell, ReportIn, ReviewDecision, period_bounds, period_of
from services.runtime.errors import Conflict, FieldError

PRODUCER = "intake"
CellLoc = Callable[[int], tuple[str | int, ...]]
"""Where cell `index` sits in the request: `("body", "cells", i)` for JSON, a row for CSV."""


@dataclass(frozen=True, slots=True)
class ProjectRun:
    """What a report is checked against: the regions a project declares now and its run,
    which ends early when the project closed (`closed_on`)."""

    regions: tuple[str, ...]
    start: date
    end: date
    closed_on: date | None = None

    @property
    def last_day(self) -> date:
        """The run's last day: its end, or the day it closed if earlier."""
        return self.end if self.closed_on is None else min(self.end, self.closed_on)

    @property
    def closed(self) -> bool:
        return self.closed_on is not None


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
    report: ReportIn, current_revision: int | None, current: list[Cell]
) -> ReportCheck:
    """Every kind's total before and after, and each (kind, level, region) whose count moves,
    in that order; cells the new revision drops count as moving to 0."""
    before: Counter[tuple[CellKind, str, str]] = Counter()
    after: Counter[tuple[CellKind, str, str]] = Counter()
    for cells, totals in ((current, before), (report.cells, after)):
        for cell in cells:
            totals[(cell.kind, cell.level, cell.region)] += cell.count
    was, now = kind_totals(current), kind_totals(report.cells)
    by_kind = tuple(CountChange(kind, None, None, was[kind], now[kind]) for kind in CellKind)
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


@dataclass(frozen=True, slots=True)
class Amendable:
    """What staff may amend on a project, as it stands."""

    name: str
    lead: str
    end_date: date
    funding_eur: int | None
    regions: tuple[str, ...]
    commitments: tuple[Target, ...]


def amendment_problems(
    current: Amendable, body: ProjectAmendmentIn, *, start: date
) -> list[FieldError]:
    """An end after the start; commitments added under a new id, changed or withdrawn under an
    existing one."""
    problems: list[FieldError] = []
    if body.end_date is not None and body.end_date <= start:
        problems.append(
            FieldError(("body", "end_date"), f"end_date must be after start_date {start}")
        )
    held = {c.id for c in current.commitments}
    if body.commitments is not None:
        for part, ids, must_exist in (
            ("added", [c.id for c in body.commitments.added], False),
            ("changed", [c.id for c in body.commitments.changed], True),
            ("withdrawn", list(body.commitments.withdrawn), True),
        ):
            for index, cid in enumerate(ids):
                if (cid in held) != must_exist:
                    state = "is not one of" if must_exist else "is already one of"
                    problems.append(
                        FieldError(
                            ("body", "commitments", part, index),
                            f"commitment {cid} {state} the project's commitments",
                        )
                    )
    return problems


def amend(current: Amendable, body: ProjectAmendmentIn) -> tuple[AmendmentChanges, Amendable]:
    """What the amendment changes (a field given with its current value changes nothing) and
    the project after it. `body` has passed `amendment_problems`."""
    commitments = list(current.commitments)
    changed: list[CommitmentChange] = []
    withdrawn: list[Target] = []
    added: tuple[Target, ...] = ()
    if body.commitments is not None:
        replacing = {c.id: c for c in body.commitments.changed}
        for index, held in enumerate(commitments):
            if replacing.get(held.id, held) != held:
                changed.append(CommitmentChange(before=held, after=replacing[held.id]))
                commitments[index] = replacing[held.id]
        gone = set(body.commitments.withdrawn)
        withdrawn = [c for c in commitments if c.id in gone]
        added = body.commitments.added
        commitments = [c for c in commitments if c.id not in gone] + list(added)
    new = Amendable(
        name=current.name if body.name is None else body.name,
        lead=current.lead if body.lead is None else body.lead,
        end_date=current.end_date if body.end_date is None else body.end_date,
        funding_eur=(
            body.funding_eur if "funding_eur" in body.model_fields_set else current.funding_eur
        ),
        regions=current.regions if body.regions is None else tuple(body.regions),
        commitments=tuple(commitments),
    )
    fields = {
        name: {"before": getattr(current, name), "after": getattr(new, name)}
        for name in ("name", "lead", "end_date", "funding_eur", "regions")
        if getattr(current, name) != getattr(new, name)
    }
    changes = AmendmentChanges.model_validate(
        {
            **fields,
            "commitments_added": added,
            "commitments_changed": changed,
            "commitments_withdrawn": withdrawn,
        }
    )
    return changes, new


def changes_nothing(changes: AmendmentChanges) -> bool:
    return changes == AmendmentChanges()


def closure_problems(body: ProjectClosureIn, *, start: date, today: date) -> list[FieldError]:
    """A project closes on a day of its run that has come: not before its start, not in the
    future."""
    problems: list[FieldError] = []
    if body.on > today:
        problems.append(FieldError(("body", "on"), f"on {body.on} is in the future"))
    if body.on < start:
        problems.append(
            FieldError(("body", "on"), f"on {body.on} is before the project's start {start}")
        )
    return problems


def reportable_periods(today: date) -> list[str]:
    """Every period from the first a project can run in to today's, oldest first."""
    periods, day = [], FIRST_DAY
    while day <= today:
        periods.append(period_of(day))
        day = period_bounds(period_of(day))[1] + timedelta(days=1)
    return periods


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
