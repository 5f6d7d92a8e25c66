"""When a target will be reached at the current pace: pure rules (docs/insight.md, Forecasts).

Method: the cumulative count at the end of each semester from the first reported one to the
latest (an unreported semester in between adds 0), preceded by a 0 at the end of the semester
before the first report. The pace is the slope of a weighted least-squares line through the
last `window` of those points, the n-th oldest weighing n, so recent semesters count most
while one odd semester cannot swing the line alone. The target is projected reached at the
end of the first semester after the latest reported one where latest total + k × pace ≥ value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from contracts.reports import period_bounds, period_of

DEFAULT_WINDOW = 4
"""Cumulative points the pace is fitted on (`CMA_FORECAST_WINDOW_SEMESTERS`)."""


class ForecastStatus(StrEnum):
    ON_TRACK = "on_track"  # reached by the horizon (or already)
    LATE = "late"  # reached after the horizon, by `semesters_late`
    UNREACHABLE = "unreachable"  # no progress over the window
    INSUFFICIENT_DATA = "insufficient_data"  # fewer than two reported semesters


@dataclass(frozen=True)
class Forecast:
    status: ForecastStatus
    reached_on: date | None
    """The last day of the semester the value is (projected to be) reached in."""
    pace_per_semester: float | None
    """People per semester, fitted; None with fewer than two reported semesters."""
    semesters_late: int | None
    """Semesters after the horizon's; 0 when on track, None when not projected."""


def semester_index(period: str) -> int:
    """Semesters since year 0: consecutive semesters have consecutive indexes."""
    return int(period[:4]) * 2 + int(period[-1]) - 1


def semester_at(index: int) -> str:
    return f"{index // 2}-S{index % 2 + 1}"


def weighted_slope(points: list[float]) -> float:
    """Slope of the least-squares line through (i, points[i]) weighing point i by i + 1."""
    weighted = [(i, i + 1, y) for i, y in enumerate(points)]  # (x, weight, y)
    total = sum(w for _, w, _ in weighted)
    mean_x = sum(w * x for x, w, _ in weighted) / total
    mean_y = sum(w * y for _, w, y in weighted) / total
    num = sum(w * (x - mean_x) * (y - mean_y) for x, w, y in weighted)
    den = sum(w * (x - mean_x) ** 2 for x, w, _ in weighted)
    return num / den


def forecast(
    *,
    per_period: Mapping[str, int],
    reported: set[str],
    value: int,
    horizon: date,
    window: int = DEFAULT_WINDOW,
) -> Forecast:
    """`per_period`: people matching the target by semester; `reported`: the semesters
    reported at all (by the project, or by any project of the sheet), a zero count included."""
    if len(reported) < 2:
        return Forecast(ForecastStatus.INSUFFICIENT_DATA, None, None, None)
    first, last = min(map(semester_index, reported)), max(map(semester_index, reported))
    cumulative, running = [0.0], 0
    for index in range(first, last + 1):
        running += per_period.get(semester_at(index), 0)
        cumulative.append(float(running))
    pace = round(weighted_slope(cumulative[-max(window, 2) :]), 3)
    due = semester_index(period_of(horizon))
    if running >= value:
        reached, total = first, 0
        while (total := total + per_period.get(semester_at(reached), 0)) < value:
            reached += 1
    elif pace <= 0:
        return Forecast(ForecastStatus.UNREACHABLE, None, pace, None)
    else:
        reached = last + math.ceil((value - running) / pace)
    late = max(0, reached - due)
    status = ForecastStatus.LATE if late else ForecastStatus.ON_TRACK
    return Forecast(status, period_bounds(semester_at(reached))[1], pace, late)
