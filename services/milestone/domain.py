"""Pure rules: a milestone's status at a date, and which reports are overdue."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from contracts.events import MilestoneStatus, TotalsRow
from contracts.indicators import Target
from contracts.reports import period_bounds, period_of

OPEN = (MilestoneStatus.PENDING, MilestoneStatus.AT_RISK, MilestoneStatus.OVERDUE)


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
) -> MilestoneStatus:
    """Met (on time or late) once completed or once the totals reach the criterion; else
    overdue past the due date; else at risk when due soon (and, for a quantitative
    milestone, below its trajectory); else pending."""
    actual = reached(criterion, progress.totals) if criterion and progress else 0
    met_on = completed_on
    if criterion is not None and progress is not None and actual >= criterion.value:
        met_on = progress.observed_on
    if met_on is not None:
        return MilestoneStatus.MET if met_on <= due else MilestoneStatus.MET_LATE
    if today > due:
        return MilestoneStatus.OVERDUE
    if (due - today).days <= rules.at_risk_days and (
        criterion is None or criterion.is_behind(actual, today, rules.tolerance)
    ):
        return MilestoneStatus.AT_RISK
    return MilestoneStatus.PENDING


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
