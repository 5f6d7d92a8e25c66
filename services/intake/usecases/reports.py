"""Taking indicator reports: validation against the project, revisions, idempotent retries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts import topics
from contracts.events import IndicatorReportSubmitted, IndicatorReportSubmittedPayload
from contracts.reports import ReportIn
from services.intake import models as m
from services.intake.anomalies import ArrivalWarning, Thresholds
from services.intake.arrival import anomaly_events, check_arrival, project_context
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
from services.runtime.errors import FieldError, Unprocessable
from services.runtime.outbox import enqueue

NEXT_REVISION = (
    insert(m.periods)
    .values(project_id=bindparam("project_id"), period=bindparam("period"), revision=1)
    .on_conflict_do_update(
        index_elements=["project_id", "period"], set_={"revision": m.periods.c.revision + 1}
    )
    .returning(m.periods.c.revision)
)
"""The period's next revision number; built once, as every report runs it."""


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

    async def check_report(
        self, project_id: UUID, report: ReportIn, cell_loc: CellLoc = json_cell_loc
    ) -> tuple[ReportCheck, list[ArrivalWarning]]:
        """A dry run: the rules `submit_report` applies, what the report would change and the
        warnings it would get. It only reads: no revision number taken, no Idempotency-Key
        looked up or kept, no event."""
        async with self.engine.connect() as conn:
            project = await self.projects.get(conn, project_id)
            problems = report_problems(
                report,
                regions=project.regions,
                start=project.start,
                end=project.last_day,  # as `submit_report` checks it
                today=self.clock().date(),
                cell_loc=cell_loc,
            )
            if problems:
                raise Unprocessable(problems)
            current = await current_report(conn, project_id, report.period)
            found, _ = await check_arrival(conn, project_id, report, self.thresholds)
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
                project = await self.projects.get(conn, project_id)
                if idempotency_key is not None:
                    earlier = await earlier_report(conn, project_id, idempotency_key)
                    if earlier is not None:
                        return _replay(project_id, earlier, fingerprint)
                problems = report_problems(
                    report,
                    regions=project.regions,
                    start=project.start,
                    end=project.last_day,
                    today=now.date(),
                    cell_loc=cell_loc,
                )
                if problems:
                    raise Unprocessable(problems)
                found, tripped = await check_arrival(conn, project_id, report, self.thresholds)
                revision = (
                    await conn.execute(
                        NEXT_REVISION, {"project_id": project_id, "period": report.period}
                    )
                ).scalar_one()
                sent = ReportRevision(
                    uuid.uuid4(),
                    report.period,
                    revision,
                    caller.label,
                    now,
                    report.reason,
                    len(report.cells),
                )
                await conn.execute(
                    m.reports.insert(),
                    {
                        "report_id": sent.report_id,
                        "project_id": project_id,
                        "period": report.period,
                        "revision": revision,
                        "idempotency_key": idempotency_key,
                        "request_sha256": fingerprint,
                        "submitted_by": caller.label,
                        "submitted_at": now,
                        "reason": report.reason,
                        "cells": [c.model_dump(mode="json") for c in report.cells],
                        "warnings": [_stored(w) for w in found],
                    },
                )
                await enqueue(
                    conn,
                    m.outbox,
                    topics.REPORTS,
                    [
                        IndicatorReportSubmitted(
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
                    ],
                )
                await resolve_returned(conn, project_id, report.period, revision, now)
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
