"""A report's and a target's limits tested at the limit itself and one step past it: the periods
and project days the programme can name, counts, cells, text lengths, a cell's coordinates,
and a trajectory's tolerance."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import islice, product
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from contracts.catalog import load_catalog
from contracts.indicators import Selector, Target
from contracts.reports import (
    FIRST_DAY,
    LAST_DAY,
    MAX_CELLS,
    MAX_COUNT,
    CatalogEnum,
    Cell,
    PeriodDay,
    ReportIn,
    period_of,
)


def cell(**fields: Any) -> dict[str, Any]:
    return {"kind": "trained", "level": "bac+5", "region": "84", "count": 10} | fields


def report(*cells: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"period": "2025-S1", "cells": list(cells) or [cell()]} | fields


def refusal(body: dict[str, Any]) -> list[tuple[tuple[int | str, ...], str]]:
    with pytest.raises(ValidationError) as caught:
        ReportIn.model_validate(body)
    return [(e["loc"], e["msg"]) for e in caught.value.errors()]


@pytest.mark.parametrize("period", ["2020-S1", "2025-S2", "2039-S2"])
def test_the_first_and_last_semesters_the_programme_can_name_are_accepted(period: str) -> None:
    assert ReportIn.model_validate(report(period=period)).period == period


@pytest.mark.parametrize("period", ["2019-S2", "2040-S1", " 2025-S1", "2025-S1 ", "2025-s1"])
def test_a_period_outside_2020_to_2039_or_not_exactly_yyyy_sn_is_refused(period: str) -> None:
    [(loc, _)] = refusal(report(period=period))
    assert loc == ("period",)


def test_project_days_are_exactly_the_days_some_period_can_name() -> None:
    days = TypeAdapter(PeriodDay)
    assert (FIRST_DAY, LAST_DAY) == (date(2020, 1, 1), date(2039, 12, 31))
    for day in (FIRST_DAY, LAST_DAY):
        assert days.validate_python(day) == day
        ReportIn.model_validate(report(period=period_of(day)))
    for day in (FIRST_DAY - timedelta(days=1), LAST_DAY + timedelta(days=1)):
        with pytest.raises(ValidationError):
            days.validate_python(day)
        refusal(report(period=period_of(day)))


def test_a_count_of_max_count_is_accepted_and_one_more_is_refused() -> None:
    assert MAX_COUNT == 10_000_000
    ReportIn.model_validate(report(cell(count=MAX_COUNT)))
    [(loc, _)] = refusal(report(cell(count=MAX_COUNT + 1)))
    assert loc == ("cells", 0, "count")


def distinct_cells(n: int) -> list[dict[str, Any]]:
    catalog = load_catalog()
    coordinates = product(
        ("trained", "sensitised"),
        catalog.levels,
        catalog.regions,
        (None, "F", "M"),
        (None, *catalog.audiences),
    )
    return [
        cell(kind=k, level=lv, region=r, sex=s, audience=a, count=1)
        for k, lv, r, s, a in islice(coordinates, n)
    ]


def test_a_report_of_max_cells_is_accepted_and_one_more_cell_is_refused() -> None:
    assert MAX_CELLS == 5_000
    cells = distinct_cells(MAX_CELLS + 1)
    assert len(ReportIn.model_validate(report(*cells[:MAX_CELLS])).cells) == MAX_CELLS
    [(loc, msg)] = refusal(report(*cells))
    assert loc == ("cells",) and "at most 5000" in msg


def test_a_reason_of_500_characters_is_accepted_and_501_is_refused() -> None:
    assert ReportIn.model_validate(report(reason="é" * 500)).reason == "é" * 500
    [(loc, _)] = refusal(report(reason="é" * 501))
    assert loc == ("reason",)


def test_cells_that_differ_only_by_audience_are_distinct() -> None:
    staff, pupils = cell(audience="staff"), cell(audience="pupils")
    assert len(ReportIn.model_validate(report(staff, pupils)).cells) == 2
    coordinates = {Cell.model_validate(c).coordinates for c in (staff, pupils, cell())}
    assert len(coordinates) == 3


def test_alternance_is_compared_with_trained_of_the_same_audience_only() -> None:
    body = report(
        cell(count=3, audience="staff"),
        cell(count=9, audience="pupils"),
        cell(kind="alternance", count=4, audience="staff"),
    )
    [(_, msg)] = refusal(body)
    assert "cells[2]: alternance (4) exceeds trained (3) in the same cell" in msg


def test_alternance_where_nobody_was_trained_is_refused_as_exceeding_zero() -> None:
    [(_, msg)] = refusal(report(cell(kind="alternance", count=1)))
    assert "cells[0]: alternance (1) exceeds trained (0) in the same cell" in msg
    ReportIn.model_validate(report(cell(kind="alternance", count=0)))


def test_alternance_equal_to_trained_is_accepted() -> None:
    ReportIn.model_validate(report(cell(count=4), cell(kind="alternance", count=4)))


def test_an_unknown_level_or_audience_is_refused_listing_the_known_ones() -> None:
    catalog = load_catalog()
    [(_, level)] = refusal(report(cell(level="bac+9")))
    assert level.endswith(f"unknown level 'bac+9'; known: {', '.join(catalog.levels)}")
    [(_, audience)] = refusal(report(cell(audience="robots")))
    assert audience.endswith(f"unknown audience 'robots'; known: {', '.join(catalog.audiences)}")


def test_a_catalog_field_publishes_the_catalogs_codes_as_its_schema_enum() -> None:
    class Located(BaseModel):
        region: Annotated[str, CatalogEnum("regions")]

    schema = Located.model_json_schema()["properties"]["region"]
    assert schema["enum"] == sorted(load_catalog().regions)


def target(**fields: Any) -> dict[str, Any]:
    body = {
        "id": "t",
        "label": "t",
        "selector": {"kind": "trained"},
        "value": 100,
        "start": "2024-01-01",
        "horizon": "2024-04-10",  # 100 days
    }
    return body | fields


def test_a_target_exactly_tolerance_below_its_trajectory_is_not_behind() -> None:
    t = Target.model_validate(target())
    halfway = date(2024, 2, 20)  # 50 of 100 days: half expected
    assert t.expected_ratio(halfway) == 0.5
    assert not t.is_behind(25, halfway, tolerance=0.25)
    assert t.is_behind(24, halfway, tolerance=0.25)
    assert not t.is_behind(50, halfway, tolerance=0.0)


def test_the_trajectory_starts_at_zero_on_the_start_day_and_reaches_one_on_the_horizon() -> None:
    t = Target.model_validate(target())
    assert (t.expected_ratio(t.start), t.expected_ratio(t.horizon)) == (0.0, 1.0)


def test_a_target_whose_horizon_is_its_start_is_refused() -> None:
    with pytest.raises(ValidationError, match="horizon must be after start"):
        Target.model_validate(target(horizon="2024-01-01"))
    Target.model_validate(target(horizon="2024-01-02"))


@pytest.mark.parametrize(
    ("field", "accepted", "refused"),
    [
        ("value", 1, 0),
        ("value", 10_000_000, 10_000_001),
        ("label", "x" * 200, "x" * 201),
        ("label", "x", ""),
        ("id", "a" * 64, "a" * 65),
        ("id", "a-b_9", "-ab"),
    ],
)
def test_a_targets_fields_are_bounded(field: str, accepted: object, refused: object) -> None:
    Target.model_validate(target(**{field: accepted}))
    with pytest.raises(ValidationError):
        Target.model_validate(target(**{field: refused}))


def test_a_selector_without_levels_or_audience_matches_every_level_and_audience() -> None:
    every = Selector.model_validate({"kind": "trained"})
    assert every.matches("trained", "bac", None) and every.matches("trained", "bac+8", "staff")
    assert not every.matches("sensitised", "bac", None)
    staff = Selector.model_validate({"kind": "trained", "audience": "staff"})
    assert staff.matches("trained", "bac", "staff") and not staff.matches("trained", "bac", None)
