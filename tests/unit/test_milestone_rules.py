"""A milestone's status at a date, which semesters' reports are overdue, and the events each
change emits."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

import pytest

from contracts.events import MilestoneStatus as S
from contracts.events import MilestoneStatusChanged, ProjectContext, TotalsRow
from contracts.indicators import Selector, Target
from services.milestone.domain import (
    Progress,
    Rules,
    StatusChange,
    closed_periods,
    report_overdue,
    report_overdue_cleared,
    status_at,
    status_changed_events,
)

RULES = Rules(at_risk_days=30, tolerance=0.1, report_grace_days=60)
DUE = date(2025, 6, 30)
HALF = Target(
    id="moitie",
    label="Moitié des formés",
    selector=Selector(kind="trained"),
    value=100,
    start=date(2024, 6, 30),
    horizon=DUE,
)


def totals(count: int, on: date) -> Progress:
    return Progress((TotalsRow(kind="trained", level="bac+5", audience=None, count=count),), on)


@pytest.mark.parametrize(
    ("today", "completed_on", "expected"),
    [
        (date(2025, 5, 1), None, S.PENDING),
        (date(2025, 6, 1), None, S.AT_RISK),  # due within 30 days
        (date(2025, 7, 1), None, S.OVERDUE),
        (date(2025, 7, 1), date(2025, 6, 30), S.MET),  # completed on the due date
        (date(2025, 7, 9), date(2025, 7, 2), S.MET_LATE),
    ],
)
def test_a_deliverable_follows_its_due_date_and_completion(
    today: date, completed_on: date | None, expected: S
) -> None:
    got = status_at(
        today, due=DUE, completed_on=completed_on, criterion=None, progress=None, rules=RULES
    )
    assert got is expected


def test_a_quantitative_milestone_is_at_risk_only_when_due_soon_and_below_its_trajectory() -> None:
    june = date(2025, 6, 10)  # trajectory ≈ 95 %
    on_track = status_at(
        june, due=DUE, completed_on=None, criterion=HALF, progress=totals(90, june), rules=RULES
    )
    behind = status_at(
        june, due=DUE, completed_on=None, criterion=HALF, progress=totals(40, june), rules=RULES
    )
    far = status_at(
        date(2025, 1, 1),
        due=DUE,
        completed_on=None,
        criterion=HALF,
        progress=totals(0, june),
        rules=RULES,
    )
    assert (on_track, behind, far) == (S.PENDING, S.AT_RISK, S.PENDING)


def test_a_quantitative_milestone_is_met_when_totals_reach_it_late_or_on_time() -> None:
    on_time = status_at(
        date(2025, 8, 1),
        due=DUE,
        completed_on=None,
        criterion=HALF,
        progress=totals(100, date(2025, 6, 1)),
        rules=RULES,
    )
    late = status_at(
        date(2025, 8, 1),
        due=DUE,
        completed_on=None,
        criterion=HALF,
        progress=totals(120, date(2025, 7, 15)),
        rules=RULES,
    )
    short = status_at(
        date(2025, 8, 1),
        due=DUE,
        completed_on=None,
        criterion=HALF,
        progress=totals(99, date(2025, 7, 15)),
        rules=RULES,
    )
    assert (on_time, late, short) == (S.MET, S.MET_LATE, S.OVERDUE)


def test_only_semesters_past_their_grace_period_are_due() -> None:
    periods = closed_periods(date(2024, 3, 1), date(2026, 12, 31), date(2025, 9, 1), 60)
    # 2025-S1 ended 30 June: its deadline is 29 August, passed on 1 September.
    assert periods == [
        ("2024-S1", date(2024, 8, 29)),
        ("2024-S2", date(2025, 3, 1)),
        ("2025-S1", date(2025, 8, 29)),
    ]
    assert closed_periods(date(2025, 3, 1), date(2026, 1, 1), date(2025, 8, 29), 60) == []


def test_each_change_has_an_event_id_derived_from_it_that_releases_never_change() -> None:
    """The ids are those the service has always emitted (consumers deduplicate on them)."""
    project_id, now = (
        UUID("00000000-0000-4000-8000-000000000001"),
        datetime(2026, 2, 10, tzinfo=UTC),
    )
    project = ProjectContext(name="P", sheet="cloud", regions=("84",))
    moitie = StatusChange(
        project_id, "moitie", "100 formés", DUE, True, project, S.AT_RISK, S.OVERDUE, 1
    )
    [(_, _, value)] = status_changed_events([moitie], now)
    changed = MilestoneStatusChanged.model_validate_json(value)
    assert changed.event_id == UUID("41fb5f97-3fab-52ba-b0b9-105b7373c952")  # transition 2
    assert (changed.payload.previous, changed.payload.status) == (S.AT_RISK, S.OVERDUE)
    assert changed.payload.quantitative
    overdue = report_overdue(project_id, project, "2025-S1", date(2025, 8, 29), now)
    assert overdue.event_id == UUID("987cfed0-5faf-56c0-9f55-d5378ed6f1e7")
    cleared = report_overdue_cleared(project_id, project, "2025-S1", now)
    assert cleared.event_id == UUID("683f1aa9-45fd-52e9-aa0e-8dff256df605")
    assert {e.producer for e in (changed, overdue, cleared)} == {"milestone"}
