"""CSV reports: a header line, then one cell per row. Errors name the row (the header is row 1).

    kind,level,region,sex,audience,count
    trained,bac+5,84,F,,120

`sex` and `audience` may be left empty or their columns omitted. The period and the optional
reason travel as query parameters (`?period=2025-S1&reason=...`).
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from pydantic import ValidationError

from contracts.reports import MAX_CELLS, Cell, ReportIn, check_cells
from services.runtime.errors import FieldError, Unprocessable

REQUIRED = ("kind", "level", "region", "count")
OPTIONAL = ("sex", "audience")
COUNT = re.compile(r"-?[0-9]{1,12}")  # ASCII digits only: `int()` also takes "١٢" and "1_0"


def csv_row_loc(index: int) -> tuple[str | int, ...]:
    return ("body", "row", index + 2)


def parse_csv_report(body: bytes, period: str | None, reason: str | None) -> ReportIn:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unprocessable(
            [FieldError(("body",), f"not UTF-8: {exc.reason} at byte {exc.start}")]
        ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey="__extra__")
    try:
        cells = _read_cells(reader)
    except csv.Error as exc:  # e.g. a field over csv.field_size_limit(), or a NUL byte
        raise Unprocessable(
            [
                FieldError(
                    (
                        "body",
                        "row",
                        reader.line_num,
                    ),
                    str(exc),
                )
            ]
        ) from None
    try:
        check_cells(cells, label=lambda index: f"row {index + 2}")
        return ReportIn(period=period or "", reason=reason, cells=cells)
    except ValidationError as exc:
        raise Unprocessable(
            [FieldError((_source(e["loc"]), *e["loc"]), e["msg"]) for e in exc.errors()]
        ) from None
    except ValueError as exc:
        raise Unprocessable([FieldError(("body",), str(exc))]) from None


def _read_cells(reader: csv.DictReader[str]) -> list[Cell]:
    header = reader.fieldnames or []
    unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
    missing = [h for h in REQUIRED if h not in header]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if unknown or missing or repeated or not header:
        raise Unprocessable(
            [
                FieldError(
                    ("body", "row", 1),
                    f"header must hold {', '.join(REQUIRED)} and optionally {', '.join(OPTIONAL)}, "
                    f"each once; missing {missing}, unknown {unknown}, repeated {repeated}",
                )
            ]
        )
    cells: list[Cell] = []
    problems: list[FieldError] = []
    for row_number, row in enumerate(reader, start=2):
        if "__extra__" in row or None in row.values():
            problems.append(
                FieldError(
                    (
                        "body",
                        "row",
                        row_number,
                    ),
                    "wrong number of columns",
                )
            )
            continue
        if len(cells) + len(problems) >= MAX_CELLS:
            problems.append(
                FieldError(
                    (
                        "body",
                        "row",
                        row_number,
                    ),
                    f"more than {MAX_CELLS} rows",
                )
            )
            break
        try:
            cells.append(Cell.model_validate(_cell_fields(row)))
        except ValidationError as exc:
            problems.extend(
                FieldError(
                    (
                        "body",
                        "row",
                        row_number,
                        *e["loc"],
                    ),
                    e["msg"],
                )
                for e in exc.errors()
            )
    if problems:
        raise Unprocessable(problems)
    return cells


def _source(loc: tuple[Any, ...]) -> str:
    """`period` and `reason` come from the query string, everything else from the body."""
    return "query" if loc and loc[0] in ("period", "reason") else "body"


def _cell_fields(row: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {k: (row.get(k) or "").strip() or None for k in REQUIRED + OPTIONAL}
    count = fields["count"]
    if count is not None and COUNT.fullmatch(count):
        fields["count"] = int(count)  # anything else stays text and fails the integer check
    return fields
