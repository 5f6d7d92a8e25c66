"""Taking indicator reports: validation against the project, revisions, idempotent retries."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts import topics
from contracts.events import (
    EventEnvelope,
    IndicatorReportSubmitted,
    IndicatorReportSubmittedPayload,
)
from contracts.reports import ReportIn
from contracts.topics import Topic, event_key
from services.intake import models as m
from services.intake.anomalies import ArrivalWarning, PeriodFigures, Rule, Thresholds
from services.intake.arrival import Standing, anomaly_events, read_standing
from services.intake.domain import (
    CellLoc,
    ReportCheck,
    ReportRevision,
    ReviewStatus,
    envelope,
    json_cell_loc,
    report_check,
    report_problems,
    request_fingerprint,
)
from services.intake.queries import EarlierReport, ProjectRuns, current_report
from services.intake.schemas import ReportAccepted
from services.intake.usecases.base import UseCases
from services.intake.usecases.reviews import returned_event
from services.runtime.auth import Caller
from services.runtime.clock import Clock
from services.runtime.db import driver
from services.runtime.errors import FieldError, Unavailable, Unprocessable

RETURNED = ReviewStatus.RETURNED.value
# The storage step: one statement on the request's asyncpg connection, prepared once per
# connection, atomic with no transaction around it (no BEGIN and COMMIT round trips): the
# period's revision counter, the report row and its events in the outbox. The report was
# checked against the standing read just before (`arrival.STANDING`); it is stored only if its
# period still stands as read: the counter is still the revision before the report's ($4), and
# that revision is still returned, or not, as read ($18: whether the events include its
# `report_returned` alert resolved). The period's row is locked first (a review holds it while
# it decides), then the superseded revision read `FOR SHARE`, which sees a review committed
# meanwhile. Otherwise nothing is written, no row comes back, and the report is checked again.
# The row's cells are taken from its event's JSON (the first event): one dump, sent once.
STORE = f"""
    WITH locked AS MATERIALIZED (
        SELECT revision FROM {m.periods.fullname}
        WHERE project_id = $2::uuid AND period = $3::text FOR UPDATE),
    superseded AS MATERIALIZED (
        SELECT review_status FROM {m.reports.fullname}
        WHERE project_id = $2 AND period = $3 AND revision = (SELECT revision FROM locked)
        FOR SHARE),
    next AS (
        INSERT INTO {m.periods.fullname} AS pe (project_id, period, revision)
        SELECT $2, $3, $4::int
        WHERE (SELECT revision FROM locked) IS NOT DISTINCT FROM nullif($4 - 1, 0)
            AND coalesce((SELECT review_status FROM superseded) = '{RETURNED}', false) = $18::bool
        ON CONFLICT (project_id, period) DO UPDATE SET revision = excluded.revision
        WHERE pe.revision = excluded.revision - 1
        RETURNING revision),
    report AS (
        INSERT INTO {m.reports.fullname} (report_id, project_id, period, revision,
            idempotency_key, request_sha256, submitted_by, submitted_at, reason, cells, warnings,
            total_count, trained_count, sex_split)
        SELECT $1::uuid, $2, $3, revision, $5::text, $6::text, $7::text, $8::timestamptz,
            $9::text, convert_from(($17::bytea[])[1], 'UTF8')::jsonb #> '{{payload,cells}}',
            $10::jsonb, $11::bigint, $12::bigint, $13::bool
        FROM next),
    events AS (
        INSERT INTO {m.outbox.fullname} (event_id, topic, key, value)
        SELECT e.event_id, e.topic, e.key, e.value
        FROM next, unnest($14::uuid[], $15::text[], $16::bytea[], $17::bytea[])
            WITH ORDINALITY AS e (event_id, topic, key, value, n)
        ORDER BY e.n)
    SELECT revision FROM next"""
STORE_ATTEMPTS = 5
"""An attempt fails only if another revision of the period, or a review of the last one, was
committed between its read and its store."""


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

    def _checked(
        self, standing: Standing, report: ReportIn, today: date, loc: CellLoc
    ) -> tuple[list[ArrivalWarning], set[Rule]]:
        """The report's rules against the project as it stands, then its checks on arrival:
        the one validation that a dry run and a submission share. Answers the warnings and the
        rules the period's previous revision tripped."""
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
            standing = await read_standing(conn, project_id)
            found, _ = self._checked(standing, report, self.clock().date(), cell_loc)
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
            async with self.engine.connect() as conn:
                for _ in range(STORE_ATTEMPTS):
                    standing = await read_standing(conn, project_id, idempotency_key)
                    if standing.earlier is not None:
                        return _replay(project_id, standing.earlier, fingerprint)
                    found, tripped = self._checked(standing, report, now.date(), cell_loc)
                    sent = await _store(
                        conn,
                        project_id,
                        report,
                        caller,
                        now,
                        idempotency_key,
                        fingerprint,
                        standing,
                        found,
                        tripped,
                    )
                    if sent is not None:
                        return Accepted(ReportAccepted.of(project_id, sent, found), replayed=False)
        except IntegrityError:
            # A concurrent request with the same Idempotency-Key won the race: answer as it did.
            async with self.engine.connect() as conn:
                earlier = (await read_standing(conn, project_id, idempotency_key or "")).earlier
            if earlier is None:
                raise
            return _replay(project_id, earlier, fingerprint)
        raise Unavailable(f"period {report.period} is being revised by other requests")


async def _store(
    conn: AsyncConnection,
    project_id: UUID,
    report: ReportIn,
    caller: Caller,
    now: datetime,
    idempotency_key: str | None,
    fingerprint: str,
    standing: Standing,
    found: list[ArrivalWarning],
    tripped: set[Rule],
) -> ReportRevision | None:
    """The report's revision, its row and its events (the report, the `report_returned` alert
    of the revision it supersedes resolved, its anomalies), in one statement; None, and nothing
    written, if its period no longer stands as `standing` read it."""
    previous = standing.latest.get(report.period)
    returned = previous is not None and previous.review_status == RETURNED
    sent = ReportRevision(
        uuid.uuid4(),
        report.period,
        1 if previous is None else previous.revision + 1,
        caller.label,
        now,
        report.reason,
        len(report.cells),
    )
    submitted = IndicatorReportSubmitted(
        **envelope(project_id, now),
        payload=IndicatorReportSubmittedPayload(
            report_id=sent.report_id,
            period=report.period,
            revision=sent.revision,
            submitted_by=sent.submitted_by,
            submitted_at=now,
            reason=report.reason,
            cells=tuple(report.cells),
        ),
    )
    events: list[tuple[Topic, EventEnvelope]] = [(topics.REPORTS, submitted)]
    if returned:
        resolved = returned_event(
            project_id, standing.context, report.period, sent.revision - 1, now, None
        )
        events.append((topics.STATUS, resolved))
    events += [
        (topics.STATUS, event)
        for event in anomaly_events(
            project_id, standing.context, report.period, found, tripped, now
        )
    ]
    figures = PeriodFigures.of(report.cells)
    async with driver(conn, "store report") as db:
        revision: int | None = await db.fetchval(
            STORE,
            sent.report_id,
            project_id,
            report.period,
            sent.revision,
            idempotency_key,
            fingerprint,
            sent.submitted_by,
            now,
            report.reason,
            json.dumps([_stored(w) for w in found]),
            figures.total,
            figures.trained,
            figures.sex_split,
            [event.event_id for _, event in events],
            [topic.name for topic, _ in events],
            [event_key(event.partition_key) for _, event in events],
            [event.model_dump_json().encode() for _, event in events],
            returned,
        )
    return None if revision is None else sent


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
