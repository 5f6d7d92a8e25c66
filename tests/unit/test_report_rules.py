"""What makes a report acceptable, independent of any project or database."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from contracts.reports import Cell, ReportIn, period_bounds, period_of
from tests.support.data import cell, report_body


def errors(body: dict) -> list[tuple[tuple, str]]:
    with pytest.raises(ValidationError) as caught:
        ReportIn.model_validate(body)
    return [(e["loc"], e["msg"]) for e in caught.value.errors()]


def test_a_well_formed_report_is_accepted() -> None:
    report = ReportIn.model_validate(
        report_body("2025-S2", cell(), cell(kind="alternance", count=4))
    )
    assert report.period == "2025-S2" and len(report.cells) == 2


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("count", -1, "greater than or equal to 0"),
        ("count", 2.5, "valid integer"),
        ("count", 3.0, "valid integer"),
        ("count", "12", "valid integer"),
        ("count", 10**12, "less than or equal to"),
        ("kind", "graduated", "'trained', 'sensitised' or 'alternance'"),
        ("level", "bac+9", "unknown level 'bac+9'"),
        ("region", "99", "unknown region '99'"),
        ("audience", "robots", "unknown audience 'robots'"),
        ("sex", "X", "'F' or 'M'"),
    ],
)
def test_a_bad_cell_value_is_refused_naming_the_field(
    field: str, value: object, message: str
) -> None:
    [(loc, msg)] = errors(report_body("2025-S1", cell(**{field: value})))
    assert loc == ("cells", 0, field)
    assert message in msg


def test_an_unknown_field_is_refused() -> None:
    [(loc, msg)] = errors(report_body("2025-S1", cell(project_id="someone-else")))
    assert loc == ("cells", 0, "project_id") and "Extra inputs" in msg


def test_alternance_above_trained_in_the_same_cell_is_refused() -> None:
    [(_, msg)] = errors(report_body("2025-S1", cell(count=3), cell(kind="alternance", count=4)))
    assert "cells[1]: alternance (4) exceeds trained (3)" in msg


def test_alternance_is_compared_with_trained_at_the_same_coordinates_only() -> None:
    body = report_body(
        "2025-S1",
        cell(count=3, sex="F"),
        cell(count=9, sex="M"),
        cell(kind="alternance", count=4, sex="F"),
    )
    assert "alternance (4) exceeds trained (3)" in errors(body)[0][1]


def test_a_cell_repeated_in_one_report_is_refused() -> None:
    [(_, msg)] = errors(report_body("2025-S1", cell(), cell(count=99)))
    assert "cells[1]: duplicates cells[0]" in msg


def test_an_empty_report_is_refused() -> None:
    [(loc, _)] = errors({"period": "2025-S1", "cells": []})
    assert loc == ("cells",)


@pytest.mark.parametrize("period", ["2025-S3", "2025-H1", "1999-S1", "2025S1", ""])
def test_a_malformed_period_is_refused(period: str) -> None:
    [(loc, _)] = errors(report_body(period))
    assert loc == ("period",)


def test_semesters_cover_the_year_without_gap() -> None:
    assert period_bounds("2025-S1") == (period_bounds("2025-S1")[0], period_bounds("2025-S1")[1])
    s1, s2 = period_bounds("2025-S1"), period_bounds("2025-S2")
    assert (s1[0].isoformat(), s1[1].isoformat()) == ("2025-01-01", "2025-06-30")
    assert (s2[0].isoformat(), s2[1].isoformat()) == ("2025-07-01", "2025-12-31")
    assert period_of(s1[1]) == "2025-S1" and period_of(s2[0]) == "2025-S2"


def test_cells_without_sex_or_audience_are_distinct_from_cells_with_them() -> None:
    a, b = Cell.model_validate(cell()), Cell.model_validate(cell(sex="F"))
    assert a.coordinates != b.coordinates
