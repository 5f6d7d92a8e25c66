"""Intake's storage step on asyncpg (docs/performance.md, B1): still exactly once under a race
on one Idempotency-Key, and its driver errors keep the meaning SQLAlchemy's had."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from bench.metrics_seed import clock, project_body, report_body
from contracts.topics import REPORTS
from services.intake import models as m
from services.intake.usecases.projects import ProjectUseCases
from services.intake.usecases.reports import ReportUseCases
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
