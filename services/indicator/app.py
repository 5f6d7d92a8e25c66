"""Indicator: consumes projects and reports, keeps exact totals, serves progress and coverage."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from contracts.events import Envelope, Event
from services.indicator import models
from services.indicator.api import indicator_router
from services.indicator.figures import Figures
from services.indicator.handlers import make_handler
from services.indicator.queries import IndicatorQueries
from services.indicator.rendered import kept_in_memory
from services.indicator.watch import Watch
from services.runtime import registry as service_registry
from services.runtime.auth import TokenDirectory, authenticator, read_copies
from services.runtime.broker import KafkaConnection, make_broker
from services.runtime.clock import Clock, system_clock
from services.runtime.consumer import subscribe_consumers
from services.runtime.db import service_engine
from services.runtime.http import build_app
from services.runtime.lifespan import service_lifespan
from services.runtime.outbox import OutboxRelay
from services.runtime.settings import Settings
from services.runtime.token_events import listen_for_revocations, with_token_copies

SPEC = service_registry.service("indicator")
SERVICE = SPEC.name


def create_app(settings: Settings, clock: Clock = system_clock) -> FastAPI:
    registry = CollectorRegistry()
    engine = service_engine(settings, "indicator")
    broker = make_broker(settings, SERVICE, registry)
    tokens = TokenDirectory(read_copies(engine, models.projects, models.staff_tokens))
    listen_for_revocations(broker, tokens, settings, SERVICE)
    queries = IndicatorQueries(engine)
    figures = Figures.from_settings(queries, clock, settings)
    business_text, business = kept_in_memory(figures, settings)

    def applied(events: Sequence[Event]) -> None:
        business.touch(e.project_id for e in events if isinstance(e, Envelope))

    lag = subscribe_consumers(
        broker,
        SERVICE,
        SPEC.consumes,
        engine,
        models.processed_events,
        with_token_copies(models.projects, models.staff_tokens, make_handler(clock)),
        settings,
        registry,
        on_applied=applied,
    )

    watch = Watch(figures, settings.stale_semesters)
    relay = OutboxRelay.from_settings(engine, models.outbox, models.leases, broker, settings)

    async def watch_conditions() -> None:
        await watch.run(settings.insight_tick_seconds)

    app = build_app(
        service=SERVICE,
        engine=engine,
        registry=registry,
        lifespan=service_lifespan(
            broker,
            engine,
            KafkaConnection.from_settings(settings),
            [relay.run, watch_conditions, lag.run, business.run, business_text.run_national],
        ),
        max_body_bytes=settings.max_body_bytes,
        settings=settings,
        broker=broker,
        refresh_metrics=relay.backlog_gauge(registry, SERVICE),
        rendered_metrics=business,
        description=SPEC.summary,
    )
    app.include_router(indicator_router(figures, authenticator(settings, tokens.find)))
    app.state.broker, app.state.watch = broker, watch
    app.state.business_metrics, app.state.business_text = business, business_text
    return app
