"""The indicator's benchmarks (B3 apply, B5 replay, B8's memory) run in CI on a tiny scale, so
they cannot rot; the figures come from full runs (docs/performance.md)."""

from __future__ import annotations

import re

import pytest

from bench.indicator_apply import main as indicator_apply
from bench.indicator_memory import main as indicator_memory
from bench.replay import main as replay


async def test_the_apply_benchmark_runs_both_paths_and_keeps_the_latest_revisions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    await indicator_apply(projects=5, reports=40, baseline_reports=10, runs=1)
    out = capsys.readouterr().out
    # 10 reports one by one, over 5 projects: 2 periods each, of 40 cells.
    assert "cells=1600 batch=500 baseline_reports=10 cells_stored_after_baseline=400" in out
    for path in ("batched   ", "duplicates", "per event "):
        assert re.search(rf"{path} median [0-9.]+ cells/s", out), out
    assert "ratio batched/per-event" in out


async def test_the_memory_benchmark_probes_each_checkpoint_and_gives_the_growth_per_project(
    capsys: pytest.CaptureFixture[str],
) -> None:
    await indicator_memory(checkpoints=[3, 6], periods=2, cells=4, trace=3)
    out = capsys.readouterr().out
    assert "== 6 projects (48 cells" in out
    for step in ("start", "rebuilt", "ingest", "watch", "rest", "trimmed"):
        assert re.search(rf"step {step} +rss +[0-9.]+ MiB", out), out
    assert re.search(r"kept page [0-9.]+ MiB, .* \(6 projects\)", out), out
    assert re.search(r"growth per project 3 -> 6: resident rebuilt -?[0-9.]+, ", out), out
    assert re.search(r"growth per project 3 -> 6: python objects at rest -?[0-9.]+ KiB", out)
    assert out.count("\nsite ") == 6  # the 3 largest allocation sites of each traced probe


@pytest.mark.integration  # a real broker: ~45 s, nearly all the embedded broker's 5 s group joins
async def test_the_replay_benchmark_rebuilds_the_same_state_as_the_live_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    await replay(projects=3, count=30, runs=1, baseline_seconds=0)  # its rebuild: 20 s more
    out = capsys.readouterr().out
    assert "projects=3 reports=30 cells=1200" in out
    assert "hashes_equal=yes" in out  # a difference raises SystemExit instead
    assert "replay total    median" in out
    assert "per-event baseline skipped" in out
