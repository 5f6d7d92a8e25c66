"""Checks on arrival, in the report's transaction: reads what the rules of `anomalies.py`
compare with, and the `condition.changed` events that raise (or resolve) `report_anomaly`
alerts: one per rule tripped, subject `<period>/<rule>`; a rule the period's previous revision
tripped and this one does not is resolved."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events import ConditionChanged, ConditionKind, ProjectContext
from contracts.reports import Cell, ReportIn
from services.intake import models as m
from services.intake.anomalies import ArrivalWarning, Rule, Thresholds, warnings
from services.intake.domain import envelope


async def check_arrival(
    conn: AsyncConnection, project_id: UUID, report: ReportIn, thresholds: Thresholds
) -> tuple[list[ArrivalWarning], set[Rule]]:
    """The report's warnings, and the rules its period's previous revision tripped."""
    r = m.reports.c
    latest = (
        select(r.period, r.cells, r.warnings)
        .where(r.project_id == project_id)
        .order_by(r.period, r.revision.desc())
        .distinct(r.period)
    )
    others: dict[str, list[Cell]] = {}
    previous: list[Cell] | None = None
    tripped: set[Rule] = set()
    for period, cells, stored in await conn.execute(latest):
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
    )
    return found, tripped


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
) -> list[ConditionChanged]:
    now_tripped = {w.rule: w for w in found}
    changes = [(w.rule, True, w.message) for w in found] + [
        (rule, False, "Anomalie levée par une révision") for rule in tripped - set(now_tripped)
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
