"""Milestone: each project's milestones and report deadlines, evaluated on new data and on a
clock tick; every status change becomes one event on `cma.status.v1`."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.milestone import models
from services.milestone.api import milestone_router
from services.milestone.domain import Rules
from services.milestone.handlers import make_handler
from services.milestone.metrics import milestone_families
from services.milestone.queries import MilestoneQueries
from services.milestone.ticker import Ticker
from services.runtime import registry as service_registry
from services.runtime.auth import TokenDirectory, authenticator, read_copies
from services.runtime.broker import KafkaConnection, make_broker
from services.runtime.clock import Clock, system_clock
from services.runtime.consumer import subscribe_consumers
from services.runtime.db import service_engine
from services.runtime.http import build_app
from services.runtime.leases import Lease, instance_id
from services.runtime.lifespan import service_lifespan
from services.runtime.metrics import SnapshotCollector
from services.runtime.outbox import OutboxRelay
from services.runtime.settings import Settings
from services.runtime.token_events import listen_for_revocations, with_token_copies

SPEC = service_registry.service("milestone")
SERVICE = SPEC.name


def create_app(settings: Settings, clock: Clock = system_clock) -> FastAPI:
    registry = CollectorRegistry()
    engine = service_engine(settings, "milestone")
    broker = make_broker(settings, SERVICE, registry)
    tokens = TokenDirectory(read_copies(engine, models.projects, models.staff_tokens))
    listen_for_revocations(broker, tokens, settings, SERVICE)
    rules = Rules(
        settings.milestone_at_risk_days, settings.trajectory_tolerance, settings.report_grace_days
    )
    apply = make_handler(clock, rules)
    lag = subscribe_consumers(
        broker,
        SERVICE,
        SPEC.consumes,
        engine,
        models.processed_events,
        with_token_copies(models.projects, models.staff_tokens, apply),
        settings,
        registry,
    )

    queries = MilestoneQueries(engine)
    relay = OutboxRelay.from_settings(engine, models.outbox, models.leases, broker, settings)
    ticker = Ticker(engine, clock, rules, registry)
    refresh_backlog = relay.backlog_gauge(registry, SERVICE)
    states = SnapshotCollector()
    registry.register(states)

    async def refresh_metrics() -> None:
        states.families = await milestone_families(queries, clock)
        await refresh_backlog()

    # Renewed every other tick; a holder that dies is replaced within 3 periods.
    tick_lease = Lease(
        engine, models.leases, "milestone-tick", instance_id(), 3 * settings.milestone_tick_seconds
    )

    async def tick_forever() -> None:
        await ticker.run(settings.milestone_tick_seconds, tick_lease)

    app = build_app(
        service=SERVICE,
        engine=engine,
        registry=registry,
        lifespan=service_lifespan(
            broker,
            engine,
            KafkaConnection.from_settings(settings),
            [relay.run, tick_forever, lag.run],
        ),
        max_body_bytes=settings.max_body_bytes,
        settings=settings,
        broker=broker,
        refresh_metrics=refresh_metrics,
        description=SPEC.summary,
    )
    app.include_router(milestone_router(queries, authenticator(settings, tokens.find)))
    app.state.broker, app.state.ticker = broker, ticker
    return app
