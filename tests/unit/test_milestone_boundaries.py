"""A milestone's status and the overdue semesters at their boundaries: the due date itself,
exactly `at_risk_days` ahead, no totals yet, criteria narrowed to levels or an audience, and a
project that ends on a semester's first day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from contracts.events import MilestoneStatus as S
from contracts.events import TotalsRow
from contracts.indicators import Selector, Target
from services.milestone.domain import OPEN, Progress, Rules, closed_periods, status_at

RULES = Rules(at_risk_days=30, tolerance=0.1, report_grace_days=60)
DUE = date(2025, 6, 30)


def deliverable(today: date, rules: Rules = RULES) -> S:
    return status_at(today, due=DUE, completed_on=None, criterion=None, progress=None, rules=rules)


def criterion(value: int = 100, start: date = date(2024, 6, 30), **selector: object) -> Target:
    return Target(
        id="c",
        label="c",
        selector=Selector.model_validate({"kind": "trained", **selector}),
        value=value,
        start=start,
        horizon=DUE,
    )


def quantitative(today: date, target: Target, progress: Progress | None, rules: Rules = RULES) -> S:
    return status_at(
        today, due=DUE, completed_on=None, criterion=target, progress=progress, rules=rules
    )


def row(count: int, level: str = "bac+5", audience: str | None = None) -> TotalsRow:
    return TotalsRow(kind="trained", level=level, audience=audience, count=count)


def test_a_milestone_due_today_is_not_yet_overdue() -> None:
    assert deliverable(DUE) is S.AT_RISK
    assert deliverable(DUE + timedelta(days=1)) is S.OVERDUE


def test_a_milestone_due_today_is_pending_when_nothing_is_ever_at_risk() -> None:
    never_at_risk = Rules(at_risk_days=-1, tolerance=0.1, report_grace_days=60)
    assert deliverable(DUE, never_at_risk) is S.PENDING


def test_a_milestone_exactly_at_risk_days_ahead_is_at_risk_and_one_day_more_is_pending() -> None:
    assert deliverable(DUE - timedelta(days=RULES.at_risk_days)) is S.AT_RISK
    assert deliverable(DUE - timedelta(days=RULES.at_risk_days + 1)) is S.PENDING


def test_completion_on_the_due_date_is_on_time_and_the_day_after_is_late() -> None:
    def completed(on: date) -> S:
        later = date(2026, 1, 1)
        return status_at(
            later, due=DUE, completed_on=on, criterion=None, progress=None, rules=RULES
        )

    assert completed(DUE) is S.MET
    assert completed(DUE + timedelta(days=1)) is S.MET_LATE


def test_a_quantitative_milestone_evaluated_before_any_totals_counts_nobody() -> None:
    """No totals yet: nobody is counted, so a milestone below its trajectory is at risk (it
    would not be if one person were counted), and it is never met."""
    short = criterion(value=10, start=DUE - timedelta(days=100))
    tolerant = Rules(at_risk_days=30, tolerance=0.9, report_grace_days=60)
    five_days_before = DUE - timedelta(days=5)  # trajectory 95 %: behind below 5 % (one of ten)
    assert quantitative(five_days_before, short, None, tolerant) is S.AT_RISK
    one = Progress((row(1),), five_days_before)
    assert quantitative(five_days_before, short, one, tolerant) is S.PENDING
    assert quantitative(DUE + timedelta(days=1), short, None) is S.OVERDUE


def test_totals_without_a_criterion_leave_a_deliverable_to_its_due_date() -> None:
    totals = Progress((row(1000),), DUE)
    got = status_at(
        DUE + timedelta(days=1),
        due=DUE,
        completed_on=None,
        criterion=None,
        progress=totals,
        rules=RULES,
    )
    assert got is S.OVERDUE


def test_a_quantitative_milestone_is_met_the_day_its_totals_reach_the_value_exactly() -> None:
    target = criterion(value=100)
    assert quantitative(DUE, target, Progress((row(100),), DUE)) is S.MET
    assert quantitative(DUE, target, Progress((row(99),), DUE)) is not S.MET


def test_a_criterion_on_levels_counts_only_the_totals_at_those_levels() -> None:
    target = criterion(value=100, levels=["bac+5"])
    reported = Progress((row(100, level="bac+5"), row(500, level="bac+2")), DUE)
    assert quantitative(DUE, target, reported) is S.MET
    below = Progress((row(99, level="bac+5"), row(500, level="bac+2")), DUE)
    assert quantitative(DUE, target, below) is not S.MET


def test_a_criterion_on_an_audience_counts_only_the_totals_of_that_audience() -> None:
    target = criterion(value=100, audience="staff")
    reported = Progress((row(100, audience="staff"), row(500, audience="pupils")), DUE)
    assert quantitative(DUE, target, reported) is S.MET
    others = Progress((row(99, audience="staff"), row(500), row(500, audience="pupils")), DUE)
    assert quantitative(DUE, target, others) is not S.MET


def test_the_open_states_are_exactly_those_of_a_milestone_not_yet_met() -> None:
    """Open milestones are evaluated again as days pass: an overdue one included, since it may
    still be met late."""
    not_met = {deliverable(DUE + timedelta(days=d)) for d in range(-400, 10)}
    assert set(OPEN) == not_met == {S.PENDING, S.AT_RISK, S.OVERDUE}


def test_a_project_that_ends_on_a_semesters_first_day_owes_that_semesters_report() -> None:
    after = date(2027, 1, 1)
    assert closed_periods(date(2024, 3, 1), date(2025, 1, 1), after, 60) == [
        ("2024-S1", date(2024, 8, 29)),
        ("2024-S2", date(2025, 3, 1)),
        ("2025-S1", date(2025, 8, 29)),
    ]
    assert [p for p, _ in closed_periods(date(2024, 3, 1), date(2025, 7, 1), after, 60)] == [
        "2024-S1",
        "2024-S2",
        "2025-S1",
        "2025-S2",
    ]


def test_a_project_that_ends_on_a_semesters_last_day_owes_no_report_after_it() -> None:
    periods = closed_periods(date(2024, 1, 1), date(2024, 12, 31), date(2027, 1, 1), 60)
    assert [p for p, _ in periods] == ["2024-S1", "2024-S2"]


@pytest.mark.parametrize(
    ("today", "due"),
    [
        (date(2025, 8, 29), []),  # the deadline itself: not yet overdue
        (date(2025, 8, 30), ["2025-S1"]),
    ],
)
def test_a_semesters_report_is_overdue_only_after_its_deadline(today: date, due: list[str]) -> None:
    periods = closed_periods(date(2025, 1, 1), date(2025, 12, 31), today, 60)
    assert [p for p, _ in periods] == due
