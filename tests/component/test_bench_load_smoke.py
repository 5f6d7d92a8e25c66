"""The intake-load (B1, B2) and freshness (B4) benchmarks run in CI on a tiny scale, with the
real `wrk`, processes, database and broker, so they cannot rot; the figures come from full
runs (docs/performance.md)."""

from __future__ import annotations

import re

import pytest

from bench.freshness import main as freshness
from bench.intake_load import main as intake_load
from tests.conftest import require_tool


async def test_the_intake_benchmark_loads_twice_and_finds_every_201_stored(
    capsys: pytest.CaptureFixture[str],
) -> None:
    require_tool("wrk")
    await intake_load(projects=5, seconds=2, connections=4, runs=1)
    out = capsys.readouterr().out
    assert re.search(r"B1 reports/s median [0-9.]+ /s", out), out
    assert re.search(r"B1 ÷ baseline median [0-9.]+", out), out
    assert re.search(r"B2 201/s median [0-9.]+ /s", out), out
    assert "without Retry-After 0" in out
    assert "{'201'" in out  # reports were accepted, not only refused


async def test_the_freshness_benchmark_sees_each_probe_in_the_api_and_in_metrics(
    capsys: pytest.CaptureFixture[str],
) -> None:
    require_tool("wrk")
    await freshness(rate=10, seconds=6, projects=5, runs=1)
    out = capsys.readouterr().out
    assert re.search(r"B4 read API p50 median [0-9.]+ ms", out), out
    assert re.search(r"B4 /metrics p99 median [0-9.]+ ms", out), out
    assert re.search(r"run 1 at 10 reports/s: [1-9][0-9]* probes", out), out
