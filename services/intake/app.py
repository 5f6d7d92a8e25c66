"""Intake: the only write API. Builds the app from settings; the outbox relay runs beside it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge

from contracts import topics
from services.intake import models
from services.intake.api import intake_router
from services.intake.projects import ProjectUseCases
from services.intake.reports import ReportUseCases
from services.runtime.auth import authenticator
from services.runtime.broker import make_broker, start_when_reachable
from services.runtime.clock import Clock, system_clock
from services.runtime.db import make_engine
from services.runtime.http import build_app
from services.runtime.outbox import OutboxRelay
from services.runtime.settings import Settings

SERVICE = "intake"


def create_app(settings: Settings, clock: Clock = system_clock) -> FastAPI:
    registry = CollectorRegistry()
    engine = make_engine(settings.database_url)
    broker = make_broker(settings, SERVICE, registry)
    relay = OutboxRelay(
        engine,
        models.outbox,
        broker,
        settings.kafka_bootstrap,
        topics.ALL,
        batch_rows=settings.outbox_batch_rows,
        poll_seconds=settings.outbox_poll_seconds,
    )
    projects = ProjectUseCases(engine, clock)
    backlog = Gauge(
        "cma_intake_outbox_backlog", "Outbox rows not yet acknowledged by Kafka.", registry=registry
    )
    accepted = Counter(
        "cma_intake_reports_accepted_total",
        "Reports accepted (2xx), by format and whether it was an idempotent replay.",
        ["format", "replayed"],
        registry=registry,
    )

    async def refresh_metrics() -> None:
        backlog.set(await relay.backlog())

    async def _relay_when_reachable() -> None:
        await start_when_reachable(broker, settings.kafka_bootstrap, topics.ALL)
        await relay.run()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Intake accepts reports while Kafka is down: the relay connects and catches up later.
        relay_task = asyncio.create_task(_relay_when_reachable())
        try:
            yield
        finally:
            relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay_task
            await broker.stop()
            await engine.dispose()

    app = build_app(
        service=SERVICE,
        engine=engine,
        registry=registry,
        lifespan=lifespan,
        max_body_bytes=settings.max_body_bytes,
        refresh_metrics=refresh_metrics,
        description="Registers funded projects and takes their indicator reports and milestones.",
    )
    app.include_router(
        intake_router(
            projects,
            ReportUseCases(engine, clock),
            authenticator(settings, projects.find_project_by_token),
            accepted,
        )
    )

    app.state.broker = broker
    return app
