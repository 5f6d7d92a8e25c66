"""Reviewing reports: a programme officer approves or returns a period's latest revision.

The decision is stored on the revision and published, with the revision's cells, through the
outbox on the reports topic (the approved reading is rebuilt from that topic alone); a return
raises a `report_returned` alert, which the period's next revision resolves."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts import topics
from contracts.events import (
    ConditionChanged,
    ConditionKind,
    ReportReviewed,
    ReportReviewedPayload,
)
from contracts.reports import Cell, ReviewDecision, ReviewIn
from services.intake import models as m
from services.intake.arrival import project_context
from services.intake.domain import (
    ReportRevision,
    Review,
    ReviewStatus,
    envelope,
    review_changes,
)
from services.intake.queries import review_of
from services.intake.schemas import ReviewOut
from services.intake.usecases.base import UseCases
from services.runtime.auth import Caller
from services.runtime.errors import NotFound
from services.runtime.outbox import enqueue

_r, _pe = m.reports.c, m.periods.c
# The period's row is locked: a report arriving meanwhile waits, so the revision reviewed is
# still the latest when the decision commits.
_CURRENT = (
    select(_pe.revision)
    .where(_pe.project_id == bindparam("project_id"), _pe.period == bindparam("period"))
    .with_for_update()
)
_REVISION = select(
    _r.report_id,
    _r.submitted_by,
    _r.submitted_at,
    _r.reason,
    _r.cells,
    _r.review_status,
    _r.reviewed_by,
    _r.reviewed_at,
    _r.review_comment,
).where(
    _r.project_id == bindparam("project_id"),
    _r.period == bindparam("period"),
    _r.revision == bindparam("revision"),
)


class ReviewUseCases(UseCases):
    async def review(
        self, project_id: UUID, period: str, revision: int, body: ReviewIn, caller: Caller
    ) -> ReviewOut:
        now = self.clock()
        key = {"project_id": project_id, "period": period, "revision": revision}
        async with self.engine.begin() as conn:
            await self.projects.get(conn, project_id)
            current = (await conn.execute(_CURRENT, key)).scalar_one_or_none()
            row = (await conn.execute(_REVISION, key)).one_or_none()
            if current is None or row is None:
                raise NotFound(f"no revision {revision} of {period} for project {project_id}")
            sent = ReportRevision(
                row.report_id,
                period,
                revision,
                row.submitted_by,
                row.submitted_at,
                row.reason,
                len(row.cells),
            )
            found = review_of(row)
            if not review_changes(
                status=found.status, revision=revision, current=current, decision=body.decision
            ):
                return ReviewOut.of(project_id, sent, found)
            decided = Review(ReviewStatus(body.decision.value), caller.label, now, body.comment)
            await conn.execute(
                update(m.reports)
                .where(_r.report_id == row.report_id)
                .values(
                    review_status=decided.status.value,
                    reviewed_by=decided.reviewed_by,
                    reviewed_at=now,
                    review_comment=decided.comment,
                )
            )
            await enqueue(
                conn,
                m.outbox,
                topics.REPORTS,
                [
                    ReportReviewed(
                        **envelope(project_id, now),
                        payload=ReportReviewedPayload(
                            report_id=row.report_id,
                            period=period,
                            revision=revision,
                            decision=body.decision,
                            comment=body.comment,
                            reviewed_by=caller.label,
                            reviewed_at=now,
                            cells=tuple(Cell.model_validate(c) for c in row.cells),
                        ),
                    )
                ],
            )
            if body.decision is ReviewDecision.RETURNED:
                await _returned(conn, project_id, period, revision, now, body.comment)
        return ReviewOut.of(project_id, sent, decided)


async def resolve_returned(
    conn: AsyncConnection,
    project_id: UUID,
    period: str,
    revision: int,
    now: datetime,
    superseded: str | None,
) -> None:
    """In a new revision's transaction: resolves the `report_returned` alert of the revision
    it supersedes (whose review status is `superseded`), if that one was returned."""
    if superseded == ReviewStatus.RETURNED.value:
        await _returned(conn, project_id, period, revision - 1, now, None)


async def _returned(
    conn: AsyncConnection,
    project_id: UUID,
    period: str,
    revision: int,
    now: datetime,
    comment: str | None,
) -> None:
    """Fires the period's `report_returned` alert with the officer's comment, or (no comment:
    a new revision came) resolves it."""
    firing = comment is not None
    project = await project_context(conn, project_id)
    summary = (
        f"{project.name}, {period} : rapport renvoyé pour correction (révision {revision})"
        if firing
        else f"{project.name}, {period} : nouvelle révision reçue après renvoi"
    )
    event = ConditionChanged(
        **envelope(project_id, now),
        payload={
            "kind": ConditionKind.REPORT_RETURNED,
            "firing": firing,
            "subject": period,
            "summary": summary,
            "details": {"period": period, "revision": str(revision)}
            | ({"comment": comment} if comment else {}),
            "project": project,
        },
    )
    await enqueue(conn, m.outbox, topics.STATUS, [event])
