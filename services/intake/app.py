"""Intake: the only write API. Builds the app from settings; the outbox relay runs beside it.
It accepts reports while Kafka is down: the outbox keeps them until the relay can send."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter

from services.intake import models
from services.intake.api import intake_router
from services.intake.projects import ProjectUseCases
from services.intake.reports import ReportUseCases
from services.runtime import registry as service_registry
from services.runtime.auth import authenticator, token_lookup
from services.runtime.broker import make_broker
from services.runtime.clock import Clock, system_clock
from services.runtime.db import service_engine
from services.runtime.http import build_app
from services.runtime.lifespan import service_lifespan
from services.runtime.outbox import OutboxRelay
from services.runtime.settings import Settings

SPEC = service_registry.service("intake")
SERVICE = SPEC.name


def create_app(settings: Settings, clock: Clock = system_clock) -> FastAPI:
    registry = CollectorRegistry()
    engine = service_engine(settings)
    broker = make_broker(settings, SERVICE, registry)
    relay = OutboxRelay.from_settings(engine, models.outbox, models.leases, broker, settings)
    projects = ProjectUseCases(engine, clock)
    accepted = Counter(
        "cma_intake_reports_accepted_total",
        "Reports accepted (2xx), by format and whether it was an idempotent replay.",
        ["format", "replayed"],
        registry=registry,
    )

    app = build_app(
        service=SERVICE,
        engine=engine,
        registry=registry,
        lifespan=service_lifespan(broker, engine, settings.kafka_bootstrap, [relay.run]),
        max_body_bytes=settings.max_body_bytes,
        settings=settings,
        refresh_metrics=relay.backlog_gauge(registry, SERVICE),
        description=SPEC.summary,
    )
    app.include_router(
        intake_router(
            projects,
            ReportUseCases(engine, clock),
            authenticator(settings, token_lookup(engine, models.projects)),
            accepted,
        )
    )

    app.state.broker = broker
    return app
