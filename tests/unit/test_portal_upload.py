"""What intake is told a report file is, from the name the project's browser gives."""

from __future__ import annotations

import pytest

from services.portal.forms import XLSX, report_media_type


@pytest.mark.parametrize(
    ("filename", "media_type"),
    [
        ("rapport-2025-S1.xlsx", XLSX),
        ("RAPPORT.XLSX", XLSX),
        ("rapport.csv", "text/csv"),
        ("rapport.xls", None),
        ("rapport.ods", None),
        ("rapport.xlsm", None),
        ("", None),
        (None, None),
    ],
)
def test_a_workbook_or_a_csv_and_nothing_else(filename: str | None, media_type: str | None) -> None:
    assert report_media_type(filename) == media_type
