"""Per-item gauges for the milestones dashboard: each lagging milestone and each overdue report,
read from the database at scrape time. Bounded by the milestones at risk or overdue and the
reports overdue at that moment (never every milestone of every project)."""

from __future__ import annotations

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from services.milestone.queries import MilestoneQueries
from services.runtime.clock import Clock

LAGGING = ("at_risk", "overdue")


async def lagging_families(queries: MilestoneQueries, clock: Clock) -> list[Metric]:
    today = clock().date()
    lagging = GaugeMetricFamily(
        "cma_milestone_lagging_days",
        "Milestones at risk or overdue: days past the due date (negative: days left).",
        labels=["sheet", "project_id", "project", "milestone", "title", "due_date", "status"],
    )
    for status in LAGGING:
        for row in await queries.milestones(status=status):
            labels = [row["sheet"], str(row["project_id"]), row["project_name"]]
            labels += [row["milestone_id"], row["title"], row["due_date"].isoformat(), status]
            lagging.add_metric(labels, (today - row["due_date"]).days)
    reports = GaugeMetricFamily(
        "cma_milestone_overdue_report_days",
        "Semester reports overdue: days past their deadline.",
        labels=["sheet", "project_id", "project", "period", "deadline"],
    )
    for row in await queries.overdue_reports():
        labels = [row["sheet"], str(row["project_id"]), row["project_name"], row["period"]]
        reports.add_metric([*labels, row["deadline"].isoformat()], (today - row["deadline"]).days)
    return [lagging, reports]
