"""B10: a report of the maximum size (5,000 cells) read from an `.xlsx` workbook and from a CSV
file, against the JSON path on the same cells, in this process (no database, no HTTP).

    python -m bench.spreadsheet_reports [--rows 5000] [--runs 7]

The workbook has one cell per row (the long layout: 5,000 rows) and is written by openpyxl,
as a project's tool would; the CSV is the same rows as French Excel saves them (`;`,
Windows-1252, CRLF). Each path is timed from the request body's bytes to a validated
`ReportIn` (for spreadsheets: the zip checks, python-calamine, the French rules, the cells'
places); the figure is the median CPU time (`time.process_time`, what the path costs this
process whatever else the machine runs) of `--runs` runs; the ratio is xlsx/json.
The target: under 1 s for the 5,000-row workbook.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import time
import uuid
from collections.abc import Callable

from openpyxl import Workbook

from bench.support import run_benchmark, summary
from contracts.catalog import load_catalog
from contracts.reports import ReportIn
from services.intake.spreadsheets import read_csv_report, read_xlsx_report

HEADER: list[str | int] = ["kind", "level", "region", "sex", "audience", "count"]


def cells(rows: int) -> list[list[str | int]]:
    """`rows` distinct cells (trained and sensitised only: no alternance rule to satisfy)."""
    catalog = load_catalog()
    coordinates = itertools.product(
        ("trained", "sensitised"),
        catalog.levels,
        catalog.regions,
        ("", "F", "M"),
        ("", *catalog.audiences),
    )
    return [[*c, (i * 37) % 5000] for i, c in zip(range(rows), coordinates, strict=False)]


def workbook(rows: list[list[str | int]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Rapport")
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def timed(runs: int, read: Callable[[], ReportIn]) -> tuple[list[float], ReportIn]:
    seconds: list[float] = []
    for _ in range(runs):
        start = time.process_time()
        report = read()
        seconds.append(time.process_time() - start)
    return seconds, report


async def main(rows: int, runs: int) -> None:
    data = cells(rows)
    project_id = uuid.uuid4()
    xlsx = workbook([HEADER, *data])
    csv = "\r\n".join(";".join(map(str, r)) for r in [HEADER, *data]).encode("cp1252")
    as_json = json.dumps(
        {
            "period": "2025-S1",
            "cells": [
                {k: (v if v != "" else None) for k, v in zip(HEADER, r, strict=True)} for r in data
            ],
        }
    )

    def from_xlsx() -> ReportIn:
        return read_xlsx_report(xlsx, project_id=project_id, period="2025-S1", reason=None).report

    def from_csv() -> ReportIn:
        return read_csv_report(csv, charset=None, period="2025-S1", reason=None).report

    def from_json() -> ReportIn:
        return ReportIn.model_validate_json(as_json)

    sizes = f"xlsx_bytes={len(xlsx)} csv_bytes={len(csv)} json_bytes={len(as_json)}"
    print(f"rows={rows} cells={rows} {sizes}")
    xlsx_runs, a = timed(runs, from_xlsx)
    csv_runs, b = timed(runs, from_csv)
    json_runs, c = timed(runs, from_json)
    if not a.cells == b.cells == c.cells:
        raise SystemExit("the three paths read different cells")
    print(summary("xlsx parse+validate CPU", [s * 1000 for s in xlsx_runs], "ms"))
    print(summary("csv  parse+validate CPU", [s * 1000 for s in csv_runs], "ms"))
    print(summary("json parse+validate CPU", [s * 1000 for s in json_runs], "ms"))
    ratio = sorted(xlsx_runs)[len(xlsx_runs) // 2] / sorted(json_runs)[len(json_runs) // 2]
    print(f"ratio xlsx/json median {ratio:.1f}  same_cells=yes")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    run_benchmark(main(args.rows, args.runs))
