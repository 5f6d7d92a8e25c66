"""How fresh a project's reports are: pure rules (docs/insight.md, Freshness)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from contracts.reports import period_of
from services.indicator.forecast import semester_index

STALENESS_BUCKETS = ("0", "1", "2", "3+")
"""`/metrics` groups projects by semesters behind into these buckets (bounded labels)."""


@dataclass(frozen=True)
class Freshness:
    latest_report_on: date | None
    """When the latest revision of any of its periods was submitted."""
    latest_period: str | None
    """The latest semester it reported."""
    semesters_behind: int
    """Closed semesters of its run after `latest_period` (from its start if none)."""

    @property
    def bucket(self) -> str:
        return STALENESS_BUCKETS[min(self.semesters_behind, len(STALENESS_BUCKETS) - 1)]


def freshness(*, start: date, end: date, today: date, reported: dict[str, datetime]) -> Freshness:
    """`reported`: each period the project reported, with its latest submission time."""
    latest_period = max(reported, key=semester_index) if reported else None
    last_closed = min(semester_index(period_of(today)) - 1, semester_index(period_of(end)))
    since = semester_index(latest_period) if latest_period else semester_index(period_of(start)) - 1
    return Freshness(
        latest_report_on=max(reported.values()).date() if reported else None,
        latest_period=latest_period,
        semesters_behind=max(0, last_closed - since),
    )
