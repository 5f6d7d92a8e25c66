"""Checks on arrival: each rule flags what it should, at its threshold, and can be silenced."""

from __future__ import annotations

from typing import Any

from contracts.reports import Cell
from services.intake.anomalies import PeriodFigures, Rule, Thresholds, warnings


def cells(trained: int = 100, alternance: int = 0, sex: str | None = None) -> list[Cell]:
    base: dict[str, Any] = {"level": "bac+5", "region": "84"}
    if sex is not None:
        base["sex"] = sex
    found = [Cell.model_validate(base | {"kind": "trained", "count": trained})]
    if alternance:
        found.append(Cell.model_validate(base | {"kind": "alternance", "count": alternance}))
    return found


def rules(
    previous: list[Cell] | None = None, others: dict[str, list[Cell]] | None = None, **kwargs: Any
) -> list[Rule]:
    """The rules tripped, the earlier reports given by their cells as they were stored."""
    args: dict[str, Any] = {"period": "2025-S1", "cells": cells(), "thresholds": Thresholds()}
    args["previous"] = None if previous is None else PeriodFigures.of(previous)
    args["others"] = {p: PeriodFigures.of(c) for p, c in (others or {}).items()}
    return [w.rule for w in warnings(**(args | kwargs))]


def test_a_reports_figures_leave_alternance_out_of_the_total_and_see_a_trained_sex_split() -> None:
    assert PeriodFigures.of(cells(100, alternance=30)) == PeriodFigures(100, 100, False)
    assert PeriodFigures.of(cells(0, sex="F")) == PeriodFigures(0, 0, True)
    sensitised = Cell.model_validate(
        {"kind": "sensitised", "level": "bac+5", "region": "84", "sex": "M", "count": 7}
    )
    assert PeriodFigures.of([*cells(5), sensitised]) == PeriodFigures(12, 5, False)


def test_a_plain_report_trips_nothing() -> None:
    assert rules(others={"2024-S1": cells(), "2024-S2": cells()}) == []


def test_a_revision_moving_the_total_by_more_than_the_share_is_flagged() -> None:
    assert rules(previous=cells(100), cells=cells(151)) == [Rule.REVISION_SWING]
    assert rules(previous=cells(100), cells=cells(150)) == []
    assert rules(previous=cells(100), cells=cells(49)) == [Rule.REVISION_SWING]


def test_a_semester_far_above_the_projects_median_is_flagged() -> None:
    others = {"2024-S1": cells(100), "2024-S2": cells(100)}
    assert rules(others=others, cells=cells(501)) == [Rule.SEMESTER_SPIKE]
    assert rules(others=others, cells=cells(500)) == []
    assert rules(others={"2024-S1": cells(10)}, cells=cells(5_000)) == []  # one is no median


def test_trained_without_sex_after_a_split_is_flagged() -> None:
    split = {"2024-S2": cells(50, sex="F") + cells(50, sex="M")}
    assert rules(others=split) == [Rule.SEX_SPLIT_DROPPED]
    assert rules(others=split, cells=cells(sex="F")) == []
    assert rules(others={"2025-S2": split["2024-S2"]}) == []  # only earlier semesters count


def test_an_alternance_share_above_the_threshold_is_flagged() -> None:
    assert rules(cells=cells(100, alternance=81)) == [Rule.ALTERNANCE_SHARE]
    assert rules(cells=cells(100, alternance=80)) == []


def test_a_zero_period_after_non_zero_ones_is_flagged() -> None:
    assert rules(others={"2024-S2": cells(30)}, cells=cells(0)) == [Rule.ZERO_AFTER_NONZERO]
    assert rules(others={}, cells=cells(0)) == []


def test_a_silenced_rule_is_not_reported() -> None:
    assert rules(cells=cells(100, alternance=90), silenced={Rule.ALTERNANCE_SHARE}) == []
