"""B8's national-reads benchmark runs in CI on a tiny scale, so it cannot rot; the figures
come from full runs (docs/performance.md)."""

from __future__ import annotations

import re

import pytest

from bench.national_reads import main


async def test_the_national_reads_benchmark_compares_equal_answers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    await main(projects=3, reads=2)
    out = capsys.readouterr().out
    # 3 projects × 6 periods × 40 cells; one sheet: 6 periods × 40 coordinates.
    assert "projects=3 cells=720 totals_rows=240 reads=2" in out
    assert "same_tallies=yes same_approvals=yes same_figures=yes" in out
    reads = ("kept totals", "periods joined", "kept per sheet", "tallies by SHEET_BY")
    for read in (*reads, "tallies by COVERAGE_BY"):
        assert re.search(rf"{read} +median [0-9.]+ ms", out), out
    assert out.count("ratio") == 4
    for path in ("/v1/progress", "/v1/coverage"):
        assert re.search(rf"GET {path} +median [0-9.]+ ms  p99 [0-9.]+ ms", out), out
