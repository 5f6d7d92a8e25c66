"""Intake's storage step on asyncpg (docs/performance.md, B1): still exactly once under a race
on one Idempotency-Key, each revision of a period taken once and checked against the one it
supersedes when reports race (its one statement stores only if the period stands as read), and
its driver errors keep the meaning SQLAlchemy's had."""

from __future__ import annotations

import asyncio
import json
from uuid import UUID

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.metrics_seed import clock, project_body, report_body
from contracts.reports import ReviewIn
from contracts.topics import REPORTS, STATUS
from services.intake import models as m
from services.intake.arrival import Standing, read_standing
from services.intake.usecases.projects import ProjectUseCases
from services.intake.usecases.reports import ReportUseCases
from services.intake.usecases.reviews import ReviewUseCases
from services.runtime.auth import Caller
from services.runtime.consumer import is_transient
from services.runtime.db import driver, make_engine


async def test_two_posts_racing_with_one_idempotency_key_store_one_report_and_answer_alike(
    clean_database: str,
) -> None:
    engine = make_engine(clean_database)
    body = project_body(0)
    created = await ProjectUseCases(engine, clock).register(body, Caller(staff=True))
    reports = ReportUseCases(engine, clock)
    report = report_body(0, "2025-S1", body.regions)
    answers = await asyncio.gather(
        *(
            reports.submit_report(created.project_id, report, Caller(staff=True), "same-key")
            for _ in range(4)
        )
    )
    async with engine.connect() as conn:
        stored = await conn.scalar(select(func.count()).select_from(m.reports))
        events = await conn.scalar(
            select(func.count()).select_from(m.outbox).where(m.outbox.c.topic == REPORTS.name)
        )
    await engine.dispose()
    assert stored == events == 1
    assert len({a.answer.revision for a in answers}) == 1
    assert sorted(a.replayed for a in answers) == [False, True, True, True]


async def test_driver_errors_are_an_integrity_error_or_a_transient_fault_as_before(
    clean_database: str,
) -> None:
    engine = make_engine(clean_database)
    body = project_body(1)
    created = await ProjectUseCases(engine, clock).register(body, Caller(staff=True))
    duplicate = f"insert into {m.periods.fullname} values ($1, '2025-S1', 1)"
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn, driver(conn, "duplicate") as db:
            await db.execute(duplicate, created.project_id)
            await db.execute(duplicate, created.project_id)
    with pytest.raises(DBAPIError) as lost:
        async with engine.begin() as conn:
            pid = (await conn.execute(text("select pg_backend_pid()"))).scalar_one()
            async with engine.connect() as other:
                await other.execute(text(f"select pg_terminate_backend({pid})"))
            async with driver(conn, "after the backend ended") as db:
                await db.fetchval("select 1")
    assert is_transient(lost.value)
    await engine.dispose()


STAFF = Caller(staff=True)
READ_STANDING = "services.intake.usecases.reports.read_standing"  # as the use case calls it


async def _stored(engine: AsyncEngine, project_id: UUID) -> tuple[list[int], int, list[str]]:
    """The period's revisions stored, its revision counter, and the outbox's topics in order."""
    async with engine.connect() as conn:
        revisions = await conn.scalars(
            select(m.reports.c.revision)
            .where(m.reports.c.project_id == project_id)
            .order_by(m.reports.c.revision)
        )
        counter = await conn.scalar(
            select(m.periods.c.revision).where(m.periods.c.project_id == project_id)
        )
        topics = await conn.scalars(select(m.outbox.c.topic).order_by(m.outbox.c.seq))
        return list(revisions), counter or 0, list(topics)


async def test_reports_racing_for_one_period_take_each_revision_once(clean_database: str) -> None:
    engine = make_engine(clean_database)
    body = project_body(2)
    created = await ProjectUseCases(engine, clock).register(body, STAFF)
    reports = ReportUseCases(engine, clock)
    sent = [report_body(2, "2025-S1", body.regions, more=n) for n in range(6)]
    answers = await asyncio.gather(
        *(reports.submit_report(created.project_id, r, STAFF, None) for r in sent)
    )
    revisions, counter, topics = await _stored(engine, created.project_id)
    await engine.dispose()
    assert sorted(a.answer.revision for a in answers) == revisions == [1, 2, 3, 4, 5, 6]
    assert counter == 6
    assert topics.count(REPORTS.name) == 6


async def test_a_report_whose_period_moved_on_after_its_checks_is_checked_again(
    clean_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(clean_database)
    body = project_body(3)
    created = await ProjectUseCases(engine, clock).register(body, STAFF)
    reports = ReportUseCases(engine, clock)
    pid = created.project_id
    await reports.submit_report(pid, report_body(3, "2025-S1", body.regions), STAFF, None)
    read, reads = read_standing, []

    async def read_then_another_revision(*args: object) -> Standing:
        standing = await read(*args)  # type: ignore[arg-type]
        reads.append(standing)
        if len(reads) == 1:  # a second report of the period commits meanwhile
            meanwhile = report_body(3, "2025-S1", body.regions, more=1)
            await reports.submit_report(pid, meanwhile, STAFF, None)
        return standing

    monkeypatch.setattr(READ_STANDING, read_then_another_revision)
    late = report_body(3, "2025-S1", body.regions, more=2)
    answer = await reports.submit_report(pid, late, STAFF, None)
    revisions, counter, topics = await _stored(engine, pid)
    await engine.dispose()
    # Its first read (revision 1), the other report's read, then its second read (revision
    # 2): stored as revision 3, checked against revision 2.
    assert [s.latest["2025-S1"].revision for s in reads] == [1, 1, 2]
    assert answer.answer.revision == counter == 3
    assert revisions == [1, 2, 3]
    assert topics.count(REPORTS.name) == 3


async def test_a_revision_returned_after_its_successor_was_checked_has_its_alert_resolved(
    clean_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(clean_database)
    body = project_body(4)
    created = await ProjectUseCases(engine, clock).register(body, STAFF)
    reports = ReportUseCases(engine, clock)
    pid = created.project_id
    await reports.submit_report(pid, report_body(4, "2025-S1", body.regions), STAFF, None)
    read, statuses = read_standing, []

    async def read_then_returned(*args: object) -> Standing:
        standing = await read(*args)  # type: ignore[arg-type]
        statuses.append(standing.latest["2025-S1"].review_status)
        if len(statuses) == 1:  # an officer returns revision 1 meanwhile
            returned = ReviewIn.model_validate({"decision": "returned", "comment": "à revoir"})
            await ReviewUseCases(engine, clock).review(pid, "2025-S1", 1, returned, STAFF)
        return standing

    monkeypatch.setattr(READ_STANDING, read_then_returned)
    again = report_body(4, "2025-S1", body.regions, more=1)
    assert (await reports.submit_report(pid, again, STAFF, None)).answer.revision == 2
    async with engine.connect() as conn:
        alerts = [
            json.loads(value)["payload"]
            for value in await conn.scalars(
                select(m.outbox.c.value)
                .where(m.outbox.c.topic == STATUS.name)
                .order_by(m.outbox.c.seq)
            )
        ]
    await engine.dispose()
    assert statuses == ["submitted", "returned"]
    returned = [a for a in alerts if a["kind"] == "report_returned"]
    assert [(a["subject"], a["firing"]) for a in returned] == [
        ("2025-S1", True),
        ("2025-S1", False),
    ]
