"""bench/idle_platform.py runs in CI on a tiny scale (one second measured), so it cannot rot;
the figures come from full runs (docs/performance.md, "The idle platform")."""

from __future__ import annotations

import re

import pytest

from bench.idle_platform import OWN
from bench.idle_platform import main as idle_platform


async def test_the_idle_benchmark_reads_each_services_cpu_and_the_platforms_sum(
    capsys: pytest.CaptureFixture[str],
) -> None:
    await idle_platform(settle=1, seconds=1, runs=1)
    out = capsys.readouterr().out
    assert "run: % of a core: " in out  # the programs that spent any, in one second
    for program in OWN:  # the services, the broker, PostgreSQL
        assert re.search(rf"idle {program} median [0-9.]+ % of a core", out), out
    assert re.search(r"idle platform \(services, broker, postgres\) median [0-9.]+ %", out), out
