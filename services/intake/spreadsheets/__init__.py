"""Reports from the files projects keep: CSV (as French tools write it) and `.xlsx`, in the
long layout (one cell per row) or the template's wide one (`template.py` writes it)."""

from __future__ import annotations

from uuid import UUID

from services.intake.spreadsheets.csv_files import csv_grid
from services.intake.spreadsheets.grid import SpreadsheetReport, read_grid
from services.intake.spreadsheets.xlsx_files import xlsx_grid
from services.runtime.errors import Unprocessable

__all__ = ["SpreadsheetReport", "charset_of", "read_csv_report", "read_xlsx_report"]


def read_csv_report(
    body: bytes, *, charset: str | None, period: str | None, reason: str | None
) -> SpreadsheetReport:
    return read_grid(csv_grid(body, charset), period=period, reason=reason)


def read_xlsx_report(
    body: bytes, *, project_id: UUID, period: str | None, reason: str | None
) -> SpreadsheetReport:
    """A template states its project: one made for another project is refused."""
    grid, stated = xlsx_grid(body)
    if stated.project is not None and stated.project[0] != str(project_id):
        value, place = stated.project
        raise Unprocessable(
            [place.error(f"ce modèle est celui du projet {value}, pas du projet {project_id}")]
        )
    return read_grid(grid, period=period, reason=reason, stated=stated)


def charset_of(content_type: str) -> str | None:
    """The `charset` parameter of a Content-Type header, if any."""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"'):
            return value.strip().strip('"')
    return None
