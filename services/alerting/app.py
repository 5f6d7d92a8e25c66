"""Alerting: turns status events into alerts, tells subscribers once (and again only after
their repeat interval), delivers signed webhooks and e-mails with retries."""

from __future__ import annotations

import logging
import secrets
from uuid import UUID

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.alerting import models
from services.alerting.api import alerting_router, unsubscribe_router
from services.alerting.channels import Channels
from services.alerting.delivery import DeliveryLoop
from services.alerting.handlers import AlertingHandlers
from services.alerting.metrics import DeliveryMetrics, alerting_families
from services.alerting.queries import AlertingQueries, Subscription
from services.alerting.signing import UnsubscribeLinks
from services.alerting.usecases import AlertingUseCases
from services.runtime import registry as service_registry
from services.runtime.auth import TokenDirectory, authenticator, read_copies
from services.runtime.broker import KafkaConnection, make_broker
from services.runtime.clock import Clock, system_clock
from services.runtime.consumer import subscribe_consumers
from services.runtime.db import service_engine
from services.runtime.http import build_app
from services.runtime.lifespan import service_lifespan
from services.runtime.metrics import SnapshotCollector
from services.runtime.settings import Settings
from services.runtime.token_events import listen_for_revocations, with_token_copies

SPEC = service_registry.service("alerting")
SERVICE = SPEC.name
log = logging.getLogger(__name__)


def unsubscribe_links(settings: Settings) -> UnsubscribeLinks:
    """Links to this service as e-mail readers reach it, signed with the shared link secret.
    Without one (never in production), a secret of this process: its links die with it."""
    secret = settings.alerting_link_secret
    if secret is None:
        log.warning("alerting: CMA_ALERTING_LINK_SECRET unset: unsubscribe links last one run")
    key = secret.get_secret_value() if secret else secrets.token_urlsafe(32)
    host = "127.0.0.1" if settings.http_host in ("", "0.0.0.0") else settings.http_host
    base = settings.alerting_public_url or f"http://{host}:{settings.port(SERVICE)}"
    return UnsubscribeLinks(base, key)


def create_app(settings: Settings, clock: Clock = system_clock) -> FastAPI:
    registry = CollectorRegistry()
    engine = service_engine(settings, "alerting")
    broker = make_broker(settings, SERVICE, registry)
    tokens = TokenDirectory(read_copies(engine, models.projects, models.staff_tokens))
    listen_for_revocations(broker, tokens, settings, SERVICE)
    handlers = AlertingHandlers(clock, settings.alert_group_wait_seconds)
    lag = subscribe_consumers(
        broker,
        SERVICE,
        SPEC.consumes,
        engine,
        models.processed_events,
        with_token_copies(models.projects, models.staff_tokens, handlers.apply_events),
        settings,
        registry,
    )

    queries = AlertingQueries(engine)
    usecases = AlertingUseCases(engine, settings, clock)
    delivery_metrics = DeliveryMetrics(registry)
    snapshot = SnapshotCollector()
    registry.register(snapshot)

    async def refresh_metrics() -> None:
        snapshot.families = await alerting_families(queries)

    links = unsubscribe_links(settings)

    def delivery_loop(http: httpx.AsyncClient) -> DeliveryLoop:
        channels = Channels(settings, http, links)
        return DeliveryLoop(engine, usecases, channels, settings, delivery_metrics)

    def http_client() -> httpx.AsyncClient:
        # No redirects: a receiver could bounce us to an address the URL check refused.
        timeout = settings.delivery_timeout_seconds
        return httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def deliver_forever() -> None:
        async with http_client() as http:
            await delivery_loop(http).run()

    async def send_test(sub: Subscription) -> UUID:
        async with http_client() as http:
            return await delivery_loop(http).send_now(sub, [])

    app = build_app(
        service=SERVICE,
        engine=engine,
        registry=registry,
        lifespan=service_lifespan(
            broker, engine, KafkaConnection.from_settings(settings), [deliver_forever, lag.run]
        ),
        max_body_bytes=settings.max_body_bytes,
        settings=settings,
        broker=broker,
        refresh_metrics=refresh_metrics,
        description=SPEC.summary,
    )
    authenticate = authenticator(settings, tokens.find)
    app.include_router(alerting_router(usecases, queries, authenticate, send_test, clock))
    app.include_router(unsubscribe_router(usecases, queries, links))
    app.state.broker, app.state.usecases = broker, usecases  # tests run a repeat check by hand
    return app
