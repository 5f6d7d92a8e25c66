"""Pure rules: a milestone's status at a date, which reports are overdue, and the event each
change emits (its id derived from what changed, so a replay re-emits nothing new)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from json.encoder import encode_basestring
from typing import TypedDict

from pydantic import TypeAdapter

from contracts.events import (
    MilestoneStatus,
    MilestoneStatusChanged,
    ProjectContext,
    ReportOverdue,
    ReportOverdueCleared,
    ReportOverdueClearedPayload,
    ReportOverduePayload,
    TotalsRow,
)
from contracts.indicators import Target
from contracts.reports import period_bounds, period_of
from contracts.topics import event_key

OPEN = (MilestoneStatus.PENDING, MilestoneStatus.AT_RISK, MilestoneStatus.OVERDUE)
LAGGING = (MilestoneStatus.AT_RISK, MilestoneStatus.OVERDUE)
PRODUCER = "milestone"
NAMESPACE = uuid.UUID("6f0c5d0e-3d1b-4c55-8f7e-0a4c1f6d2b90")
_NAMESPACED = hashlib.sha1(NAMESPACE.bytes, usedforsecurity=False)  # uuid5's hash, begun
# A uuid5's ninth hex digit: its top two bits are the variant's, 10.
_VARIANT = {digit: "89ab"[int(digit, 16) % 4] for digit in "0123456789abcdef"}
_INSTANT = TypeAdapter(datetime)
_STATUS_CHANGED = MilestoneStatusChanged.model_fields["type"].default


@dataclass(frozen=True)
class Rules:
    at_risk_days: int  # due within this many days: may be at risk
    tolerance: float  # a quantitative milestone is at risk below trajectory − tolerance
    report_grace_days: int  # a semester's report is overdue this long after its end


@dataclass(frozen=True)
class Progress:
    totals: tuple[TotalsRow, ...]
    observed_on: date


def reached(criterion: Target, totals: Iterable[TotalsRow]) -> int:
    s = criterion.selector
    return sum(t.count for t in totals if s.matches(t.kind, t.level, t.audience))


def status_at(
    today: date,
    *,
    due: date,
    completed_on: date | None,
    criterion: Target | None,
    progress: Progress | None,
    rules: Rules,
    closed_on: date | None = None,
) -> MilestoneStatus:
    """Met (on time or late) once completed or once the totals reach the criterion; else
    cancelled once its project closed; else overdue past the due date; else at risk when due
    soon (and, for a quantitative milestone, below its trajectory); else pending."""
    actual = reached(criterion, progress.totals) if criterion and progress else 0
    met_on = completed_on
    if criterion is not None and progress is not None and actual >= criterion.value:
        met_on = progress.observed_on
    if met_on is not None:
        return MilestoneStatus.MET if met_on <= due else MilestoneStatus.MET_LATE
    if closed_on is not None:
        return MilestoneStatus.CANCELLED
    if today > due:
        return MilestoneStatus.OVERDUE
    if (due - today).days <= rules.at_risk_days and (
        criterion is None or criterion.is_behind(actual, today, rules.tolerance)
    ):
        return MilestoneStatus.AT_RISK
    return MilestoneStatus.PENDING


def last_day(end: date, closed_on: date | None) -> date:
    """A project's run ends at its end date, or on the day it closed if that came first."""
    return end if closed_on is None else min(end, closed_on)


def closed_periods(start: date, end: date, today: date, grace_days: int) -> list[tuple[str, date]]:
    """The semesters of a project's run whose report deadline (end + grace) has passed,
    with that deadline."""
    periods, day = [], start
    while day <= end:
        period = period_of(day)
        _, last = period_bounds(period)
        deadline = last + timedelta(days=grace_days)
        if deadline >= today:
            break
        periods.append((period, deadline))
        day = last + timedelta(days=1)
    return periods


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A milestone whose status at a date is not the one stored: what its event says."""

    project_id: uuid.UUID
    milestone_id: str
    title: str
    due_date: date
    quantitative: bool
    project: ProjectContext
    previous: MilestoneStatus
    status: MilestoneStatus
    transitions: int  # changes before this one: this one is number `transitions + 1`


class Envelope(TypedDict):
    event_id: uuid.UUID
    occurred_at: datetime
    producer: str
    project_id: uuid.UUID


def event_id(project_id: str, key: str) -> str:
    """The same change (`key`) of the same project always has the same event id:
    `uuid5(NAMESPACE, f"{project_id}/{key}")` as text, a third of `uuid.uuid5`'s cost (a
    tick may emit 60,000: docs/performance.md, B6)."""
    digest = _NAMESPACED.copy()
    digest.update(f"{project_id}/{key}".encode())
    h = digest.hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def envelope(project_id: uuid.UUID, key: str, now: datetime) -> Envelope:
    return Envelope(
        event_id=uuid.UUID(event_id(str(project_id), key)),
        occurred_at=now,
        producer=PRODUCER,
        project_id=project_id,
    )


def status_changed_events(
    changes: Iterable[StatusChange], now: datetime
) -> list[tuple[str, bytes, bytes]]:
    """Each change's `milestone.status_changed` event as the outbox stores it: its id, its key
    and its JSON, byte for byte what `MilestoneStatusChanged(...).model_dump_json()` gives
    (tests/unit/test_milestone_event_json.py) without building its three models: 60,000 events
    cost 1.4 s of CPU that way (docs/performance.md, B6). The time and each project's context
    are serialized by pydantic; the strings escaped as pydantic escapes them."""
    at = _INSTANT.dump_json(now).decode()
    events = []
    for c in changes:
        project = str(c.project_id)
        eid = event_id(project, f"milestone/{c.milestone_id}/{c.transitions + 1}")
        value = (
            f'{{"event_id":"{eid}","schema_version":1,"occurred_at":{at},'
            f'"producer":"{PRODUCER}","project_id":"{project}","type":"{_STATUS_CHANGED}",'
            f'"payload":{{"milestone_id":{encode_basestring(c.milestone_id)},'
            f'"title":{encode_basestring(c.title)},"due_date":"{c.due_date.isoformat()}",'
            f'"quantitative":{"true" if c.quantitative else "false"},'
            f'"previous":"{c.previous.value}","status":"{c.status.value}","changed_at":{at},'
            f'"project":{c.project.model_dump_json()}}}}}'
        )
        events.append((eid, event_key(project), value.encode()))
    return events


def report_overdue(
    project_id: uuid.UUID, project: ProjectContext, period: str, deadline: date, now: datetime
) -> ReportOverdue:
    return ReportOverdue(
        **envelope(project_id, f"report/{period}/overdue", now),
        payload=ReportOverduePayload(period=period, deadline=deadline, project=project),
    )


def report_overdue_cleared(
    project_id: uuid.UUID, project: ProjectContext, period: str, now: datetime
) -> ReportOverdueCleared:
    return ReportOverdueCleared(
        **envelope(project_id, f"report/{period}/cleared", now),
        payload=ReportOverdueClearedPayload(period=period, cleared_at=now, project=project),
    )
