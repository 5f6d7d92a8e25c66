"""The outbox relay publishes at least once, even to a broker that restarted empty."""

from __future__ import annotations

import uuid

import pytest
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry

from contracts.topics import ALL, REPORTS
from services.intake.models import leases, outbox
from services.runtime.broker import KafkaConnection, make_broker, start_when_reachable
from services.runtime.db import make_engine
from services.runtime.outbox import OutboxRelay, enqueue
from tests.support.events import report_submitted
from tests.support.kafka import read_all
from tests.support.platform import EmbeddedKafka, settings_for_tests

pytestmark = pytest.mark.integration


async def test_events_a_restarted_broker_lost_are_published_again(
    clean_database: str, kafka: EmbeddedKafka
) -> None:
    settings = settings_for_tests(clean_database, kafka.bootstrap)
    engine = make_engine(clean_database)
    broker: KafkaBroker = make_broker(settings, "test", CollectorRegistry())
    relay = OutboxRelay(
        engine,
        outbox,
        leases,
        broker,
        KafkaConnection(kafka.bootstrap),
        ALL,
        batch_rows=10,
        poll_seconds=0.01,
        lease_seconds=5,
    )
    events = [report_submitted(uuid.uuid4(), trained=n) for n in range(3)]
    async with engine.begin() as conn:
        await enqueue(conn, outbox, REPORTS, events)
    try:
        await start_when_reachable(broker, KafkaConnection(kafka.bootstrap), ALL)
        assert await relay.resend_if_the_broker_is_new() == 0  # first contact, nothing sent yet
        assert await relay.publish_pending() == 3
        assert await relay.backlog() == 0
        assert await relay.resend_if_the_broker_is_new() == 0  # same broker: nothing to do

        kafka.restart()  # memory only: the three events are gone
        assert await read_all(kafka.bootstrap, REPORTS) == []
        assert await relay.resend_if_the_broker_is_new() == 3
        assert await relay.publish_pending() == 3
        values = sorted(r.value for r in await read_all(kafka.bootstrap, REPORTS))
        assert values == sorted(e.model_dump_json().encode() for e in events)
    finally:
        await broker.stop()
        await engine.dispose()
