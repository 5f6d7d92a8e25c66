"""The spreadsheet benchmark (B10) runs in CI on a tiny scale, so it cannot rot; the figures
come from full runs (docs/performance.md)."""

from __future__ import annotations

import re

import pytest

from bench.spreadsheet_reports import main as spreadsheet_reports


async def test_the_spreadsheet_benchmark_reads_the_same_cells_on_every_path(
    capsys: pytest.CaptureFixture[str],
) -> None:
    await spreadsheet_reports(rows=50, runs=1)
    out = capsys.readouterr().out
    assert "rows=50 cells=50" in out
    for path in ("xlsx", "csv ", "json"):
        assert re.search(rf"{path} parse\+validate CPU median [0-9.]+ ms", out), out
    assert re.search(r"ratio xlsx/json median [0-9.]+  same_cells=yes", out), out
