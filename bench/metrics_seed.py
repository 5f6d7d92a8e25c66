"""B7's data: projects registered and reported through intake's use cases, then every event of
intake's outbox applied by indicator, milestone and alerting with their own apply functions,
and each derived event (project totals, status changes) handed on the same way: the rows the
services' `/metrics` read are those the live pipeline would write, without a broker.

Project `i`: sheet `i mod 7`, 3 regions, 2 commitments, 3 milestones (one overdue on odd `i`,
one at risk, one pending; on even `i` the first is quantitative and met by the data), a report
for 2025-S1 of 39 cells (3 levels × 3 regions × 2 sexes × trained and alternance, and
sensitised pupils per region) and, unless `i mod 3 = 0`, one for 2024-S2: those projects have
one overdue report.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from prometheus_client import CollectorRegistry
from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.catalog import load_catalog
from contracts.events import Envelope, Event, parse_event
from contracts.projects import ProjectIn
from contracts.reports import ReportIn
from services.alerting.handlers import AlertingHandlers
from services.indicator import models as indicator_models
from services.indicator.handlers import make_handler as indicator_handler
from services.intake import models as intake_models
from services.intake.usecases.projects import ProjectUseCases
from services.intake.usecases.reports import ReportUseCases
from services.milestone import models as milestone_models
from services.milestone.domain import Rules
from services.milestone.handlers import make_handler as milestone_handler
from services.milestone.ticker import Ticker
from services.runtime.auth import Caller

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)
RULES = Rules(at_risk_days=30, tolerance=0.1, report_grace_days=60)
Apply = Callable[[AsyncConnection, list[Event]], Awaitable[None]]


def clock() -> datetime:
    return NOW


def project_body(i: int) -> ProjectIn:
    catalog = load_catalog()
    sheets, regions = sorted(catalog.sheets), sorted(catalog.regions)
    span = {"start": "2024-07-01", "horizon": "2028-12-31"}
    trained, sensitised = {"kind": "trained"}, {"kind": "sensitised"}
    criterion = {"id": "m1", "label": "Premiers formés", "selector": trained, "value": 50} | span
    return ProjectIn.model_validate(
        {
            "sheet": sheets[i % len(sheets)],
            "wave": "saison-1",
            "name": f"Projet {i:05d}",
            "lead": f"Établissement {i % 97}",
            "regions": [regions[(i + k) % len(regions)] for k in range(3)],
            "start_date": "2024-07-01",
            "end_date": "2028-12-31",
            "funding_eur": 1_000_000 + 1_000 * i,
            "commitments": [
                {"id": "formes", "label": "Formés", "selector": trained, "value": 900} | span,
                {"id": "sensib", "label": "Sensibilisés", "selector": sensitised, "value": 3000}
                | span,
            ],
            "milestones": [
                {"milestone_id": "m1", "title": "Ouverture", "due_date": "2025-06-30"}
                | ({"criterion": criterion} if i % 2 == 0 else {}),
                {"milestone_id": "m2", "title": "Premier bilan", "due_date": "2026-01-29"},
                {"milestone_id": "m3", "title": "Bilan final", "due_date": "2028-12-31"},
            ],
        }
    )


def report_body(i: int, period: str, regions: Sequence[str], more: int = 0) -> ReportIn:
    """`more`: people added to each trained cell (a revision that changes the totals)."""
    levels = sorted(load_catalog().levels)
    cells: list[dict[str, Any]] = []
    for level in (levels[(i + k) % len(levels)] for k in range(3)):
        for region in regions:
            for sex in ("F", "M"):
                base = {"level": level, "region": region, "sex": sex}
                cells.append(base | {"kind": "trained", "count": 10 + i % 7 + more})
                cells.append(base | {"kind": "alternance", "count": 3})
    for region in regions:
        cells.append({"kind": "sensitised", "level": "infra-bac", "region": region} | {"count": 40})
        cells[-1]["audience"] = "pupils"
    return ReportIn.model_validate({"period": period, "cells": cells})


async def _drain(engine: AsyncEngine, outbox: Table) -> list[Event]:
    """The events a relay would publish, in order; the outbox is then emptied, as the relay
    would leave it (so each size's scrape shows a backlog of 0)."""
    async with engine.begin() as conn:
        rows = (await conn.execute(select(outbox.c.value).order_by(outbox.c.seq))).scalars()
        events = [parse_event(value) for value in rows]
        await conn.execute(delete(outbox))
    return events


async def _apply(engine: AsyncEngine, apply: Apply, events: list[Event], batch: int = 500) -> None:
    for start in range(0, len(events), batch):
        async with engine.begin() as conn:
            await apply(conn, events[start : start + batch])


async def seed(engine: AsyncEngine, first: int, last: int) -> None:
    """Registers projects `first`..`last - 1` and carries their events through every service."""
    projects, reports = ProjectUseCases(engine, clock), ReportUseCases(engine, clock)
    for i in range(first, last):
        body = project_body(i)
        created = await projects.register(body, Caller(staff=True))
        periods = ("2025-S1",) if i % 3 == 0 else ("2024-S2", "2025-S1")
        for period in periods:
            report = report_body(i, period, body.regions)
            await reports.submit_report(created.project_id, report, Caller(staff=True), None)
    intake_events = await _drain(engine, intake_models.outbox)
    await _apply(engine, indicator_handler(clock), intake_events)
    totals = await _drain(engine, indicator_models.outbox)
    await _apply(engine, milestone_handler(clock, RULES), intake_events + totals)
    await Ticker(engine, clock, RULES, CollectorRegistry()).tick()
    statuses = await _drain(engine, milestone_models.outbox)
    alerting = AlertingHandlers(clock, group_wait_seconds=30)
    await _apply(engine, alerting.apply_events, intake_events + statuses)


async def report_again(engine: AsyncEngine, projects: Sequence[int], more: int) -> None:
    """A 2025-S2 report (a new revision once there is one) for each of `projects` (indices
    registered by `seed`), through intake's use case; `carry_to_indicator` then applies it."""
    p = intake_models.projects.c
    names = {f"Projet {i:05d}": i for i in projects}
    query = select(p.name, p.project_id, p.regions).where(p.name.in_(names))
    async with engine.connect() as conn:
        found = {
            names[name]: (project_id, regions)
            for name, project_id, regions in await conn.execute(query)
        }
    reports = ReportUseCases(engine, clock)
    for i in projects:
        project_id, regions = found[i]
        body = report_body(i, "2025-S2", regions, more)
        await reports.submit_report(project_id, body, Caller(staff=True), None)


async def carry_to_indicator(engine: AsyncEngine) -> set[UUID]:
    """Applies intake's pending events in indicator, as one of its batches would (the totals
    it derives are dropped); returns the projects they name, as the consumer hands them to
    `RenderedFamilies.touch`."""
    events = await _drain(engine, intake_models.outbox)
    await _apply(engine, indicator_handler(clock), events)
    await _drain(engine, indicator_models.outbox)
    return {e.project_id for e in events if isinstance(e, Envelope)}
