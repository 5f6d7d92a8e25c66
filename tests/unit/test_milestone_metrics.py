"""Milestone's per-item series: values keyed by identifiers, names and dates in `_info`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

from prometheus_client.metrics_core import Metric

from contracts.events import MilestoneStatus
from services.milestone.metrics import lagging_families
from services.milestone.queries import MilestoneState, OverdueReport

PROJECT = UUID("00000000-0000-0000-0000-000000000001")
TODAY = date(2026, 3, 11)


def milestone(title: str, due: date, name: str = "Bâtir 2030") -> MilestoneState:
    return MilestoneState(
        project_id=PROJECT,
        project_name=name,
        sheet="A",
        regions=("11",),
        milestone_id="M1",
        title=title,
        due_date=due,
        status=MilestoneStatus.OVERDUE,
        completed_on=None,
        quantitative=False,
    )


def overdue(name: str = "Bâtir 2030") -> OverdueReport:
    return OverdueReport(
        project_id=PROJECT,
        project_name=name,
        sheet="A",
        period="2025-S1",
        deadline=date(2025, 8, 30),
        detected_at=datetime(2025, 8, 31, tzinfo=UTC),
    )


def samples(families: list[Metric]) -> dict[str, list[tuple[dict[str, str], float]]]:
    return {f.name: [(s.labels, s.value) for s in f.samples] for f in families}


def test_lagging_values_carry_identifiers_only_and_count_seconds() -> None:
    got = samples(lagging_families([milestone("Ouvrir", date(2026, 3, 1))], [overdue()], TODAY))
    assert got["cma_milestone_lagging_seconds"] == [
        ({"sheet": "A", "project_id": str(PROJECT), "milestone": "M1", "status": "overdue"}, 864000)
    ]
    assert got["cma_milestone_overdue_report_seconds"] == [
        ({"sheet": "A", "project_id": str(PROJECT), "period": "2025-S1"}, 193 * 86400)
    ]


def test_names_and_dates_are_in_info_series_of_value_one() -> None:
    got = samples(lagging_families([milestone("Ouvrir", date(2026, 3, 1))], [overdue()], TODAY))
    key = {"sheet": "A", "project_id": str(PROJECT)}
    assert got["cma_milestone_lagging_info"] == [
        (
            key
            | {
                "milestone": "M1",
                "project": "Bâtir 2030",
                "title": "Ouvrir",
                "due_date": "2026-03-01",
            },
            1,
        )
    ]
    assert got["cma_milestone_overdue_report_info"] == [
        (key | {"period": "2025-S1", "project": "Bâtir 2030", "deadline": "2025-08-30"}, 1)
    ]


def test_a_rename_or_a_reschedule_keeps_the_value_series() -> None:
    before = lagging_families([milestone("Ouvrir", date(2026, 3, 1))], [overdue()], TODAY)
    after = lagging_families(
        [milestone("Ouvrir le site", date(2026, 3, 5), name="Bâtir")], [overdue("Bâtir")], TODAY
    )
    for family in ("cma_milestone_lagging_seconds", "cma_milestone_overdue_report_seconds"):
        labels = [[s.labels for s in f.samples] for f in (*before, *after) if f.name == family]
        assert labels[0] == labels[1], family
