"""Milestone's gauges, read from the database at scrape time: milestones by sheet and status,
open overdue reports by sheet, and, for the milestones dashboard, one series per lagging
milestone and per overdue report. The per-item series are bounded by the milestones at risk or
overdue and the reports overdue at that moment (never every milestone of every project)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from services.milestone.domain import LAGGING
from services.milestone.queries import Counts, MilestoneQueries, MilestoneState, OverdueReport
from services.runtime.clock import Clock


async def milestone_families(queries: MilestoneQueries, clock: Clock) -> list[Metric]:
    """Every family of the service's own, read at `clock()`'s date."""
    counts = await queries.counts()
    lagging = [row for status in LAGGING for row in await queries.milestones(status=status)]
    overdue = await queries.overdue_reports()
    return [*count_families(counts), *lagging_families(lagging, overdue, clock().date())]


def count_families(counts: Counts) -> list[Metric]:
    milestones = GaugeMetricFamily(
        "cma_milestone_milestones", "Milestones by sheet and status.", labels=["sheet", "status"]
    )
    for (sheet, status), n in sorted(counts.milestones.items()):
        milestones.add_metric([sheet, status.value], n)
    reports = GaugeMetricFamily(
        "cma_milestone_overdue_reports",
        "Closed semesters not reported yet, by sheet.",
        labels=["sheet"],
    )
    for sheet, n in sorted(counts.overdue_reports.items()):
        reports.add_metric([sheet], n)
    return [milestones, reports]


def lagging_families(
    milestones: Iterable[MilestoneState], overdue: Iterable[OverdueReport], today: date
) -> list[Metric]:
    lagging = GaugeMetricFamily(
        "cma_milestone_lagging_days",
        "Milestones at risk or overdue: days past the due date (negative: days left).",
        labels=["sheet", "project_id", "project", "milestone", "title", "due_date", "status"],
    )
    for ms in milestones:
        labels = [ms.sheet, str(ms.project_id), ms.project_name, ms.milestone_id, ms.title]
        lagging.add_metric(
            [*labels, ms.due_date.isoformat(), ms.status.value], (today - ms.due_date).days
        )
    reports = GaugeMetricFamily(
        "cma_milestone_overdue_report_days",
        "Semester reports overdue: days past their deadline.",
        labels=["sheet", "project_id", "project", "period", "deadline"],
    )
    for r in overdue:
        labels = [r.sheet, str(r.project_id), r.project_name, r.period, r.deadline.isoformat()]
        reports.add_metric(labels, (today - r.deadline).days)
    return [lagging, reports]
