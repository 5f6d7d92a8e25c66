"""B8 (bench/scale.py) runs in CI on a tiny scale, with the four services as processes, the
database and the broker, so it cannot rot; it checks correctness only (each report stored
once, fresh totals equal to what was posted, equal hashes after the replay), never a speed.
The figures come from full runs (docs/performance.md)."""

from __future__ import annotations

import re

import pytest

from bench.scale import main as scale


async def test_the_scale_benchmark_carries_every_report_to_fresh_figures_and_replays_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    await scale(projects=4, semesters_=2, cells=4, connections=4, reads=5, checkpoints=2)
    out = capsys.readouterr().out
    assert "intake stored 8 reports, 8 (project, period), highest revision 1" in out
    assert re.search(r"B8 fresh after the last 201: indicator applied [0-9.]+ s", out), out
    assert "indicator totals equal what was posted" in out
    assert re.search(r"B8 read GET /v1/coverage: 5 requests, p50 [0-9.]+ ms", out), out
    assert re.search(r"B8 replay: [0-9.]+ s .*, 12 events", out), out  # 8 reports, 4 projects
    assert "B8 replay hashes equal: cells=" in out
    assert re.search(r"B8 memory indicator: .* KiB per project", out), out
