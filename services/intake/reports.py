"""Taking indicator reports: validation against the project, revisions, idempotent retries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts import topics
from contracts.events import IndicatorReportSubmitted
from contracts.reports import ReportIn
from services.intake import models as m
from services.intake.domain import (
    CellLoc,
    envelope,
    json_cell_loc,
    report_problems,
    request_fingerprint,
)
from services.intake.usecases import UseCases
from services.runtime.auth import Caller
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


@dataclass(frozen=True)
class Accepted:
    body: dict[str, Any]
    replayed: bool


class ReportUseCases(UseCases):
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
                project = await self.project(conn, project_id)
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
                    raise Unprocessable(problems)
                revision = (
                    await conn.execute(
                        NEXT_REVISION, {"project_id": project_id, "period": report.period}
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
                await conn.execute(m.reports.insert(), row)
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
                    FieldError(
                        ("header", "Idempotency-Key"),
                        "this Idempotency-Key was used for a different report",
                        "idempotency_key_reused",
                    )
                ]
            )
        summary = _report_summary(earlier._asdict())
        return Accepted({"project_id": str(earlier.project_id), **summary}, replayed=True)

    async def list_reports(self, project_id: UUID) -> dict[str, Any]:
        r = m.reports.c
        async with self.engine.connect() as conn:
            await self.project(conn, project_id)
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
