"""Milestone's gauges, read from the database at scrape time: milestones by sheet and status,
open overdue reports by sheet, and, for the milestones dashboard, one series per lagging
milestone and per overdue report, each with its `_info` twin for names and dates. The
per-item series are bounded by the milestones at risk or overdue and the reports overdue at
that moment (never every milestone of every project)."""

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
    """Values keyed by identifiers only, so a renamed project or milestone, or a rescheduled
    one, keeps its series; the names and dates are in `_info` series (value 1) a dashboard
    joins with `group_left`."""
    lagging = GaugeMetricFamily(
        "cma_milestone_lagging_seconds",
        "Milestones at risk or overdue: time past the due date, in whole days (negative: left).",
        labels=["sheet", "project_id", "milestone", "status"],
    )
    lagging_info = GaugeMetricFamily(
        "cma_milestone_lagging_info",
        "A milestone at risk or overdue: its project's name, title and due date (value 1).",
        labels=["sheet", "project_id", "milestone", "project", "title", "due_date"],
    )
    for ms in milestones:
        key = [ms.sheet, str(ms.project_id), ms.milestone_id]
        lagging.add_metric([*key, ms.status.value], (today - ms.due_date).total_seconds())
        lagging_info.add_metric([*key, ms.project_name, ms.title, ms.due_date.isoformat()], 1)
    reports = GaugeMetricFamily(
        "cma_milestone_overdue_report_seconds",
        "Semester reports overdue: time past their deadline, in whole days.",
        labels=["sheet", "project_id", "period"],
    )
    reports_info = GaugeMetricFamily(
        "cma_milestone_overdue_report_info",
        "A semester report overdue: its project's name and deadline (value 1).",
        labels=["sheet", "project_id", "period", "project", "deadline"],
    )
    for r in overdue:
        key = [r.sheet, str(r.project_id), r.period]
        reports.add_metric(key, (today - r.deadline).total_seconds())
        reports_info.add_metric([*key, r.project_name, r.deadline.isoformat()], 1)
    return [lagging, lagging_info, reports, reports_info]
