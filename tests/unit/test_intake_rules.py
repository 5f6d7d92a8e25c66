"""Intake's rules about a report against its project, at their boundaries: a period that begins
today, a period that touches the project's first or last day, a cell in a region the project
did not declare; and what identifies a request and an event."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from contracts.indicators import CellKind
from contracts.reports import Cell, ReportIn
from services.intake.domain import (
    CountChange,
    envelope,
    json_cell_loc,
    report_check,
    report_problems,
    request_fingerprint,
    staff_envelope,
)

START, END = date(2024, 3, 15), date(2025, 9, 15)


def report(period: str = "2025-S1", *regions: str, reason: str | None = None) -> ReportIn:
    cells = [
        {"kind": "trained", "level": "bac+5", "region": r, "count": 1} for r in regions or ("84",)
    ]
    return ReportIn.model_validate({"period": period, "cells": cells, "reason": reason})


def problems(
    r: ReportIn,
    today: date = date(2026, 1, 1),
    regions: tuple[str, ...] = ("84", "11"),
    run: tuple[date, date] = (START, END),
) -> list[tuple[tuple[str | int, ...], str]]:
    start, end = run
    found = report_problems(
        r, regions=regions, start=start, end=end, today=today, cell_loc=json_cell_loc
    )
    return [(p.loc, p.msg) for p in found]


def test_a_report_in_a_declared_region_for_a_past_semester_of_the_run_has_no_problem() -> None:
    assert problems(report("2025-S1", "84", "11")) == []


def test_a_semester_that_begins_today_may_be_reported_but_not_one_that_begins_tomorrow() -> None:
    assert problems(report("2025-S2"), today=date(2025, 7, 1)) == []
    assert problems(report("2025-S2"), today=date(2025, 6, 30)) == [
        (("body", "period"), "period 2025-S2 has not begun")
    ]


@pytest.mark.parametrize("period", ["2024-S1", "2025-S2"])
def test_the_semesters_holding_the_projects_first_and_last_days_belong_to_its_run(
    period: str,
) -> None:
    assert problems(report(period)) == []


@pytest.mark.parametrize("period", ["2023-S2", "2026-S1"])
def test_a_semester_entirely_before_or_after_the_run_is_refused(period: str) -> None:
    assert problems(report(period), today=date(2027, 1, 1)) == [
        (
            ("body", "period"),
            f"period {period} is outside the project's run 2024-03-15..2025-09-15",
        )
    ]


def test_a_run_that_ends_on_a_semesters_first_day_or_starts_on_its_last_includes_it() -> None:
    assert problems(report("2025-S2"), run=(date(2025, 1, 1), date(2025, 7, 1))) == []
    assert problems(report("2024-S2"), run=(date(2024, 12, 31), date(2025, 7, 1))) == []


def test_a_cell_in_an_undeclared_region_is_refused_at_that_cells_place() -> None:
    not_declared = "is not one of the project's regions ['11', '84']"
    assert problems(report("2025-S1", "84", "93", "11", "76")) == [
        (("body", "cells", 1, "region"), f"region 93 {not_declared}"),
        (("body", "cells", 3, "region"), f"region 76 {not_declared}"),
    ]


def test_every_problem_is_reported_at_once() -> None:
    found = problems(report("2026-S2", "93"), today=date(2026, 1, 1))
    assert [loc for loc, _ in found] == [
        ("body", "period"),
        ("body", "period"),
        ("body", "cells", 0, "region"),
    ]


def test_a_csv_row_names_its_own_place() -> None:
    found = report_problems(
        report("2025-S1", "93"),
        regions=("84",),
        start=START,
        end=END,
        today=date(2026, 1, 1),
        cell_loc=lambda i: ("body", "row", i + 2),
    )
    assert [p.loc for p in found] == [("body", "row", 2, "region")]


def test_the_same_report_has_the_same_fingerprint_and_any_change_gives_another() -> None:
    same = request_fingerprint(report("2025-S1", "84"))
    assert same == request_fingerprint(report("2025-S1", "84"))
    assert len(same) == 64 and int(same, 16) >= 0
    others = {
        request_fingerprint(report("2025-S2", "84")),
        request_fingerprint(report("2025-S1", "11")),
        request_fingerprint(report("2025-S1", "84", reason="correction")),
    }
    assert same not in others and len(others) == 3


def test_an_intake_event_names_its_producer_project_and_time_with_a_fresh_id() -> None:
    project_id, now = uuid.uuid4(), datetime(2025, 9, 1, tzinfo=UTC)
    first, second = envelope(project_id, now), envelope(project_id, now)
    assert first["event_id"] != second["event_id"]
    assert isinstance(first["event_id"], uuid.UUID)
    assert {k: v for k, v in first.items() if k != "event_id"} == {
        "occurred_at": now,
        "producer": "intake",
        "project_id": project_id,
    }


def cells(*specs: tuple[str, str, str, str | None, int]) -> list[Cell]:
    return [
        Cell.model_validate({"kind": k, "level": lv, "region": rg, "sex": sx, "count": n})
        for k, lv, rg, sx, n in specs
    ]


def test_a_dry_run_sums_sexes_and_lists_every_kind_and_only_the_places_that_move() -> None:
    current = cells(
        ("trained", "bac+5", "84", "F", 10),
        ("trained", "bac+5", "84", "M", 5),
        ("trained", "bac", "84", None, 3),
        ("sensitised", "bac", "93", None, 7),
    )
    proposed = ReportIn(
        period="2025-S1",
        cells=cells(
            ("trained", "bac+5", "84", "F", 12),
            ("trained", "bac+5", "84", "M", 5),
            ("sensitised", "bac", "93", None, 7),
            ("alternance", "bac+5", "84", "F", 2),
        ),
    )
    check = report_check(proposed, 4, current)
    assert (check.report, check.current_revision) == (proposed, 4)
    T, S, A = CellKind.TRAINED, CellKind.SENSITISED, CellKind.ALTERNANCE
    assert check.by_kind == (
        CountChange(T, None, None, 18, 17),
        CountChange(S, None, None, 7, 7),
        CountChange(A, None, None, 0, 2),
    )
    assert check.by_level_and_region == (  # sorted by kind, level, region
        CountChange(A, "bac+5", "84", 0, 2),
        CountChange(T, "bac", "84", 3, 0),  # dropped by the new revision
        CountChange(T, "bac+5", "84", 15, 17),
    )


def test_a_dry_run_of_a_period_s_first_report_compares_with_nothing() -> None:
    proposed = ReportIn(period="2025-S1", cells=cells(("sensitised", "bac", "93", None, 0)))
    check = report_check(proposed, None, [])
    assert check.current_revision is None
    assert [(c.kind, c.current, c.proposed) for c in check.by_kind] == [
        (CellKind.TRAINED, 0, 0),
        (CellKind.SENSITISED, 0, 0),
        (CellKind.ALTERNANCE, 0, 0),
    ]
    assert check.by_level_and_region == ()  # a 0 where there was nothing does not move


def test_a_staff_token_event_is_keyed_by_the_token_with_a_fresh_id() -> None:
    token_id, now = uuid.uuid4(), datetime(2025, 9, 1, tzinfo=UTC)
    first, second = staff_envelope(token_id, now), staff_envelope(token_id, now)
    assert first["event_id"] != second["event_id"]
    assert isinstance(first["event_id"], uuid.UUID)
    assert {k: v for k, v in first.items() if k != "event_id"} == {
        "occurred_at": now,
        "producer": "intake",
        "token_id": token_id,
    }
