"""B9 (the portal's overview with many projects) runs in CI on a tiny scale, with processes,
database and broker, so it cannot rot; the figure comes from the full run
(docs/performance.md, B9)."""

from __future__ import annotations

import re

import pytest

from bench.portal_overview import main


async def test_the_portal_benchmark_loads_the_overview_of_every_registered_project(
    capsys: pytest.CaptureFixture[str],
) -> None:
    medians = await main(projects=6, loads=3, runs=1)
    out = capsys.readouterr().out
    assert len(medians) == 1
    assert re.search(r"B9 overview with 6 projects median [0-9.]+ ms", out), out
