"""Checks on arrival, in the report's transaction: reads what the rules of `anomalies.py`
compare with, and the `condition.changed` events that raise (or resolve) `report_anomaly`
alerts: one per rule tripped, subject `<period>/<rule>`; a rule the period's previous revision
tripped and this one does not is resolved. Rules silenced for the project (table
`silenced_checks`) are not checked; silencing one resolves its alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events import ConditionChanged, ConditionKind, ProjectContext
from contracts.reports import Cell, ReportIn
from services.intake import models as m
from services.intake.anomalies import ArrivalWarning, Rule, Thresholds, warnings
from services.intake.domain import envelope


def _latest_revisions(project_id: UUID) -> Select[tuple[str, Any, Any]]:
    r = m.reports.c
    return (
        select(r.period, r.cells, r.warnings)
        .where(r.project_id == project_id)
        .order_by(r.period, r.revision.desc())
        .ext(distinct_on(r.period))
    )


async def silenced_rules(conn: AsyncConnection, project_id: UUID) -> set[Rule]:
    s = m.silenced_checks.c
    rows = await conn.execute(select(s.rule).where(s.project_id == project_id))
    return {Rule(rule) for (rule,) in rows}


async def check_arrival(
    conn: AsyncConnection, project_id: UUID, report: ReportIn, thresholds: Thresholds
) -> tuple[list[ArrivalWarning], set[Rule]]:
    """The report's warnings, and the rules its period's previous revision tripped (but for
    silenced ones: their alerts were resolved when they were silenced)."""
    silenced = await silenced_rules(conn, project_id)
    others: dict[str, list[Cell]] = {}
    previous: list[Cell] | None = None
    tripped: set[Rule] = set()
    for period, cells, stored in await conn.execute(_latest_revisions(project_id)):
        parsed = [Cell.model_validate(c) for c in cells]
        if period == report.period:
            previous, tripped = parsed, {Rule(w["rule"]) for w in stored}
        else:
            others[period] = parsed
    found = warnings(
        period=report.period,
        cells=report.cells,
        previous=previous,
        others=others,
        thresholds=thresholds,
        silenced=silenced,
    )
    return found, tripped - silenced


async def periods_tripping(conn: AsyncConnection, project_id: UUID, rule: Rule) -> list[str]:
    """The periods whose current revision tripped `rule`: its alerts firing now."""
    return [
        period
        for period, _, stored in await conn.execute(_latest_revisions(project_id))
        if any(w["rule"] == rule.value for w in stored)
    ]


async def project_context(conn: AsyncConnection, project_id: UUID) -> ProjectContext:
    p = m.projects.c
    query = select(p.name, p.sheet, p.regions).where(p.project_id == project_id)
    name, sheet, regions = (await conn.execute(query)).one()
    return ProjectContext(name=name, sheet=sheet, regions=tuple(regions))


def anomaly_events(
    project_id: UUID,
    project: ProjectContext,
    period: str,
    found: list[ArrivalWarning],
    tripped: set[Rule],
    now: datetime,
    resolved_by: str = "Anomalie levée par une révision",
) -> list[ConditionChanged]:
    """Fires `found`, resolves what `tripped` no longer does (saying why: `resolved_by`)."""
    now_tripped = {w.rule: w for w in found}
    changes = [(w.rule, True, w.message) for w in found] + [
        (rule, False, resolved_by) for rule in sorted(tripped - set(now_tripped))
    ]
    return [
        ConditionChanged(
            **envelope(project_id, now),
            payload={
                "kind": ConditionKind.REPORT_ANOMALY,
                "firing": firing,
                "subject": f"{period}/{rule.value}",
                "summary": f"{project.name}, {period} : {message}",
                "details": {"period": period, "rule": rule.value},
                "project": project,
            },
        )
        for rule, firing, message in changes
    ]
