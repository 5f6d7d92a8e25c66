"""Which alert conditions hold: pure rules (docs/insight.md, Alert kinds).

- `commitment_behind`: a project's commitment below its trajectory by more than the tolerance
  at the end of each of the last two closed semesters (counting the semesters reported up to
  each) and still today; it resolves as soon as one of these no longer holds, so a report
  that catches up resolves it at once.
- `target_behind`: the same rule on a sheet target, over every project of the sheet; only for
  sheets with at least one active project (a sheet nobody was funded for is not news).
- `project_stale`: more than `stale_semesters` closed semesters of its run unreported since
  its latest report; resolves when the next report arrives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from contracts.events import ConditionKind, ProjectContext
from contracts.indicators import Target
from contracts.reports import period_bounds, period_of
from services.indicator.forecast import semester_at, semester_index
from services.indicator.freshness import Freshness


@dataclass(frozen=True)
class Condition:
    """One condition that holds now: what `condition.changed` says when it starts."""

    kind: ConditionKind
    project_id: UUID
    subject: str
    summary: str
    project: ProjectContext
    details: dict[str, str] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        return f"{self.kind}/{self.project_id}/{self.subject}"


def behind_two_semesters(
    target: Target, per_period: Mapping[str, int], today: date, tolerance: float
) -> bool:
    """Behind at the end of the last two closed semesters, and today."""
    last_closed = semester_index(period_of(today)) - 1

    def through(index: int) -> int:
        return sum(n for p, n in per_period.items() if semester_index(p) <= index)

    ends = [(period_bounds(semester_at(i))[1], through(i)) for i in (last_closed - 1, last_closed)]
    return all(target.is_behind(actual, end, tolerance) for end, actual in ends) and (
        target.is_behind(through(last_closed + 1), today, tolerance)
    )


def is_stale(freshness: Freshness, stale_semesters: int) -> bool:
    return freshness.semesters_behind > stale_semesters
