"""Deliveries are claimed by lease on the real database: a claim that lapses is claimed again
with the same delivery id, and the late outcome of the first claim is dropped."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.alerting import models as m
from services.alerting.channels import Channels, DeliveryFailed
from services.alerting.claims import claim_due, record_delivered, release_claims
from services.alerting.delivery import DeliveryLoop
from services.alerting.domain import DeliveryStatus
from services.alerting.metrics import DeliveryMetrics
from services.alerting.signing import UnsubscribeLinks
from services.alerting.usecases import AlertingUseCases
from services.runtime.db import make_engine
from tests.support.clock import FakeClock
from tests.support.platform import settings_for_tests

LEASE = timedelta(seconds=0.5)


@pytest.fixture
async def engine(clean_database: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(clean_database)
    yield engine
    await engine.dispose()


async def a_due_delivery(engine: AsyncEngine) -> uuid.UUID:
    subscription_id, delivery_id = uuid.uuid4(), uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            insert(m.subscriptions).values(
                subscription_id=subscription_id,
                name="Nuage",
                channel="webhook",
                target="http://127.0.0.1:9/hook",
                secret="s" * 32,
                sheets=[],
                projects=[],
                regions=[],
                kinds=[],
                min_severity="info",
                repeat_interval_seconds=3600,
                created_at=FakeClock()(),
            )
        )
        await conn.execute(
            insert(m.deliveries).values(
                delivery_id=delivery_id,
                subscription_id=subscription_id,
                status=DeliveryStatus.PENDING,
                alerts=[],
                due_at=FakeClock()(),  # long past
            )
        )
    return delivery_id


async def delivery(engine: AsyncEngine, delivery_id: uuid.UUID) -> dict[str, object]:
    async with engine.connect() as conn:
        query = select(m.deliveries).where(m.deliveries.c.delivery_id == delivery_id)
        return dict((await conn.execute(query)).one()._mapping)


def loop(engine: AsyncEngine, holder: str, database_url: str) -> DeliveryLoop:
    settings = settings_for_tests(database_url, "unused:9092", delivery_lease_seconds=30)
    usecases = AlertingUseCases(engine, settings, FakeClock())
    links = UnsubscribeLinks("http://localhost", "x" * 32)
    channels = Channels(settings, httpx.AsyncClient(), links)  # never called: recorded by hand
    metrics = DeliveryMetrics(CollectorRegistry())
    return DeliveryLoop(engine, usecases, channels, settings, metrics, holder=holder)


async def test_a_lapsed_claim_is_claimed_again_and_the_late_outcome_does_not_overwrite(
    engine: AsyncEngine, clean_database: str
) -> None:
    delivery_id = await a_due_delivery(engine)
    [first] = await claim_due(engine, "instance-a", LEASE, 20)
    assert (first.delivery_id, first.attempt) == (delivery_id, 1)
    assert await claim_due(engine, "instance-b", LEASE, 20) == []  # held: skipped

    deadline = asyncio.get_running_loop().time() + 5
    while not (again := await claim_due(engine, "instance-b", LEASE, 20)):
        assert asyncio.get_running_loop().time() < deadline, "the claim never lapsed"
        await asyncio.sleep(0.05)
    [second] = again
    assert (second.delivery_id, second.attempt) == (delivery_id, 2)  # same id, next attempt
    assert await record_delivered(engine, second, "instance-b") is not None
    delivered = await delivery(engine, delivery_id)

    late = loop(engine, "instance-a", clean_database)  # the stalled instance answers at last
    assert await late.record(first, DeliveryFailed("HTTP 500", retryable=True)) is None
    assert await late.record(first, None) is None
    assert await delivery(engine, delivery_id) == delivered
    assert delivered["status"] == "delivered" and delivered["attempts"] == 2
    assert delivered["claimed_by"] == "instance-b" and delivered["claimed_until"] is None
    assert delivered["last_error"] is None
    assert late.metrics.claims_lost.labels("webhook")._value.get() == 2
    assert late.metrics.sent.labels("webhook")._value.get() == 0


async def test_a_failed_attempt_recorded_in_time_is_retried_by_whoever_claims_it_next(
    engine: AsyncEngine, clean_database: str
) -> None:
    delivery_id = await a_due_delivery(engine)
    a = loop(engine, "instance-a", clean_database)
    [claim] = await claim_due(engine, a.holder, a.lease, 20)
    assert await a.record(claim, DeliveryFailed("HTTP 503", retryable=True)) == "pending"
    async with engine.begin() as conn:  # skip the backoff
        await conn.execute(update(m.deliveries).values(due_at=FakeClock()()))
    [retry] = await claim_due(engine, "instance-b", LEASE, 20)
    assert (retry.delivery_id, retry.attempt) == (delivery_id, 2)
    assert (await delivery(engine, delivery_id))["last_error"] == "HTTP 503"


async def test_a_clean_stop_hands_its_claims_over_at_once(
    engine: AsyncEngine, clean_database: str
) -> None:
    delivery_id = await a_due_delivery(engine)
    [claim] = await claim_due(engine, "instance-a", timedelta(hours=1), 20)
    await release_claims(engine, "instance-a")
    [again] = await claim_due(engine, "instance-b", LEASE, 20)
    assert (again.delivery_id, again.attempt) == (delivery_id, claim.attempt + 1)


async def test_a_subscriptions_deliveries_are_claimed_one_at_a_time_oldest_first(
    engine: AsyncEngine,
) -> None:
    first = await a_due_delivery(engine)
    row = await delivery(engine, first)
    later = uuid.uuid4()
    async with engine.begin() as conn:  # made after, due before: order is creation's
        await conn.execute(
            insert(m.deliveries).values(
                delivery_id=later,
                subscription_id=row["subscription_id"],
                status=DeliveryStatus.PENDING,
                alerts=[],
                due_at=FakeClock()() - timedelta(days=1),
            )
        )
    claims = await claim_due(engine, "a", LEASE, batch=10)
    assert [c.delivery_id for c in claims] == [first]
    assert await claim_due(engine, "b", LEASE, batch=10) == []  # even on another instance
    await record_delivered(engine, claims[0], "a")
    assert [c.delivery_id for c in await claim_due(engine, "b", LEASE, batch=10)] == [later]
