"""Taking indicator reports: validation against the project, revisions, idempotent retries."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from pydantic import TypeAdapter
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts import topics
from contracts.events import IndicatorReportSubmitted, IndicatorReportSubmittedPayload
from contracts.reports import Cell, ReportIn
from contracts.topics import event_key
from services.intake import models as m
from services.intake.anomalies import ArrivalWarning, PeriodFigures, Rule, Thresholds
from services.intake.arrival import anomaly_events, project_context, read_standing
from services.intake.domain import (
    CellLoc,
    ReportCheck,
    ReportRevision,
    envelope,
    json_cell_loc,
    report_check,
    report_problems,
    request_fingerprint,
)
from services.intake.queries import EarlierReport, ProjectRuns, current_report, earlier_report
from services.intake.schemas import ReportAccepted
from services.intake.usecases.base import UseCases
from services.intake.usecases.reviews import resolve_returned
from services.runtime.auth import Caller
from services.runtime.clock import Clock
from services.runtime.db import driver
from services.runtime.errors import FieldError, Unprocessable
from services.runtime.outbox import enqueue

# The storage step: two statements sent on the transaction's asyncpg connection, prepared
# once per connection (asyncpg's statement cache), without SQLAlchemy's statement building,
# which cost a report three times asyncpg's CPU (docs/performance.md, B1). The period's next
# revision number, then the report row and its event in the outbox, in one round trip.
NEXT_REVISION = f"""
    INSERT INTO {m.periods.fullname} (project_id, period, revision) VALUES ($1, $2, 1)
    ON CONFLICT (project_id, period) DO UPDATE SET revision = {m.periods.fullname}.revision + 1
    RETURNING revision"""
STORE = f"""
    WITH report AS (
        INSERT INTO {m.reports.fullname} (report_id, project_id, period, revision,
            idempotency_key, request_sha256, submitted_by, submitted_at, reason, cells, warnings,
            total_count, trained_count, sex_split)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)),
    event AS (
        INSERT INTO {m.outbox.fullname} (event_id, topic, key, value) VALUES ($15, $16, $17, $18))
    SELECT review_status FROM {m.reports.fullname}
    WHERE project_id = $2 AND period = $3 AND revision = $4 - 1"""
"""The statement also answers the review status of the revision it supersedes: read after
`NEXT_REVISION` took the period's row lock, it sees that revision committed."""
CELLS = TypeAdapter(list[Cell])


@dataclass(frozen=True, slots=True)
class Accepted:
    answer: ReportAccepted
    replayed: bool


class ReportUseCases(UseCases):
    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        projects: ProjectRuns | None = None,
        thresholds: Thresholds | None = None,
    ) -> None:
        super().__init__(engine, clock, projects)
        self.thresholds = thresholds or Thresholds()

    async def _validate(
        self, conn: AsyncConnection, project_id: UUID, report: ReportIn, today: date, loc: CellLoc
    ) -> tuple[list[ArrivalWarning], set[Rule]]:
        """The report's rules against the project as it stands, then its checks on arrival:
        the one validation that a dry run and a submission share. Answers the warnings and the
        rules the period's previous revision tripped."""
        standing = await read_standing(conn, project_id)
        run = standing.run
        problems = report_problems(
            report,
            regions=run.regions,
            start=run.start,
            end=run.last_day,
            today=today,
            cell_loc=loc,
        )
        if problems:
            raise Unprocessable(problems)
        return standing.check(report, self.thresholds)

    async def check_report(
        self, project_id: UUID, report: ReportIn, cell_loc: CellLoc = json_cell_loc
    ) -> tuple[ReportCheck, list[ArrivalWarning]]:
        """A dry run: the rules `submit_report` applies, what the report would change and the
        warnings it would get. It only reads: no revision number taken, no Idempotency-Key
        looked up or kept, no event."""
        async with self.engine.connect() as conn:
            found, _ = await self._validate(conn, project_id, report, self.clock().date(), cell_loc)
            current = await current_report(conn, project_id, report.period)
        if current is None:
            return report_check(report, None, []), found
        return report_check(report, current.revision, list(current.cells)), found

    async def submit_report(
        self,
        project_id: UUID,
        report: ReportIn,
        caller: Caller,
        idempotency_key: str | None,
        cell_loc: CellLoc = json_cell_loc,
    ) -> Accepted:
        now, fingerprint = self.clock(), request_fingerprint(report)
        try:
            async with self.engine.begin() as conn:
                if idempotency_key is not None:
                    earlier = await earlier_report(conn, project_id, idempotency_key)
                    if earlier is not None:
                        return _replay(project_id, earlier, fingerprint)
                found, tripped = await self._validate(
                    conn, project_id, report, now.date(), cell_loc
                )
                sent, superseded = await _store(
                    conn, project_id, report, caller, now, idempotency_key, fingerprint, found
                )
                await resolve_returned(
                    conn, project_id, report.period, sent.revision, now, superseded
                )
                if found or tripped:
                    context = await project_context(conn, project_id)
                    events = anomaly_events(project_id, context, report.period, found, tripped, now)
                    await enqueue(conn, m.outbox, topics.STATUS, events)
            return Accepted(ReportAccepted.of(project_id, sent, found), replayed=False)
        except IntegrityError:
            # A concurrent request with the same Idempotency-Key won the race: answer as it did.
            async with self.engine.connect() as conn:
                earlier = await earlier_report(conn, project_id, idempotency_key or "")
            if earlier is None:
                raise
            return _replay(project_id, earlier, fingerprint)


async def _store(
    conn: AsyncConnection,
    project_id: UUID,
    report: ReportIn,
    caller: Caller,
    now: datetime,
    idempotency_key: str | None,
    fingerprint: str,
    found: list[ArrivalWarning],
) -> tuple[ReportRevision, str | None]:
    """The report's revision, its row and its event, in the caller's transaction; with the
    review status of the revision it supersedes (None for a first one)."""
    async with driver(conn, "store report") as db:
        revision = await db.fetchval(NEXT_REVISION, project_id, report.period)
        sent = ReportRevision(
            uuid.uuid4(),
            report.period,
            revision,
            caller.label,
            now,
            report.reason,
            len(report.cells),
        )
        event = IndicatorReportSubmitted(
            **envelope(project_id, now),
            payload=IndicatorReportSubmittedPayload(
                report_id=sent.report_id,
                period=report.period,
                revision=revision,
                submitted_by=caller.label,
                submitted_at=now,
                reason=report.reason,
                cells=tuple(report.cells),
            ),
        )
        figures = PeriodFigures.of(report.cells)
        superseded: str | None = await db.fetchval(
            STORE,
            sent.report_id,
            project_id,
            report.period,
            revision,
            idempotency_key,
            fingerprint,
            caller.label,
            now,
            report.reason,
            CELLS.dump_json(report.cells).decode(),  # jsonb takes JSON text on these connections
            json.dumps([_stored(w) for w in found]),
            figures.total,
            figures.trained,
            figures.sex_split,
            event.event_id,
            topics.REPORTS.name,
            event_key(event.partition_key),
            event.model_dump_json().encode(),
        )
    return sent, superseded


def _replay(project_id: UUID, earlier: EarlierReport, fingerprint: str) -> Accepted:
    """The first answer again, if the retry carries the same content."""
    if earlier.fingerprint != fingerprint:
        raise Unprocessable(
            [
                FieldError(
                    ("header", "Idempotency-Key"),
                    "this Idempotency-Key was used for a different report",
                    "idempotency_key_reused",
                )
            ]
        )
    return Accepted(
        ReportAccepted.of(project_id, earlier.revision, earlier.warnings), replayed=True
    )


def _stored(warning: ArrivalWarning) -> dict[str, str]:
    return {"rule": warning.rule.value, "message": warning.message}
