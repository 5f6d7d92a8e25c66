"""Checks on arrival, in the report's transaction: reads what the rules of `anomalies.py`
compare with, and the `condition.changed` events that raise (or resolve) `report_anomaly`
alerts: one per rule tripped, subject `<period>/<rule>`; a rule the period's previous revision
tripped and this one does not is resolved. Rules silenced for the project (table
`silenced_checks`) are not checked; silencing one resolves its alerts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events import ConditionChanged, ConditionKind, ProjectContext
from contracts.reports import ReportIn
from services.intake import models as m
from services.intake.anomalies import ArrivalWarning, PeriodFigures, Rule, Thresholds, warnings
from services.intake.domain import ProjectRun, envelope
from services.runtime.db import driver
from services.runtime.errors import NotFound

# A report's one read before it is stored, on the transaction's asyncpg connection (prepared
# once per connection): the project's run, its silenced rules and, a row each, its periods'
# latest revisions with their figures. It replaced four SQLAlchemy statements and the decoding
# of every period's cells (docs/performance.md, B1).
STANDING = f"""
    SELECT p.regions, p.start_date, p.end_date, p.closed_on, s.rules,
        l.period, l.total_count, l.trained_count, l.sex_split, l.warnings
    FROM {m.projects.fullname} p
    CROSS JOIN LATERAL (
        SELECT array_agg(rule) AS rules FROM {m.silenced_checks.fullname}
        WHERE project_id = p.project_id) s
    LEFT JOIN LATERAL (
        SELECT DISTINCT ON (period) period, total_count, trained_count, sex_split, warnings
        FROM {m.reports.fullname} WHERE project_id = p.project_id
        ORDER BY period, revision DESC) l ON true
    WHERE p.project_id = $1"""


@dataclass(frozen=True, slots=True)
class Latest:
    """A period's latest revision, as the checks compare with it."""

    figures: PeriodFigures
    tripped: frozenset[Rule]


@dataclass(frozen=True, slots=True)
class Standing:
    """A project as a new report of it is checked: its run, the rules silenced for it and
    each period's latest revision."""

    run: ProjectRun
    silenced: frozenset[Rule]
    latest: Mapping[str, Latest]

    def check(
        self, report: ReportIn, thresholds: Thresholds
    ) -> tuple[list[ArrivalWarning], set[Rule]]:
        """The report's warnings, and the rules its period's previous revision tripped (but
        for silenced ones: their alerts were resolved when they were silenced)."""
        previous = self.latest.get(report.period)
        found = warnings(
            period=report.period,
            cells=report.cells,
            previous=None if previous is None else previous.figures,
            others={p: r.figures for p, r in self.latest.items() if p != report.period},
            thresholds=thresholds,
            silenced=self.silenced,
        )
        tripped = set() if previous is None else set(previous.tripped)
        return found, tripped - self.silenced


async def read_standing(conn: AsyncConnection, project_id: UUID) -> Standing:
    """In the caller's transaction; `NotFound` for an unknown project."""
    async with driver(conn, "read a project's standing") as db:
        rows = await db.fetch(STANDING, project_id)
    if not rows:
        raise NotFound(f"project {project_id} not found")
    first = rows[0]
    return Standing(
        ProjectRun(
            tuple(first["regions"]), first["start_date"], first["end_date"], first["closed_on"]
        ),
        frozenset(Rule(rule) for rule in first["rules"] or ()),
        {
            row["period"]: Latest(
                PeriodFigures(row["total_count"], row["trained_count"], row["sex_split"]),
                frozenset(Rule(w["rule"]) for w in row["warnings"]),
            )
            for row in rows
            if row["period"] is not None
        },
    )


def _latest_revisions(project_id: UUID) -> Select[tuple[str, Any]]:
    r = m.reports.c
    return (
        select(r.period, r.warnings)
        .where(r.project_id == project_id)
        .order_by(r.period, r.revision.desc())
        .ext(distinct_on(r.period))
    )


async def periods_tripping(conn: AsyncConnection, project_id: UUID, rule: Rule) -> list[str]:
    """The periods whose current revision tripped `rule`: its alerts firing now."""
    return [
        period
        for period, stored in await conn.execute(_latest_revisions(project_id))
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
