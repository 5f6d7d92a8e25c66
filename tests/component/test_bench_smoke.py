"""The benchmarks run in CI on a small scale, so they cannot rot; the figures come from
full runs (docs/performance.md)."""

from __future__ import annotations

import pytest

from bench.milestone_tick import main as milestone_tick


async def test_the_milestone_tick_benchmark_runs_and_moves_six_milestones_in_ten(
    capsys: pytest.CaptureFixture[str],
) -> None:
    await milestone_tick(projects=20, runs=1)
    out = capsys.readouterr().out
    assert "projects=20 milestones=200 changed_per_busy_tick=120" in out
    assert "quiet tick median" in out
