"""Forecasts on known series: the pace is a weighted least-squares slope over the last
cumulative points, and the status follows from when the value is projected reached."""

from __future__ import annotations

from datetime import date

import pytest

from services.indicator.forecast import (
    Forecast,
    ForecastStatus,
    forecast,
    semester_at,
    semester_index,
    weighted_slope,
)

HORIZON = date(2030, 12, 31)


def run(counts: list[int], value: int, first: str = "2024-S1", window: int = 4) -> Forecast:
    periods = [semester_at(semester_index(first) + i) for i in range(len(counts))]
    return forecast(
        per_period=dict(zip(periods, counts, strict=True)),
        reported=set(periods),
        value=value,
        horizon=HORIZON,
        window=window,
    )


def test_semesters_are_numbered_consecutively_across_years() -> None:
    assert semester_index("2025-S1") + 1 == semester_index("2025-S2")
    assert semester_index("2025-S2") + 1 == semester_index("2026-S1")
    assert semester_at(semester_index("2026-S2")) == "2026-S2"


def test_a_steady_series_paces_at_its_constant_step_and_is_on_track() -> None:
    # 100 a semester 2024-S1..2025-S2: 400 done, 1,600 to go = 16 semesters → 2033-S2.
    assert run([100] * 4, 2_000) == Forecast(ForecastStatus.LATE, date(2033, 12, 31), 100.0, 6)
    # 1,000 needs 6 more semesters → 2028-S2, before the horizon.
    assert run([100] * 4, 1_000) == Forecast(ForecastStatus.ON_TRACK, date(2028, 12, 31), 100.0, 0)


def test_an_accelerating_series_weighs_its_latest_semesters_most() -> None:
    # Cumulative 100, 300, 600, 1000 weighted 1..4: mean x 2, mean y 650,
    # slope = (1·2·550 + 2·1·350 + 0 + 4·1·350) / (4 + 2 + 0 + 4) = 3200 / 10 = 320,
    # above the plain mean step (250): recent semesters count most.
    result = run([100, 200, 300, 400], 5_000)
    assert result.pace_per_semester == 320.0
    # 4,000 to go at 320 = 12.5 → 13 semesters after 2025-S2 = 2032-S1: 3 semesters late.
    assert result == Forecast(ForecastStatus.LATE, date(2032, 6, 30), 320.0, 3)


def test_a_stalled_series_is_unreachable() -> None:
    assert run([300, 0, 0, 0], 1_000) == Forecast(ForecastStatus.UNREACHABLE, None, 0.0, None)


def test_one_semester_is_insufficient_data_however_large() -> None:
    insufficient = Forecast(ForecastStatus.INSUFFICIENT_DATA, None, None, None)
    assert run([5_000], 1_000) == insufficient
    assert run([], 1_000) == insufficient


def test_two_semesters_fit_three_points_with_the_zero_before_the_first() -> None:
    # Points 0, 100, 300 weighted 1, 2, 3: mean x 4/3, mean y 1100/6;
    # slope = (1·(4/3)·(1100/6) + 2·(1/3)·(500/6) + 3·(2/3)·(700/6)) / (16/9 + 2/9 + 12/9)
    # = (1600/3) / (10/3) = 160 — not the 200 of a line through the two reports.
    assert weighted_slope([0, 100, 300]) == pytest.approx(160)
    assert run([100, 200], 10_000).pace_per_semester == 160.0


def test_a_target_already_reached_is_on_track_from_the_semester_it_was_crossed() -> None:
    assert run([600, 600, 0], 1_000) == Forecast(
        ForecastStatus.ON_TRACK, date(2024, 12, 31), 360.0, 0
    )


def test_an_unreported_semester_between_two_reports_adds_nothing() -> None:
    result = forecast(
        per_period={"2024-S1": 100, "2025-S1": 100},
        reported={"2024-S1", "2025-S1"},
        value=10_000,
        horizon=HORIZON,
    )
    # Points 0, 100, 100, 200: the gap flattens the line below 100.
    assert result.pace_per_semester is not None and 0 < result.pace_per_semester < 100


def test_the_window_keeps_only_the_latest_points() -> None:
    # An early burst then a steady 100: with a window of 4 only the steady part counts.
    assert run([5_000, 100, 100, 100, 100], 100_000).pace_per_semester == 100.0
    assert run([5_000, 100, 100, 100, 100], 100_000, window=6).pace_per_semester != 100.0
