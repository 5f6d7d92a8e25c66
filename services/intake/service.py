"""Intake's use cases: each validates, writes its rows and its outbox events in one transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts import topics
from contracts.events import (
    IndicatorReportSubmitted,
    MilestoneCompleted,
    MilestoneDeclared,
    ProjectRegistered,
)
from contracts.projects import MilestoneCompletionIn, MilestonesIn, ProjectCreated, ProjectIn
from contracts.reports import ReportIn
from services.intake import models as m
from services.intake.domain import (
    CellLoc,
    envelope,
    json_cell_loc,
    report_problems,
    request_fingerprint,
)
from services.runtime.auth import Caller, hash_token, new_project_token
from services.runtime.clock import Clock
from services.runtime.errors import Conflict, NotFound, Unprocessable
from services.runtime.outbox import enqueue


@dataclass(frozen=True)
class Accepted:
    body: dict[str, Any]
    replayed: bool


class IntakeService:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self.engine, self.clock = engine, clock

    async def find_project_by_token(self, digest: str) -> UUID | None:
        async with self.engine.connect() as conn:
            query = select(m.projects.c.project_id).where(m.projects.c.token_sha256 == digest)
            return (await conn.execute(query)).scalar_one_or_none()

    async def register(self, body: ProjectIn) -> ProjectCreated:
        project_id, token, now = uuid.uuid4(), new_project_token(), self.clock()
        fields = body.model_dump(mode="json", exclude={"milestones"})
        async with self.engine.begin() as conn:
            await conn.execute(
                m.projects.insert().values(
                    project_id=project_id,
                    token_sha256=hash_token(token),
                    created_at=now,
                    **{
                        **fields,
                        "regions": list(body.regions),
                        "start_date": body.start_date,
                        "end_date": body.end_date,
                    },
                )
            )
            await enqueue(
                conn,
                m.outbox,
                topics.PROJECTS,
                [
                    ProjectRegistered(
                        **envelope(project_id, now),
                        payload={**fields, "api_token_sha256": hash_token(token)},
                    )
                ],
            )
            await self._declare(conn, project_id, body.milestones, reason=None)
        return ProjectCreated(project_id=project_id, api_token=token)

    async def _project(self, conn: AsyncConnection, project_id: UUID) -> Any:
        row = (
            await conn.execute(select(m.projects).where(m.projects.c.project_id == project_id))
        ).one_or_none()
        if row is None:
            raise NotFound(f"project {project_id} not found")
        return row

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
                project = await self._project(conn, project_id)
                if idempotency_key is not None:
                    earlier = await self._by_key(conn, project_id, idempotency_key)
                    if earlier is not None:
                        return self._replay(earlier, fingerprint)
                problems = report_problems(
                    report,
                    regions=project.regions,
                    start=project.start_date,
                    end=project.end_date,
                    today=now.date(),
                    cell_loc=cell_loc,
                )
                if problems:
                    raise Unprocessable([p.as_dict() for p in problems])
                revision = (
                    await conn.execute(
                        insert(m.periods)
                        .values(project_id=project_id, period=report.period, revision=1)
                        .on_conflict_do_update(
                            index_elements=["project_id", "period"],
                            set_={"revision": m.periods.c.revision + 1},
                        )
                        .returning(m.periods.c.revision)
                    )
                ).scalar_one()
                row = {
                    "report_id": uuid.uuid4(),
                    "project_id": project_id,
                    "period": report.period,
                    "revision": revision,
                    "idempotency_key": idempotency_key,
                    "request_sha256": fingerprint,
                    "submitted_by": caller.label,
                    "submitted_at": now,
                    "reason": report.reason,
                    "cells": [c.model_dump(mode="json") for c in report.cells],
                }
                await conn.execute(m.reports.insert().values(**row))
                await enqueue(
                    conn,
                    m.outbox,
                    topics.REPORTS,
                    [
                        IndicatorReportSubmitted(
                            **envelope(project_id, now),
                            payload={
                                "report_id": row["report_id"],
                                "period": report.period,
                                "revision": revision,
                                "submitted_by": caller.label,
                                "submitted_at": now,
                                "reason": report.reason,
                                "cells": report.cells,
                            },
                        )
                    ],
                )
            return Accepted({"project_id": str(project_id), **_report_summary(row)}, replayed=False)
        except IntegrityError:
            # A concurrent request with the same Idempotency-Key won the race: answer as it did.
            async with self.engine.connect() as conn:
                earlier = await self._by_key(conn, project_id, idempotency_key or "")
            if earlier is None:
                raise
            return self._replay(earlier, fingerprint)

    async def _by_key(self, conn: AsyncConnection, project_id: UUID, key: str) -> Any:
        query = select(m.reports).where(
            m.reports.c.project_id == project_id, m.reports.c.idempotency_key == key
        )
        return (await conn.execute(query)).one_or_none()

    @staticmethod
    def _replay(earlier: Any, fingerprint: str) -> Accepted:
        if earlier.request_sha256 != fingerprint:
            raise Unprocessable(
                [
                    {
                        "loc": ["header", "Idempotency-Key"],
                        "type": "idempotency_key_reused",
                        "msg": "this Idempotency-Key was used for a different report",
                    }
                ]
            )
        summary = _report_summary(earlier._asdict())
        return Accepted({"project_id": str(earlier.project_id), **summary}, replayed=True)

    async def list_reports(self, project_id: UUID) -> dict[str, Any]:
        r = m.reports.c
        async with self.engine.connect() as conn:
            await self._project(conn, project_id)
            rows = (
                await conn.execute(
                    select(
                        r.report_id,
                        r.period,
                        r.revision,
                        r.submitted_by,
                        r.submitted_at,
                        r.reason,
                        func.jsonb_array_length(r.cells).label("cells"),
                    )
                    .where(r.project_id == project_id)
                    .order_by(r.period, r.revision)
                )
            ).all()
        periods: dict[str, dict[str, Any]] = {}
        for row in rows:
            entry = periods.setdefault(row.period, {"period": row.period, "revisions": []})
            entry["current_revision"] = row.revision
            entry["revisions"].append(_report_summary(row._asdict()))
        return {"project_id": str(project_id), "periods": list(periods.values())}

    async def declare_milestones(self, project_id: UUID, body: MilestonesIn) -> dict[str, Any]:
        async with self.engine.begin() as conn:
            await self._project(conn, project_id)
            declared = await self._declare(conn, project_id, body.milestones, body.reason)
        return {"project_id": str(project_id), "declared": declared}

    async def _declare(
        self, conn: AsyncConnection, project_id: UUID, specs: Any, reason: str | None
    ) -> list[str]:
        existing = {
            row.milestone_id: row
            for row in (
                await conn.execute(
                    select(m.milestones).where(m.milestones.c.project_id == project_id)
                )
            ).all()
        }
        events = []
        for index, spec in enumerate(specs):
            known = existing.get(spec.milestone_id)
            if known is not None and known.completed_on is not None:
                raise Conflict(f"milestone {spec.milestone_id} is already completed")
            if known is not None and not reason:
                raise Unprocessable(
                    [
                        {
                            "loc": ["body", "reason"],
                            "type": "missing",
                            "msg": f"milestones[{index}] reschedules {spec.milestone_id}: "
                            "give a reason",
                        }
                    ]
                )
            spec_json = spec.model_dump(mode="json")
            await conn.execute(
                insert(m.milestones)
                .values(project_id=project_id, milestone_id=spec.milestone_id, spec=spec_json)
                .on_conflict_do_update(
                    index_elements=["project_id", "milestone_id"], set_={"spec": spec_json}
                )
            )
            events.append(
                MilestoneDeclared(
                    **envelope(project_id, self.clock()),
                    payload={"milestone": spec, "reason": reason if known is not None else None},
                )
            )
        await enqueue(conn, m.outbox, topics.MILESTONES, events)
        return [s.milestone_id for s in specs]

    async def complete_milestone(
        self, project_id: UUID, milestone_id: str, body: MilestoneCompletionIn, caller: Caller
    ) -> dict[str, Any]:
        now = self.clock()
        if body.completed_on > now.date():
            raise Unprocessable(
                [
                    {
                        "loc": ["body", "completed_on"],
                        "type": "value_error",
                        "msg": "completed_on is in the future",
                    }
                ]
            )
        t = m.milestones.c
        async with self.engine.begin() as conn:
            await self._project(conn, project_id)
            done = await conn.execute(
                update(m.milestones)
                .where(
                    t.project_id == project_id,
                    t.milestone_id == milestone_id,
                    t.completed_on.is_(None),
                )
                .values(completed_on=body.completed_on, evidence=body.evidence)
            )
            if done.rowcount == 0:
                exists = await conn.execute(
                    select(t.milestone_id).where(
                        t.project_id == project_id, t.milestone_id == milestone_id
                    )
                )
                if exists.one_or_none() is None:
                    raise NotFound(f"milestone {milestone_id} not found")
                raise Conflict(f"milestone {milestone_id} is already completed")
            await enqueue(
                conn,
                m.outbox,
                topics.MILESTONES,
                [
                    MilestoneCompleted(
                        **envelope(project_id, now),
                        payload={
                            "milestone_id": milestone_id,
                            "completed_on": body.completed_on,
                            "evidence": body.evidence,
                            "declared_by": caller.label,
                        },
                    )
                ],
            )
        return {
            "project_id": str(project_id),
            "milestone_id": milestone_id,
            "completed_on": body.completed_on.isoformat(),
        }


def _report_summary(row: dict[str, Any]) -> dict[str, Any]:
    cells = row["cells"]
    return {
        "report_id": str(row["report_id"]),
        "period": row["period"],
        "revision": row["revision"],
        "submitted_by": row["submitted_by"],
        "submitted_at": row["submitted_at"].isoformat(),
        "reason": row["reason"],
        "cells": cells if isinstance(cells, int) else len(cells),
    }
