"""The benchmarks run in CI on a small scale, so they cannot rot; the figures come from
full runs (docs/performance.md)."""

from __future__ import annotations

import re

import pytest

from bench.intake_db_layer import main as intake_db_layer
from bench.intake_inprocess import main as intake_inprocess
from bench.milestone_tick import main as milestone_tick


async def test_the_milestone_tick_benchmark_runs_and_moves_six_milestones_in_ten(
    capsys: pytest.CaptureFixture[str],
) -> None:
    await milestone_tick(projects=20, runs=1)
    out = capsys.readouterr().out
    assert "projects=20 milestones=200 changed_per_busy_tick=120" in out
    assert "quiet tick median" in out
    assert re.search(r"busy tick step events built +CPU median: tick [0-9.]+ s", out), out


async def test_the_database_layer_benchmark_times_both_paths(
    capsys: pytest.CaptureFixture[str],
) -> None:
    await intake_db_layer(reports=20, runs=1)
    out = capsys.readouterr().out
    assert re.search(r"sqlalchemy CPU per report median [0-9.]+ ms", out), out
    assert re.search(r"asyncpg    CPU per report median [0-9.]+ ms", out), out
    assert re.search(r"CPU ratio sqlalchemy/asyncpg median [0-9.]+", out), out


async def test_the_in_process_intake_benchmark_times_both_apps_and_the_middleware(
    capsys: pytest.CaptureFixture[str],
) -> None:
    await intake_inprocess(reports=5, runs=1)
    out = capsys.readouterr().out
    assert re.search(r"CPU per report without HTTP metrics median [0-9.]+ ms", out), out
    assert re.search(r"HttpMetrics alone, CPU per request median [0-9.-]+ µs", out), out
