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

import asyncpg
from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events import ConditionChanged, ConditionKind, ProjectContext
from contracts.reports import ReportIn
from services.intake import models as m
from services.intake.anomalies import ArrivalWarning, PeriodFigures, Rule, Thresholds, warnings
from services.intake.domain import ProjectRun, ReportRevision, envelope
from services.intake.queries import EarlierReport
from services.runtime.db import driver
from services.runtime.errors import NotFound

# A report's one read before it is stored, on the request's asyncpg connection (prepared once
# per connection): the project's run and context, its silenced rules, the report first sent
# with the request's Idempotency-Key (if any) and, a row each, its periods' last revision
# numbers with those revisions' figures. It replaced six SQLAlchemy statements and the decoding
# of every period's cells (docs/performance.md, B1).
STANDING = f"""
    SELECT p.regions, p.start_date, p.end_date, p.closed_on, p.name, p.sheet, s.rules,
        k.request_sha256 AS k_sha256, k.warnings AS k_warnings, k.report_id AS k_report_id,
        k.period AS k_period, k.revision AS k_revision, k.submitted_by AS k_submitted_by,
        k.submitted_at AS k_submitted_at, k.reason AS k_reason, k.cells AS k_cells,
        l.period, l.revision, l.review_status, l.total_count, l.trained_count, l.sex_split,
        l.warnings
    FROM {m.projects.fullname} p
    CROSS JOIN LATERAL (
        SELECT array_agg(rule) AS rules FROM {m.silenced_checks.fullname}
        WHERE project_id = p.project_id) s
    LEFT JOIN LATERAL (
        SELECT request_sha256, warnings, report_id, period, revision, submitted_by,
            submitted_at, reason, jsonb_array_length(cells) AS cells
        FROM {m.reports.fullname} WHERE project_id = p.project_id AND idempotency_key = $2) k
        ON true
    LEFT JOIN LATERAL (
        SELECT pe.period, pe.revision, r.review_status, r.total_count, r.trained_count,
            r.sex_split, r.warnings
        FROM {m.periods.fullname} pe LEFT JOIN {m.reports.fullname} r
            ON r.project_id = pe.project_id AND r.period = pe.period AND r.revision = pe.revision
        WHERE pe.project_id = p.project_id) l ON true
    WHERE p.project_id = $1"""


@dataclass(frozen=True, slots=True)
class Latest:
    """A period's last revision number handed out and that revision as the checks compare
    with it: its figures, the rules it tripped, its review status. None and empty when that
    number was taken by a report never stored, which only reports stored before they were
    stored in one statement could leave (docs/performance.md, B1)."""

    revision: int
    review_status: str | None
    figures: PeriodFigures | None
    tripped: frozenset[Rule]


@dataclass(frozen=True, slots=True)
class Standing:
    """A project as a new report of it is checked and stored: its run, what its status events
    say of it, the rules silenced for it, each period's latest revision and the report first
    sent with the request's Idempotency-Key."""

    run: ProjectRun
    context: ProjectContext
    silenced: frozenset[Rule]
    latest: Mapping[str, Latest]
    earlier: EarlierReport | None

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
            others={
                p: r.figures
                for p, r in self.latest.items()
                if p != report.period and r.figures is not None
            },
            thresholds=thresholds,
            silenced=self.silenced,
        )
        tripped = set() if previous is None else set(previous.tripped)
        return found, tripped - self.silenced


async def read_standing(
    conn: AsyncConnection, project_id: UUID, idempotency_key: str | None = None
) -> Standing:
    """Outside any transaction is enough: `reports.STORE` stores only if the period still
    stands as read. `NotFound` for an unknown project."""
    async with driver(conn, "read a project's standing") as db:
        rows = await db.fetch(STANDING, project_id, idempotency_key)
    if not rows:
        raise NotFound(f"project {project_id} not found")
    first = rows[0]
    regions = tuple(first["regions"])
    return Standing(
        ProjectRun(regions, first["start_date"], first["end_date"], first["closed_on"]),
        ProjectContext(name=first["name"], sheet=first["sheet"], regions=regions),
        frozenset(Rule(rule) for rule in first["rules"] or ()),
        {
            row["period"]: Latest(
                row["revision"],
                row["review_status"],
                None
                if row["review_status"] is None
                else PeriodFigures(row["total_count"], row["trained_count"], row["sex_split"]),
                frozenset(Rule(w["rule"]) for w in row["warnings"] or ()),
            )
            for row in rows
            if row["period"] is not None
        },
        None if first["k_sha256"] is None else _earlier(first),
    )


def _earlier(row: asyncpg.Record) -> EarlierReport:
    return EarlierReport(
        row["k_sha256"],
        ReportRevision(
            row["k_report_id"],
            row["k_period"],
            row["k_revision"],
            row["k_submitted_by"],
            row["k_submitted_at"],
            row["k_reason"],
            row["k_cells"],
        ),
        tuple(ArrivalWarning(Rule(w["rule"]), w["message"]) for w in row["k_warnings"]),
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
    """What status events say of a project, for writes that do not read its standing."""
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
