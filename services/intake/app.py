"""Intake: the only write API. Builds the app from settings; the outbox relay runs beside it.
It accepts reports while Kafka is down: the outbox keeps them until the relay can send."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from contracts.catalog import load_catalog
from services.intake import models
from services.intake.anomalies import Thresholds
from services.intake.api import intake_router, project_router, tokens_router
from services.intake.metrics import ReportMetrics
from services.intake.queries import (
    ProjectQueries,
    ProjectRuns,
    ReportQueries,
    ReviewQueries,
    StaffTokenQueries,
)
from services.intake.usecases.amendments import AmendmentUseCases
from services.intake.usecases.checks import CheckUseCases
from services.intake.usecases.projects import ProjectUseCases
from services.intake.usecases.reports import ReportUseCases
from services.intake.usecases.reviews import ReviewUseCases
from services.intake.usecases.tokens import TokenUseCases
from services.runtime import registry as service_registry
from services.runtime.auth import TokenDirectory, authenticator, read_copies
from services.runtime.broker import KafkaConnection, make_broker
from services.runtime.clock import Clock, system_clock
from services.runtime.db import service_engine
from services.runtime.http import build_app
from services.runtime.lifespan import service_lifespan
from services.runtime.outbox import OutboxRelay
from services.runtime.settings import Settings
from services.runtime.token_events import listen_for_revocations

SPEC = service_registry.service("intake")
SERVICE = SPEC.name


def create_app(settings: Settings, clock: Clock = system_clock) -> FastAPI:
    registry = CollectorRegistry()
    engine = service_engine(settings, "intake")
    broker = make_broker(settings, SERVICE, registry)
    tokens = TokenDirectory(read_copies(engine, models.projects, models.staff_tokens))
    listen_for_revocations(broker, tokens, settings, SERVICE)
    relay = OutboxRelay.from_settings(engine, models.outbox, models.leases, broker, settings)
    runs = ProjectRuns()
    authenticate = authenticator(settings, tokens.find)
    report_metrics = ReportMetrics(registry)

    app = build_app(
        service=SERVICE,
        engine=engine,
        registry=registry,
        lifespan=service_lifespan(
            broker, engine, KafkaConnection.from_settings(settings), [relay.run]
        ),
        max_body_bytes=settings.max_body_bytes,
        settings=settings,
        # No broker: intake stays ready while Kafka is away, its outbox keeps what it accepts.
        refresh_metrics=relay.backlog_gauge(registry, SERVICE),
        description=SPEC.summary,
    )
    app.include_router(
        intake_router(
            ProjectUseCases(engine, clock, runs),
            ReportUseCases(
                engine,
                clock,
                runs,
                Thresholds(
                    settings.anomaly_revision_share,
                    settings.anomaly_spike_factor,
                    settings.anomaly_alternance_share,
                ),
            ),
            ReportQueries(engine, runs),
            CheckUseCases(engine, clock, runs),
            authenticate,
            report_metrics,
            ReviewUseCases(engine, clock, runs),
            ReviewQueries(engine),
        )
    )
    app.include_router(
        project_router(
            AmendmentUseCases(engine, clock, runs),
            ProjectQueries(engine),
            load_catalog(),
            clock,
            authenticate,
        )
    )
    app.include_router(
        tokens_router(TokenUseCases(engine, clock, tokens), StaffTokenQueries(engine), authenticate)
    )

    app.state.broker = broker
    return app
