"""Intake's reads: a project's run, an earlier report by its Idempotency-Key, a
project's report history and its milestones; the project list, one project with its
history, one report revision's cells. Statements on the hot path (a report request runs the
first two) are built once."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Row, any_, bindparam, func, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.events import ProjectStatus
from contracts.reports import Cell
from services.intake import models as m
from services.intake.anomalies import ArrivalWarning, Rule
from services.intake.domain import (
    ProjectRun,
    QueuedRevision,
    ReportRevision,
    ReportTemplate,
    Review,
    ReviewStatus,
    StaffToken,
    difference,
    kind_totals,
)
from services.intake.schemas import (
    AmendmentOut,
    ClosureOut,
    ProjectMilestoneOut,
    ProjectOut,
    ProjectPage,
    ProjectSummaryOut,
    ReportContent,
    ReportHistory,
    SilencedCheck,
    SilencedChecks,
)
from services.runtime.errors import FieldError, NotFound, Unprocessable

_r = m.reports.c
_REVISION = (
    _r.report_id,
    _r.period,
    _r.revision,
    _r.submitted_by,
    _r.submitted_at,
    _r.reason,
    func.jsonb_array_length(_r.cells).label("cells"),
)
_PROJECT = select(
    m.projects.c.regions, m.projects.c.start_date, m.projects.c.end_date, m.projects.c.closed_on
).where(m.projects.c.project_id == bindparam("project_id"))
_BY_KEY = select(_r.request_sha256, _r.warnings, *_REVISION).where(
    _r.project_id == bindparam("project_id"), _r.idempotency_key == bindparam("key")
)
_MILESTONES = select(m.milestones.c.milestone_id, m.milestones.c.completed_on).where(
    m.milestones.c.project_id == bindparam("project_id")
)
_HISTORY = (
    select(*_REVISION, _r.review_status, _r.reviewed_by, _r.reviewed_at, _r.review_comment)
    .where(_r.project_id == bindparam("project_id"))
    .order_by(_r.period, _r.revision)
)


_CURRENT = (
    select(_r.revision, _r.cells)
    .where(_r.project_id == bindparam("project_id"), _r.period == bindparam("period"))
    .order_by(_r.revision.desc())
    .limit(1)
)
_STATED = select(m.projects.c.name, m.projects.c.sheet, m.projects.c.regions).where(
    m.projects.c.project_id == bindparam("project_id")
)


def _revision(row: Row[*tuple[Any, ...]]) -> ReportRevision:
    return ReportRevision(
        row.report_id,
        row.period,
        row.revision,
        row.submitted_by,
        row.submitted_at,
        row.reason,
        row.cells,
    )


@dataclass(frozen=True, slots=True)
class EarlierReport:
    """The report first sent with an Idempotency-Key: its content's fingerprint and answer."""

    fingerprint: str
    revision: ReportRevision
    warnings: tuple[ArrivalWarning, ...]


class ProjectRuns:
    """A project's regions and run, or `NotFound`. Read in the request's transaction, never
    cached: an amendment or a closure (on any replica) applies to the next report."""

    async def get(self, conn: AsyncConnection, project_id: UUID) -> ProjectRun:
        row = (await conn.execute(_PROJECT, {"project_id": project_id})).one_or_none()
        if row is None:
            raise NotFound(f"project {project_id} not found")
        return ProjectRun(tuple(row.regions), row.start_date, row.end_date, row.closed_on)


async def earlier_report(conn: AsyncConnection, project_id: UUID, key: str) -> EarlierReport | None:
    row = (await conn.execute(_BY_KEY, {"project_id": project_id, "key": key})).one_or_none()
    if row is None:
        return None
    found = tuple(ArrivalWarning(Rule(w["rule"]), w["message"]) for w in row.warnings)
    return EarlierReport(row.request_sha256, _revision(row), found)


async def declared_milestones(conn: AsyncConnection, project_id: UUID) -> dict[str, date | None]:
    """A project's milestones, each with the day it was completed (None: not yet)."""
    rows = await conn.execute(_MILESTONES, {"project_id": project_id})
    return {row.milestone_id: row.completed_on for row in rows}


@dataclass(frozen=True, slots=True)
class CurrentReport:
    """A period's latest revision and its cells: what a dry run compares with, what a
    template is pre-filled with."""

    revision: int
    cells: tuple[Cell, ...]


async def current_report(
    conn: AsyncConnection, project_id: UUID, period: str
) -> CurrentReport | None:
    row = (await conn.execute(_CURRENT, {"project_id": project_id, "period": period})).first()
    if row is None:
        return None
    return CurrentReport(row.revision, tuple(Cell.model_validate(c) for c in row.cells))


class ReportQueries:
    def __init__(self, engine: AsyncEngine, projects: ProjectRuns) -> None:
        self.engine, self.projects = engine, projects

    async def history(self, project_id: UUID) -> ReportHistory:
        """Each period with its revisions, oldest first."""
        async with self.engine.connect() as conn:
            await self.projects.get(conn, project_id)
            rows = (await conn.execute(_HISTORY, {"project_id": project_id})).all()
        return ReportHistory.of(project_id, [(_revision(row), review_of(row)) for row in rows])

    async def template(self, project_id: UUID, period: str) -> ReportTemplate:
        """What the project's template for `period` holds, with its current revision."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(_STATED, {"project_id": project_id})).one_or_none()
            if row is None:
                raise NotFound(f"project {project_id} not found")
            current = await current_report(conn, project_id, period)
        return ReportTemplate(
            project_id,
            row.name,
            row.sheet,
            tuple(row.regions),
            period,
            current.revision if current else None,
            current.cells if current else (),
        )

    async def silenced_checks(self, project_id: UUID) -> SilencedChecks:
        s = m.silenced_checks.c
        query = (
            select(s.rule, s.reason, s.silenced_by, s.silenced_at)
            .where(s.project_id == project_id)
            .order_by(s.rule)
        )
        async with self.engine.connect() as conn:
            await self.projects.get(conn, project_id)
            rows = (await conn.execute(query)).all()
        checks = [SilencedCheck.model_validate(row, from_attributes=True) for row in rows]
        return SilencedChecks(project_id=project_id, checks=checks)


# Projects: the list (keyset pages in registration order), one project with its history, and
# one revision of a report with its cells.

_p, _a = m.projects.c, m.amendments.c
_SUMMARY = (
    _p.project_id,
    _p.sheet,
    _p.wave,
    _p.name,
    _p.lead,
    _p.regions,
    _p.start_date,
    _p.end_date,
    _p.funding_eur,
    _p.status,
    _p.closed_on,
)


@dataclass(frozen=True, slots=True)
class ProjectFilter:
    sheet: str | None = None
    wave: str | None = None
    region: str | None = None
    status: ProjectStatus | None = None
    text: str | None = None  # in the name or the lead, case-insensitive


def _cursor(created_at: datetime, project_id: UUID) -> str:
    raw = f"{created_at.isoformat()}|{project_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, project_id = raw.split("|")
        return datetime.fromisoformat(created_at), UUID(project_id)
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors too
        raise Unprocessable(
            [FieldError(("query", "cursor"), "not a cursor this API handed out")]
        ) from None


def _summary(row: Row[*tuple[Any, ...]]) -> ProjectSummaryOut:
    return ProjectSummaryOut.model_validate(
        {name: getattr(row, name) for name in ProjectSummaryOut.model_fields}
    )


class ProjectQueries:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def page(self, where: ProjectFilter, limit: int, cursor: str | None) -> ProjectPage:
        query = select(*_SUMMARY, _p.created_at).order_by(_p.created_at, _p.project_id)
        if cursor is not None:
            query = query.where(tuple_(_p.created_at, _p.project_id) > tuple_(*_after(cursor)))
        for column, value in ((_p.sheet, where.sheet), (_p.wave, where.wave)):
            if value is not None:
                query = query.where(column == value)
        if where.region is not None:
            query = query.where(literal(where.region) == any_(_p.regions))
        if where.status is not None:
            query = query.where(_p.status == where.status.value)
        if where.text:
            pattern = "%" + re.sub(r"([\\%_])", r"\\\1", where.text) + "%"
            query = query.where(or_(_p.name.ilike(pattern), _p.lead.ilike(pattern)))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query.limit(limit + 1))).all()
        more = len(rows) > limit
        last = rows[limit - 1] if more else None
        return ProjectPage(
            items=[_summary(row) for row in rows[:limit]],
            next_cursor=None if last is None else _cursor(last.created_at, last.project_id),
        )

    async def project(self, project_id: UUID) -> ProjectOut:
        ms = m.milestones.c
        columns = (*_SUMMARY, _p.commitments, _p.created_at, _p.registered_by, _p.closed_by)
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(*columns, _p.closed_at, _p.closure_reason).where(
                        _p.project_id == project_id
                    )
                )
            ).one_or_none()
            if row is None:
                raise NotFound(f"project {project_id} not found")
            milestones = await conn.execute(
                select(ms.spec, ms.completed_on).where(ms.project_id == project_id)
            )
            amendments = await conn.execute(
                select(m.amendments).where(_a.project_id == project_id).order_by(_a.seq)
            )
        closure = None
        if row.closed_on is not None:
            closure = ClosureOut(
                status=row.status,
                on=row.closed_on,
                reason=row.closure_reason,
                closed_by=row.closed_by,
                closed_at=row.closed_at,
            )
        return ProjectOut(
            **_summary(row).model_dump(),
            commitments=row.commitments,
            milestones=sorted(
                (
                    ProjectMilestoneOut(**spec, completed_on=completed_on)
                    for spec, completed_on in milestones
                ),
                key=lambda one: (one.due_date, one.milestone_id),
            ),
            created_at=row.created_at,
            registered_by=row.registered_by,
            closure=closure,
            amendments=[
                AmendmentOut(
                    amendment=a.seq,
                    amended_by=a.amended_by,
                    amended_at=a.amended_at,
                    reason=a.reason,
                    changes=a.changes,
                )
                for a in amendments
            ],
        )

    async def report(self, project_id: UUID, period: str, revision: int | None) -> ReportContent:
        """The period's current revision (`revision` None) or the one asked for."""
        async with self.engine.connect() as conn:
            current = (
                await conn.execute(
                    select(m.periods.c.revision).where(
                        m.periods.c.project_id == project_id, m.periods.c.period == period
                    )
                )
            ).scalar_one_or_none()
            wanted = current if revision is None else revision
            row = None
            if wanted is not None:
                row = (
                    await conn.execute(
                        select(m.reports).where(
                            _r.project_id == project_id,
                            _r.period == period,
                            _r.revision == wanted,
                        )
                    )
                ).one_or_none()
        if row is None or current is None:
            what = "" if revision is None else f" revision {revision}"
            raise NotFound(f"no report{what} for period {period} of project {project_id}")
        return ReportContent(
            project_id=project_id,
            report_id=row.report_id,
            period=period,
            revision=row.revision,
            current_revision=current,
            submitted_by=row.submitted_by,
            submitted_at=row.submitted_at,
            reason=row.reason,
            cells=row.cells,
        )


# The review queue (docs/review.md): each period's latest revision in a state, oldest first,
# with the revision it superseded.
_previous = m.reports.alias("previous")
_pe, _pr = m.periods.c, m.projects.c
_QUEUE = (
    select(
        *_REVISION,
        _r.project_id,
        _pr.name,
        _pr.sheet,
        _r.cells.label("cell_list"),
        _r.warnings,
        _r.review_status,
        _r.reviewed_by,
        _r.reviewed_at,
        _r.review_comment,
        _previous.c.cells.label("previous_cells"),
    )
    .select_from(
        m.reports.join(
            m.periods,
            (_pe.project_id == _r.project_id)
            & (_pe.period == _r.period)
            & (_pe.revision == _r.revision),
        )
        .join(m.projects, _pr.project_id == _r.project_id)
        .outerjoin(
            _previous,
            (_previous.c.project_id == _r.project_id)
            & (_previous.c.period == _r.period)
            & (_previous.c.revision == _r.revision - 1),
        )
    )
    .order_by(_r.submitted_at, _r.report_id)
)


def review_of(row: Row[*tuple[Any, ...]]) -> Review:
    return Review(
        ReviewStatus(row.review_status), row.reviewed_by, row.reviewed_at, row.review_comment
    )


def _cells(stored: list[dict[str, object]]) -> list[Cell]:
    return [Cell.model_validate(c) for c in stored]


class ReviewQueries:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def queue(
        self,
        status: ReviewStatus,
        *,
        sheet: str | None = None,
        project_id: UUID | None = None,
        limit: int = 200,
    ) -> list[QueuedRevision]:
        """The latest revisions of periods in `status`, oldest submission first."""
        query = _QUEUE.where(_r.review_status == status.value).limit(limit)
        if sheet is not None:
            query = query.where(_pr.sheet == sheet)
        if project_id is not None:
            query = query.where(_r.project_id == project_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        queued = []
        for row in rows:
            totals = kind_totals(_cells(row.cell_list))
            previous = (
                None if row.previous_cells is None else kind_totals(_cells(row.previous_cells))
            )
            queued.append(
                QueuedRevision(
                    project_id=row.project_id,
                    project_name=row.name,
                    sheet=row.sheet,
                    revision=_revision(row),
                    review=review_of(row),
                    totals=totals,
                    difference=difference(totals, previous),
                    warnings=[(w["rule"], w["message"]) for w in row.warnings],
                )
            )
        return queued


_s = m.staff_tokens.c
STAFF_TOKEN_FIELDS = (
    _s.token_id,
    _s.name,
    _s.email,
    _s.admin,
    _s.issued_at,
    _s.issued_by,
    _s.revoked_at,
    _s.revoked_by,
)
"""A `StaffToken`'s columns, in its fields' order."""


class StaffTokenQueries:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def all(self) -> list[StaffToken]:
        """Every named staff token, revoked ones included, oldest first."""
        query = select(*STAFF_TOKEN_FIELDS).order_by(_s.issued_at, _s.token_id)
        async with self.engine.connect() as conn:
            return [StaffToken(*row) for row in await conn.execute(query)]
